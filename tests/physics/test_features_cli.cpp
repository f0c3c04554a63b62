// unbox physics features end to end: a hand-built HepMC3 sample in, the feature file out
// with every column, the cut-flow printed and written as JSON; bad input exits 2 with one line.
#include <gtest/gtest.h>

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
  EXPECT_NE(r.out.find("gen_2lep15"), std::string::npos) << r.out;
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
  auto r2 = test_events::run_unbox(dir, "physics features --data " + sample + " --out " + out2 +
                                            " --label 1 --seed 7 --weight 2.5 --quiet");
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
  test_events::write_text(junk, "HepMC::Version 3.01.02\nHepMC::Asciiv3-START_EVENT_LISTING\nE 1 1 4\nU GEV MM\nP 1 0\n");
  auto r = test_events::run_unbox(dir, "physics features --data " + junk + " --out " + dir.file("f.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(junk), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("f.csv")));
  auto r2 = test_events::run_unbox(dir, "physics features --data " + junk + " --out x.csv --detector atlas");
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.err.find("--detector"), std::string::npos) << r2.err;
}
