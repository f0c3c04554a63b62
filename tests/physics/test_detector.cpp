// The objects and truth detector models (apply_detector): truth mode, resolution and
// efficiency statistics over many seeded draws against the configured formulas, determinism
// per (seed, event index), and the MET recomputed after smearing. The energy-flow model is
// tested in test_energy_flow.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "unbox/physics/detector.hpp"

using namespace unbox::physics;

namespace {

RecoEvent one_muon(double pt, double eta) {
  RecoEvent e;
  Lepton l;
  l.pt = pt, l.eta = eta, l.phi = 0.4, l.m = 0.10566, l.pdg_id = 13, l.charge = -1;
  e.leptons.push_back(l);
  e.met.pt = 50, e.met.phi = -2.0, e.met.sumet = pt;
  return e;
}

RecoEvent one_jet(double pt, double eta, int flavour) {
  RecoEvent e;
  Jet j;
  j.pt = pt, j.eta = eta, j.phi = -1.0, j.m = 8.0, j.flavour = flavour, j.btag = flavour == 5;
  e.jets.push_back(j);
  e.met.pt = 40, e.met.phi = 1.0, e.met.sumet = pt;
  return e;
}

}  // namespace

TEST(EventsDetector, TruthModeKeepsObjectsInsideTheAcceptance) {
  RecoEvent e = one_muon(35, 1.0);
  Lepton far = e.leptons[0];
  far.eta = 2.45;  // outside the muon acceptance (2.4)
  e.leptons.push_back(far);
  Jet j;
  j.pt = 45, j.eta = 2.7, j.phi = 1, j.flavour = 5;  // b jet outside the tracker: tagged (the card has no eta cut)
  e.jets.push_back(j);
  RecoEvent r = apply_detector(e, 0, DetectorOptions::truth());
  ASSERT_EQ(r.leptons.size(), 1u);
  EXPECT_EQ(r.leptons[0].pt, 35);
  ASSERT_EQ(r.jets.size(), 1u);
  EXPECT_EQ(r.jets[0].pt, 45);
  EXPECT_TRUE(r.jets[0].btag);
  DetectorOptions tracker = DetectorOptions::truth();
  tracker.btag_eta_max = 2.5;  // the earlier cut, still available
  EXPECT_FALSE(apply_detector(e, 0, tracker).jets.at(0).btag);
  EXPECT_EQ(r.met.pt, e.met.pt);
  EXPECT_NEAR(r.met.phi, e.met.phi, 1e-15);
}

TEST(EventsDetector, SmearingMatchesTheConfiguredResolution) {
  DetectorOptions o = DetectorOptions::objects();
  o.efficiencies = false;
  o.seed = 99;
  o.jet_pt_min = o.lepton_pt_min = 0;  // keep the far low tail (a 4-sigma jet would drop below 20 GeV)
  const int n = 40000;
  struct Case {
    RecoEvent event;
    bool lepton;
    double sigma;
  };
  double jet_e = std::sqrt(8.0 * 8.0 + std::pow(60 * std::cosh(1.0), 2));
  Case cases[] = {
      {one_muon(50, 0.2), true, std::hypot(0.01, 1.0e-4 * 50)},
      {one_muon(300, 2.0), true, std::hypot(0.025, 3.5e-4 * 300)},
      {one_jet(60, 1.0, 0), false, std::sqrt(0.05 * 0.05 + 1.5 * 1.5 / jet_e)},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(
        c.lepton ? muon_resolution(o, c.event.leptons[0].pt, c.event.leptons[0].eta) : jet_resolution(o, jet_e, 1.0),
        c.sigma, 1e-15);
    double truth = c.lepton ? c.event.leptons[0].pt : c.event.jets[0].pt;
    double s1 = 0, s2 = 0;
    long k = 0;
    for (int i = 0; i < n; ++i) {
      RecoEvent r = apply_detector(c.event, i, o);
      double pt = c.lepton ? r.leptons.at(0).pt : r.jets.at(0).pt;
      double x = pt / truth - 1.0;
      s1 += x, s2 += x * x, ++k;
    }
    double mean = s1 / k, sd = std::sqrt(s2 / k - mean * mean);
    EXPECT_NEAR(mean, 0.0, 4 * c.sigma / std::sqrt(k));
    EXPECT_NEAR(sd, c.sigma, 4 * c.sigma / std::sqrt(2.0 * k));
  }
}

TEST(EventsDetector, EfficienciesMatchTheConfiguredRates) {
  DetectorOptions o;
  o.smear = false;
  o.seed = 5;
  const int n = 20000;
  auto rate = [&](const RecoEvent& e, bool lepton) {
    long pass = 0;
    for (int i = 0; i < n; ++i) {
      RecoEvent r = apply_detector(e, i, o);
      pass += lepton ? !r.leptons.empty() : (!r.jets.empty() && r.jets[0].btag);
    }
    return static_cast<double>(pass) / n;
  };
  auto binomial = [&](double p) { return 4 * std::sqrt(p * (1 - p) / n) + 1e-12; };
  RecoEvent electron = one_muon(40, 2.0);
  electron.leptons[0].pdg_id = 11;
  EXPECT_NEAR(rate(one_muon(40, 1.0), true), 0.95, binomial(0.95));
  EXPECT_NEAR(rate(electron, true), 0.85, binomial(0.85));
  double eb = 0.85 * std::tanh(0.0025 * 100) * 25.0 / (1 + 0.063 * 100);
  double ec = 0.25 * std::tanh(0.018 * 100) / (1 + 0.0013 * 100);
  double el = 0.01 + 0.000038 * 100;
  EXPECT_NEAR(btag_efficiency(o, 5, 100, 0.5), eb, 1e-15);
  EXPECT_NEAR(rate(one_jet(100, 0.5, 5), false), eb, binomial(eb));
  EXPECT_NEAR(rate(one_jet(100, 0.5, 4), false), ec, binomial(ec));
  EXPECT_NEAR(rate(one_jet(100, 0.5, 0), false), el, binomial(el));
  // The card's BTagging has no eta cut: a b jet at |eta| 2.6 keeps its efficiency, a light jet its mistag rate.
  EXPECT_NEAR(rate(one_jet(100, 2.6, 5), false), eb, binomial(eb));
  EXPECT_NEAR(rate(one_jet(100, 3.5, 0), false), el, binomial(el));
  o.btag_eta_max = 2.5;
  EXPECT_EQ(rate(one_jet(100, 2.6, 5), false), 0.0);
}

TEST(EventsDetector, SeededPerEventIndex) {
  RecoEvent e = one_jet(80, 0.3, 5);
  e.leptons = one_muon(30, 0.1).leptons;
  DetectorOptions o;
  o.seed = 3;
  RecoEvent a = apply_detector(e, 12, o), b = apply_detector(e, 12, o);
  EXPECT_EQ(a.jets.at(0).pt, b.jets.at(0).pt);
  EXPECT_EQ(a.met.pt, b.met.pt);
  // Another index or seed gives other numbers; the order of calls does not matter.
  RecoEvent c = apply_detector(e, 13, o);
  EXPECT_NE(a.jets.at(0).pt, c.jets.at(0).pt);
  RecoEvent c2 = apply_detector(e, 13, o);
  EXPECT_EQ(c.jets.at(0).pt, c2.jets.at(0).pt);
  DetectorOptions o2 = o;
  o2.seed = 4;
  EXPECT_NE(apply_detector(e, 12, o2).jets.at(0).pt, a.jets.at(0).pt);
}

TEST(EventsDetector, MetFollowsTheSmearedObjects) {
  // sumET equal to the objects' pT: no unclustered term, so the MET changes by exactly
  // minus the change of the objects' transverse momenta.
  RecoEvent e = one_jet(70, 0.5, 0);
  e.leptons = one_muon(45, -0.5).leptons;
  e.met.sumet = 70 + 45;
  DetectorOptions o;
  o.efficiencies = false;
  for (int i = 0; i < 50; ++i) {
    RecoEvent r = apply_detector(e, i, o);
    ASSERT_EQ(r.jets.size(), 1u);
    ASSERT_EQ(r.leptons.size(), 1u);
    double dx = (r.jets[0].pt - 70) * std::cos(-1.0) + (r.leptons[0].pt - 45) * std::cos(0.4);
    double dy = (r.jets[0].pt - 70) * std::sin(-1.0) + (r.leptons[0].pt - 45) * std::sin(0.4);
    double mx = e.met.pt * std::cos(e.met.phi) - dx, my = e.met.pt * std::sin(e.met.phi) - dy;
    EXPECT_NEAR(r.met.pt, std::hypot(mx, my), 1e-9);
    EXPECT_NEAR(r.met.phi, std::atan2(my, mx), 1e-9);
    EXPECT_NEAR(r.met.sumet, r.jets[0].pt + r.leptons[0].pt, 1e-9);
    EXPECT_EQ(r.jets[0].eta, 0.5);  // direction unchanged
  }
  // With unclustered energy the MET components get a Gaussian of the configured width.
  RecoEvent soft = e;
  soft.met.sumet = 70 + 45 + 400;  // 400 GeV unclustered: sigma = 0.5 sqrt(400) = 10 GeV
  DetectorOptions tight = o;
  tight.jet_c_central = tight.jet_s_central = 0;  // only the unclustered term moves the MET
  tight.muon_a[0] = tight.muon_b[0] = 0;
  double s1 = 0, s2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    RecoEvent r = apply_detector(soft, i, tight);
    double x = r.met.pt * std::cos(r.met.phi) - e.met.pt * std::cos(e.met.phi);
    s1 += x, s2 += x * x;
  }
  double mean = s1 / n, sd = std::sqrt(s2 / n - mean * mean);
  EXPECT_NEAR(mean, 0, 4 * 10 / std::sqrt(n));
  EXPECT_NEAR(sd, 10, 4 * 10 / std::sqrt(2.0 * n));
}
