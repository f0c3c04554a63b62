// The energy-flow detector emulation; see energy_flow.hpp for the steps and detector.hpp for
// the card's numbers.
#include "unbox/physics/energy_flow.hpp"

#include <fastjet/ClusterSequence.hh>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "unbox/physics/kinematics.hpp"

#include "event_random.hpp"

namespace unbox::physics {

namespace {

using detail::EventRandom;

constexpr double kTwoPi = 2 * M_PI;
constexpr double kGhostScale = 1e-18;
constexpr int kGhostB = -5, kGhostC = -4;

// The simplified segmentation (energy_flow.hpp): |eta| ranges, eta width, phi cells.
struct Region {
  double lo, hi, width;
  int nphi;
};
constexpr Region kEcal[] = {{0.0, 3.0, 0.0174, 360}, {3.0, 5.0, 0.175, 36}};
constexpr Region kHcal[] = {{0.0, 1.74, 0.087, 72}, {1.74, 3.0, 0.174, 36}, {3.0, 5.0, 0.175, 36}};
constexpr int kRegions[2] = {2, 3};
const Region& region_of(int calo, int r) { return calo == 0 ? kEcal[r] : kHcal[r]; }

// Cell key: calorimeter (0 ECAL, 1 HCAL), region, side, eta index and phi index packed.
std::int64_t cell_key(int calo, double eta, double phi) {
  double a = std::abs(eta);
  int r = 0;
  while (r + 1 < kRegions[calo] && a > region_of(calo, r).hi) ++r;
  const Region& g = region_of(calo, r);
  int side = eta >= 0 ? 1 : 0;
  std::int64_t ieta = static_cast<std::int64_t>(std::floor(eta / g.width));
  int iphi = static_cast<int>(std::floor((phi + M_PI) / (kTwoPi / g.nphi)));
  iphi = ((iphi % g.nphi) + g.nphi) % g.nphi;
  return ((((calo * 4 + r) * 2 + side) * 200000LL) + (ieta + 100000)) * 1024 + iphi;
}

struct Cell {
  int calo;
  double eta_lo, eta_hi, phi_lo, phi_hi;
};
Cell decode(std::int64_t key) {
  int iphi = static_cast<int>(key % 1024);
  std::int64_t rest = key / 1024;
  std::int64_t ieta = rest % 200000 - 100000;
  rest /= 200000;
  int side = static_cast<int>(rest % 2);
  rest /= 2;
  int r = static_cast<int>(rest % 4);
  int calo = static_cast<int>(rest / 4);
  const Region& g = region_of(calo, r);
  double lo = side ? g.lo : -g.hi, hi = side ? g.hi : -g.lo;
  Cell c;
  c.calo = calo;
  c.eta_lo = std::max(lo, static_cast<double>(ieta) * g.width);
  c.eta_hi = std::min(hi, static_cast<double>(ieta + 1) * g.width);
  double dphi = kTwoPi / g.nphi;
  c.phi_lo = -M_PI + iphi * dphi;
  c.phi_hi = c.phi_lo + dphi;
  return c;
}

enum class Species { Invisible, Electron, Muon, Photon, ChargedHadron, NeutralHadron, Vee, Parton };

void silence_fastjet_banner() {
  static std::once_flag once;
  std::call_once(once, [] { fastjet::ClusterSequence::set_fastjet_banner_stream(nullptr); });
}

}  // namespace

int charge3(int pdg_id) {
  const int a = std::abs(pdg_id), sign = pdg_id < 0 ? -1 : 1;
  static constexpr int quark[7] = {0, -1, 2, -1, 2, -1, 2};  // d u s c b t, times 3
  if (a == 11 || a == 13 || a == 15 || a == 17) return -3 * sign;
  if (a >= 1 && a <= 6) return quark[a] * sign;
  if (a == 24 || a == 37) return 3 * sign;
  if (a < 100 || a >= 1000000) return 0;
  const int q3 = (a / 10) % 10, q2 = (a / 100) % 10, q1 = (a / 1000) % 10;
  if (q2 > 6 || q3 > 6 || q1 > 6) return 0;
  int c;
  if (q1 == 0) {
    c = quark[q2] - quark[q3];  // meson q2 anti-q3
    if (q2 % 2 == 1) c = -c;    // down-type heavier quark: the antiquark convention flips
  } else {
    c = quark[q1] + quark[q2] + quark[q3];
  }
  return c * sign;
}

void EnergyFlow::run(const GenEvent& event, std::int64_t index, const ReconstructionOptions& ro,
                     const DetectorOptions& o, RecoEvent& out) {
  silence_fastjet_banner();
  EventRandom rnd(o.seed, index);
  tracks_.clear();
  hits_.clear();
  objects_.clear();
  out.leptons.clear();
  out.jets.clear();
  out.met = MissingMomentum{};
  out.weight = event.weight;

  // 1-2. Tracks and calorimeter deposits, particle by particle.
  const auto& fs = event.final_state;
  for (size_t i = 0; i < fs.size(); ++i) {
    const GenParticle& p = fs[i];
    const int a = std::abs(p.pdg_id);
    if (is_invisible(p.pdg_id)) continue;
    bool extra = false;
    for (int x : ro.extra_invisible) extra |= std::abs(x) == a;
    if (extra) continue;
    const double pt = std::hypot(p.px, p.py);
    if (pt == 0) continue;  // along the beam: never reaches the detector
    const double eta = std::asinh(p.pz / pt), phi = std::atan2(p.py, p.px);
    Species s;
    if (a == 11)
      s = Species::Electron;
    else if (a == 13)
      s = Species::Muon;
    else if (a == 22 || a == 111)
      s = Species::Photon;
    else if (a == 310 || a == 3122)
      s = Species::Vee;
    else if (a <= 6 || a == 21)
      s = Species::Parton;
    else
      s = charge3(p.pdg_id) != 0 ? Species::ChargedHadron : Species::NeutralHadron;
    const bool charged = s == Species::Electron || s == Species::Muon || s == Species::ChargedHadron;
    int track = -1;
    if (charged) {
      const double u = rnd.uniform(), g = rnd.gaussian();
      if (std::abs(eta) <= o.tracker_eta_max && pt > 0.1 &&
          (!o.efficiencies || u < tracking_efficiency(o, a, pt, eta))) {
        const double sigma = track_resolution(o, a, pt, eta);
        const double spt = o.smear ? EventRandom::log_normal(pt, sigma * pt, g) : pt;
        track = static_cast<int>(tracks_.size());
        tracks_.push_back({spt, eta, phi, spt * std::cosh(eta), sigma, p.pdg_id, static_cast<int>(i)});
      }
    }
    if (std::abs(eta) > o.calo_eta_max) continue;  // a track beyond the calorimeter passes as measured
    double fe = 0, fh = 0;
    switch (s) {
      case Species::Electron:
      case Species::Photon:
        fe = 1;
        break;
      case Species::Vee:
        fe = 0.3, fh = 0.7;
        break;
      case Species::ChargedHadron:
      case Species::NeutralHadron:
      case Species::Parton:
        fh = 1;
        break;
      default:
        break;
    }
    const int order = static_cast<int>(hits_.size());
    if (fe > 0) hits_.push_back({cell_key(0, eta, phi), order, -1, fe * p.e});
    if (fh > 0) hits_.push_back({cell_key(1, eta, phi), order + (fe > 0), -1, fh * p.e});
    if (track >= 0 && o.merge_tracks_with_towers && s != Species::Muon) {
      int calo = s == Species::Electron ? 0 : 1;
      hits_.push_back({cell_key(calo, eta, phi), static_cast<int>(hits_.size()), track, 0.0});
    }
  }

  // 3. Towers, in cell order.
  std::sort(hits_.begin(), hits_.end(),
            [](const Hit& x, const Hit& y) { return x.cell != y.cell ? x.cell < y.cell : x.order < y.order; });
  for (size_t b = 0; b < hits_.size();) {
    size_t e = b;
    double deposit = 0, track_e = 0, track_var = 0;
    while (e < hits_.size() && hits_[e].cell == hits_[b].cell) {
      const Hit& h = hits_[e];
      if (h.track < 0) {
        deposit += h.energy;
      } else {
        const TrackState& t = tracks_[static_cast<size_t>(h.track)];
        track_e += t.e;
        track_var += (t.sigma * t.e) * (t.sigma * t.e);
      }
      ++e;
    }
    const Cell c = decode(hits_[b].cell);
    const double centre = 0.5 * (c.eta_lo + c.eta_hi);
    const bool ecal = c.calo == 0;
    double sigma = 0, energy = 0;
    if (deposit > 0) {
      sigma = (ecal ? ecal_resolution(o, deposit, centre) : hcal_resolution(o, deposit, centre)) * deposit;
      const double g = rnd.gaussian();
      energy = o.smear ? EventRandom::log_normal(deposit, sigma, g) : deposit;
    }
    const double emin = ecal ? o.ecal_energy_min : o.hcal_energy_min;
    const double smin = ecal ? o.ecal_significance_min : o.hcal_significance_min;
    if (energy < emin || energy < smin * sigma) energy = 0;
    const double neutral = std::max(energy - track_e, 0.0);
    const double neutral_sigma = std::sqrt(track_var + sigma * sigma);
    if (neutral > emin && neutral > smin * neutral_sigma) {
      double eta = centre, phi = 0.5 * (c.phi_lo + c.phi_hi);
      if (o.smear_tower_center) {
        eta = c.eta_lo + (c.eta_hi - c.eta_lo) * rnd.uniform();
        phi = c.phi_lo + (c.phi_hi - c.phi_lo) * rnd.uniform();
      }
      EnergyFlowObject n;
      n.kind = ecal ? EnergyFlowObject::Photon : EnergyFlowObject::NeutralHadron;
      n.eta = eta;
      n.phi = phi;
      n.e = neutral;
      n.pt = neutral / std::cosh(eta);
      n.pdg_id = ecal ? 22 : 0;
      objects_.push_back(n);
    } else if (track_e > 0) {
      const double wt = track_var > 0 ? 1.0 / track_var : 0.0, wc = sigma > 0 ? 1.0 / (sigma * sigma) : 0.0;
      if (wt + wc > 0) {
        const double best = (wt * track_e + wc * energy) / (wt + wc), f = best / track_e;
        for (size_t k = b; k < e; ++k)
          if (hits_[k].track >= 0) {
            TrackState& t = tracks_[static_cast<size_t>(hits_[k].track)];
            t.pt *= f;
            t.e *= f;
          }
      }
    }
    b = e;
  }
  // Tracks first (particle order), then the neutral objects (cell order).
  const size_t n_neutral = objects_.size();
  objects_.resize(n_neutral + tracks_.size());
  std::move_backward(objects_.begin(), objects_.begin() + static_cast<std::ptrdiff_t>(n_neutral), objects_.end());
  for (size_t k = 0; k < tracks_.size(); ++k) {
    const TrackState& t = tracks_[k];
    EnergyFlowObject& x = objects_[k];
    x.kind = EnergyFlowObject::Track;
    x.pt = t.pt, x.eta = t.eta, x.phi = t.phi, x.e = t.e;
    x.pdg_id = t.pdg_id;
    x.particle = t.particle;
  }

  // 6. MET from every energy-flow object.
  double mex = 0, mey = 0, sumet = 0;
  for (const auto& x : objects_) {
    mex -= x.pt * std::cos(x.phi);
    mey -= x.pt * std::sin(x.phi);
    sumet += x.pt;
  }
  out.met.pt = std::hypot(mex, mey);
  out.met.phi = (mex == 0 && mey == 0) ? 0.0 : std::atan2(mey, mex);
  out.met.sumet = sumet;

  // 4. Leptons: identification, then isolation against the energy flow.
  lepton_object_.assign(objects_.size(), 0);
  const double cone2 = ro.isolation_cone * ro.isolation_cone;
  for (size_t k = 0; k < tracks_.size(); ++k) {
    const EnergyFlowObject& l = objects_[k];
    const int a = std::abs(l.pdg_id);
    if (a != 11 && a != 13) continue;
    const double u = rnd.uniform();
    if (o.efficiencies ? !(u < lepton_efficiency(o, a, l.pt, l.eta))
                       : (l.pt <= o.lepton_pt_min || std::abs(l.eta) > (a == 11 ? o.electron_eta_max : o.muon_eta_max)))
      continue;
    double iso = 0;
    for (size_t j = 0; j < objects_.size(); ++j) {
      if (j == k || objects_[j].pt < ro.isolation_particle_pt_min) continue;
      double de = objects_[j].eta - l.eta, dp = delta_phi(objects_[j].phi, l.phi);
      if (de * de + dp * dp < cone2) iso += objects_[j].pt;
    }
    if (iso / l.pt >= (a == 11 ? ro.electron_isolation : ro.muon_isolation)) continue;
    Lepton x;
    x.pt = l.pt, x.eta = l.eta, x.phi = l.phi, x.m = 0.0;
    x.pdg_id = l.pdg_id;
    x.charge = charge3(l.pdg_id) > 0 ? 1 : -1;
    out.leptons.push_back(x);
    lepton_object_[k] = 1;
  }
  std::sort(out.leptons.begin(), out.leptons.end(), [](const Lepton& x, const Lepton& y) { return x.pt > y.pt; });

  // 5. Jets.
  inputs_.clear();
  for (size_t k = 0; k < objects_.size(); ++k) {
    const auto& x = objects_[k];
    fastjet::PseudoJet p(x.pt * std::cos(x.phi), x.pt * std::sin(x.phi), x.pt * std::sinh(x.eta), x.e);
    p.set_user_index(static_cast<int>(k));
    inputs_.push_back(p);
  }
  const bool ghosts = ro.flavour == ReconstructionOptions::Flavour::Ghost;
  if (ghosts) {
    auto add = [&](const std::vector<GenParticle>& tags, int id) {
      for (const auto& t : tags) {
        if (t.px == 0 && t.py == 0) continue;
        fastjet::PseudoJet g(t.px * kGhostScale, t.py * kGhostScale, t.pz * kGhostScale, t.e * kGhostScale);
        g.set_user_index(id);
        inputs_.push_back(g);
      }
    };
    add(event.b_tags, kGhostB);
    add(event.c_tags, kGhostC);
  }
  if (!objects_.empty()) {
    fastjet::JetDefinition def(fastjet::antikt_algorithm, ro.jet_r);
    fastjet::ClusterSequence cs(inputs_, def);
    for (const auto& j : fastjet::sorted_by_pt(cs.inclusive_jets(ro.jet_pt_min))) {
      int flavour = 0;
      bool real = false, lepton = false;
      for (const auto& c : j.constituents()) {
        const int u = c.user_index();
        if (u == kGhostB)
          flavour = 5;
        else if (u == kGhostC && flavour == 0)
          flavour = 4;
        else if (u >= 0) {
          real = true;
          lepton |= lepton_object_[static_cast<size_t>(u)] != 0;
        }
      }
      if (!real || lepton) continue;
      const double eta = j.eta();
      if (std::abs(eta) > ro.jet_eta_max) continue;
      if (!ghosts) flavour = parton_flavour(event.partons, eta, j.phi_std(), ro.flavour_dr);
      const double f = jet_energy_scale(o, j.pt(), eta);
      Jet jet;
      jet.pt = j.pt() * f;
      jet.eta = eta;
      jet.phi = j.phi_std();
      jet.m = j.m() > 0 ? j.m() * f : 0.0;
      jet.flavour = flavour;
      out.jets.push_back(jet);
    }
  }
  std::sort(out.jets.begin(), out.jets.end(), [](const Jet& x, const Jet& y) { return x.pt > y.pt; });
  for (Jet& j : out.jets) {
    const double u = rnd.uniform();
    j.btag = o.efficiencies ? u < btag_efficiency(o, j.flavour, j.pt, j.eta)
                            : (j.flavour == 5 && std::abs(j.eta) < o.btag_eta_max);
  }
}

RecoEvent reconstruct_energy_flow(const GenEvent& event, std::int64_t index, const ReconstructionOptions& reco,
                                  const DetectorOptions& detector) {
  thread_local EnergyFlow flow;
  RecoEvent out;
  flow.run(event, index, reco, detector, out);
  return out;
}

}  // namespace unbox::physics
