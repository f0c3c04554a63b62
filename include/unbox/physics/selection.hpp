// Event selections of Roxlo & Reece section 3 as named cuts with a cut-flow.
//
// Generator-level cuts (the paper, applied to truth objects, i.e. the RecoEvent before the
// detector): "gen_2lep15" at least 2 electrons or muons with pT > 15 GeV; "gen_not_3lep20"
// not 3 or more above 20 GeV; "gen_bjet20" at least one b jet (truth flavour 5) with
// pT > 20 GeV; "gen_met50" MET > 50 GeV.
//
// CMS dilepton preselection of SUS-17-001 (arXiv:1711.00752, Table 1; the paper's
// preselection), on detector-level objects: "2lep" at least two leptons with |eta| < 2.4 and
// pT > 20 GeV, the leading one above 25 GeV; "opposite_sign" the two leading ones of opposite
// charge; "3lep_veto" no third lepton (|eta| < 2.4) with pT > 15 GeV; "mll20" m(ll) > 20 GeV;
// "z_veto" |m(ll) - m_Z| > 15 GeV for same flavour (m_Z = 91.1876); "2jets" >= 2 jets with
// pT > 30 GeV and |eta| < 2.4; "1btag" >= 1 of them b-tagged; "met80" MET > 80 GeV;
// "met_sqrt_ht" MET/sqrt(HT) > 5 GeV^(1/2) with HT the scalar pT sum of those jets;
// "dphi_j1" cos Delta-phi(MET, j1) < 0.80, "dphi_j2" cos Delta-phi(MET, j2) < 0.96 (j1, j2 the
// two leading selected jets). Cross-checked against two public implementations (GAMBIT
// ColliderBit's CMS_13TeV_2LEPStop_36invfb; the HEPHY StopsDilepton cut strings, whose
// cos dphi(j2) < cos(0.25) = 0.969 the issue rounds to 0.96, which we keep).
//
// SUS-19-011 ("sus-19-011"): the same cuts with the likelihood MET significance S > 12 in
// place of MET/sqrt(HT) ("met_significance"). For Gaussian resolutions S = MET^T V^-1 MET
// with V the 2x2 covariance of the MET; we build V from the objects model's resolutions: for
// every jet (pT > 20 GeV) sigma_pT^2 along its direction (jet_resolution x pT) and
// (pT jet_phi_resolution)^2 across it; for every lepton its sigma_pT^2 along its direction;
// plus unclustered_resolution^2 x (sumET - sum of object pT) on the diagonal. This is the
// resolution-based chi^2 approximation, not CMS's per-object calibrated resolutions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unbox/core.hpp"
#include "unbox/physics/detector.hpp"
#include "unbox/physics/event.hpp"

namespace unbox::physics {

struct GeneratorCutOptions {
  double lepton_pt = 15.0;       // at least 2 above
  double veto_lepton_pt = 20.0;  // not 3 above
  double bjet_pt = 20.0;
  double met = 50.0;
};

struct CmsPreselectionOptions {
  double lepton1_pt = 25.0, lepton2_pt = 20.0, lepton_eta = 2.4;
  double mll_min = 20.0, z_mass = 91.1876, z_window = 15.0;
  double jet_pt = 30.0, jet_eta = 2.4;
  int min_jets = 2, min_btags = 1;
  double third_lepton_pt = 15.0;
  double met = 80.0;
  // SUS-17-001: MET/sqrt(HT) > met_over_sqrt_ht; SUS-19-011: S > met_significance.
  enum class Significance { MetOverSqrtHt, Likelihood };
  Significance significance = Significance::MetOverSqrtHt;
  double met_over_sqrt_ht = 5.0, met_significance = 12.0;
  double cos_dphi_j1 = 0.80, cos_dphi_j2 = 0.96;
  DetectorOptions resolution;  // resolution model for the likelihood MET significance
};

// S = MET^T V^-1 MET (see above).
double met_significance(const RecoEvent& event, const DetectorOptions& resolution);

struct Cut {
  std::string name;
  std::string description;
  // truth: the event before the detector; reco: after it.
  std::function<bool(const RecoEvent& truth, const RecoEvent& reco)> pass;
  bool uses_truth = false;  // reads the truth event (the generator cuts)
};

std::vector<Cut> generator_cuts(const GeneratorCutOptions& options = {});
std::vector<Cut> cms_preselection(const CmsPreselectionOptions& options = {});
// The scalar pT sum of the jets with pT > jet_pt and |eta| < jet_eta (of the preselection).
double selected_ht(const RecoEvent& event, const CmsPreselectionOptions& options);
// "sus-17-001" (also "cms"): the SUS-17-001 preselection (the default); "sus-19-011": the same
// with the likelihood significance; "paper": the generator cuts then SUS-17-001 (the paper's
// chain on showered events); "generator": the generator cuts only; "none": no cut.
std::vector<Cut> named_selection(const std::string& name, const GeneratorCutOptions& gen = {},
                                 const CmsPreselectionOptions& cms = {});

// Events and weighted sums entering and passing each cut, in order.
struct CutFlow {
  std::vector<std::string> names, descriptions;
  Index total_events = 0;
  double total_weight = 0;
  std::vector<Index> events;    // after each cut
  std::vector<double> weights;  // weighted sum after each cut

  explicit CutFlow(const std::vector<Cut>& cuts = {});
  // Applies the cuts in order (stopping at the first failure); true if the event passes all.
  bool apply(const std::vector<Cut>& cuts, const RecoEvent& truth, const RecoEvent& reco, double weight);
  // Records an extra step (e.g. "features need 2 leptons and 2 jets") for an event that
  // passed the cuts: call add_step once, then count(step, pass, weight) per event.
  void add_step(const std::string& name, const std::string& description);
  void count(size_t step, double weight);

  std::string to_table() const;
  nlohmann::json to_json() const;
};

}  // namespace unbox::physics
