// Parametrised detector response; see detector.hpp for the formulas and their sources.
#include "unbox/physics/detector.hpp"

#include <algorithm>
#include <cmath>

#include "event_random.hpp"

namespace unbox::physics {

namespace {

using detail::EventRandom;

int eta_bin(double eta) {
  double a = std::abs(eta);
  return a <= 0.5 ? 0 : (a <= 1.5 ? 1 : 2);
}

}  // namespace

DetectorOptions DetectorOptions::truth() {
  DetectorOptions o;
  o.model = DetectorModel::Truth;
  o.smear = false;
  o.efficiencies = false;
  return o;
}
DetectorOptions DetectorOptions::cms() { return DetectorOptions{}; }
DetectorOptions DetectorOptions::objects() {
  DetectorOptions o;
  o.model = DetectorModel::Objects;
  return o;
}

double electron_resolution(const DetectorOptions& o, double pt, double eta) {
  int b = eta_bin(eta);
  return std::hypot(o.electron_a[b], o.electron_b[b] * pt);
}
double muon_resolution(const DetectorOptions& o, double pt, double eta) {
  int b = eta_bin(eta);
  return std::hypot(o.muon_a[b], o.muon_b[b] * pt);
}
double hadron_resolution(const DetectorOptions& o, double pt, double eta) {
  int b = eta_bin(eta);
  return std::hypot(o.hadron_a[b], o.hadron_b[b] * pt);
}
double track_resolution(const DetectorOptions& o, int pdg_id, double pt, double eta) {
  int a = std::abs(pdg_id);
  return a == 11 ? electron_resolution(o, pt, eta)
                 : (a == 13 ? muon_resolution(o, pt, eta) : hadron_resolution(o, pt, eta));
}
double ecal_resolution(const DetectorOptions& o, double energy, double eta) {
  double e = std::max(energy, 1e-9), a = std::abs(eta);
  if (a > 2.5) return std::sqrt(o.ecal_c_forward * o.ecal_c_forward + o.ecal_s_forward * o.ecal_s_forward / e);
  double shape = a <= 1.5 ? 1.0 + 0.64 * eta * eta : 2.16 + 5.6 * (a - 2.0) * (a - 2.0);
  return shape * std::sqrt(o.ecal_c * o.ecal_c + o.ecal_s * o.ecal_s / e + o.ecal_n * o.ecal_n / (e * e));
}
double hcal_resolution(const DetectorOptions& o, double energy, double eta) { return jet_resolution(o, energy, eta); }
double tracking_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta) {
  double a = std::abs(eta);
  if (pt <= 0.1 || a > o.tracker_eta_max) return 0.0;
  bool barrel = a <= 1.5;
  switch (std::abs(pdg_id)) {
    case 11:
      if (pt <= 1.0) return barrel ? 0.73 : 0.50;
      if (pt <= 100.0) return barrel ? 0.95 : 0.83;
      return barrel ? 0.99 : 0.90;
    case 13: {
      if (pt <= 1.0) return barrel ? 0.75 : 0.70;
      double plateau = barrel ? 0.99 : 0.98;
      return pt <= 1000.0 ? plateau : plateau * std::exp(0.5 - 5.0e-4 * pt);
    }
    default:
      if (pt <= 1.0) return barrel ? 0.70 : 0.60;
      return barrel ? 0.95 : 0.85;
  }
}
double jet_energy_scale(const DetectorOptions& o, double pt, double eta) {
  if (!o.jet_energy_scale || !(pt > 0)) return 1.0;
  double a = o.jes_a - o.jes_b * std::abs(eta);
  return std::sqrt(a * a / pt + 1.0);
}
double jet_resolution(const DetectorOptions& o, double energy, double eta) {
  bool central = std::abs(eta) <= 3.0;
  double c = central ? o.jet_c_central : o.jet_c_forward, s = central ? o.jet_s_central : o.jet_s_forward;
  return std::sqrt(c * c + s * s / std::max(energy, 1e-9));
}
double lepton_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta) {
  int a = std::abs(pdg_id);
  if (pt <= o.lepton_pt_min) return 0.0;
  if (a == 11) {
    if (std::abs(eta) > o.electron_eta_max) return 0.0;
    return std::abs(eta) <= 1.5 ? o.electron_eff_barrel : o.electron_eff_endcap;
  }
  if (a == 13) return std::abs(eta) <= o.muon_eta_max ? o.muon_eff : 0.0;
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
