// Derived variables and cuts against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "unbox/core.hpp"
#include "unbox/expressions.hpp"

using namespace unbox;

namespace {
Dataset sample() {
  Dataset d;
  d.source = "sample.csv";
  d.add("met", Tensor({4}, {10.0, 50.0, 100.0, 200.0}));
  d.add("dphi", Tensor({4}, {0.5, -1.0, 2.0, 3.0}));
  d.add("label", Tensor({4}, {1.0, 0.0, 1.0, 0.0}));
  d.add("image", Tensor({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  d.label_column = "label";
  return d;
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Expressions, DefinedColumnMatchesHandValues) {
  Dataset d = sample();
  add_defined_column(d, "v=log(met)+abs(dphi)^2 - atan2(dphi, 1) + max(met, 60)/min(2, 4)");
  ASSERT_TRUE(d.has("v"));
  const double met[] = {10, 50, 100, 200}, dphi[] = {0.5, -1, 2, 3};
  for (int i = 0; i < 4; ++i) {
    const double want = std::log(met[i]) + dphi[i] * dphi[i] - std::atan2(dphi[i], 1.0) + std::max(met[i], 60.0) / 2.0;
    EXPECT_NEAR(d.get("v")[i], want, 1e-12 * std::abs(want)) << i;
  }
  add_defined_column(d, "w = sqrt(met)*exp(-dphi) + sin(dphi)*cos(dphi) + (met > 60 ? 1 : -1)");
  EXPECT_NEAR(d.get("w")[2], std::sqrt(100.0) * std::exp(-2.0) + std::sin(2.0) * std::cos(2.0) + 1, 1e-12);
  EXPECT_NEAR(d.get("w")[0], std::sqrt(10.0) * std::exp(-0.5) + std::sin(0.5) * std::cos(0.5) - 1, 1e-12);
}

TEST(Expressions, CutKeepsPassingEventsInOrder) {
  Dataset d = sample();
  CutResult r = apply_cut(d, "met >= 50 && (dphi < 0 || label == 1)");
  EXPECT_EQ(r.total, 4);
  EXPECT_EQ(r.passed, 2);  // events 2 (dphi<0) and 3 (label 1); not 4 (dphi 3, label 0)
  ASSERT_EQ(r.data.events(), 2);
  EXPECT_EQ(r.data.get("met")[0], 50.0);
  EXPECT_EQ(r.data.get("met")[1], 100.0);
  EXPECT_EQ(r.data.get("image").at(1, 1), 6.0);  // N-D arrays follow their events
  EXPECT_EQ(r.data.label_column, std::optional<std::string>("label"));
  EXPECT_EQ(apply_cut(d, "met > 1000").passed, 0);
}

TEST(Expressions, ErrorsNamePositionAndColumn) {
  Dataset d = sample();
  std::string m = error_of([&] { evaluate_expression(d, "met + jet_pt*2"); });
  EXPECT_NE(m.find("expression 'met + jet_pt*2'"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown column 'jet_pt' at character 7"), std::string::npos) << m;
  EXPECT_NE(m.find("met, dphi, label"), std::string::npos) << m;  // lists 1-D columns only
  EXPECT_EQ(m.find("image"), std::string::npos) << m;
  m = error_of([&] { evaluate_expression(d, "met +* dphi"); });
  EXPECT_NE(m.find("at character 6"), std::string::npos) << m;
  m = error_of([&] { evaluate_expression(d, "log(met"); });
  EXPECT_NE(m.find("expression 'log(met'"), std::string::npos) << m;
  EXPECT_NE(m.find("parenthesis"), std::string::npos) << m;
  m = error_of([&] { add_defined_column(d, "met=2*met"); });
  EXPECT_NE(m.find("already has a column 'met'"), std::string::npos) << m;
  m = error_of([&] { add_defined_column(d, "2x=met"); });
  EXPECT_NE(m.find("NAME=EXPRESSION"), std::string::npos) << m;
  m = error_of([&] { evaluate_expression(d, "met, dphi"); });
  EXPECT_NE(m.find("one is needed"), std::string::npos) << m;
}

TEST(Expressions, NoEventsStillChecksTheExpression) {
  Dataset d = sample();
  CutResult none = apply_cut(d, "met > 1e9");
  ASSERT_EQ(none.data.events(), 0);
  EXPECT_EQ(apply_cut(none.data, "met > 1").passed, 0);
  EXPECT_NE(error_of([&] { evaluate_expression(none.data, "met +"); }).find("expression 'met +'"), std::string::npos);
}

TEST(Expressions, ThreadCountIsKept) {
  Dataset d = sample();
  const int before = thread_count();
  set_thread_count(1);
  add_defined_column(d, "x=met*2");
  EXPECT_EQ(thread_count(), 1);
  set_thread_count(before);
  EXPECT_EQ(d.get("x")[3], 400.0);
}
