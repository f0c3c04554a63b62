// A parametrised CMS-like detector response applied to truth-reconstructed events
// (reconstruct.hpp): momentum smearing, acceptance, identification and b-tagging
// efficiencies, and the missing momentum recomputed after smearing. Seeded per event from
// (seed, event index), so results do not depend on threading or reading order.
//
// Defaults come from Delphes' CMS card (delphes/delphes cards/delphes_card_CMS.tcl, used by
// Roxlo & Reece via Delphes 3.4.1), simplified from tracks and towers to whole objects:
//  - electron pT resolution sigma/pT = sqrt(a^2 + (b pT)^2): (a, b) = (0.03, 1.3e-3) for
//    |eta| <= 0.5, (0.05, 1.7e-3) for 0.5-1.5, (0.15, 3.1e-3) for 1.5-2.5 (card's
//    ElectronMomentumSmearing, from arXiv:1405.6569);
//  - muon: (0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4) (MuonMomentumSmearing);
//  - jets: the card's HCAL resolution applied to the jet energy, sigma/E = sqrt(0.05^2 +
//    1.5^2/E) for |eta| <= 3, sqrt(0.13^2 + 2.7^2/E) for 3 < |eta| <= 5 (E in GeV); the
//    whole four-vector is scaled (eta, phi, m/pT unchanged);
//  - acceptance: electrons |eta| < 2.5, muons |eta| < 2.4, jets |eta| < 4.7 (CMS) with
//    pT > 20 GeV after smearing; leptons pT > 10 GeV;
//  - lepton identification efficiency: electrons 0.95 (|eta| <= 1.5), 0.85 (1.5-2.5); muons
//    0.95 (ElectronEfficiency, MuonEfficiency);
//  - b-tagging (card's BTagging, from arXiv:1211.4462), pT in GeV, only within the tracker
//    |eta| < 2.5: b jets 0.85 tanh(0.0025 pT) 25/(1 + 0.063 pT); c jets
//    0.25 tanh(0.018 pT)/(1 + 0.0013 pT); light jets 0.01 + 3.8e-5 pT.
// Missing momentum: the truth MET (minus the sum of all visible particles) minus the change
// of every smeared lepton's and jet's transverse momentum (a "type-1"-like propagation of
// the object smearing), plus a Gaussian for the unclustered energy with sigma per
// component = unclustered_resolution * sqrt(sumET - sum of the objects' pT) (GeV). Objects
// lost to acceptance or identification inefficiency still deposit energy, so they do not
// change the MET. sumet is recomputed with the smeared objects.
#pragma once

#include <cstdint>

#include "unbox/physics/event.hpp"

namespace unbox::physics {

struct DetectorOptions {
  bool smear = true;         // momentum smearing (and the unclustered MET term)
  bool efficiencies = true;  // identification and b-tag efficiencies, mistags (truth: b-tag = flavour 5)
  std::uint64_t seed = 1;

  double electron_eta_max = 2.5, muon_eta_max = 2.4, lepton_pt_min = 10.0;
  double jet_eta_max = 4.7, jet_pt_min = 20.0, btag_eta_max = 2.5;
  // sigma/pT = sqrt(a^2 + (b pT)^2) in |eta| bins [0, 0.5], (0.5, 1.5], (1.5, 2.5].
  double electron_a[3] = {0.03, 0.05, 0.15}, electron_b[3] = {1.3e-3, 1.7e-3, 3.1e-3};
  double muon_a[3] = {0.01, 0.015, 0.025}, muon_b[3] = {1.0e-4, 1.5e-4, 3.5e-4};
  // sigma/E = sqrt(c^2 + s^2/E): central (|eta| <= 3) and forward.
  double jet_c_central = 0.05, jet_s_central = 1.5, jet_c_forward = 0.13, jet_s_forward = 2.7;
  double jet_phi_resolution = 0.03;  // rad; used only by the MET significance (selection.hpp)
  double electron_eff_barrel = 0.95, electron_eff_endcap = 0.85, muon_eff = 0.95;
  double unclustered_resolution = 0.5;  // GeV^(1/2)

  // No smearing and no efficiencies (acceptance cuts still apply).
  static DetectorOptions truth();
  static DetectorOptions cms();
};

// Relative resolutions and efficiencies of the model (used by the smearing and by tests).
double electron_resolution(const DetectorOptions& o, double pt, double eta);  // sigma(pT)/pT
double muon_resolution(const DetectorOptions& o, double pt, double eta);
double jet_resolution(const DetectorOptions& o, double energy, double eta);  // sigma(E)/E
double lepton_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta);
// Probability to b-tag a jet of the given truth flavour (5, 4, else light).
double btag_efficiency(const DetectorOptions& o, int flavour, double pt, double eta);

// Applies the response to a truth RecoEvent; `event_index` (position in the file, from 0)
// and options.seed fix the random numbers.
RecoEvent apply_detector(const RecoEvent& truth, std::int64_t event_index, const DetectorOptions& options);

}  // namespace unbox::physics
