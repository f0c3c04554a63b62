// The one method shape: every method is callable as XResult x(model, events, options), its
// result has table() and to_json(), and for one case the library's JSON is the CLI's JSON.
// The accumulators behind the aggregates merge: two halves give the whole (to 1e-12).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cmath>
#include <functional>

#include <random>

#include "explain/convention_util.hpp"
#include "physics/events_test_util.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/events.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/explain/ado.hpp"
#include "unbox/explain/ado_search.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/explain/eval.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/train.hpp"

using namespace unbox;
using unbox::test::with_neuron;

namespace {

// Three inputs, the label depends on a and b.
Dataset toy(Index n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Tensor a({n}), b({n}), c({n}), y({n});
  for (Index e = 0; e < n; ++e) {
    a[e] = g(rng), b[e] = g(rng), c[e] = g(rng);
    y[e] = a[e] + 0.5 * b[e] * b[e] + 0.3 * g(rng) > 0.5 ? 1.0 : 0.0;
  }
  Dataset d;
  d.source = "toy";
  d.add("a", a), d.add("b", b), d.add("c", c), d.add("label", y);
  d.label_column = "label";
  return d;
}

const Network& model() {
  static const Network net = [] {
    Network n = build_network({"a", "b", "c"}, parse_architecture("6", "tanh", "sigmoid"));
    Dataset d = toy(2000, 1);
    TrainOptions t;
    t.epochs = 3;
    t.seed = 2;
    t.quiet = true;
    train(n, d.columns_matrix({"a", "b", "c"}), d.labels(), {}, t);
    return n;
  }();
  return net;
}

struct Case {
  std::string name;
  std::function<std::pair<std::string, nlohmann::json>(const Network&, const Events&)> run;
};

template <class R>
std::pair<std::string, nlohmann::json> out(const R& r) {
  return {r.table(), r.to_json()};
}

}  // namespace

TEST(CallingConvention, EveryMethodHasTheOneShape) {
  const Network& net = model();
  const Events events(net, toy(300, 3));
  std::vector<Case> cases = {
      {"taylor", [](const Network& m, const Events& e) { return out(taylor(m, e, TaylorOptions{})); }},
      {"taylor select",
       [](const Network& m, const Events& e) {
         TaylorSelectOptions o;
         o.top_percent = 20;
         return out(taylor_select(m, e, o));
       }},
      {"mutual_info", [](const Network& m, const Events& e) { return out(mutual_info(m, e, MutualInfoOptions{})); }},
      {"activation_difference",
       [](const Network& m, const Events& e) {
         ActivationDifferenceOptions o;
         o.samples = 100, o.bootstrap = 5;
         return out(activation_difference(m, e, o));
       }},
      {"maximize",
       [](const Network& m, const Events& e) {
         MaximizeOptions o;
         o.points = 50, o.steps = 20, o.threshold = 0.9;
         return out(maximize(m, e, o));
       }},
      {"lrp", [](const Network& m, const Events& e) { return out(lrp(m, e, LrpOptions{})); }},
      {"attribute", [](const Network& m, const Events& e) { return out(attribute(m, e, AttributeOptions{})); }},
      {"ado",
       [](const Network& m, const Events& e) {
         AdoOptions o;
         o.score = "output", o.against = "a";
         return out(ado(m, e, o));
       }},
      {"ado_search",
       [](const Network& m, const Events& e) {
         AdoSearchOptions o;
         o.target = "output:pre", o.base = {"a"}, o.pool = {"b", "c"};
         o.epochs = 1, o.max_steps = 1, o.arch = "3";
         return out(ado_search(m, e, o));
       }},
      {"eval", [](const Network& m, const Events& e) { return out(eval(m, e, EvalMetricsOptions{})); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto [table, json] = c.run(net, events);
    EXPECT_FALSE(table.empty());
    EXPECT_TRUE(json.is_object());
    EXPECT_GE(json.size(), 3u);
  }
  // caveman needs a maximization population.
  MaximizeOptions mo;
  mo.points = 400, mo.steps = 100, mo.threshold = 0.7;
  CavemanOptions co;
  co.population = maximize(net, events, mo).to_dataset();
  co.terms = 2, co.fit_events = 200, co.fit_iterations = 30;
  auto [table, json] = out(caveman(net, events, co));
  EXPECT_FALSE(table.empty());
  EXPECT_TRUE(json.contains("auc"));
}

TEST(CallingConvention, LibraryJsonIsTheCliJson) {
  test_events::TempDir dir;
  save_network(model(), dir.file("m.unbox"));
  write_dataset(toy(300, 4), dir.file("d.csv"));
  auto r = test_events::run_unbox(
      dir, fmt::format("taylor --model {} --data {} --order 2 --json", dir.file("m.unbox"), dir.file("d.csv")));
  ASSERT_EQ(r.code, 0) << r.err;
  Dataset d = read_dataset(dir.file("d.csv"));
  d.label_column = "label";
  TaylorOptions o;
  o.order = 2;
  const nlohmann::json lib = taylor(model(), Events(model(), d), o).to_json();
  EXPECT_EQ(nlohmann::json::parse(r.out), lib);
}

TEST(CallingConvention, TaylorPerEventComesFromTheOnePass) {
  const Network& net = model();
  const Events events(net, toy(200, 5));
  TaylorOptions o;
  o.order = 2;
  o.per_event = true;
  const TaylorResult r = taylor(net, events, o);
  ASSERT_EQ(r.coefficients.dim(0), 200);
  ASSERT_EQ(r.coefficients.dim(1), 9);  // 3 + 6 pairs
  // The means are the weighted means of |t| of the per-event coefficients.
  for (const auto& f : r.features) {
    const auto it = std::find(r.coefficient_names.begin(), r.coefficient_names.end(), f.name);
    ASSERT_NE(it, r.coefficient_names.end()) << f.name;
    const Index k = it - r.coefficient_names.begin();
    double s = 0;
    for (Index e = 0; e < 200; ++e) s += std::abs(r.coefficients[e * 9 + k]);
    EXPECT_NEAR(f.value, s / 200, 1e-12 * (1 + std::abs(f.value)));
  }
  // And agree with the derivative engine: t(a) = df/da.
  const InputDerivatives all = input_derivatives(net, events.inputs(), net.resolve("output"), {.order = 1});
  for (Index e = 0; e < 200; ++e) EXPECT_DOUBLE_EQ(r.coefficients[e * 9], all.first[e * 3]);
}

namespace {
void expect_close(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12 * (1 + std::abs(b[i]))) << i;
}
}  // namespace

TEST(Accumulators, TwoHalvesMergeIntoTheWhole) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> g;
  const Index N = 101, n = 4, P2 = pair_count(n), F = 7;
  std::vector<double> first(N * n), second(N * P2), labels(N), weights(N), scores(N * F);
  for (auto& v : first) v = g(rng);
  for (auto& v : second) v = g(rng);
  for (auto& v : scores) v = g(rng);
  for (Index e = 0; e < N; ++e) labels[e] = e % 3 == 0 ? 1.0 : 0.0, weights[e] = 0.5 + std::abs(g(rng));
  const Index h = 40;
  auto tile = [&](Index begin, Index count) {
    DerivativeTile t;
    t.begin = begin, t.count = count, t.variables = n;
    t.first = first.data() + begin * n, t.second = second.data() + begin * P2;
    return t;
  };
  // Taylor
  TaylorAccumulator whole(n, 2), a(n, 2), b(n, 2);
  whole.add(tile(0, N), labels, weights);
  a.add(tile(0, h), labels, weights);
  b.add(tile(h, N - h), labels, weights);
  a.merge(b);
  expect_close(a.all, whole.all), expect_close(a.signal, whole.signal), expect_close(a.background, whole.background);
  EXPECT_NEAR(a.weight, whole.weight, 1e-12 * whole.weight);
  EXPECT_NEAR(a.weight_signal, whole.weight_signal, 1e-12 * whole.weight);
  // Against a brute-force sum.
  double s0 = 0;
  for (Index e = 0; e < N; ++e) s0 += weights[e] * std::abs(first[e * n]);
  EXPECT_NEAR(whole.all[0], s0, 1e-12 * s0);
  // Activation difference
  ActivationDifferenceAccumulator ad_whole(F), ad_a(F), ad_b(F);
  ad_whole.add(scores.data(), N);
  ad_a.add(scores.data(), h);
  ad_b.add(scores.data() + h * F, N - h);
  ad_a.merge(ad_b);
  expect_close(ad_a.mean(), ad_whole.mean());
  // Relevance aggregation (with a particle-list map)
  std::vector<std::string> names = {"p0_pt", "p0_eta", "p1_pt", "p1_eta", "p2_pt", "p2_eta", "p3_pt"};
  RelevanceAccumulator r_whole(names, true), r_a(names, true), r_b(names, true);
  r_whole.add(scores.data(), N, labels.data());
  r_a.add(scores.data(), h, labels.data());
  r_b.add(scores.data() + h * F, N - h, labels.data() + h);
  r_a.merge(r_b);
  Aggregation x, y;
  r_a.finish(x), r_whole.finish(y);
  expect_close(x.mnr, y.mnr), expect_close(x.mean, y.mean);
  for (int c = 0; c < 2; ++c) expect_close(x.mnr_class[c], y.mnr_class[c]);
  ASSERT_EQ(x.map.size(), 3u);
  for (int c = 0; c < 3; ++c) expect_close(x.map[c], y.map[c]);
  // Eval's counts and weight sums
  EvalAccumulator e_whole, e_a, e_b;
  e_whole.add(labels.data(), weights.data(), N);
  e_a.add(labels.data(), weights.data(), h);
  e_b.add(labels.data() + h, weights.data() + h, N - h);
  e_a.merge(e_b);
  EXPECT_EQ(e_a.n_signal, e_whole.n_signal);
  EXPECT_EQ(e_a.n_background, e_whole.n_background);
  EXPECT_NEAR(e_a.sum_w_signal, e_whole.sum_w_signal, 1e-12 * e_whole.sum_w_signal);
  EXPECT_NEAR(e_a.sum_w_background, e_whole.sum_w_background, 1e-12 * e_whole.sum_w_background);
}

TEST(Events, BindingRule) {
  const Network& net = model();
  Dataset d = toy(10, 6);
  // By name, whatever the order of the columns in the data.
  Events by_name(net, d);
  EXPECT_EQ(by_name.how(), "names");
  EXPECT_EQ(by_name.feature_names(0), (std::vector<std::string>{"a", "b", "c"}));
  // Chosen columns win.
  Events chosen(net, d, Binding{{"c", "b", "a"}});
  EXPECT_EQ(chosen.how(), "columns");
  EXPECT_EQ(chosen.inputs()[0].at(3, 0), d.get("c")[3]);
  // A model that names no columns (as ONNX): the data's columns in order, label left out.
  Network anon = net;
  anon.metadata["format"] = "onnx";
  anon.metadata["onnx_feature_names"] = false;
  Dataset renamed;
  renamed.add("label", d.get("label")), renamed.add("u", d.get("a")), renamed.add("v", d.get("b"));
  renamed.add("w", d.get("c"));
  renamed.label_column = "label";
  Events pos(anon, renamed);
  EXPECT_EQ(pos.how(), "positional");
  EXPECT_EQ(pos.feature_names(0), (std::vector<std::string>{"u", "v", "w"}));
  EXPECT_EQ(pos.inputs()[0].at(7, 2), d.get("c")[7]);
  // A named model does not bind other names by position: one clear error.
  EXPECT_THROW(Events(net, renamed), Error);
  // Labels that are not 0/1 are refused by the methods that need classes.
  Dataset bad = d;
  bad.get("label")[2] = 2;
  EXPECT_THROW(Events(net, bad).require_labels("taylor"), Error);
  // The first N events.
  EXPECT_EQ(Events(net, d, Binding{{}, 4}).size(), 4);
}
