// The 19 stop-dilepton inputs and the extra columns on hand-made events with known answers.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "unbox/physics/kinematics.hpp"
#include "unbox/physics/mt2.hpp"
#include "unbox/physics/stop_dilepton.hpp"

namespace {

using namespace unbox::physics;

Lepton lep(double pt, double eta, double phi) {
  Lepton l;
  l.pt = pt;
  l.eta = eta;
  l.phi = phi;
  l.pdg_id = 13;
  l.charge = -1;
  return l;
}
Jet jet(double pt, double eta, double phi, bool btag) {
  Jet j;
  j.pt = pt;
  j.eta = eta;
  j.phi = phi;
  j.btag = btag;
  return j;
}

// Massless pair mass, independent of the library: m^2 = 2 pt1 pt2 (cosh deta - cos dphi).
double mass0(double pt1, double eta1, double phi1, double pt2, double eta2, double phi2) {
  return std::sqrt(2 * pt1 * pt2 * (std::cosh(eta1 - eta2) - std::cos(phi1 - phi2)));
}

std::map<std::string, double> features(const RecoEvent& ev) {
  double out[kStopDileptonColumns];
  EXPECT_TRUE(stop_dilepton_features(ev, out));
  std::map<std::string, double> f;
  for (int i = 0; i < kStopDileptonColumns; ++i) f[stop_dilepton_columns()[i]] = out[i];
  return f;
}

TEST(PhysicsStopDilepton, ColumnNamesAreTheIssues) {
  const std::vector<std::string> expect = {
      "log_met",      "log_l1_pt",    "log_l2_pt",    "log_j1_pt", "log_j2_pt", "l1_eta",  "l2_eta",
      "j1_eta",       "j2_eta",       "l1_dphi",      "l2_dphi",   "j1_dphi",   "j2_dphi", "l1_dphi_sign",
      "l2_dphi_sign", "j1_dphi_sign", "j2_dphi_sign", "j1_btag",   "j2_btag",   "mt2ll",   "dphi_ll",
      "deta_ll",      "m_ll",         "met",          "ht",        "isr_pt"};
  EXPECT_EQ(stop_dilepton_columns(), expect);
  ASSERT_EQ(stop_dilepton_input_columns().size(), 19u);
  EXPECT_EQ(stop_dilepton_input_columns().back(), "j2_btag");
}

TEST(PhysicsStopDilepton, TwoBTagsPairingSwapAndPhiWrapAround) {
  RecoEvent ev;
  // Given out of pT order on purpose: l1 is the 80 GeV lepton.
  ev.leptons = {lep(50, -0.5, 1.0), lep(80, 1.2, -2.0)};
  // b-tagged: 70 and 40 GeV (the 100 GeV untagged jet and the 30 GeV one are not used).
  ev.jets = {jet(100, 0.3, 0.0, false), jet(70, -1.0, 2.5, true), jet(40, 2.0, -1.0, true), jet(30, 0.0, 1.5, false)};
  ev.met.pt = 120;
  ev.met.phi = 3.0;
  // Pairings: keep (l1-70, l2-40): max(231.3, 161.8); swap (l1-40, l2-70): max(71.4, 86.0): swap,
  // so j1 is the 40 GeV jet.
  const double keep = std::max(mass0(80, 1.2, -2.0, 70, -1.0, 2.5), mass0(50, -0.5, 1.0, 40, 2.0, -1.0));
  const double swap = std::max(mass0(80, 1.2, -2.0, 40, 2.0, -1.0), mass0(50, -0.5, 1.0, 70, -1.0, 2.5));
  ASSERT_LT(swap, keep);
  auto f = features(ev);
  EXPECT_NEAR(f["log_met"], std::log(120.0), 1e-14);
  EXPECT_NEAR(f["log_l1_pt"], std::log(80.0), 1e-14);
  EXPECT_NEAR(f["log_l2_pt"], std::log(50.0), 1e-14);
  EXPECT_NEAR(f["log_j1_pt"], std::log(40.0), 1e-14);
  EXPECT_NEAR(f["log_j2_pt"], std::log(70.0), 1e-14);
  // eta(l1) > 0: signs unchanged.
  EXPECT_EQ(f["l1_eta"], 1.2);
  EXPECT_EQ(f["l2_eta"], -0.5);
  EXPECT_EQ(f["j1_eta"], 2.0);
  EXPECT_EQ(f["j2_eta"], -1.0);
  // phi relative to the MET at 3.0: l1 at -2.0 is 2 pi - 5 counter-clockwise (across the cut).
  EXPECT_NEAR(f["l1_dphi"], 2 * M_PI - 5.0, 1e-14);
  EXPECT_EQ(f["l1_dphi_sign"], 1.0);
  EXPECT_NEAR(f["l2_dphi"], 2.0, 1e-14);  // 1.0 - 3.0 = -2: clockwise
  EXPECT_EQ(f["l2_dphi_sign"], -1.0);
  EXPECT_NEAR(f["j1_dphi"], 2 * M_PI - 4.0, 1e-14);  // -1 - 3 = -4 -> 2 pi - 4, counter-clockwise
  EXPECT_EQ(f["j1_dphi_sign"], 1.0);
  EXPECT_NEAR(f["j2_dphi"], 0.5, 1e-14);  // 2.5 - 3.0 = -0.5
  EXPECT_EQ(f["j2_dphi_sign"], -1.0);
  EXPECT_EQ(f["j1_btag"], 1.0);
  EXPECT_EQ(f["j2_btag"], 1.0);
  // Extras.
  const double mx = 120 * std::cos(3.0), my = 120 * std::sin(3.0);
  EXPECT_NEAR(f["mt2ll"],
              mt2(0, 80 * std::cos(-2.0), 80 * std::sin(-2.0), 0, 50 * std::cos(1.0), 50 * std::sin(1.0), mx, my),
              1e-9);
  EXPECT_NEAR(f["dphi_ll"], 3.0, 1e-14);
  EXPECT_NEAR(f["deta_ll"], 1.7, 1e-14);
  EXPECT_NEAR(f["m_ll"], mass0(80, 1.2, -2.0, 50, -0.5, 1.0), 1e-10);
  EXPECT_EQ(f["met"], 120.0);
  EXPECT_EQ(f["ht"], 240.0);  // all four jets
  // Both jets tagged: |pT(miss) + pT(l1) + pT(l2) + pT(j1) + pT(j2)|.
  double sx = mx, sy = my;
  for (auto [pt, phi] : {std::pair{80.0, -2.0}, {50.0, 1.0}, {40.0, -1.0}, {70.0, 2.5}}) {
    sx += pt * std::cos(phi);
    sy += pt * std::sin(phi);
  }
  EXPECT_NEAR(f["isr_pt"], std::hypot(sx, sy), 1e-10);
}

TEST(PhysicsStopDilepton, OneBTagFilledWithHardestUntaggedJet) {
  RecoEvent ev;
  ev.leptons = {lep(80, 1.2, -2.0), lep(50, -0.5, 1.0)};
  // One tag (40 GeV); the filler is the hardest untagged jet (90 GeV), not the 60 GeV one.
  ev.jets = {jet(90, 0.1, 0.5, false), jet(60, 0.0, 0.0, false), jet(40, -0.3, -2.5, true)};
  ev.met.pt = 75;
  ev.met.phi = -1.0;
  // keep (l1-90, l2-40) max 188.6; swap (l1-40, l2-90) max 97.2: j1 = the tagged 40 GeV jet.
  auto f = features(ev);
  EXPECT_NEAR(f["log_j1_pt"], std::log(40.0), 1e-14);
  EXPECT_NEAR(f["log_j2_pt"], std::log(90.0), 1e-14);
  EXPECT_EQ(f["j1_btag"], 1.0);
  EXPECT_EQ(f["j2_btag"], -1.0);
  EXPECT_EQ(f["j1_eta"], -0.3);
  EXPECT_EQ(f["j2_eta"], 0.1);
  EXPECT_NEAR(f["j1_dphi"], 1.5, 1e-14);  // -2.5 - (-1) = -1.5
  EXPECT_EQ(f["j1_dphi_sign"], -1.0);
  EXPECT_NEAR(f["j2_dphi"], 1.5, 1e-14);  // 0.5 + 1 = 1.5
  EXPECT_EQ(f["j2_dphi_sign"], 1.0);
  // j1 tagged, j2 not: ISR pT = pT(j2).
  EXPECT_EQ(f["isr_pt"], 90.0);
  EXPECT_EQ(f["ht"], 190.0);
}

TEST(PhysicsStopDilepton, NoBTagsNegativeLeadingEtaAndNoSwap) {
  RecoEvent ev;
  ev.leptons = {lep(80, -1.2, -2.0), lep(50, 0.5, 1.0), lep(10, 0.0, 0.0)};
  // No tags: the two hardest jets; each sits near one lepton, so the pairing keeps pT order.
  ev.jets = {jet(60, -1.0, -1.8, false), jet(45, 0.4, 1.2, false), jet(30, 2.0, 0.0, false)};
  ev.met.pt = 200;
  ev.met.phi = 0.0;
  const double keep = std::max(mass0(80, -1.2, -2.0, 60, -1.0, -1.8), mass0(50, 0.5, 1.0, 45, 0.4, 1.2));
  const double swap = std::max(mass0(80, -1.2, -2.0, 45, 0.4, 1.2), mass0(50, 0.5, 1.0, 60, -1.0, -1.8));
  ASSERT_LT(keep, swap);
  auto f = features(ev);
  EXPECT_NEAR(f["log_j1_pt"], std::log(60.0), 1e-14);
  EXPECT_NEAR(f["log_j2_pt"], std::log(45.0), 1e-14);
  EXPECT_EQ(f["j1_btag"], -1.0);
  EXPECT_EQ(f["j2_btag"], -1.0);
  // eta(l1) < 0: every eta flips, l1_eta = |eta(l1)|.
  EXPECT_EQ(f["l1_eta"], 1.2);
  EXPECT_EQ(f["l2_eta"], -0.5);
  EXPECT_EQ(f["j1_eta"], 1.0);
  EXPECT_EQ(f["j2_eta"], -0.4);
  EXPECT_NEAR(f["deta_ll"], 1.7, 1e-14);  // flipped: -(-1.2 - 0.5)
  EXPECT_NEAR(f["l1_dphi"], 2.0, 1e-14);
  EXPECT_EQ(f["l1_dphi_sign"], -1.0);
  EXPECT_NEAR(f["l2_dphi"], 1.0, 1e-14);
  EXPECT_EQ(f["l2_dphi_sign"], 1.0);
  EXPECT_EQ(f["isr_pt"], 60.0);  // j1 untagged
  EXPECT_EQ(f["ht"], 135.0);
  EXPECT_NEAR(f["m_ll"], mass0(80, -1.2, -2.0, 50, 0.5, 1.0), 1e-10);
}

// mT2(ll) treats the leptons as massless (the paper's eq. 3), whatever mass the objects carry.
TEST(PhysicsStopDilepton, Mt2llUsesMasslessLeptons) {
  RecoEvent ev;
  ev.leptons = {lep(80, 1.2, -2.0), lep(50, -0.5, 1.0)};
  ev.jets = {jet(60, 0.3, 0.5, true), jet(45, -0.4, 2.5, true)};
  ev.met.pt = 150;
  ev.met.phi = 0.3;
  auto massless = features(ev);
  ev.leptons[0].m = 20.0;  // a heavy "lepton" would raise mT2 if its mass were used
  ev.leptons[1].m = 15.0;
  auto massive = features(ev);
  const double mx = 150 * std::cos(0.3), my = 150 * std::sin(0.3);
  const double want =
      mt2(0, 80 * std::cos(-2.0), 80 * std::sin(-2.0), 0, 50 * std::cos(1.0), 50 * std::sin(1.0), mx, my);
  EXPECT_NEAR(massless["mt2ll"], want, 1e-9);
  EXPECT_EQ(massive["mt2ll"], massless["mt2ll"]);
  EXPECT_GT(mt2(20, 80 * std::cos(-2.0), 80 * std::sin(-2.0), 15, 50 * std::cos(1.0), 50 * std::sin(1.0), mx, my),
            want + 1);
}

TEST(PhysicsStopDilepton, SignConventionsAtZeroAndPi) {
  RecoEvent ev;
  ev.leptons = {lep(80, 0.0, 1.0), lep(50, -0.7, 1.0 - M_PI)};
  ev.jets = {jet(60, 0.3, 1.0, true), jet(45, -0.4, 1.0 + M_PI, true)};
  ev.met.pt = 90;
  ev.met.phi = 1.0;
  auto f = features(ev);
  // eta(l1) = 0: s = +1, nothing flips.
  EXPECT_EQ(f["l1_eta"], 0.0);
  EXPECT_EQ(f["l2_eta"], -0.7);
  // Along the MET: dphi 0, sign +1; exactly opposite: dphi pi, sign +1 (phi difference in (-pi, pi]).
  EXPECT_EQ(f["l1_dphi"], 0.0);
  EXPECT_EQ(f["l1_dphi_sign"], 1.0);
  EXPECT_NEAR(f["l2_dphi"], M_PI, 1e-14);
  EXPECT_EQ(f["l2_dphi_sign"], 1.0);
  EXPECT_NEAR(f["dphi_ll"], M_PI, 1e-14);
}

TEST(PhysicsStopDilepton, TooFewObjectsReturnFalseAndLeaveOutputAlone) {
  RecoEvent ev;
  ev.leptons = {lep(80, 0.1, 1.0)};
  ev.jets = {jet(60, 0.3, 1.0, true), jet(45, -0.4, 2.0, true)};
  double out[kStopDileptonColumns];
  for (double& v : out) v = 7.0;
  EXPECT_FALSE(stop_dilepton_features(ev, out));
  ev.leptons.push_back(lep(30, 0.0, 0.0));
  ev.jets.pop_back();
  EXPECT_FALSE(stop_dilepton_features(ev, out));
  for (double v : out) EXPECT_EQ(v, 7.0);
  ev.jets.push_back(jet(20, 0, 0, false));
  EXPECT_TRUE(stop_dilepton_features(ev, out));
  StopDileptonObjects o;
  ASSERT_TRUE(stop_dilepton_objects(ev, o));
  EXPECT_EQ(o.l1.pt, 80.0);
  EXPECT_EQ(o.l2.pt, 30.0);
}

}  // namespace
