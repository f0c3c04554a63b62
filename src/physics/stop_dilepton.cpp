// Roxlo & Reece section 2.1 inputs and the human variables (conventions in stop_dilepton.hpp).
#include "unbox/physics/stop_dilepton.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/physics/kinematics.hpp"
#include "unbox/physics/mt2.hpp"

namespace unbox::physics {

namespace {

LorentzVector p4(const Lepton& l) { return LorentzVector::from_pt_eta_phi_m(l.pt, l.eta, l.phi, l.m); }
LorentzVector p4(const Jet& j) { return LorentzVector::from_pt_eta_phi_m(j.pt, j.eta, j.phi, j.m); }

double safe_log(double pt) { return std::log(std::max(pt, 1e-6)); }

}  // namespace

const std::vector<std::string>& stop_dilepton_columns() {
  static const std::vector<std::string> names = {
      "log_met",      "log_l1_pt",    "log_l2_pt",    "log_j1_pt", "log_j2_pt", "l1_eta",  "l2_eta",
      "j1_eta",       "j2_eta",       "l1_dphi",      "l2_dphi",   "j1_dphi",   "j2_dphi", "l1_dphi_sign",
      "l2_dphi_sign", "j1_dphi_sign", "j2_dphi_sign", "j1_btag",   "j2_btag",   "mt2ll",   "dphi_ll",
      "deta_ll",      "m_ll",         "met",          "ht",        "isr_pt"};
  return names;
}

const std::vector<std::string>& stop_dilepton_input_columns() {
  static const std::vector<std::string> names(stop_dilepton_columns().begin(),
                                              stop_dilepton_columns().begin() + kStopDileptonInputs);
  return names;
}

bool stop_dilepton_objects(const RecoEvent& ev, StopDileptonObjects& obj) {
  if (ev.leptons.size() < 2 || ev.jets.size() < 2) return false;
  // Leptons and jets by pT, descending (stable: ties keep the input order).
  std::vector<std::size_t> li(ev.leptons.size()), ji(ev.jets.size());
  std::iota(li.begin(), li.end(), 0);
  std::iota(ji.begin(), ji.end(), 0);
  std::stable_sort(li.begin(), li.end(), [&](auto x, auto y) { return ev.leptons[x].pt > ev.leptons[y].pt; });
  std::stable_sort(ji.begin(), ji.end(), [&](auto x, auto y) { return ev.jets[x].pt > ev.jets[y].pt; });
  // Two highest-pT b-tagged jets, filled with the highest-pT untagged ones.
  std::size_t chosen[2];
  int n = 0;
  for (auto k : ji)
    if (n < 2 && ev.jets[k].btag) chosen[n++] = k;
  for (auto k : ji)
    if (n < 2 && !ev.jets[k].btag) chosen[n++] = k;
  // Keep the chosen pair in pT order, then pair by min over pairings of max m(l, j).
  if (ev.jets[chosen[1]].pt > ev.jets[chosen[0]].pt) std::swap(chosen[0], chosen[1]);
  const Lepton& l1 = ev.leptons[li[0]];
  const Lepton& l2 = ev.leptons[li[1]];
  const Jet& ja = ev.jets[chosen[0]];
  const Jet& jb = ev.jets[chosen[1]];
  const double keep = std::max(invariant_mass(p4(l1), p4(ja)), invariant_mass(p4(l2), p4(jb)));
  const double swap = std::max(invariant_mass(p4(l1), p4(jb)), invariant_mass(p4(l2), p4(ja)));
  obj.l1 = l1;
  obj.l2 = l2;
  obj.j1 = swap < keep ? jb : ja;
  obj.j2 = swap < keep ? ja : jb;
  obj.met = ev.met;
  return true;
}

bool stop_dilepton_features(const RecoEvent& ev, double* out) {
  StopDileptonObjects o;
  if (!stop_dilepton_objects(ev, o)) return false;
  const double s = o.l1.eta < 0 ? -1.0 : 1.0;
  const double dl1 = delta_phi(o.l1.phi, o.met.phi), dl2 = delta_phi(o.l2.phi, o.met.phi);
  const double dj1 = delta_phi(o.j1.phi, o.met.phi), dj2 = delta_phi(o.j2.phi, o.met.phi);
  auto sign = [](double d) { return d >= 0 ? 1.0 : -1.0; };
  double* v = out;
  *v++ = safe_log(o.met.pt);
  *v++ = safe_log(o.l1.pt);
  *v++ = safe_log(o.l2.pt);
  *v++ = safe_log(o.j1.pt);
  *v++ = safe_log(o.j2.pt);
  *v++ = s * o.l1.eta;
  *v++ = s * o.l2.eta;
  *v++ = s * o.j1.eta;
  *v++ = s * o.j2.eta;
  *v++ = std::fabs(dl1);
  *v++ = std::fabs(dl2);
  *v++ = std::fabs(dj1);
  *v++ = std::fabs(dj2);
  *v++ = sign(dl1);
  *v++ = sign(dl2);
  *v++ = sign(dj1);
  *v++ = sign(dj2);
  *v++ = o.j1.btag ? 1.0 : -1.0;
  *v++ = o.j2.btag ? 1.0 : -1.0;
  // Extras.
  const LorentzVector l1 = p4(o.l1), l2 = p4(o.l2), j1 = p4(o.j1), j2 = p4(o.j2);
  const double mex = o.met.pt * std::cos(o.met.phi), mey = o.met.pt * std::sin(o.met.phi);
  *v++ = mt2(0.0, l1.px(), l1.py(), 0.0, l2.px(), l2.py(), mex, mey);  // massless visibles (eq. 3)
  *v++ = std::fabs(delta_phi(o.l1.phi, o.l2.phi));
  *v++ = s * (o.l1.eta - o.l2.eta);
  *v++ = invariant_mass(l1, l2);
  *v++ = o.met.pt;
  double ht = 0;
  for (const Jet& j : ev.jets) ht += j.pt;
  *v++ = ht;
  double isr;
  if (!o.j1.btag)
    isr = o.j1.pt;
  else if (!o.j2.btag)
    isr = o.j2.pt;
  else
    isr = std::hypot(mex + l1.px() + l2.px() + j1.px() + j2.px(), mey + l1.py() + l2.py() + j1.py() + j2.py());
  *v++ = isr;
  return true;
}

}  // namespace unbox::physics
