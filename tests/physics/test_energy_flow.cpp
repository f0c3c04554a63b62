// The energy-flow detector (Delphes 3.4.1 CMS card emulation) on generated single particles
// and simple jets: resolutions against the card's formulas (written out here, independently
// of DetectorOptions), the jet response and resolution against truth jets, and the
// per-event seeding of the whole features pipeline on one and two threads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "events_test_util.hpp"
#include "hepmc_samples.hpp"
#include "unbox/physics/energy_flow.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/kinematics.hpp"
#include "unbox/physics/reconstruct.hpp"

using namespace unbox;
using namespace unbox::physics;
using unbox::test_events::particle;

namespace {

GenEvent single(int pdg, double pt, double eta, double phi, double m) {
  GenEvent e;
  e.final_state.push_back(particle(pdg, pt, eta, phi, m));
  return e;
}

// Half-width of the central 68.27 % interval: a resolution insensitive to rare tails.
double sigma68(std::vector<double> x) {
  auto q = [&](double p) {
    size_t k = static_cast<size_t>(p * static_cast<double>(x.size() - 1));
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(k), x.end());
    return x[k];
  };
  return 0.5 * (q(0.841345) - q(0.158655));
}
double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}
double sd_of(const std::vector<double>& x) {
  double m = mean_of(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

// The card's formulas, written out (delphes_card_CMS.tcl, 3.4.1).
double card_ecal_barrel(double e, double eta) {
  return (1 + 0.64 * eta * eta) * std::sqrt(0.008 * 0.008 + 0.11 * 0.11 / e + 0.40 * 0.40 / (e * e));
}
double card_hcal_central(double e) { return std::sqrt(0.05 * 0.05 + 1.5 * 1.5 / e); }
double card_track(double a, double b, double pt) { return std::sqrt(a * a + b * b * pt * pt); }

}  // namespace

TEST(EnergyFlow, ElectronResolutionIsTrackPlusEcal) {
  DetectorOptions o;
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent out;
  const double eta = 0.1;
  for (double pt : {50.0, 100.0}) {
    const double e = pt * std::cosh(eta);
    const double track = card_track(0.03, 1.3e-3, pt), ecal = card_ecal_barrel(e, eta);
    const double combined = 1.0 / std::sqrt(1.0 / (track * track) + 1.0 / (ecal * ecal));
    std::vector<double> r;
    for (int i = 0; i < 20000; ++i) {
      flow.run(single(11, pt, eta, 0.7, 0.000511), i, ro, o, out);
      if (out.leptons.size() == 1) r.push_back(out.leptons[0].pt / pt);
    }
    const double s = sigma68(r);
    std::printf("electron pT %.0f GeV, eta 0.1: sigma68/pT %.4f, card track %.4f, ECAL %.4f, combined %.4f\n", pt, s,
                track, ecal, combined);
    EXPECT_NEAR(s / combined, 1.0, 0.15) << pt;
    EXPECT_LT(s, 0.4 * track);  // far better than the track alone (7 % and 13 %)
    EXPECT_NEAR(mean_of(r), 1.0, 0.005);
    // Identified (0.95), tracked (0.95), isolated unless a photon split off: about 0.88.
    EXPECT_NEAR(static_cast<double>(r.size()) / 20000, 0.95 * 0.95, 0.04);
  }
  // The numbers of the issue: about 1.9 % and 1.4 %.
  EXPECT_NEAR(1.0 / std::sqrt(1 / std::pow(card_track(0.03, 1.3e-3, 50), 2) + 1 / std::pow(card_ecal_barrel(50, 0), 2)),
              0.019, 0.001);
}

TEST(EnergyFlow, MuonResolutionFollowsTheCard) {
  DetectorOptions o;
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent out;
  struct Case {
    double pt, eta, a, b;
  };
  for (const Case& c : {Case{50, 0.2, 0.01, 1.0e-4}, Case{300, 1.0, 0.015, 1.5e-4}, Case{300, 2.0, 0.025, 3.5e-4}}) {
    std::vector<double> r;
    int found = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      flow.run(single(13, c.pt, c.eta, -1.0, 0.10566), i, ro, o, out);
      if (!out.leptons.empty()) r.push_back(out.leptons[0].pt / c.pt), ++found;
    }
    const double card = card_track(c.a, c.b, c.pt);
    std::printf("muon pT %.0f, eta %.1f: sigma/pT %.5f (card %.5f)\n", c.pt, c.eta, sd_of(r), card);
    EXPECT_NEAR(sd_of(r) / card, 1.0, 0.03);
    EXPECT_NEAR(mean_of(r), 1.0, 4 * card / std::sqrt(found));
    // Tracking 0.99 (barrel) or 0.98 times identification 0.95.
    const double eff = (std::abs(c.eta) <= 1.5 ? 0.99 : 0.98) * 0.95;
    EXPECT_NEAR(static_cast<double>(found) / n, eff, 4 * std::sqrt(eff * (1 - eff) / n));
  }
}

TEST(EnergyFlow, ChargedHadronPhotonAndNeutralHadronResolutions) {
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent out;
  const int n = 20000;
  // Charged pions: the track as measured (no merging with the HCAL tower).
  DetectorOptions tracks;
  tracks.merge_tracks_with_towers = false;
  struct Case {
    double pt, eta, a, b;
  };
  for (const Case& c : {Case{20, 0.3, 0.06, 1.3e-3}, Case{100, 1.0, 0.10, 1.7e-3}, Case{50, 2.0, 0.25, 3.1e-3}}) {
    std::vector<double> r;
    for (int i = 0; i < n; ++i) {
      flow.run(single(211, c.pt, c.eta, 2.0, 0.13957), i, ro, tracks, out);
      for (const auto& x : flow.objects())
        if (x.kind == EnergyFlowObject::Track) r.push_back(x.pt / c.pt);
    }
    const double card = card_track(c.a, c.b, c.pt);
    std::printf("charged pion pT %.0f, eta %.1f: track sigma/pT %.4f (card %.4f), efficiency %.4f\n", c.pt, c.eta,
                sd_of(r), card, static_cast<double>(r.size()) / n);
    EXPECT_NEAR(sd_of(r) / card, 1.0, 0.03);
    const double eff = std::abs(c.eta) <= 1.5 ? 0.95 : 0.85;
    EXPECT_NEAR(static_cast<double>(r.size()) / n, eff, 4 * std::sqrt(eff * (1 - eff) / n));
  }
  // With the card's merging, the charged-hadron energy flow is never worse than the track.
  {
    DetectorOptions merged;
    std::vector<double> r;
    for (int i = 0; i < n; ++i) {
      flow.run(single(211, 50, 0.3, 2.0, 0.13957), i, ro, merged, out);
      for (const auto& x : flow.objects())
        if (x.kind == EnergyFlowObject::Track) r.push_back(x.pt / 50);
    }
    const double track = card_track(0.06, 1.3e-3, 50), hcal = card_hcal_central(50 * std::cosh(0.3));
    const double combined = 1.0 / std::sqrt(1 / (track * track) + 1 / (hcal * hcal));
    std::printf("charged pion pT 50, eta 0.3, merged with the HCAL: sigma68/pT %.4f (track %.4f, combined %.4f)\n",
                sigma68(r), track, combined);
    EXPECT_LT(sigma68(r), track);
    EXPECT_GT(sigma68(r), 0.9 * combined);
  }
  // Photons: the ECAL tower energy (barrel and forward); neutral hadrons: the HCAL.
  DetectorOptions o;
  struct Neutral {
    int pdg;
    double e, eta, card;
    EnergyFlowObject::Kind kind;
  };
  const Neutral cases[] = {
      {22, 50, 0.1, card_ecal_barrel(50, 0.1), EnergyFlowObject::Photon},
      {22, 200, 3.5, std::sqrt(0.107 * 0.107 + 2.08 * 2.08 / 200), EnergyFlowObject::Photon},
      {130, 100, 0.5, card_hcal_central(100), EnergyFlowObject::NeutralHadron},
      {2112, 200, 3.5, std::sqrt(0.13 * 0.13 + 2.7 * 2.7 / 200), EnergyFlowObject::NeutralHadron},
  };
  for (const Neutral& c : cases) {
    std::vector<double> r;
    const double m = c.pdg == 22 ? 0.0 : 0.5;
    const double pt = std::sqrt(c.e * c.e - m * m) / std::cosh(c.eta);
    for (int i = 0; i < n; ++i) {
      flow.run(single(c.pdg, pt, c.eta, 0.5, m), i, ro, o, out);
      ASSERT_EQ(flow.objects().size(), 1u);
      ASSERT_EQ(flow.objects()[0].kind, c.kind);
      r.push_back(flow.objects()[0].e / c.e);
      EXPECT_LT(std::abs(flow.objects()[0].eta - c.eta), c.eta > 3 ? 0.18 : 0.09);  // within the cell
    }
    std::printf("pdg %d E %.0f eta %.1f: sigma/E %.4f (card %.4f)\n", c.pdg, c.e, c.eta, sd_of(r), c.card);
    EXPECT_NEAR(sd_of(r) / c.card, 1.0, 0.03);
    EXPECT_NEAR(mean_of(r), 1.0, 4 * c.card / std::sqrt(n));
  }
}

namespace {

// A simple jet: a collinear spray around (eta, phi) of charged pions (about 62 % of the
// hadrons), neutral pions decaying into two photons (25 %; the photons share the pi0 energy
// uniformly) and neutral hadrons (K0L, neutrons: 13 %), with exponentially distributed momentum
// fractions (many soft particles, a few hard ones) and a Gaussian angular spread of 0.06: about
// the composition of a light-quark jet (65 % charged, 25 % photons, 10 % neutral hadrons).
void add_spray(GenEvent& e, std::mt19937_64& rng, double pt, double eta, double phi) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, 0.06);
  const int n = 4 + static_cast<int>(1.5 * std::sqrt(pt));
  std::vector<double> z(static_cast<size_t>(n));
  double sum = 0;
  for (double& x : z) sum += (x = -std::log(1 - u(rng)));
  for (double x : z) {
    const double r = u(rng), ppt = pt * x / sum, peta = eta + g(rng), pphi = phi + g(rng);
    if (r < 0.62) {
      e.final_state.push_back(particle(u(rng) < 0.5 ? 211 : -211, ppt, peta, pphi, 0.13957));
    } else if (r < 0.87) {
      const double f = u(rng);
      e.final_state.push_back(particle(22, f * ppt, peta, pphi, 0.0));
      e.final_state.push_back(particle(22, (1 - f) * ppt, peta + 0.3 * g(rng), pphi + 0.3 * g(rng), 0.0));
    } else {
      e.final_state.push_back(particle(u(rng) < 0.5 ? 130 : 2112, ppt, peta, pphi, u(rng) < 0.5 ? 0.4976 : 0.9396));
    }
  }
}

struct ResponseRow {
  double pt = 0, response = 0, resolution = 0, raw = 0;
};

// Response (mean of pT(reco)/pT(truth)) and resolution (sigma68 / median) of energy-flow jets
// matched (Delta-R < 0.2) to anti-kT R = 0.5 truth jets, with and without the energy scale.
ResponseRow measure(double pt, double eta_lo, double eta_hi, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  DetectorOptions scaled, raw;
  scaled.jet_energy_scale = true;  // the card's factor, opt-in
  raw.jet_energy_scale = false;
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent a, b;
  std::vector<double> r, rr;
  for (int i = 0; i < n; ++i) {
    GenEvent e;
    const double eta = (u(rng) < 0.5 ? -1 : 1) * (eta_lo + (eta_hi - eta_lo) * u(rng)), phi = M_PI * (2 * u(rng) - 1);
    add_spray(e, rng, pt, eta, phi);
    RecoEvent truth = reconstruct(e, ro);
    if (truth.jets.empty()) continue;
    const Jet& t = truth.jets[0];
    flow.run(e, i, ro, scaled, a);
    flow.run(e, i, ro, raw, b);
    auto match = [&](const RecoEvent& x) -> const Jet* {
      for (const Jet& j : x.jets)
        if (delta_r(j.eta, j.phi, t.eta, t.phi) < 0.2) return &j;
      return nullptr;
    };
    const Jet *ja = match(a), *jb = match(b);
    if (!ja || !jb) continue;
    r.push_back(ja->pt / t.pt);
    rr.push_back(jb->pt / t.pt);
  }
  ResponseRow row;
  row.pt = pt;
  EXPECT_GT(r.size(), static_cast<size_t>(0.95 * n)) << "pT " << pt;  // nearly every truth jet is found
  if (r.size() < 10) return row;
  row.response = mean_of(r);
  row.raw = mean_of(rr);
  std::vector<double> sorted = r;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
  row.resolution = sigma68(r) / sorted[sorted.size() / 2];
  return row;
}

}  // namespace

TEST(EnergyFlow, JetResponseAndResolution) {
  std::string table =
      "| jet pT (GeV) | region | response (raw) | response (scaled) | resolution sigma68/pT | HCAL on the whole jet |\n"
      "|---|---|---|---|---|---|\n";
  struct Region {
    const char* name;
    double lo, hi;
  } regions[] = {{"|eta| < 1.3", 0.0, 1.3}, {"3.0 < |eta| < 4.5", 3.0, 4.5}};
  for (const Region& g : regions) {
    for (double pt : {30.0, 50.0, 100.0, 200.0, 500.0}) {
      ResponseRow row = measure(pt, g.lo, g.hi, 1000, static_cast<std::uint64_t>(pt) + (g.lo > 0 ? 7 : 0));
      const double eta_mid = 0.5 * (g.lo + g.hi), e = pt * std::cosh(eta_mid);
      const double hcal = g.lo >= 3 ? std::sqrt(0.13 * 0.13 + 2.7 * 2.7 / e) : card_hcal_central(e);
      table += fmt::format("| {:.0f} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", pt, g.name, row.raw, row.response,
                           row.resolution, hcal);
      // The energy flow itself is unbiased to 5 % from 30 GeV on, centrally and forward.
      EXPECT_NEAR(row.raw, 1.0, 0.05) << g.name << " pT " << pt;
      // The card's scale multiplies it by its factor (about 1.10 at 30 GeV central). On these
      // jets the raw response is already about 1, so the scaled one overshoots at low pT (1.12
      // at 30 GeV central; the card's factor was tuned on Delphes jets from full showers); it
      // is within 5 % of 1 from 200 GeV centrally and 50 GeV forward.
      const double factor = std::sqrt(std::pow(2.5 - 0.15 * eta_mid, 2) / (row.raw * pt) + 1.0);
      EXPECT_NEAR(row.response / row.raw, factor, 0.02) << g.name << " pT " << pt;
      if ((g.lo == 0 && pt >= 200) || (g.lo >= 3 && pt >= 50)) {
        EXPECT_NEAR(row.response, 1.0, 0.05) << g.name << " pT " << pt;
      }
      // The energy flow measures a central jet better than the HCAL alone would.
      if (g.lo == 0) {
        EXPECT_LT(row.resolution, hcal) << pt;
      }
      EXPECT_GT(row.resolution, 0.0);
    }
  }
  std::printf("%s", table.c_str());
}

TEST(EnergyFlow, FeaturesIdenticalOnOneAndTwoThreads) {
  test_events::TempDir dir;
  std::string path = dir.file("tt.hepmc");
  unbox::test_samples::write_ttbar_hepmc(path, 400, 21);
  std::vector<GenEvent> events;
  {
    auto r = open_events(path);
    GenEvent e;
    while (r->next(e)) events.push_back(e);
  }
  FeatureOptions o;
  o.keep_all = true;
  o.objects = true;
  o.detector.seed = 77;
  FeatureBuilder one(o);
  for (size_t i = 0; i < events.size(); ++i) one.add(events[i], static_cast<std::int64_t>(i));
  FeatureResult a = one.finish("x", "HepMC3");
  // Two threads, each its own builder on half of the events (interleaved in time), joined in order.
  // (Builders are copyable, e.g. into a vector per thread; copies have their own buffers.)
  const FeatureBuilder prototype(o);
  std::vector<FeatureBuilder> per_thread(2, prototype);
  FeatureBuilder& first = per_thread[0];
  FeatureBuilder& second = per_thread[1];
  const size_t half = events.size() / 2;
  std::thread t1([&] {
    for (size_t i = 0; i < half; ++i) first.add(events[i], static_cast<std::int64_t>(i));
  });
  std::thread t2([&] {
    for (size_t i = events.size(); i-- > half;) second.add(events[i], static_cast<std::int64_t>(i));  // backwards
  });
  t1.join();
  t2.join();
  // The second builder saw its events in reverse order: rebuild in order to compare rows, and
  // check that the reverse order changed nothing per event.
  FeatureBuilder ordered(o);
  for (size_t i = half; i < events.size(); ++i) ordered.add(events[i], static_cast<std::int64_t>(i));
  first.append(std::move(ordered));
  FeatureResult b = first.finish("x", "HepMC3");
  FeatureResult reversed = second.finish("x", "HepMC3");
  ASSERT_EQ(a.data.names(), b.data.names());
  ASSERT_EQ(a.data.events(), static_cast<Index>(events.size()));
  ASSERT_EQ(b.data.events(), a.data.events());
  int selected = 0;
  for (const auto& name : a.data.names())
    for (Index i = 0; i < a.data.events(); ++i) {
      const double x = a.data.get(name)[i], y = b.data.get(name)[i];
      ASSERT_TRUE((std::isnan(x) && std::isnan(y)) || x == y) << name << " row " << i;
    }
  for (Index i = 0; i < a.data.events(); ++i) selected += a.data.get("selected")[i] == 1.0;
  EXPECT_GT(selected, 100);
  EXPECT_EQ(a.cutflow.events, b.cutflow.events);
  // Reversed order within a thread: the same rows, reversed.
  const Index m = reversed.data.events();
  ASSERT_EQ(m, a.data.events() - static_cast<Index>(half));
  for (Index i = 0; i < m; ++i) {
    const double x = a.data.get("met")[static_cast<Index>(half) + i], y = reversed.data.get("met")[m - 1 - i];
    ASSERT_TRUE((std::isnan(x) && std::isnan(y)) || x == y) << i;
  }
  // Another seed changes the detector response.
  FeatureOptions o2 = o;
  o2.detector.seed = 78;
  FeatureBuilder other(o2);
  for (size_t i = 0; i < events.size(); ++i) other.add(events[i], static_cast<std::int64_t>(i));
  FeatureResult c = other.finish("x", "HepMC3");
  int differ = 0;
  for (Index i = 0; i < a.data.events(); ++i) differ += !(a.data.get("met")[i] == c.data.get("met")[i]);
  EXPECT_GT(differ, 100);
}

// An electron failing identification stays in the energy flow (it makes a jet and enters
// the MET exactly as before); an identified isolated electron removes the jet that holds it.
// An electron with activity in its cone is not isolated and stays in its jet.
TEST(EnergyFlow, LeptonsFailingIdentificationStayInTheFlow) {
  DetectorOptions o;
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent out;
  int identified = 0, failed = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    GenEvent e = single(11, 60, 1.0, 0.4, 0.000511);
    flow.run(e, i, ro, o, out);
    ASSERT_FALSE(flow.objects().empty());
    double sum = 0, sx = 0, sy = 0;
    for (const auto& x : flow.objects()) sum += x.pt, sx += x.pt * std::cos(x.phi), sy += x.pt * std::sin(x.phi);
    EXPECT_NEAR(out.met.pt, std::hypot(sx, sy), 1e-9 * sum);  // identified or not: MET = -(the flow)
    if (out.leptons.size() == 1) {
      ++identified;
      EXPECT_TRUE(out.jets.empty()) << i;  // the lepton's jet is dropped
    } else {
      ASSERT_TRUE(out.leptons.empty());
      ++failed;
      ASSERT_EQ(out.jets.size(), 1u) << i;    // the unidentified electron is a jet
      const double raw = std::hypot(sx, sy);  // the jet holds every object; then the card's scale
      EXPECT_NEAR(out.jets[0].pt, raw * jet_energy_scale(o, raw, out.jets[0].eta), 1e-9 * raw);
      EXPECT_NEAR(out.jets[0].eta, 1.0, 0.02);
    }
  }
  // Tracking 0.95 and identification 0.95, less the rare photon split-offs: about 90 %.
  EXPECT_NEAR(static_cast<double>(identified) / n, 0.95 * 0.95, 0.04);
  EXPECT_GT(failed, 200);
  // Not isolated: 20 GeV of pions within Delta-R 0.3 (I = 0.33 > 0.12).
  for (int i = 0; i < 200; ++i) {
    GenEvent e = single(11, 60, 1.0, 0.4, 0.000511);
    e.final_state.push_back(particle(211, 20, 1.2, 0.6, 0.13957));
    flow.run(e, i, ro, o, out);
    EXPECT_TRUE(out.leptons.empty());
    ASSERT_EQ(out.jets.size(), 1u);
    EXPECT_GT(out.jets[0].pt, 65);
  }
}

// The MET sees tracks to |eta| 2.5 and towers to |eta| 5: a charged pion beyond the tracker
// is a neutral hadron of the HCAL, a photon beyond 5 and a muon beyond 2.5 are not seen.
// The card's jet energy scale at its quoted points.
TEST(EnergyFlow, AcceptanceAndEnergyScale) {
  DetectorOptions o;
  o.jet_energy_scale = true;  // the card's factor is opt-in (off by default)
  ReconstructionOptions ro;
  EnergyFlow flow;
  RecoEvent out;
  for (int i = 0; i < 50; ++i) {
    flow.run(single(211, 30, 2.7, 0.0, 0.13957), i, ro, o, out);
    ASSERT_EQ(flow.objects().size(), 1u);
    EXPECT_EQ(flow.objects()[0].kind, EnergyFlowObject::NeutralHadron);
    EXPECT_NEAR(out.met.pt, flow.objects()[0].pt, 1e-12);
    DetectorOptions always = o;
    always.efficiencies = false;  // tracked for sure
    flow.run(single(211, 30, 2.3, 0.0, 0.13957), i, ro, always, out);
    ASSERT_GE(flow.objects().size(), 1u);
    EXPECT_EQ(flow.objects()[0].kind, EnergyFlowObject::Track);
    flow.run(single(22, 1, 5.1, 0.0, 0.0), i, ro, o, out);
    EXPECT_TRUE(flow.objects().empty());
    EXPECT_EQ(out.met.pt, 0.0);
    flow.run(single(13, 30, 2.6, 0.0, 0.10566), i, ro, o, out);
    EXPECT_TRUE(flow.objects().empty());
  }
  EXPECT_NEAR(jet_energy_scale(o, 30, 0.0), std::sqrt(2.5 * 2.5 / 30 + 1), 1e-15);
  EXPECT_NEAR(jet_energy_scale(o, 30, 0.0), 1.10, 0.005);
  EXPECT_NEAR(jet_energy_scale(o, 100, 0.0), 1.03, 0.005);
  EXPECT_NEAR(jet_energy_scale(o, 50, 2.0), std::sqrt(2.2 * 2.2 / 50 + 1), 1e-15);
}
