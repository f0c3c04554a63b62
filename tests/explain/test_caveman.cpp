// Caveman variables: DBSCAN finds islands, terms evaluate and round-trip through JSON,
// and on the paper's product toy the caveman variable of the output separates signal
// from background on test data (AUC >= 0.90), deterministically.
#include <gtest/gtest.h>

#include <cmath>

#include "explain/convention_util.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/metrics.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

using unbox::test::labelled_events;
using unbox::test::mi_options;
using unbox::test::with_neuron;
using unbox::test::with_population;

using namespace unbox;

TEST(Caveman, DbscanFindsTwoIslandsAndLeavesSparseNoise) {
  std::vector<double> pts;
  // Two dense 2-D blobs on regular sub-grids and a sparse regular grid of noise.
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) {
      pts.push_back(0.2 + 0.005 * i);
      pts.push_back(0.2 + 0.005 * j);
      pts.push_back(0.7 + 0.005 * i);
      pts.push_back(0.6 + 0.005 * j);
    }
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) {
      pts.push_back(0.05 + 0.1 * i + 0.013);
      pts.push_back(0.05 + 0.1 * j + 0.017);
    }
  auto lab = dbscan(pts, 2, 0.02, 8);
  ASSERT_EQ(lab.size(), 900u);
  // Points alternate blob A, blob B for the first 800.
  for (size_t p = 0; p < 800; ++p) EXPECT_EQ(lab[p], static_cast<int>(p % 2)) << p;
  int noise = 0;
  for (size_t p = 800; p < 900; ++p) noise += lab[p] == -1;
  EXPECT_GE(noise, 95);  // a few grid points may fall inside a blob
}

TEST(Caveman, TermsEvaluateAndRoundTripThroughJson) {
  CavemanVariable v;
  v.neuron = "L2N3";
  v.intercept = 0.5;
  CavemanTerm t;
  t.kind = CavemanTerm::Kind::Interior;
  t.variables = {"x", "y"};
  t.constant = 1.0;
  t.linear = {0.0, 2.0};
  t.quadratic = {{0, 1, -3.0}, {0, 0, 0.5}};
  t.coefficient = 2.0;
  CavemanTerm b;
  b.kind = CavemanTerm::Kind::Boundary;
  b.variables = {"x"};
  b.constant = -1.0;
  b.linear = {4.0};
  b.coefficient = -0.25;
  v.terms = {t, b};
  double xy[2] = {0.3, -0.7};
  const double z = 1.0 + 2.0 * -0.7 - 3.0 * 0.3 * -0.7 + 0.5 * 0.09;
  EXPECT_NEAR(t.value(xy), 1.0 / (1.0 + std::exp(-z)), 1e-15);
  Dataset d;
  d.add("x", Tensor({1}, {0.3}));
  d.add("y", Tensor({1}, {-0.7}));
  const double expect = 0.5 + 2.0 / (1.0 + std::exp(-z)) - 0.25 * (-1.0 + 4.0 * 0.3);
  EXPECT_NEAR(v.evaluate(d)[0], expect, 1e-15);
  CavemanVariable w = CavemanVariable::from_json(nlohmann::json::parse(v.to_json().dump()));
  EXPECT_EQ(w.evaluate(d)[0], v.evaluate(d)[0]);
  EXPECT_EQ(w.formula(), v.formula());
  EXPECT_NE(v.formula().find("sigmoid(1 + 2·y - 3·x·y + 0.5·x²)"), std::string::npos) << v.formula();
  EXPECT_THROW(CavemanVariable::from_json(nlohmann::json::parse("{\"a\": 1}")), Error);
  Dataset missing;
  missing.source = "m.csv";
  missing.add("x", Tensor({1}, {0.3}));
  EXPECT_THROW(v.evaluate(missing), Error);
}

TEST(Caveman, ProductToyOutputVariableSeparatesTheClasses) {
  Dataset data = generate_toy("product", 100000, 21);
  Network net = build_network({"x", "y"}, parse_architecture("paper"));
  TrainOptions to;
  to.epochs = 3;
  to.seed = 4;
  to.l1 = 1e-5;
  to.quiet = true;
  train(net, data.columns_matrix({"x", "y"}), data.get("label").values(), {}, to);

  Dataset test = generate_toy("product", 20000, 22);
  MaximizeOptions mo;
  mo.points = 4000;
  mo.threshold = 0.8;
  mo.steps = 300;
  mo.seed = 3;
  MaximizeResult pop = maximize(net, Events(net, test), with_neuron(mo, "output"));
  Dataset pop_file = pop.to_dataset();
  pop_file.source = "population";

  CavemanOptions co;
  co.seed = 5;
  co.terms = 3;
  CavemanResult r = caveman(net, labelled_events(net, test), with_population(with_neuron(co, "output"), pop_file));
  EXPECT_GT(r.candidates, 0);
  ASSERT_FALSE(r.variable.terms.empty());
  EXPECT_LE(r.variable.terms.size(), 3u);
  EXPECT_GT(r.neuron_auc, 0.97);
  EXPECT_GE(r.auc, 0.90) << r.table();
  // The linear baseline cannot express x*y: it is near chance on this toy.
  EXPECT_LT(r.linear_auc, 0.7) << r.table();

  // On fresh data, through the saved JSON (what `caveman apply` runs).
  Dataset fresh = generate_toy("product", 20000, 23);
  CavemanVariable saved = CavemanVariable::from_json(nlohmann::json::parse(r.variable.to_json().dump()));
  const double fresh_auc = auc(saved.evaluate(fresh), fresh.get("label").values());
  EXPECT_GE(fresh_auc, 0.90) << r.variable.formula();

  // Same seed, same variable.
  CavemanResult again = caveman(net, labelled_events(net, test), with_population(with_neuron(co, "output"), pop_file));
  EXPECT_EQ(again.to_json().dump(), r.to_json().dump());

  // A population without converged points is refused with a clear message.
  Dataset none = pop_file;
  none.set("converged", Tensor({none.events()}, 0.0));
  EXPECT_THROW(caveman(net, labelled_events(net, test), with_population(with_neuron(co, "output"), none)), Error);
}
