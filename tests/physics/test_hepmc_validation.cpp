// The HepMC3 ASCII reader is our own parser (issue 15): it must read what libHepMC3's
// writer writes exactly as libHepMC3's own reader does (the reference here), and refuse
// what libHepMC3 3.1.2 reads as garbage or crashes on, naming the file and the line.
#include <HepMC3/GenEvent.h>
#include <HepMC3/GenParticle.h>
#include <HepMC3/GenVertex.h>
#include <HepMC3/ReaderAscii.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "events_test_util.hpp"
#include "hepmc_samples.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/reader.hpp"

using namespace unbox;
using namespace unbox::physics;
using unbox::test_events::TempDir;
namespace ts = unbox::test_samples;

namespace {

std::string error_of(const std::string& path) {
  try {
    auto r = open_events(path);
    GenEvent e;
    while (r->next(e)) {
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* kHead = "HepMC::Version 3.01.02\nHepMC::Asciiv3-START_EVENT_LISTING\n";
const char* kFoot = "HepMC::Asciiv3-END_EVENT_LISTING\n";

std::string event(const std::string& vertex = "V -1 0 [1,2]", const std::string& weight = "W 1.0",
                  const std::string& units = "U GEV MM", const std::string& p3 = "11 50 10 5 51.2 0.000511") {
  return "E 7 1 4\n" + units + "\n" + (weight.empty() ? "" : weight + "\n") +
         "P 1 0 2212 0 0 6500 6500 0.938 4\nP 2 0 2212 0 0 -6500 6500 0.938 4\n" + vertex + "\nP 3 -1 " + p3 +
         " 1\nP 4 -1 -11 -50 -10 5 51.2 0.000511 1\n";
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.file(name);
  unbox::test_events::write_text(path, text);
  return path;
}

}  // namespace

TEST(HepMC3Parser, AgreesWithLibHepMC3OnItsOwnFiles) {
  TempDir dir;
  std::string path = dir.file("tt.hepmc");
  ts::write_ttbar_hepmc(path, 20, 3);
  // Reference: libHepMC3's reader, with the same selection rules (status 1; last b/c hadron).
  std::vector<GenEvent> ref;
  {
    HepMC3::ReaderAscii reader(path);
    HepMC3::GenEvent evt;
    while (reader.read_event(evt) && !reader.failed()) {
      GenEvent g;
      g.number = evt.event_number();
      g.weight = evt.weights().empty() ? 1.0 : evt.weights()[0];
      for (const auto& p : evt.particles()) {
        GenParticle q;
        q.px = p->momentum().px(), q.py = p->momentum().py(), q.pz = p->momentum().pz(), q.e = p->momentum().e();
        q.pdg_id = p->pid();
        q.status = p->status();
        if (q.status == 1) g.final_state.push_back(q);
        bool b = is_b_hadron(q.pdg_id), c = !b && is_c_hadron(q.pdg_id);
        if (!b && !c) continue;
        bool same = false;
        if (auto v = p->end_vertex())
          for (const auto& d : v->particles_out()) same |= b ? is_b_hadron(d->pid()) : is_c_hadron(d->pid());
        if (!same) (b ? g.b_tags : g.c_tags).push_back(q);
      }
      ref.push_back(g);
    }
  }
  ASSERT_EQ(ref.size(), 20u);
  auto r = open_hepmc3(path);
  GenEvent e;
  size_t k = 0, tags = 0;
  for (; r->next(e); ++k) {
    ASSERT_LT(k, ref.size());
    const GenEvent& g = ref[k];
    EXPECT_EQ(e.number, g.number);
    EXPECT_EQ(e.weight, g.weight);
    ASSERT_EQ(e.final_state.size(), g.final_state.size());
    for (size_t i = 0; i < g.final_state.size(); ++i) {
      EXPECT_EQ(e.final_state[i].pdg_id, g.final_state[i].pdg_id);
      EXPECT_EQ(e.final_state[i].px, g.final_state[i].px);  // both parse the same %.16e text
      EXPECT_EQ(e.final_state[i].e, g.final_state[i].e);
    }
    ASSERT_EQ(e.b_tags.size(), g.b_tags.size());
    ASSERT_EQ(e.c_tags.size(), g.c_tags.size());
    for (size_t i = 0; i < g.b_tags.size(); ++i) EXPECT_EQ(e.b_tags[i].pdg_id, g.b_tags[i].pdg_id);
    tags += g.b_tags.size() + g.c_tags.size();
  }
  EXPECT_EQ(k, ref.size());
  EXPECT_GT(tags, 10u);  // the sample has b-hadron chains: the daughter rule was exercised
}

TEST(HepMC3Parser, RefusesWhatLibHepMC3CrashesOnOrReadsAsGarbage) {
  TempDir dir;
  struct Case {
    std::string text, expect;
    int line;
  };
  const std::vector<Case> cases = {
      {event("V -1 0 [1,2147483647]"), "vertex -1 lists particle 2147483647, but event 7 has particles 1 to 4", 8},
      {event("V -1 0 [1,2,999]"), "lists particle 999", 8},
      {event("V -1 0 [1,-3]"), "lists particle -3", 8},
      {event("V -1 0 [1,x]"), "an incoming particle id is 'x'", 8},
      {event("V -1 0 [1,2]", "W 1.0", "U GEV MM", "11 abc 10 5 51.2 0.000511"), "px is 'abc', expected a number", 9},
      {event("V -1 0 [1,2]", "W 1.0", "U GEV MM", "e- 50 10 5 51.2 0.000511"), "the PDG id is 'e-'", 9},
      {event("V -1 0 [1,2]", "W nan"), "weight 1 is nan; event weights must be finite", 5},
      {event("V -1 0 [1,2]", "W 1.0", "U TEV MM"), "unknown momentum unit 'TEV'", 4},
      {event("V -1 0 [1,2]", "W 1.0", "U GEV KM"), "unknown length unit 'KM'", 4},
      {event("V -1 0 [1,2]", "W 1.0", "U GEV MM", "11 inf 10 5 51.2 0.000511"), "px is inf", 9},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    std::string path = write(dir, "c" + std::to_string(k) + ".hepmc", kHead + cases[k].text + kFoot);
    std::string msg = error_of(path);
    EXPECT_TRUE(has(msg, path + ":" + std::to_string(cases[k].line) + ":")) << msg;
    EXPECT_TRUE(has(msg, cases[k].expect)) << msg;
  }
  // A particle count that disagrees with the E line.
  std::string count = event();
  count.replace(0, 7, "E 7 1 5");
  EXPECT_TRUE(has(error_of(write(dir, "count.hepmc", kHead + count + kFoot)), "declares 5 particles but holds 4"));
}

TEST(HepMC3Parser, HepMC2IsNamedAndAByteOrderMarkIsAccepted) {
  TempDir dir;
  std::string v2 = write(dir, "old.hepmc",
                         "HepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\n"
                         "E 1 -1 -1.0 -1.0 -1.0 0 0 1 1 2 0 1 1.0\nHepMC::IO_GenEvent-END_EVENT_LISTING\n");
  EXPECT_TRUE(has(error_of(v2), "a HepMC2 file (HepMC::IO_GenEvent)")) << error_of(v2);
  std::string mixed =
      write(dir, "mixed.hepmc", std::string(kHead) + "E 1 -1 -1.0 -1.0 -1.0 0 0 1 1 2 0 1 1.0\n" + kFoot);
  EXPECT_TRUE(has(error_of(mixed), "a HepMC2 event under a HepMC3 header?")) << error_of(mixed);

  std::string bom = write(dir, "bom.hepmc", "\xEF\xBB\xBF" + std::string(kHead) + event() + kFoot);
  EXPECT_EQ(detect_event_format(bom), EventFormat::HepMC3);
  auto r = open_events(bom);
  GenEvent e;
  ASSERT_TRUE(r->next(e));
  EXPECT_EQ(e.number, 7);
  ASSERT_EQ(e.final_state.size(), 2u);
  EXPECT_EQ(e.final_state[0].pdg_id, 11);
  EXPECT_DOUBLE_EQ(e.final_state[0].px, 50.0);
  EXPECT_FALSE(r->next(e));
}

TEST(LheReader, NanWeightsAndTooSmallNupAreRefused) {
  TempDir dir;
  auto lhe = [&](const std::string& name, const std::string& head, int lines) {
    std::string t =
        "<LesHouchesEvents version=\"3.0\">\n<init>\n2212 2212 6500 6500 0 0 0 0 3 1\n</init>\n<event>\n" + head + "\n";
    const char* ps[] = {"21 -1 0 0 501 502 0 0 100 100 0 0 9", "21 -1 0 0 502 501 0 0 -100 100 0 0 9",
                        "11 1 1 2 0 0 50 10 5 51.2 0.000511 0 9", "-11 1 1 2 0 0 -50 -10 5 51.2 0.000511 0 9"};
    for (int i = 0; i < lines; ++i) t += std::string(ps[i]) + "\n";
    return write(dir, name, t + "</event>\n</LesHouchesEvents>\n");
  };
  std::string nan = lhe("nan.lhe", "4 1 nan 91 0.0078 0.118", 4);
  EXPECT_TRUE(has(error_of(nan), nan + ":6:")) << error_of(nan);
  EXPECT_TRUE(has(error_of(nan), "the event weight XWGTUP is nan")) << error_of(nan);
  std::string small = lhe("small.lhe", "2 1 1.0 91 0.0078 0.118", 4);
  EXPECT_TRUE(has(error_of(small), small + ":9:")) << error_of(small);
  EXPECT_TRUE(has(error_of(small), "NUP = 2 but a further particle line follows")) << error_of(small);
  std::string good = lhe("good.lhe", "4 1 0.5 91 0.0078 0.118", 4);
  EXPECT_EQ(error_of(good), "");
}
