// Parametrised detector response; see detector.hpp for the formulas and their sources.
#include "unbox/physics/detector.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace unbox::physics {

namespace {

// SplitMix64 finaliser: decorrelates (seed, event index) before seeding the generator.
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class EventRandom {
 public:
  EventRandom(std::uint64_t seed, std::int64_t index)
      : rng_(mix64(mix64(seed) ^ static_cast<std::uint64_t>(index))) {}
  // 53-bit uniform in [0, 1).
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  // Box-Muller, both values used.
  double gaussian() {
    if (have_) {
      have_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * M_PI * u2;
    spare_ = r * std::sin(t);
    have_ = true;
    return r * std::cos(t);
  }

 private:
  std::mt19937_64 rng_;
  bool have_ = false;
  double spare_ = 0;
};

int eta_bin(double eta) {
  double a = std::abs(eta);
  return a <= 0.5 ? 0 : (a <= 1.5 ? 1 : 2);
}

}  // namespace

DetectorOptions DetectorOptions::truth() {
  DetectorOptions o;
  o.smear = false;
  o.efficiencies = false;
  return o;
}
DetectorOptions DetectorOptions::cms() { return DetectorOptions{}; }

double electron_resolution(const DetectorOptions& o, double pt, double eta) {
  int b = eta_bin(eta);
  return std::hypot(o.electron_a[b], o.electron_b[b] * pt);
}
double muon_resolution(const DetectorOptions& o, double pt, double eta) {
  int b = eta_bin(eta);
  return std::hypot(o.muon_a[b], o.muon_b[b] * pt);
}
double jet_resolution(const DetectorOptions& o, double energy, double eta) {
  bool central = std::abs(eta) <= 3.0;
  double c = central ? o.jet_c_central : o.jet_c_forward, s = central ? o.jet_s_central : o.jet_s_forward;
  return std::sqrt(c * c + s * s / std::max(energy, 1e-9));
}
double lepton_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta) {
  int a = std::abs(pdg_id);
  if (pt <= o.lepton_pt_min) return 0.0;
  if (a == 11) return std::abs(eta) <= 1.5 ? o.electron_eff_barrel : o.electron_eff_endcap;
  if (a == 13) return o.muon_eff;
  return 0.0;
}
double btag_efficiency(const DetectorOptions& o, int flavour, double pt, double eta) {
  if (std::abs(eta) >= o.btag_eta_max) return 0.0;
  if (flavour == 5) return 0.85 * std::tanh(0.0025 * pt) * (25.0 / (1.0 + 0.063 * pt));
  if (flavour == 4) return 0.25 * std::tanh(0.018 * pt) * (1.0 / (1.0 + 0.0013 * pt));
  return 0.01 + 0.000038 * pt;
}

RecoEvent apply_detector(const RecoEvent& truth, std::int64_t event_index, const DetectorOptions& o) {
  EventRandom rnd(o.seed, event_index);
  RecoEvent out;
  out.weight = truth.weight;
  double mex = truth.met.pt * std::cos(truth.met.phi), mey = truth.met.pt * std::sin(truth.met.phi);
  double sumet = truth.met.sumet, objects_pt = 0;

  // Random numbers are drawn in a fixed order for every object (smearing, then efficiency),
  // whether or not the object survives, so one object's fate does not shift another's.
  for (const Lepton& l : truth.leptons) {
    double g = rnd.gaussian(), u = rnd.uniform();
    objects_pt += l.pt;
    Lepton s = l;
    if (o.smear) {
      double sigma = std::abs(l.pdg_id) == 11 ? electron_resolution(o, l.pt, l.eta) : muon_resolution(o, l.pt, l.eta);
      double scale = std::max(0.0, 1.0 + sigma * g);
      s.pt = l.pt * scale;
      s.m = l.m * scale;
      mex -= (s.pt - l.pt) * std::cos(l.phi);
      mey -= (s.pt - l.pt) * std::sin(l.phi);
      sumet += s.pt - l.pt;
    }
    double eta_max = std::abs(l.pdg_id) == 11 ? o.electron_eta_max : o.muon_eta_max;
    if (std::abs(s.eta) >= eta_max || s.pt <= o.lepton_pt_min) continue;
    if (o.efficiencies && u >= lepton_efficiency(o, s.pdg_id, s.pt, s.eta)) continue;
    out.leptons.push_back(s);
  }
  for (const Jet& j : truth.jets) {
    double g = rnd.gaussian(), u = rnd.uniform();
    objects_pt += j.pt;
    Jet s = j;
    if (o.smear) {
      double energy = std::sqrt(j.m * j.m + std::pow(j.pt * std::cosh(j.eta), 2));
      double scale = std::max(0.0, 1.0 + jet_resolution(o, energy, j.eta) * g);
      s.pt = j.pt * scale;
      s.m = j.m * scale;
      mex -= (s.pt - j.pt) * std::cos(j.phi);
      mey -= (s.pt - j.pt) * std::sin(j.phi);
      sumet += s.pt - j.pt;
    }
    if (std::abs(s.eta) >= o.jet_eta_max || s.pt <= o.jet_pt_min) continue;
    s.btag = o.efficiencies ? u < btag_efficiency(o, s.flavour, s.pt, s.eta)
                            : (s.flavour == 5 && std::abs(s.eta) < o.btag_eta_max);
    out.jets.push_back(s);
  }
  if (o.smear) {
    double sigma = o.unclustered_resolution * std::sqrt(std::max(0.0, truth.met.sumet - objects_pt));
    mex += sigma * rnd.gaussian();
    mey += sigma * rnd.gaussian();
  }
  out.met.pt = std::hypot(mex, mey);
  out.met.phi = (mex == 0 && mey == 0) ? 0.0 : std::atan2(mey, mex);
  out.met.sumet = sumet;
  auto by_pt = [](const auto& a, const auto& b) { return a.pt > b.pt; };
  std::sort(out.leptons.begin(), out.leptons.end(), by_pt);
  std::sort(out.jets.begin(), out.jets.end(), by_pt);
  return out;
}

}  // namespace unbox::physics
