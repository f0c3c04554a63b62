// unbox physics features end to end: a hand-built HepMC3 sample in, the feature file out
// with every column, the cut-flow printed and written as JSON; bad input exits 2 with one line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "events_test_util.hpp"
#include "hepmc_samples.hpp"
#include "unbox/data.hpp"
#include "unbox/physics/stop_dilepton.hpp"

using namespace unbox;
namespace ts = unbox::test_samples;

TEST(EventsCli, FeaturesEndToEnd) {
  test_events::TempDir dir;
  std::string sample = dir.file("sample.hepmc"), out = dir.file("features.csv"), flow = dir.file("cutflow.json");
  ts::write_ttbar_hepmc(sample, 60, 3);
  auto r = test_events::run_unbox(dir, "physics features --channel stop-dilepton --data " + sample + " --out " + out +
                                           " --label 1 --seed 7 --cutflow " + flow + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cut-flow"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("selection sus-17-001"), std::string::npos) << r.out;  // the default
  EXPECT_NE(r.out.find("3lep_veto"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("met_sqrt_ht"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dphi_j2"), std::string::npos) << r.out;
  Dataset d = read_dataset(out);
  for (const auto& c : physics::stop_dilepton_columns()) EXPECT_TRUE(d.has(c)) << c;
  ASSERT_TRUE(d.has("label"));
  ASSERT_TRUE(d.has("weight"));
  EXPECT_EQ(d.names().size(), physics::stop_dilepton_columns().size() + 2);
  auto j = nlohmann::json::parse(test_events::read_text(flow));
  EXPECT_EQ(j["events_read"], 60);
  EXPECT_EQ(j["selected"], d.events());
  EXPECT_EQ(j["cutflow"]["cuts"].back()["events"], d.events());
  EXPECT_GT(d.events(), 20);  // most ttbar-like events pass
  for (Index i = 0; i < d.events(); ++i) {
    EXPECT_EQ(d.get("label")[i], 1.0);
    EXPECT_GE(d.get("weight")[i], 0.5);  // the generator weights 0.5 + i/60
    EXPECT_GT(d.get("met")[i], 80.0);
    EXPECT_GT(std::exp(d.get("log_l1_pt")[i]), 25.0 - 1e-9);
  }
  // Same seed, same file; --weight replaces the generator weights.
  std::string out2 = dir.file("again.csv");
  auto r2 = test_events::run_unbox(
      dir, "physics features --data " + sample + " --out " + out2 + " --label 1 --seed 7 --weight 2.5 --quiet");
  ASSERT_EQ(r2.code, 0) << r2.err;
  Dataset d2 = read_dataset(out2);
  ASSERT_EQ(d2.events(), d.events());
  for (Index i = 0; i < d.events(); ++i) {
    EXPECT_EQ(d2.get("mt2ll")[i], d.get("mt2ll")[i]);
    EXPECT_EQ(d2.get("weight")[i], 2.5);
  }
}

TEST(EventsCli, BadInputExitsTwoWithOneLine) {
  test_events::TempDir dir;
  std::string junk = dir.file("junk.hepmc");
  test_events::write_text(junk,
                          "HepMC::Version 3.01.02\nHepMC::Asciiv3-START_EVENT_LISTING\nE 1 1 4\nU GEV MM\nP 1 0\n");
  auto r = test_events::run_unbox(dir, "physics features --data " + junk + " --out " + dir.file("f.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(junk), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("f.csv")));
  auto r2 = test_events::run_unbox(dir, "physics features --data " + junk + " --out x.csv --detector atlas");
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.err.find("--detector"), std::string::npos) << r2.err;
}

// --objects appends the raw objects (obj_ prefix, after the 26 features, before label/weight);
// `unbox physics mt2` on them reproduces the features' own mt2ll for every event (an independent
// path: CSV round trip, pt/phi/m instead of the four-vectors, the batch entry point); without
// --objects the columns are exactly the old ones.
TEST(EventsCli, ObjectsFeedMt2) {
  test_events::TempDir dir;
  std::string sample = dir.file("sample.hepmc"), plain = dir.file("plain.csv"), objs = dir.file("objects.csv"),
              mt2 = dir.file("mt2.csv");
  ts::write_ttbar_hepmc(sample, 80, 11);
  auto r0 = test_events::run_unbox(dir, "physics features --data " + sample + " --out " + plain + " --label 0 --quiet");
  ASSERT_EQ(r0.code, 0) << r0.err;
  auto r1 = test_events::run_unbox(
      dir, "physics features --data " + sample + " --out " + objs + " --label 0 --objects --quiet");
  ASSERT_EQ(r1.code, 0) << r1.err;
  Dataset d0 = read_dataset(plain), d1 = read_dataset(objs);
  std::vector<std::string> expect = physics::stop_dilepton_columns();
  expect.push_back("label");
  expect.push_back("weight");
  EXPECT_EQ(d0.names(), expect);
  std::vector<std::string> with = physics::stop_dilepton_columns();
  for (const char* o : {"l1", "l2", "j1", "j2"})
    for (const char* k : {"pt", "eta", "phi", "m"}) with.push_back(fmt::format("obj_{}_{}", o, k));
  with.push_back("obj_met_phi");
  with.push_back("label");
  with.push_back("weight");
  EXPECT_EQ(d1.names(), with);
  ASSERT_EQ(d1.events(), d0.events());
  ASSERT_GT(d1.events(), 20);
  for (Index i = 0; i < d1.events(); ++i) {
    for (const auto& c : expect) ASSERT_EQ(d1.get(c)[i], d0.get(c)[i]) << c << " event " << i;
    // The raw objects are the ones the features came from: unsigned eta, pT, |dphi| to the MET.
    const double s = d1.get("obj_l1_eta")[i] < 0 ? -1.0 : 1.0;
    for (const char* o : {"l1", "l2", "j1", "j2"}) {
      const std::string p = std::string("obj_") + o;
      EXPECT_NEAR(std::log(d1.get(p + "_pt")[i]), d1.get(std::string("log_") + o + "_pt")[i], 1e-12) << p;
      EXPECT_EQ(s * d1.get(p + "_eta")[i], d1.get(std::string(o) + "_eta")[i]) << p;
      double dphi = std::remainder(d1.get(p + "_phi")[i] - d1.get("obj_met_phi")[i], 2 * M_PI);
      EXPECT_NEAR(std::fabs(dphi), d1.get(std::string(o) + "_dphi")[i], 1e-12) << p;
      EXPECT_GE(d1.get(p + "_m")[i], 0.0) << p;
    }
  }
  auto r2 = test_events::run_unbox(dir, "physics mt2 --data " + objs + " --out " + mt2 +
                                            " --l1 obj_l1 --l2 obj_l2 --met met --met-phi obj_met_phi --mchi 0");
  ASSERT_EQ(r2.code, 0) << r2.err;
  Dataset m = read_dataset(mt2);
  ASSERT_EQ(m.events(), d1.events());
  int positive = 0;
  for (Index i = 0; i < m.events(); ++i) {
    const double want = d1.get("mt2ll")[i], got = m.get("mt2")[i];
    EXPECT_NEAR(got, want, 1e-9 * std::max(std::fabs(want), 1e-3)) << "event " << i;
    positive += want > 1.0;
  }
  EXPECT_GT(positive, 10);  // not a comparison of zeros
}
