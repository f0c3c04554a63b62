// Event input (HepMC3, LHE) and truth reconstruction: readers on files written with HepMC3's
// own writer in GeV and MeV, corrupt files, lepton isolation, anti-kT jets against hand sums,
// ghost b-tagging, missing momentum.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "events_test_util.hpp"
#include "hepmc_samples.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/reader.hpp"
#include "unbox/physics/reconstruct.hpp"

using namespace unbox;
using namespace unbox::physics;
using unbox::test_events::particle;
using unbox::test_events::TempDir;
namespace ts = unbox::test_samples;

namespace {

std::vector<GenEvent> read_all(const std::string& path) {
  auto r = open_events(path);
  std::vector<GenEvent> out;
  GenEvent e;
  while (r->next(e)) out.push_back(e);
  return out;
}

std::string error_of(const std::string& path) {
  try {
    read_all(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Line (from 1) of the n-th line starting with `prefix`.
int line_of(const std::string& text, const std::string& prefix, int n) {
  std::istringstream in(text);
  std::string line;
  int k = 0, seen = 0;
  while (std::getline(in, line)) {
    ++k;
    if (line.rfind(prefix, 0) == 0 && ++seen == n) return k;
  }
  return -1;
}

}  // namespace

TEST(EventsReader, HepMC3KnownEventRoundTrip) {
  TempDir dir;
  std::string path = dir.file("one.hepmc");
  {
    ts::HandEvent h;
    h.lepton(13, 42.5, 0.7, -1.2);
    h.particle(12, 30.0, -0.3, 2.0);
    h.jet(80.0, -1.0, 1.0, 6, 511, 513, 5);  // B*0 -> B0 gamma: the B0 is the last b-hadron
    HepMC3::WriterAscii w(path);
    w.write_event(h.build(17, 2.25));
    w.close();
  }
  auto events = read_all(path);
  ASSERT_EQ(events.size(), 1u);
  const GenEvent& e = events[0];
  EXPECT_EQ(e.number, 17);
  EXPECT_DOUBLE_EQ(e.weight, 2.25);
  EXPECT_FALSE(e.parton_level);
  // 1 muon + 1 neutrino + 3 fragmentation pions + 3 B decay pions + 1 photon.
  EXPECT_EQ(e.final_state.size(), 9u);
  auto mu =
      std::find_if(e.final_state.begin(), e.final_state.end(), [](const GenParticle& p) { return p.pdg_id == 13; });
  ASSERT_NE(mu, e.final_state.end());
  EXPECT_NEAR(mu->px, 42.5 * std::cos(-1.2), 1e-12);
  EXPECT_NEAR(mu->py, 42.5 * std::sin(-1.2), 1e-12);
  EXPECT_NEAR(mu->pz, 42.5 * std::sinh(0.7), 1e-12);
  EXPECT_NEAR(mu->m, 0.10566, 1e-6);
  ASSERT_EQ(e.b_tags.size(), 1u);
  EXPECT_EQ(e.b_tags[0].pdg_id, 511);
  EXPECT_TRUE(e.c_tags.empty());
}

TEST(EventsReader, GeVAndMeVFilesGiveTheSameFeatures) {
  TempDir dir;
  std::string gev = dir.file("gev.hepmc"), mev = dir.file("mev.hepmc");
  ts::write_ttbar_hepmc(gev, 20, 7, HepMC3::Units::GEV);
  ts::write_ttbar_hepmc(mev, 20, 7, HepMC3::Units::MEV);
  EXPECT_NE(test_events::read_text(gev), test_events::read_text(mev));
  auto a = read_all(gev), b = read_all(mev);
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].final_state.size(), b[i].final_state.size());
    for (size_t k = 0; k < a[i].final_state.size(); ++k) {
      EXPECT_NEAR(a[i].final_state[k].px, b[i].final_state[k].px, 1e-9 * (1 + std::abs(a[i].final_state[k].e)));
      EXPECT_NEAR(a[i].final_state[k].e, b[i].final_state[k].e, 1e-9 * (1 + std::abs(a[i].final_state[k].e)));
    }
  }
  FeatureOptions o;
  o.detector = DetectorOptions::truth();
  o.selection = "none";
  o.quiet = true;
  FeatureResult fa = build_features(gev, o), fb = build_features(mev, o);
  ASSERT_EQ(fa.data.events(), fb.data.events());
  ASSERT_GT(fa.data.events(), 10);
  for (const auto& name : fa.data.names()) {
    const Tensor &x = fa.data.get(name), &y = fb.data.get(name);
    for (Index i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], 1e-8 * (1 + std::abs(x[i]))) << name << " row " << i;
  }
}

TEST(EventsReader, LheGivesFinalStatePartonsAndQuarkTags) {
  TempDir dir;
  std::string path = dir.file("tt.lhe");
  ts::write_ttbar_lhe(path, 3, 11);
  std::mt19937_64 rng(11);
  auto events = read_all(path);
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ts::TtbarEvent t = ts::random_ttbar(rng);
    const GenEvent& e = events[i];
    EXPECT_TRUE(e.parton_level);
    EXPECT_EQ(e.number, static_cast<std::int64_t>(i + 1));
    EXPECT_NEAR(e.weight, 0.5 + i / 3.0, 1e-9);  // written with 10 decimals
    EXPECT_EQ(e.final_state.size(), 7u);         // b, l, nu twice, and the ISR gluon
    ASSERT_EQ(e.b_tags.size(), 2u);
    auto lep = std::find_if(e.final_state.begin(), e.final_state.end(),
                            [&](const GenParticle& p) { return p.pdg_id == t.l_pdg[0]; });
    ASSERT_NE(lep, e.final_state.end());
    EXPECT_NEAR(std::hypot(lep->px, lep->py), t.l_pt[0], 1e-9);
  }
  // Parton-level reconstruction: the two b quarks become b-flavoured jets.
  RecoEvent r = reconstruct(events[0]);
  int b = 0;
  for (const auto& j : r.jets) b += j.flavour == 5;
  EXPECT_EQ(b, 2);
  EXPECT_EQ(r.leptons.size(), 2u);
}

TEST(EventsReader, CorruptHepMC3FilesGiveClearErrors) {
  TempDir dir;
  std::string good = dir.file("good.hepmc");
  ts::write_ttbar_hepmc(good, 3, 5);
  std::string text = test_events::read_text(good);

  // Cut inside the second event: the error names the file and the line where event 2 starts.
  int e2 = line_of(text, "E ", 2);
  std::string cut = dir.file("cut.hepmc");
  {
    std::istringstream in(text);
    std::string line, out;
    for (int k = 1; std::getline(in, line) && k < e2 + 6; ++k) out += line + "\n";
    test_events::write_text(cut, out);
  }
  std::string msg = error_of(cut);
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format(":{}:", e2)), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after event 1"), std::string::npos) << msg;

  // Cut exactly between events (no footer): truncated too (the last event cannot be trusted).
  std::string boundary = dir.file("boundary.hepmc");
  {
    std::istringstream in(text);
    std::string line, out;
    for (int k = 1; std::getline(in, line) && k < line_of(text, "E ", 3); ++k) out += line + "\n";
    test_events::write_text(boundary, out);
  }
  msg = error_of(boundary);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 1 complete event(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("starting at line {} may be incomplete", e2)), std::string::npos) << msg;

  // A particle line with missing fields in event 3.
  int e3 = line_of(text, "E ", 3);
  std::string bad = dir.file("bad.hepmc");
  {
    std::istringstream in(text);
    std::string line, out;
    for (int k = 1; std::getline(in, line); ++k) out += (k == e3 + 5 ? std::string("P 3 -1 5 1.0") : line) + "\n";
    test_events::write_text(bad, out);
  }
  msg = error_of(bad);
  // The line itself (our own parser knows it), and what is wrong with it.
  EXPECT_NE(msg.find(fmt::format(":{}:", e3 + 5)), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the particle line has 5 fields"), std::string::npos) << msg;

  // Not HepMC3 at all.
  std::string junk = dir.file("junk.hepmc");
  test_events::write_text(junk, "hello\nworld\n");
  msg = error_of(junk);
  EXPECT_NE(msg.find("not a HepMC3"), std::string::npos) << msg;
  EXPECT_NE(error_of(dir.file("missing.hepmc")).find("cannot open"), std::string::npos);
}

TEST(EventsReader, CorruptLheFilesGiveClearErrors) {
  TempDir dir;
  std::string good = dir.file("good.lhe");
  ts::write_ttbar_lhe(good, 3, 5);
  std::string text = test_events::read_text(good);
  int ev2 = line_of(text, "<event>", 2);

  std::string cut = dir.file("cut.lhe");
  {
    std::istringstream in(text);
    std::string line, out;
    for (int k = 1; std::getline(in, line) && k <= ev2 + 4; ++k) out += line + "\n";
    test_events::write_text(cut, out);
  }
  std::string msg = error_of(cut);
  EXPECT_NE(msg.find("truncated LHE event 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("line {}", ev2)), std::string::npos) << msg;

  std::string bad = dir.file("bad.lhe");
  {
    std::istringstream in(text);
    std::string line, out;
    for (int k = 1; std::getline(in, line); ++k)
      out += (k == ev2 + 3 ? std::string(" 5 1 3 3 0 0 1.0 x 2.0") : line) + "\n";
    test_events::write_text(bad, out);
  }
  msg = error_of(bad);
  EXPECT_NE(msg.find(fmt::format("{}:{}:", bad, ev2 + 3)), std::string::npos) << msg;
  EXPECT_NE(msg.find("particle 2 of 13"), std::string::npos) << msg;

  std::string nofooter = dir.file("nofooter.lhe");
  test_events::write_text(nofooter, text.substr(0, text.find("</LesHouchesEvents>")));
  EXPECT_NE(error_of(nofooter).find("truncated LHE file"), std::string::npos);
}

TEST(EventsReader, FormatFromExtensionOrContent) {
  TempDir dir;
  std::string h = dir.file("events.dat"), l = dir.file("events.txt");
  ts::write_ttbar_hepmc(h, 2, 1);
  ts::write_ttbar_lhe(l, 2, 1);
  EXPECT_EQ(detect_event_format(h), EventFormat::HepMC3);
  EXPECT_EQ(detect_event_format(l), EventFormat::LHE);
  EXPECT_EQ(read_all(h).size(), 2u);
  EXPECT_EQ(read_all(l).size(), 2u);
  std::string other = dir.file("x.csv");
  test_events::write_text(other, "a,b\n1,2\n");
  EXPECT_THROW(detect_event_format(other), Error);
}

TEST(EventsReco, LeptonIsolation) {
  GenEvent e;
  // Muon with 10 GeV of activity at Delta-R 0.3: I = 0.2 < 0.25, isolated.
  e.final_state.push_back(particle(13, 50, 0.0, 0.0, 0.10566));
  e.final_state.push_back(particle(211, 10, 0.3, 0.0, 0.13957));
  // Electron with the same: 0.2 >= 0.12, not isolated (it goes into the jet instead).
  e.final_state.push_back(particle(-11, 50, 0.0, 2.5, 0.000511));
  e.final_state.push_back(particle(211, 10, 0.0, 2.8, 0.13957));
  // Electron with activity just outside the cone (Delta-R 0.6) and a neutrino inside: isolated.
  e.final_state.push_back(particle(11, 40, 1.5, -2.0, 0.000511));
  e.final_state.push_back(particle(211, 30, 1.5, -1.4, 0.13957));
  e.final_state.push_back(particle(12, 30, 1.6, -2.0));
  RecoEvent r = reconstruct(e);
  ASSERT_EQ(r.leptons.size(), 2u);
  EXPECT_EQ(r.leptons[0].pdg_id, 13);
  EXPECT_EQ(r.leptons[0].charge, -1);
  EXPECT_EQ(r.leptons[1].pdg_id, 11);
  EXPECT_NEAR(r.leptons[1].pt, 40, 1e-9);
  // The non-isolated electron plus its pion form a jet of about 60 GeV at phi ~ 2.55.
  auto j = std::find_if(r.jets.begin(), r.jets.end(), [](const Jet& x) { return std::abs(x.phi - 2.55) < 0.1; });
  ASSERT_NE(j, r.jets.end());
  EXPECT_NEAR(j->pt, 50 * std::cos(0.05) + 10 * std::cos(0.25), 0.05);

  // A tighter threshold makes the muon non-isolated.
  ReconstructionOptions tight;
  tight.muon_isolation = 0.15;
  EXPECT_EQ(reconstruct(e, tight).leptons.size(), 1u);
  // A smaller cone (0.25) makes the electron isolated.
  ReconstructionOptions small;
  small.isolation_cone = 0.25;
  EXPECT_EQ(reconstruct(e, small).leptons.size(), 3u);
}

TEST(EventsReco, JetsEqualTheHandSumOfTwoClusters) {
  GenEvent e;
  double px[2] = {0, 0}, py[2] = {0, 0}, pz[2] = {0, 0}, en[2] = {0, 0};
  const double centre_eta[2] = {0.5, -1.2}, centre_phi[2] = {0.3, -2.6};
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 5; ++i) {
      GenParticle p = particle(i % 2 ? 211 : 22, 8.0 + 3 * i, centre_eta[c] + 0.05 * (i - 2),
                               centre_phi[c] + 0.04 * ((i * 7) % 5 - 2), i % 2 ? 0.13957 : 0);
      e.final_state.push_back(p);
      px[c] += p.px, py[c] += p.py, pz[c] += p.pz, en[c] += p.e;
    }
  RecoEvent r = reconstruct(e);
  ASSERT_EQ(r.jets.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    double pt = std::hypot(px[c], py[c]);
    const Jet& j = *std::find_if(r.jets.begin(), r.jets.end(),
                                 [&](const Jet& x) { return std::abs(x.eta - centre_eta[c]) < 0.3; });
    EXPECT_NEAR(j.pt, pt, 1e-9);
    EXPECT_NEAR(j.eta, std::asinh(pz[c] / pt), 1e-9);
    EXPECT_NEAR(j.phi, std::atan2(py[c], px[c]), 1e-9);
    EXPECT_NEAR(j.m, std::sqrt(en[c] * en[c] - px[c] * px[c] - py[c] * py[c] - pz[c] * pz[c]), 1e-6);
    EXPECT_EQ(j.flavour, 0);
  }
  EXPECT_GT(r.jets[0].pt, r.jets[1].pt);
  // R = 0.5 still separates them; a soft particle far away makes no 20 GeV jet.
  e.final_state.push_back(particle(211, 3, 3.0, 1.0, 0.13957));
  EXPECT_EQ(reconstruct(e).jets.size(), 2u);
}

TEST(EventsReco, GhostAssociatedFlavour) {
  GenEvent e;
  const double eta[3] = {0.0, 1.5, -1.5}, phi[3] = {0.0, 2.0, -2.0};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i)
      e.final_state.push_back(particle(211, 10, eta[c] + 0.05 * i, phi[c] - 0.03 * i, 0.13957));
  ReconstructionOptions ghost;
  ghost.flavour = ReconstructionOptions::Flavour::Ghost;
  RecoEvent plain = reconstruct(e, ghost);
  e.b_tags.push_back(particle(521, 20, eta[0] + 0.1, phi[0], 5.279, 2));
  e.c_tags.push_back(particle(421, 15, eta[1], phi[1] + 0.1, 1.865, 2));
  e.c_tags.push_back(particle(411, 15, eta[0], phi[0] + 0.1, 1.869, 2));         // b wins over c
  e.b_tags.push_back(particle(511, 20, -eta[0] + 3.0, phi[0] + 3.0, 5.279, 2));  // far from every jet
  RecoEvent tagged = reconstruct(e, ghost);
  ASSERT_EQ(plain.jets.size(), 3u);
  ASSERT_EQ(tagged.jets.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(tagged.jets[k].pt, plain.jets[k].pt, 1e-9 * plain.jets[k].pt);  // ghosts carry no momentum
    int c = std::abs(tagged.jets[k].eta) < 0.5 ? 0 : (tagged.jets[k].eta > 0 ? 1 : 2);
    int expected = c == 0 ? 5 : (c == 1 ? 4 : 0);
    EXPECT_EQ(tagged.jets[k].flavour, expected) << "cluster " << c;
    EXPECT_EQ(tagged.jets[k].btag, expected == 5);
  }
  // Tags come from the reader: a b jet built with its decay chain is tagged after reading.
  TempDir dir;
  std::string path = dir.file("b.hepmc");
  {
    ts::HandEvent h;
    h.jet(60.0, 0.5, 1.0, 6, -521, 0, -5);
    h.jet(50.0, -1.0, -2.0, 5, 0, 0, 21);
    HepMC3::WriterAscii w(path);
    w.write_event(h.build(1, 1.0));
    w.close();
  }
  auto reader = open_events(path);
  GenEvent g;
  ASSERT_TRUE(reader->next(g));
  RecoEvent r = reconstruct(g, ghost);
  ASSERT_EQ(r.jets.size(), 2u);
  for (const auto& j : r.jets) EXPECT_EQ(j.flavour, j.eta > 0 ? 5 : 0);
  // The card's rule on the same file: the b quark (a parton of the record) within Delta-R 0.5.
  RecoEvent p = reconstruct(g);
  ASSERT_EQ(p.jets.size(), 2u);
  for (const auto& j : p.jets) EXPECT_EQ(j.flavour, j.eta > 0 ? 5 : 0);
}

// Delphes' flavour rule: the highest |PDG id| among quarks within Delta-R 0.5 of the jet axis
// (b over c over light; gluons light), by hand on jets at known axes.
TEST(EventsReco, PartonFlavourRule) {
  std::vector<GenParticle> partons = {
      particle(21, 50, 0.0, 0.0, 0, 23),     // gluon on the axis: light
      particle(4, 20, 0.3, 0.0, 1.5, 23),    // c at Delta-R 0.3
      particle(-5, 30, 0.0, 0.55, 4.8, 23),  // b at Delta-R 0.55: outside
  };
  EXPECT_EQ(parton_flavour(partons, 0.0, 0.0, 0.5), 4);
  EXPECT_EQ(parton_flavour(partons, 0.0, 0.1, 0.5), 5);    // b now at 0.45, c at 0.316: b wins
  EXPECT_EQ(parton_flavour(partons, 0.0, -0.25, 0.5), 4);  // c at 0.39
  EXPECT_EQ(parton_flavour(partons, -0.3, -0.1, 0.5), 0);  // only the gluon (0.32): light
  EXPECT_EQ(parton_flavour(partons, 2.0, 0.0, 0.5), 0);
  partons.push_back(particle(2, 40, 0.0, -0.2, 0, 23));    // a u quark: light
  EXPECT_EQ(parton_flavour(partons, -0.3, -0.3, 0.5), 0);  // the u (0.32) and the gluon (0.42)
  EXPECT_EQ(parton_flavour(partons, 0.0, 0.0, 0.5), 4);
  EXPECT_EQ(parton_flavour(partons, 0.0, 0.1, 0.2), 0);  // a smaller cone
}

TEST(EventsReco, MissingMomentumIsMinusTheVisibleSum) {
  GenEvent e;
  e.final_state.push_back(particle(13, 40, 0.5, 0.2, 0.10566));
  e.final_state.push_back(particle(211, 25, -0.4, 2.2, 0.13957));
  e.final_state.push_back(particle(22, 5, 4.8, -1.0));            // outside every acceptance: still visible
  e.final_state.push_back(particle(14, 60, 0.1, -2.0));           // invisible
  e.final_state.push_back(particle(1000022, 80, 1.0, 1.0, 100));  // invisible
  RecoEvent r = reconstruct(e);
  double mx = 0, my = 0, sumet = 0;
  for (int i = 0; i < 3; ++i)
    mx -= e.final_state[i].px, my -= e.final_state[i].py, sumet += std::hypot(e.final_state[i].px, e.final_state[i].py);
  EXPECT_NEAR(r.met.pt, std::hypot(mx, my), 1e-12);
  EXPECT_NEAR(r.met.phi, std::atan2(my, mx), 1e-12);
  EXPECT_NEAR(r.met.sumet, sumet, 1e-12);
  for (const auto& j : r.jets) EXPECT_LT(j.pt, 30);  // invisibles are not clustered (the 25 GeV pion alone)
  // A user-declared invisible particle (here the pion) leaves the MET sum too.
  ReconstructionOptions o;
  o.extra_invisible = {-211};
  RecoEvent r2 = reconstruct(e, o);
  EXPECT_NEAR(r2.met.sumet, sumet - 25, 1e-9);
  EXPECT_TRUE(r2.jets.empty());
}
