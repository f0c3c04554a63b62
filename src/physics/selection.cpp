// Named cuts and the cut-flow; see selection.hpp for the definitions and sources.
#include "unbox/physics/selection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/physics/kinematics.hpp"

namespace unbox::physics {

namespace {

// The two selected leptons (|eta| and pT thresholds); empty when fewer than 2.
std::vector<const Lepton*> selected_leptons(const RecoEvent& e, const CmsPreselectionOptions& o) {
  std::vector<const Lepton*> out;
  for (const auto& l : e.leptons)
    if (std::abs(l.eta) < o.lepton_eta && l.pt > o.lepton2_pt) out.push_back(&l);
  std::sort(out.begin(), out.end(), [](const Lepton* a, const Lepton* b) { return a->pt > b->pt; });
  return out;
}

std::vector<const Jet*> selected_jets(const RecoEvent& e, const CmsPreselectionOptions& o) {
  std::vector<const Jet*> out;
  for (const auto& j : e.jets)
    if (std::abs(j.eta) < o.jet_eta && j.pt > o.jet_pt) out.push_back(&j);
  std::sort(out.begin(), out.end(), [](const Jet* a, const Jet* b) { return a->pt > b->pt; });
  return out;
}

// m(l1 + l2) from (pt, eta, phi, m).
double pair_mass(const Lepton& a, const Lepton& b) {
  auto p4 = [](const Lepton& l, double& px, double& py, double& pz, double& e) {
    px = l.pt * std::cos(l.phi);
    py = l.pt * std::sin(l.phi);
    pz = l.pt * std::sinh(l.eta);
    e = std::sqrt(px * px + py * py + pz * pz + l.m * l.m);
  };
  double ax, ay, az, ae, bx, by, bz, be;
  p4(a, ax, ay, az, ae);
  p4(b, bx, by, bz, be);
  double m2 = (ae + be) * (ae + be) - (ax + bx) * (ax + bx) - (ay + by) * (ay + by) - (az + bz) * (az + bz);
  return m2 > 0 ? std::sqrt(m2) : 0.0;
}

}  // namespace

double selected_ht(const RecoEvent& e, const CmsPreselectionOptions& o) {
  double ht = 0;
  for (const auto& j : e.jets)
    if (std::abs(j.eta) < o.jet_eta && j.pt > o.jet_pt) ht += j.pt;
  return ht;
}

double met_significance(const RecoEvent& e, const DetectorOptions& o) {
  double vxx = 0, vxy = 0, vyy = 0, objects_pt = 0;
  auto add = [&](double pt, double phi, double sigma_par, double sigma_perp) {
    double c = std::cos(phi), s = std::sin(phi);
    double a = sigma_par * sigma_par, b = sigma_perp * sigma_perp;
    vxx += a * c * c + b * s * s;
    vyy += a * s * s + b * c * c;
    vxy += (a - b) * c * s;
    objects_pt += pt;
  };
  for (const auto& j : e.jets) {
    double energy = std::sqrt(j.m * j.m + std::pow(j.pt * std::cosh(j.eta), 2));
    add(j.pt, j.phi, jet_resolution(o, energy, j.eta) * j.pt, j.pt * o.jet_phi_resolution);
  }
  for (const auto& l : e.leptons) {
    double r = std::abs(l.pdg_id) == 11 ? electron_resolution(o, l.pt, l.eta) : muon_resolution(o, l.pt, l.eta);
    add(l.pt, l.phi, r * l.pt, 0.0);
  }
  double u = o.unclustered_resolution * o.unclustered_resolution * std::max(0.0, e.met.sumet - objects_pt);
  vxx += u;
  vyy += u;
  double det = vxx * vyy - vxy * vxy;
  double mx = e.met.pt * std::cos(e.met.phi), my = e.met.pt * std::sin(e.met.phi);
  if (!(det > 0)) return e.met.pt > 0 ? INFINITY : 0.0;
  return (vyy * mx * mx - 2 * vxy * mx * my + vxx * my * my) / det;
}

std::vector<Cut> generator_cuts(const GeneratorCutOptions& o) {
  auto count_leptons = [](const RecoEvent& e, double pt) {
    return std::count_if(e.leptons.begin(), e.leptons.end(), [&](const Lepton& l) { return l.pt > pt; });
  };
  return {
      {"gen_2lep15", fmt::format(">= 2 e/mu with pT > {:g} GeV (truth)", o.lepton_pt),
       [=](const RecoEvent& t, const RecoEvent&) { return count_leptons(t, o.lepton_pt) >= 2; }, true},
      {"gen_not_3lep20", fmt::format("not >= 3 e/mu with pT > {:g} GeV (truth)", o.veto_lepton_pt),
       [=](const RecoEvent& t, const RecoEvent&) { return count_leptons(t, o.veto_lepton_pt) < 3; }, true},
      {"gen_bjet20", fmt::format(">= 1 b jet (truth flavour) with pT > {:g} GeV", o.bjet_pt),
       [=](const RecoEvent& t, const RecoEvent&) {
         return std::any_of(t.jets.begin(), t.jets.end(),
                            [&](const Jet& j) { return j.flavour == 5 && j.pt > o.bjet_pt; });
       },
       true},
      {"gen_met50", fmt::format("MET > {:g} GeV (truth)", o.met),
       [=](const RecoEvent& t, const RecoEvent&) { return t.met.pt > o.met; }, true},
  };
}

std::vector<Cut> cms_preselection(const CmsPreselectionOptions& o) {
  Cut significance =
      o.significance == CmsPreselectionOptions::Significance::MetOverSqrtHt
          ? Cut{"met_sqrt_ht", fmt::format("MET/sqrt(HT) > {:g} GeV^1/2 (HT of those jets)", o.met_over_sqrt_ht),
                [=](const RecoEvent&, const RecoEvent& r) {
                  return r.met.pt > o.met_over_sqrt_ht * std::sqrt(selected_ht(r, o));
                }}
          : Cut{"met_significance", fmt::format("MET significance S > {:g}", o.met_significance),
                [=](const RecoEvent&, const RecoEvent& r) {
                  return met_significance(r, o.resolution) > o.met_significance;
                }};
  return {
      {"2lep", fmt::format(">= 2 leptons |eta| < {:g}, pT > {:g}/{:g} GeV", o.lepton_eta, o.lepton1_pt, o.lepton2_pt),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto l = selected_leptons(r, o);
         return l.size() >= 2 && l[0]->pt > o.lepton1_pt;
       }},
      {"opposite_sign", "leading two leptons of opposite charge",
       [=](const RecoEvent&, const RecoEvent& r) {
         auto l = selected_leptons(r, o);
         return l[0]->charge * l[1]->charge < 0;
       }},
      {"3lep_veto", fmt::format("no third lepton |eta| < {:g}, pT > {:g} GeV", o.lepton_eta, o.third_lepton_pt),
       [=](const RecoEvent&, const RecoEvent& r) {
         return std::count_if(r.leptons.begin(), r.leptons.end(), [&](const Lepton& l) {
                  return std::abs(l.eta) < o.lepton_eta && l.pt > o.third_lepton_pt;
                }) < 3;
       }},
      {"mll20", fmt::format("m(ll) > {:g} GeV", o.mll_min),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto l = selected_leptons(r, o);
         return pair_mass(*l[0], *l[1]) > o.mll_min;
       }},
      {"z_veto", fmt::format("|m(ll) - mZ| > {:g} GeV if same flavour", o.z_window),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto l = selected_leptons(r, o);
         if (std::abs(l[0]->pdg_id) != std::abs(l[1]->pdg_id)) return true;
         return std::abs(pair_mass(*l[0], *l[1]) - o.z_mass) > o.z_window;
       }},
      {"2jets", fmt::format(">= {} jets pT > {:g} GeV |eta| < {:g}", o.min_jets, o.jet_pt, o.jet_eta),
       [=](const RecoEvent&, const RecoEvent& r) {
         return static_cast<int>(selected_jets(r, o).size()) >= o.min_jets;
       }},
      {"1btag", fmt::format(">= {} b-tagged among them", o.min_btags),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto j = selected_jets(r, o);
         return std::count_if(j.begin(), j.end(), [](const Jet* x) { return x->btag; }) >= o.min_btags;
       }},
      {"met80", fmt::format("MET > {:g} GeV", o.met),
       [=](const RecoEvent&, const RecoEvent& r) { return r.met.pt > o.met; }},
      significance,
      {"dphi_j1", fmt::format("cos dphi(MET, j1) < {:.2f}", o.cos_dphi_j1),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto j = selected_jets(r, o);
         return std::cos(delta_phi(r.met.phi, j[0]->phi)) < o.cos_dphi_j1;
       }},
      {"dphi_j2", fmt::format("cos dphi(MET, j2) < {:.2f}", o.cos_dphi_j2),
       [=](const RecoEvent&, const RecoEvent& r) {
         auto j = selected_jets(r, o);
         return std::cos(delta_phi(r.met.phi, j[1]->phi)) < o.cos_dphi_j2;
       }},
  };
}

std::vector<Cut> named_selection(const std::string& name, const GeneratorCutOptions& gen,
                                 const CmsPreselectionOptions& cms) {
  if (name == "none") return {};
  if (name == "generator") return generator_cuts(gen);
  CmsPreselectionOptions sus17 = cms, sus19 = cms;
  sus17.significance = CmsPreselectionOptions::Significance::MetOverSqrtHt;
  sus19.significance = CmsPreselectionOptions::Significance::Likelihood;
  if (name == "sus-17-001" || name == "cms") return cms_preselection(sus17);
  if (name == "sus-19-011") return cms_preselection(sus19);
  if (name == "paper") {
    auto cuts = generator_cuts(gen);
    for (auto& c : cms_preselection(sus17)) cuts.push_back(std::move(c));
    return cuts;
  }
  throw Error(fmt::format("unknown selection '{}': expected sus-17-001, sus-19-011, paper, generator or none", name));
}

CutFlow::CutFlow(const std::vector<Cut>& cuts) {
  for (const auto& c : cuts) add_step(c.name, c.description);
}

void CutFlow::add_step(const std::string& name, const std::string& description) {
  names.push_back(name);
  descriptions.push_back(description);
  events.push_back(0);
  weights.push_back(0.0);
}

void CutFlow::count(size_t step, double weight) {
  events.at(step) += 1;
  weights.at(step) += weight;
}

bool CutFlow::apply(const std::vector<Cut>& cuts, const RecoEvent& truth, const RecoEvent& reco, double weight) {
  total_events += 1;
  total_weight += weight;
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (!cuts[i].pass(truth, reco)) return false;
    count(i, weight);
  }
  return true;
}

std::string CutFlow::to_table() const {
  std::string t =
      fmt::format("  {:<18} {:<44} {:>9} {:>8} {:>14}\n", "cut", "requirement", "events", "eff", "weighted");
  t += fmt::format("  {:<18} {:<44} {:>9} {:>8} {:>14.6g}\n", "all", "", total_events, "", total_weight);
  Index prev = total_events;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string eff = prev > 0 ? fmt::format("{:.3f}", static_cast<double>(events[i]) / prev) : "-";
    t += fmt::format("  {:<18} {:<44} {:>9} {:>8} {:>14.6g}\n", names[i], descriptions[i], events[i], eff, weights[i]);
    prev = events[i];
  }
  return t;
}

nlohmann::json CutFlow::to_json() const {
  nlohmann::json cuts = nlohmann::json::array();
  for (size_t i = 0; i < names.size(); ++i)
    cuts.push_back(
        {{"name", names[i]}, {"description", descriptions[i]}, {"events", events[i]}, {"weighted", weights[i]}});
  return {{"total_events", total_events}, {"total_weighted", total_weight}, {"cuts", cuts}};
}

}  // namespace unbox::physics
