// The detector models applied to generator events, seeded per event from (seed, event index)
// so results do not depend on threading or reading order. Three models:
//
//  - EnergyFlow (default, `--detector cms`): a per-particle emulation of Delphes 3.4.1 with the
//    CMS card (delphes/delphes cards/delphes_card_CMS.tcl, the detector of Roxlo & Reece), in
//    energy_flow.hpp: tracks (efficiency, momentum smearing), ECAL and HCAL towers (energy
//    smearing, thresholds), the energy-flow merging of tracks and towers, isolated leptons,
//    anti-kT jets from the energy-flow objects with the card's jet energy scale, b-tagging,
//    and the MET from the energy-flow objects.
//  - Objects (`--detector objects`): the earlier simplified model, applied to truth objects by
//    apply_detector(): whole leptons smeared with the track formulas, whole jets with the HCAL
//    formula (which overstates the jet resolution), MET propagated plus a free unclustered term.
//  - Truth (`--detector truth`): truth objects with the acceptance cuts only.
//
// The card's numbers (module and line of delphes_card_CMS.tcl, tag 3.4.1; "[recalled]" where
// the project's notes give only part of the formula):
//  - tracking efficiency (ChargedHadronTrackingEfficiency, ElectronTrackingEfficiency,
//    MuonTrackingEfficiency): zero for pT <= 0.1 GeV or |eta| > 2.5; |eta| <= 1.5 / 1.5-2.5:
//    hadrons 0.70 / 0.60 (pT <= 1 GeV), 0.95 / 0.85 above; electrons 0.73 / 0.50 (pT <= 1),
//    0.95 / 0.83 (1-100 GeV), 0.99 / 0.90 above; muons 0.75 / 0.70 (pT <= 1), 0.99 / 0.98
//    above (x exp(0.5 - 5e-4 pT) beyond 1 TeV) [endcap values recalled];
//  - track resolution sigma/pT = sqrt(a^2 + (b pT)^2) in |eta| bins [0, 0.5], (0.5, 1.5],
//    (1.5, 2.5] (ChargedHadronMomentumSmearing, ElectronMomentumSmearing,
//    MuonMomentumSmearing, from arXiv:1405.6569): hadrons (0.06, 1.3e-3), (0.10, 1.7e-3),
//    (0.25, 3.1e-3); electrons (0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3); muons
//    (0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4);
//  - ECAL (ECal ResolutionFormula) sigma/E = (1 + 0.64 eta^2) sqrt(0.008^2 + 0.11^2/E +
//    0.40^2/E^2) for |eta| <= 1.5, (2.16 + 5.6 (|eta| - 2)^2) sqrt(same) for 1.5-2.5,
//    sqrt(0.107^2 + 2.08^2/E) for 2.5-5; towers kept above 0.5 GeV and 2 sigma (EnergyMin,
//    EnergySignificanceMin);
//  - HCAL (HCal ResolutionFormula) sigma/E = sqrt(0.05^2 + 1.5^2/E) for |eta| <= 3,
//    sqrt(0.13^2 + 2.7^2/E) for 3-5; towers above 1.0 GeV and 1 sigma;
//  - identification (ElectronEfficiency, MuonEfficiency): pT > 10 GeV; electrons 0.95
//    (|eta| <= 1.5), 0.85 (1.5-2.5); muons 0.95 (|eta| <= 2.4);
//  - isolation (ElectronIsolation, MuonIsolation): in reconstruct.hpp (cone 0.5, 0.5 GeV
//    objects, 0.12 / 0.25);
//  - jets (FastJetFinder, JetEnergyScale): anti-kT R = 0.5, raw pT > 20 GeV, then scaled by
//    sqrt((2.5 - 0.15 |eta|)^2 / pT + 1);
//  - b-tagging (BTagging, arXiv:1211.4462), on the scaled pT, no eta cut: b 0.85 tanh(0.0025 pT)
//    25/(1 + 0.063 pT); c 0.25 tanh(0.018 pT)/(1 + 0.0013 pT); light 0.01 + 3.8e-5 pT.
#pragma once

#include <cstdint>
#include <limits>

#include "unbox/physics/event.hpp"

namespace unbox::physics {

enum class DetectorModel { EnergyFlow, Objects, Truth };

struct DetectorOptions {
  DetectorModel model = DetectorModel::EnergyFlow;
  bool smear = true;         // momentum and energy smearing
  bool efficiencies = true;  // tracking, identification and b-tag efficiencies, mistags (off: b-tag = flavour 5)
  std::uint64_t seed = 1;

  // Acceptance. The energy flow uses tracker_eta_max and calo_eta_max (tracks and towers),
  // the objects and truth models the object cuts below.
  double tracker_eta_max = 2.5, calo_eta_max = 5.0;
  double electron_eta_max = 2.5, muon_eta_max = 2.4, lepton_pt_min = 10.0;
  double jet_eta_max = 4.7, jet_pt_min = 20.0;
  double btag_eta_max = std::numeric_limits<double>::infinity();  // the card: no eta cut
  // Track resolutions sigma/pT = sqrt(a^2 + (b pT)^2) in |eta| bins [0, 0.5], (0.5, 1.5], (1.5, 2.5].
  double hadron_a[3] = {0.06, 0.10, 0.25}, hadron_b[3] = {1.3e-3, 1.7e-3, 3.1e-3};
  double electron_a[3] = {0.03, 0.05, 0.15}, electron_b[3] = {1.3e-3, 1.7e-3, 3.1e-3};
  double muon_a[3] = {0.01, 0.015, 0.025}, muon_b[3] = {1.0e-4, 1.5e-4, 3.5e-4};
  // ECAL: stochastic, noise and constant terms of sqrt(c^2 + s^2/E + n^2/E^2), |eta| <= 2.5,
  // times the eta shape above; forward (2.5-5) sqrt(c^2 + s^2/E).
  double ecal_c = 0.008, ecal_s = 0.11, ecal_n = 0.40, ecal_c_forward = 0.107, ecal_s_forward = 2.08;
  // HCAL sigma/E = sqrt(c^2 + s^2/E): central (|eta| <= 3) and forward. The objects model
  // applies it to whole jets.
  double jet_c_central = 0.05, jet_s_central = 1.5, jet_c_forward = 0.13, jet_s_forward = 2.7;
  double ecal_energy_min = 0.5, ecal_significance_min = 2.0;
  double hcal_energy_min = 1.0, hcal_significance_min = 1.0;
  // Energy flow: merge tracks with the calorimeter tower they hit (Delphes' SimpleCalorimeter:
  // a neutral object for a significant excess, else tracks rescaled to the inverse-variance
  // mean of tracks and tower). Off: tracks as measured (for the track-resolution test).
  bool merge_tracks_with_towers = true;
  // Tower positions uniform within the cell (the card's SmearTowerCenter), else the centre.
  bool smear_tower_center = true;
  // The card's jet energy scale sqrt((jes_a - jes_b |eta|)^2 / pT + 1). Off by default: the
  // card tuned it on Delphes jets from full showers, whose raw response is below 1; the
  // energy flow here has a raw response within 3 % of 1 (README), which the factor would
  // push 12 % high at 30 GeV. On: the card's numbers exactly.
  bool jet_energy_scale = false;
  double jes_a = 2.5, jes_b = 0.15;
  double electron_eff_barrel = 0.95, electron_eff_endcap = 0.85, muon_eff = 0.95;
  // Objects model only.
  double jet_phi_resolution = 0.03;     // rad; used by the likelihood MET significance (selection.hpp)
  double unclustered_resolution = 0.5;  // GeV^(1/2); a free parameter, not from the card

  // No smearing and no efficiencies (acceptance cuts still apply), on truth objects.
  static DetectorOptions truth();
  // The energy-flow emulation with the card's numbers (the default).
  static DetectorOptions cms();
  // The simplified object-level smearing.
  static DetectorOptions objects();
};

// Relative resolutions and efficiencies of the models (used by the smearing and by tests).
double electron_resolution(const DetectorOptions& o, double pt, double eta);  // track sigma(pT)/pT
double muon_resolution(const DetectorOptions& o, double pt, double eta);
double hadron_resolution(const DetectorOptions& o, double pt, double eta);
// By |PDG id|: 11 electron, 13 muon, else charged hadron.
double track_resolution(const DetectorOptions& o, int pdg_id, double pt, double eta);
double ecal_resolution(const DetectorOptions& o, double energy, double eta);  // sigma(E)/E
double jet_resolution(const DetectorOptions& o, double energy, double eta);   // HCAL sigma(E)/E
double hcal_resolution(const DetectorOptions& o, double energy, double eta);  // the same
double tracking_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta);
// Identification efficiency (0 at or below lepton_pt_min and outside the lepton acceptance).
double lepton_efficiency(const DetectorOptions& o, int pdg_id, double pt, double eta);
// Probability to b-tag a jet of the given truth flavour (5, 4, else light).
double btag_efficiency(const DetectorOptions& o, int flavour, double pt, double eta);
// The jet energy scale factor (1 when jet_energy_scale is off).
double jet_energy_scale(const DetectorOptions& o, double pt, double eta);

// The objects (and truth) model: applies the response to a truth RecoEvent; `event_index`
// (position in the file, from 0) and options.seed fix the random numbers. Missing momentum:
// the truth MET minus the change of every smeared lepton's and jet's transverse momentum,
// plus a Gaussian per component of sigma = unclustered_resolution sqrt(sumET - objects' pT).
RecoEvent apply_detector(const RecoEvent& truth, std::int64_t event_index, const DetectorOptions& options);

}  // namespace unbox::physics
