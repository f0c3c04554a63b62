// A synthetic EventSource for testing the stop study's machinery: the 26 stop-dilepton
// columns drawn from simple distributions (not physics). Signal ("stop:M1,M2") has a harder
// MET, leptons pointing away from the MET and an mT2(ll) reaching beyond the W edge; the
// backgrounds have mT2(ll) mostly below 80 GeV and a MET that grows when the leptons are
// adjacent to it (Figure 13's trend). The background MET is drawn from a harder spectrum than
// the one it stands for and carries the compensating weight, as a biased generator would.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include <fmt/format.h>

#include "unbox/core.hpp"
#include "unbox/physics/stop_dilepton.hpp"
#include "unbox/random.hpp"
#include "unbox/studies/stop_study.hpp"

namespace unbox::studies {

namespace {

// FNV-1a of the process name: a fixed hash (std::hash is implementation-defined).
std::uint64_t name_hash(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Stop-pair NNLO+NNLL cross sections (pb) at the paper's points; elsewhere a rough power law.
double stop_xsec_pb(double m_stop) {
  if (std::abs(m_stop - 750.0) < 1e-9) return 0.0500;
  if (std::abs(m_stop - 350.0) < 1e-9) return 4.43;
  if (std::abs(m_stop - 185.0) < 1e-9) return 111.0;
  return 4.43 * std::pow(350.0 / m_stop, 6.5);
}

Dataset toy_events(const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation) {
  using std::numbers::pi;
  double xsec = 0.0, m_stop = 0.0, m_lsp = 0.0;
  bool signal = false;
  if (process == "ttbar")
    xsec = kXsecTtbar;
  else if (process == "tw")
    xsec = kXsecTw;
  else if (process == "ww")
    xsec = kXsecWw;
  else if (process.rfind("stop:", 0) == 0 && std::sscanf(process.c_str() + 5, "%lf,%lf", &m_stop, &m_lsp) == 2) {
    signal = true;
    xsec = stop_xsec_pb(m_stop);
  } else {
    throw Error(fmt::format("unknown process '{}': expected ttbar, tw, ww or stop:M1,M2", process));
  }
  if (n < 0) throw Error("a negative number of events was asked for");
  const double dilepton = 0.0455;                                                  // e/mu pairs
  const double w_event = xsec * 1000.0 * dilepton / std::max<std::int64_t>(n, 1);  // fb per event
  // The core Rng's own transforms (portable), every draw in its own statement (the order of
  // evaluation of a function's arguments is unspecified).
  Rng rng = Rng::stream(seed, name_hash(process));
  auto u = [&](Rng& r) { return r.uniform(); };
  auto g = [&](Rng& r) { return r.normal(); };
  const auto& names = physics::stop_dilepton_columns();
  std::vector<std::vector<double>> cols(names.size());
  std::vector<double> weight;
  // Signal scale: heavier stops and larger splittings give harder MET.
  const double split = signal ? std::max(m_stop - m_lsp, 20.0) : 0.0;
  const double met_scale = signal ? 60.0 + 0.35 * split : 55.0;
  const double spin = (process == "ttbar" && !spin_correlation) ? 0.15 : 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    // Lepton angles to the MET: signal leptons lean away from it.
    auto angle = [&] {
      if (signal) {
        const double a = std::abs(g(rng));
        return pi - std::min(pi, a * (0.9 + 0.3 * u(rng)));
      }
      return pi * std::pow(u(rng), 0.9 - spin);
    };
    const double a1 = angle(), a2 = angle();
    const double c = 0.5 * (std::cos(a1) + std::cos(a2));
    double met = 0.0, w = w_event;
    if (signal) {
      met = met_scale * (-std::log(1.0 - u(rng))) * (1.0 + 0.2 * c) + 40.0;
    } else {
      // Truth spectrum exp(-met / 55) stretched by the angles; sampled from exp(-met / 80)
      // with the weight ratio (the compensating weights of a tail bias).
      const double t = 80.0 * (-std::log(1.0 - u(rng)));
      w *= (80.0 / 55.0) * std::exp(-t / 55.0 + t / 80.0);
      met = (t + 30.0) * (1.0 + 0.45 * c);
    }
    if (met < 80.0) continue;  // the selection
    const double l1 = 25.0 + 60.0 * (-std::log(1.0 - u(rng))) * (signal ? 1.0 + split / 800.0 : 1.0);
    const double l2 = 20.0 + (l1 - 20.0) * u(rng);
    const double j1 = 30.0 + 80.0 * (-std::log(1.0 - u(rng)));
    const double j2 = 30.0 + 50.0 * (-std::log(1.0 - u(rng)));
    const double w_edge = 80.4 * (1.0 - 0.5 * c);
    double mt2 = 0.0;
    if (signal) {
      mt2 = std::min(0.6 * met * (0.8 - 0.4 * c) + 10.0 * g(rng), 0.9 * split);
    } else {
      mt2 = std::min(w_edge * std::sqrt(u(rng)), met);
      if (u(rng) < 0.03) mt2 += 40.0 * -std::log(u(rng));
    }
    mt2 = std::max(mt2, 0.0);
    const double eta_l1 = std::abs(1.1 * g(rng));
    const double eta_l2 = 1.1 * g(rng);
    const double dphi_ll = std::abs(std::remainder(a1 - a2 * (u(rng) < 0.5 ? 1 : -1), 2 * pi));
    const bool b1 = u(rng) < 0.8;
    const bool b2 = u(rng) < (signal ? 0.5 : 0.6);
    const double isr = b1 ? (b2 ? 20.0 + 40.0 * -std::log(1.0 - u(rng)) : j2) : j1;
    const double row[physics::kStopDileptonColumns] = {std::log(met),
                                                       std::log(l1),
                                                       std::log(l2),
                                                       std::log(j1),
                                                       std::log(j2),
                                                       eta_l1,
                                                       eta_l2,
                                                       1.3 * g(rng),
                                                       1.3 * g(rng),
                                                       a1,
                                                       a2,
                                                       pi * u(rng),
                                                       pi * u(rng),
                                                       u(rng) < 0.5 ? 1.0 : -1.0,
                                                       u(rng) < 0.5 ? 1.0 : -1.0,
                                                       u(rng) < 0.5 ? 1.0 : -1.0,
                                                       u(rng) < 0.5 ? 1.0 : -1.0,
                                                       b1 ? 1.0 : -1.0,
                                                       b2 ? 1.0 : -1.0,
                                                       mt2,
                                                       dphi_ll,
                                                       eta_l1 - eta_l2,
                                                       20.0 + 2.0 * std::sqrt(l1 * l2),
                                                       met,
                                                       j1 + j2,
                                                       isr};
    for (size_t k = 0; k < names.size(); ++k) cols[k].push_back(row[k]);
    weight.push_back(w);
  }
  Dataset d;
  const auto rows = static_cast<Index>(weight.size());
  for (size_t k = 0; k < names.size(); ++k) d.add(names[k], Tensor({rows}, std::move(cols[k])));
  d.add("weight", Tensor({rows}, std::move(weight)));
  d.weight_column = "weight";
  d.source = "toy:" + process;
  return d;
}

}  // namespace

EventSource toy_event_source() { return toy_events; }

}  // namespace unbox::studies
