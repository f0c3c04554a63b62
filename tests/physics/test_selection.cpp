// Selections: each named cut of the paper's generator-level cuts and of the CMS SUS-17-001
// (and SUS-19-011) preselection on hand-made events that fail exactly one cut, the
// thresholds of MET/sqrt(HT) and of the third-lepton veto, the likelihood MET significance
// against a hand computation, and the cut-flow on a known sample through the full pipeline.
#include <gtest/gtest.h>

#include <cmath>

#include "events_test_util.hpp"
#include "hepmc_samples.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/selection.hpp"

using namespace unbox;
using namespace unbox::physics;
namespace ts = unbox::test_samples;

namespace {

Lepton lepton(int pdg, double pt, double eta, double phi) {
  Lepton l;
  l.pt = pt, l.eta = eta, l.phi = phi, l.m = std::abs(pdg) == 11 ? 0.000511 : 0.10566, l.pdg_id = pdg;
  l.charge = pdg > 0 ? -1 : 1;
  return l;
}
Jet jet(double pt, double eta, double phi, bool btag) {
  Jet j;
  j.pt = pt, j.eta = eta, j.phi = phi, j.m = 5, j.btag = btag, j.flavour = btag ? 5 : 0;
  return j;
}

// Passes every cut: e+ mu- (m(ll) ~ 100 GeV), two jets (one b) away from the MET, MET 150.
RecoEvent passing() {
  RecoEvent e;
  e.leptons = {lepton(-11, 60, 0.2, 0.0), lepton(13, 40, -0.3, 2.5)};
  e.jets = {jet(90, 0.5, 1.2, true), jet(50, -1.0, -1.5, false)};
  e.met.pt = 150, e.met.phi = -3.0, e.met.sumet = 60 + 40 + 90 + 50 + 100;
  return e;
}

// The index of the first cut the event fails, or -1.
int first_failure(const std::vector<Cut>& cuts, const RecoEvent& truth, const RecoEvent& reco) {
  for (size_t i = 0; i < cuts.size(); ++i)
    if (!cuts[i].pass(truth, reco)) return static_cast<int>(i);
  return -1;
}

int index_of(const std::vector<Cut>& cuts, const std::string& name) {
  for (size_t i = 0; i < cuts.size(); ++i)
    if (cuts[i].name == name) return static_cast<int>(i);
  return -2;
}

}  // namespace

TEST(EventsSelection, CmsPreselectionCutsOneByOne) {
  auto cuts = cms_preselection();
  ASSERT_EQ(cuts.size(), 11u);  // SUS-17-001: the third-lepton veto is a cut, MET/sqrt(HT) replaces S > 12
  EXPECT_EQ(cuts[2].name, "3lep_veto");
  EXPECT_EQ(cuts[8].name, "met_sqrt_ht");
  RecoEvent ok = passing();
  ASSERT_EQ(first_failure(cuts, ok, ok), -1);
  struct Variant {
    std::string cut;
    std::function<void(RecoEvent&)> change;
  };
  std::vector<Variant> variants = {
      {"2lep", [](RecoEvent& e) { e.leptons[0].pt = 24, e.leptons[1].pt = 22; }},  // leading below 25
      {"2lep", [](RecoEvent& e) { e.leptons[1].eta = 2.45; }},                     // outside |eta| < 2.4
      {"2lep", [](RecoEvent& e) { e.leptons.pop_back(); }},
      {"opposite_sign", [](RecoEvent& e) { e.leptons[1] = lepton(-13, 40, -0.3, 2.5); }},
      {"mll20", [](RecoEvent& e) { e.leptons[1] = lepton(13, 21, 0.3, 0.2); }},  // m ~ 4 GeV
      {"z_veto",
       [](RecoEvent& e) {  // e+ e- at m ~ 91
         e.leptons[1] = lepton(11, 40, 0.2, 0.0);
         double target = 91.0;  // m^2 = 2 pt1 pt2 (cosh deta - cos dphi)
         e.leptons[1].phi = std::acos(1 - target * target / (2 * 60 * 40));
       }},
      {"2jets", [](RecoEvent& e) { e.jets[1].pt = 29; }},
      {"2jets", [](RecoEvent& e) { e.jets[1].eta = 2.5; }},
      {"1btag", [](RecoEvent& e) { e.jets[0].btag = false; }},
      {"met80", [](RecoEvent& e) { e.met.pt = 79; }},
      {"3lep_veto", [](RecoEvent& e) { e.leptons.push_back(lepton(11, 16, 1.0, -1.0)); }},
      {"met_sqrt_ht", [](RecoEvent& e) { e.met.pt = 81, e.jets[0].pt = 300; }},  // 81 < 5 sqrt(350) = 93.5
      {"dphi_j1", [](RecoEvent& e) { e.met.phi = 1.2 + 0.6; }},                  // cos 0.6 = 0.825 > 0.80
      {"dphi_j2", [](RecoEvent& e) { e.met.phi = -1.5 - 0.2; }},                 // cos 0.2 = 0.98 > 0.96
  };
  for (const auto& v : variants) {
    RecoEvent e = passing();
    v.change(e);
    EXPECT_EQ(first_failure(cuts, e, e), index_of(cuts, v.cut)) << v.cut;
  }
  // Same-flavour pair at the Z mass but opposite flavour passes the veto; a same-flavour
  // pair outside the window passes too.
  RecoEvent of = passing();
  of.leptons[1] = lepton(13, 40, 0.2, std::acos(1 - 91.0 * 91.0 / (2 * 60 * 40)));
  EXPECT_EQ(first_failure(cuts, of, of), -1);
  RecoEvent sf = passing();
  sf.leptons[1] = lepton(11, 40, 0.2, std::acos(1 - 70.0 * 70.0 / (2 * 60 * 40)));
  EXPECT_EQ(first_failure(cuts, sf, sf), -1);
  // Just inside the dphi cuts passes.
  RecoEvent d = passing();
  d.met.phi = 1.2 + 0.66;  // cos = 0.790
  EXPECT_EQ(first_failure(cuts, d, d), -1);
}

TEST(EventsSelection, GeneratorCutsOneByOne) {
  auto cuts = generator_cuts();
  ASSERT_EQ(cuts.size(), 4u);
  RecoEvent ok = passing();
  ok.met.pt = 55;
  EXPECT_EQ(first_failure(cuts, ok, RecoEvent{}), -1);  // generator cuts look at the truth event only
  RecoEvent a = ok;
  a.leptons[1].pt = 14;
  EXPECT_EQ(first_failure(cuts, a, a), 0);
  RecoEvent b = ok;
  b.leptons.push_back(lepton(11, 21, 1.0, 1.0));
  EXPECT_EQ(first_failure(cuts, b, b), 1);
  b.leptons.back().pt = 19;  // a third lepton below 20 GeV is allowed
  EXPECT_EQ(first_failure(cuts, b, b), -1);
  RecoEvent c = ok;
  c.jets[0].flavour = 4;  // the truth flavour counts, not the b-tag
  EXPECT_EQ(first_failure(cuts, c, c), 2);
  c.jets[0].flavour = 5;
  c.jets[0].pt = 19;
  EXPECT_EQ(first_failure(cuts, c, c), 2);
  RecoEvent d = ok;
  d.met.pt = 50;
  EXPECT_EQ(first_failure(cuts, d, d), 3);
  EXPECT_EQ(named_selection("paper").size(), 15u);
  EXPECT_EQ(named_selection("sus-17-001").size(), 11u);
  EXPECT_EQ(named_selection("cms").size(), 11u);
  EXPECT_EQ(named_selection("none").size(), 0u);
  EXPECT_THROW(named_selection("atlas"), Error);
}

// Each cut removes exactly the events that fail it, at its threshold: the cut-flow of a
// sample made of one passing event and one event per failure, MET/sqrt(HT) exactly at 5
// (fails: the cut is strict) and just above, the third lepton exactly at 15 GeV (passes) and
// just above (fails), HT counting only the selected jets.
TEST(EventsSelection, Sus17001ThresholdsAndCutFlow) {
  auto cuts = named_selection("sus-17-001");
  const int veto = index_of(cuts, "3lep_veto"), sig = index_of(cuts, "met_sqrt_ht");
  ASSERT_GE(veto, 0);
  ASSERT_GE(sig, 0);
  // Selected jets 300 + 100 GeV: HT = 400, sqrt(HT) = 20, threshold MET = 100 exactly.
  auto base = [] {
    RecoEvent e = passing();
    e.jets = {jet(300, 0.5, 1.2, true), jet(100, -1.0, -1.5, false)};
    e.met.pt = 100, e.met.phi = -3.0;
    return e;
  };
  struct Case {
    std::string what;
    std::function<void(RecoEvent&)> change;
    int fails;  // first failing cut, -1 none
  };
  const std::vector<Case> cases = {
      {"MET/sqrt(HT) = 5 exactly", [](RecoEvent&) {}, sig},
      {"MET/sqrt(HT) just above 5", [](RecoEvent& e) { e.met.pt = 100.0 + 1e-9; }, -1},
      {"a forward jet does not enter HT",
       [](RecoEvent& e) { e.met.pt = 100.0 + 1e-9, e.jets.push_back(jet(200, 3.0, 0.0, false)); }, -1},
      {"a 29 GeV jet does not enter HT",
       [](RecoEvent& e) { e.met.pt = 100.0 + 1e-9, e.jets.push_back(jet(29, 0.0, 0.0, false)); }, -1},
      {"a 31 GeV jet does", [](RecoEvent& e) { e.met.pt = 100.0 + 1e-9, e.jets.push_back(jet(31, 0.0, 0.0, false)); },
       sig},
      {"third lepton at 15 GeV exactly",
       [](RecoEvent& e) { e.met.pt = 101, e.leptons.push_back(lepton(11, 15.0, 1.0, -1.0)); }, -1},
      {"third lepton just above 15 GeV",
       [](RecoEvent& e) { e.met.pt = 101, e.leptons.push_back(lepton(11, 15.0 + 1e-9, 1.0, -1.0)); }, veto},
      {"third lepton outside |eta| 2.4",
       [](RecoEvent& e) { e.met.pt = 101, e.leptons.push_back(lepton(13, 40, 2.45, -1.0)); }, -1},
      {"third lepton of the same sign",
       [](RecoEvent& e) { e.met.pt = 101, e.leptons.push_back(lepton(-11, 30, 0.0, -1.0)); }, veto},
  };
  CutFlow flow(cuts);
  std::vector<Index> expect(cuts.size(), 0);
  for (const auto& c : cases) {
    RecoEvent e = base();
    c.change(e);
    EXPECT_EQ(first_failure(cuts, e, e), c.fails) << c.what;
    flow.apply(cuts, e, e, 1.0);
    for (size_t k = 0; k < cuts.size(); ++k) expect[k] += c.fails < 0 || static_cast<int>(k) < c.fails;
  }
  EXPECT_EQ(flow.events, expect);
  // The cut-flow drops by exactly the designed failures: 2 at the veto, 2 at MET/sqrt(HT).
  EXPECT_EQ(flow.events[static_cast<size_t>(veto - 1)] - flow.events[static_cast<size_t>(veto)], 2);
  EXPECT_EQ(flow.events[static_cast<size_t>(sig - 1)] - flow.events[static_cast<size_t>(sig)], 2);
  EXPECT_EQ(flow.events.back(), 5);
  EXPECT_DOUBLE_EQ(selected_ht(base(), CmsPreselectionOptions{}), 400.0);
}

TEST(EventsSelection, Sus19011UsesTheLikelihoodSignificance) {
  auto cuts = named_selection("sus-19-011");
  ASSERT_EQ(cuts.size(), 11u);
  EXPECT_EQ(index_of(cuts, "met_sqrt_ht"), -2);
  const int s = index_of(cuts, "met_significance");
  ASSERT_EQ(s, 8);
  RecoEvent ok = passing();
  EXPECT_EQ(first_failure(cuts, ok, ok), -1);
  RecoEvent e = passing();
  e.met.pt = 81, e.met.sumet = 5000;  // S small with 4760 GeV unclustered; MET/sqrt(HT) = 81/sqrt(140) = 6.8 passes
  EXPECT_EQ(first_failure(cuts, e, e), s);
  EXPECT_EQ(first_failure(named_selection("sus-17-001"), e, e), -1);
}

TEST(EventsSelection, MetSignificanceByHand) {
  DetectorOptions o;
  RecoEvent e;
  e.jets = {jet(100, 0.0, 0.0, false)};
  e.met.sumet = 100;  // no unclustered energy
  double sigma_par = jet_resolution(o, std::sqrt(100.0 * 100.0 + 25.0), 0.0) * 100,
         sigma_perp = 100 * o.jet_phi_resolution;
  e.met.pt = 60, e.met.phi = 0.0;
  EXPECT_NEAR(met_significance(e, o), 3600 / (sigma_par * sigma_par), 1e-9);
  e.met.phi = M_PI / 2;
  EXPECT_NEAR(met_significance(e, o), 3600 / (sigma_perp * sigma_perp), 1e-9);
  // Adding unclustered energy: both directions get 0.5^2 * 300 = 75 GeV^2.
  e.met.sumet = 400;
  e.met.phi = 0.0;
  EXPECT_NEAR(met_significance(e, o), 3600 / (sigma_par * sigma_par + 75), 1e-9);
  // At 45 degrees: chi^2 with the rotated covariance, computed here by hand.
  e.met.phi = M_PI / 4;
  double a = sigma_par * sigma_par + 75, b = sigma_perp * sigma_perp + 75;
  double mx = 60 / std::sqrt(2.0), my = mx;
  EXPECT_NEAR(met_significance(e, o), mx * mx / a + my * my / b, 1e-9);
}

TEST(EventsSelection, CutFlowOnAKnownSample) {
  // 10 hand events written with HepMC3: 6 pass the CMS preselection in truth mode,
  // 2 same-sign, 1 with low MET, 1 without a b-jet. Weights 1..10.
  test_events::TempDir dir;
  std::string path = dir.file("known.hepmc");
  {
    HepMC3::WriterAscii w(path);
    for (int i = 0; i < 10; ++i) {
      ts::HandEvent h;
      int kind = i < 6 ? 0 : (i < 8 ? 1 : (i == 8 ? 2 : 3));
      ts::P4 visible = h.lepton(-11, 60, 0.2, 0.0);
      visible += h.lepton(kind == 1 ? -13 : 13, 40, -0.3, 2.5);
      // The jet flavour comes from the record's partons (the card's rule): a light quark for kind 3.
      visible += h.jet(90, 0.5, 1.2, 6, kind == 3 ? 0 : 521, 0, kind == 3 ? 1 : 5);
      visible += h.jet(50, -1.0, -1.5, 5, 0, 0, 21);
      // A forward particle beyond the jet acceptance (|eta| 4.9 > 4.7) sets the MET to
      // exactly (met, phi -3.0): MET = -(visible sum).
      double met = kind == 2 ? 60 : 150;
      double rx = -visible.px - met * std::cos(-3.0), ry = -visible.py - met * std::sin(-3.0);
      h.particle(22, std::hypot(rx, ry), 4.9, std::atan2(ry, rx));
      h.particle(12, 70, 0.0, -3.0);  // neutrinos do not enter the MET
      w.write_event(h.build(i + 1, i + 1.0));
    }
    w.close();
  }
  FeatureOptions o;
  o.detector = DetectorOptions::truth();
  o.selection = "cms";
  o.quiet = true;
  FeatureResult r = build_features(path, o);
  const CutFlow& f = r.cutflow;
  ASSERT_EQ(f.names.size(), 12u);  // the 11 SUS-17-001 cuts and "objects"
  EXPECT_EQ(f.total_events, 10);
  EXPECT_DOUBLE_EQ(f.total_weight, 55);
  std::vector<Index> events = {10, 8, 8, 8, 8, 8, 7, 6, 6, 6, 6, 6};
  std::vector<double> weights = {55, 40, 40, 40, 40, 40, 30, 21, 21, 21, 21, 21};  // 7, 8 same sign; 10 no b; 9 low MET
  EXPECT_EQ(f.events, events);
  EXPECT_EQ(f.weights, weights);
  EXPECT_EQ(r.data.events(), 6);
  // The truth MET of the passing events is the constructed one.
  EXPECT_NEAR(r.data.get("met")[0], 150, 1e-6);
  EXPECT_EQ(f.names[1], "opposite_sign");
  EXPECT_EQ(f.names.back(), "objects");
  auto j = f.to_json();
  EXPECT_EQ(j["cuts"][1]["events"], 8);
  EXPECT_NE(f.to_table().find("met_sqrt_ht"), std::string::npos);
  EXPECT_NE(f.to_table().find("3lep_veto"), std::string::npos);
}
