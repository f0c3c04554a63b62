// The stop-dilepton network inputs of Roxlo & Reece section 2.1 and the "human" variables
// (mT2(ll), Delta-phi(ll), ..., the ISR pT of eq. 6) from a reconstructed event.
//
// Objects: l1, l2 = the leading and subleading lepton. The two jets are the two highest-pT
// b-tagged jets, filled with the highest-pT untagged jets when fewer than 2 are tagged; they are
// paired with the leptons by the pairing that minimises max[m(l1, j), m(l2, j')]; j1 is the jet
// paired with l1, j2 the one paired with l2 (so j1 need not be the harder jet). A tie keeps the
// harder jet as j1. The missing momentum is the fifth object.
//
// Inputs (19, in this order):
//   log_met, log_l1_pt, log_l2_pt, log_j1_pt, log_j2_pt: natural log of pT in GeV (pT floored at
//     1e-6 GeV so the log stays finite);
//   l1_eta, l2_eta, j1_eta, j2_eta: eta * s with s = sign(eta(l1)) (s = +1 when eta(l1) = 0),
//     so l1_eta = |eta(l1)| >= 0 (the paper: eta_l1 -> |eta_l1|, eta_i -> eta_i eta_l1/|eta_l1|);
//   l1_dphi, ..., j2_dphi: |Delta-phi(object, MET)| in [0, pi];
//   l1_dphi_sign, ..., j2_dphi_sign: +1 when the object lies counter-clockwise of the MET
//     (Delta-phi = phi(object) - phi(MET) wrapped into (-pi, pi] is >= 0, so exactly 0 and pi
//     give +1), -1 clockwise;
//   j1_btag, j2_btag: +1 b-tagged, -1 not.
// Extras (7): mt2ll (mT2 of l1, l2 as massless visibles, as in the paper's eq. (3), the MET,
//   mchi = 0), dphi_ll =
//   |Delta-phi(l1, l2)| in [0, pi], deta_ll = l1_eta - l2_eta (signed, after the eta-sign
//   convention, as in the paper's fig. 27), m_ll = m(l1 + l2), met = MET in GeV, ht = scalar sum
//   of the pT of all jets of the event given (the paper does not define H_T; leptons are not
//   included; the features pipeline passes the preselected jets, pT > 30 GeV, |eta| < 2.4,
//   so ht is the HT of SUS-17-001's MET/sqrt(HT)),
//   isr_pt = eq. (6): pT(j1) if j1 is untagged, else pT(j2) if j2 is untagged, else
//   |pT(miss) + pT(l1) + pT(l2) + pT(j1) + pT(j2)|.
#pragma once

#include <string>
#include <vector>

#include "unbox/physics/event.hpp"

namespace unbox::physics {

inline constexpr int kStopDileptonInputs = 19;
inline constexpr int kStopDileptonColumns = 26;  // 19 inputs + 7 extras

// The 26 column names, inputs first (the names; scripts rely on them).
const std::vector<std::string>& stop_dilepton_columns();
// The first 19 (the network inputs).
const std::vector<std::string>& stop_dilepton_input_columns();

// The objects chosen by the rules above.
struct StopDileptonObjects {
  Lepton l1, l2;
  Jet j1, j2;
  MissingMomentum met;
};

// False (and `objects` untouched) when the event has fewer than 2 leptons or 2 jets.
bool stop_dilepton_objects(const RecoEvent& event, StopDileptonObjects& objects);

// Writes kStopDileptonColumns values to out in stop_dilepton_columns() order; false (out
// untouched) when the event has fewer than 2 leptons or 2 jets.
bool stop_dilepton_features(const RecoEvent& event, double* out);

}  // namespace unbox::physics
