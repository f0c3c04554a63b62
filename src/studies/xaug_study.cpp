// The XAUG study: four networks on the xaug-jets toy, their AUCs and LRP relevances.
#include "unbox/studies/xaug_study.hpp"

#include <fmt/format.h>

#include <cmath>

#include "unbox/metrics.hpp"
#include "unbox/ops.hpp"
#include "unbox/random.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

namespace unbox {

Network build_particle_cnn(const std::vector<std::string>& features, Index particles, Index quantities,
                           std::uint64_t seed) {
  const Index np = particles * quantities;
  const Index n = static_cast<Index>(features.size());
  if (n < np) throw Error(fmt::format("the CNN needs {} particle columns first, got {} columns", np, n));
  Network net;
  int x = net.add_input("x", {n}, features);
  int s = net.add_node("standardize", std::make_unique<Standardize>(Shape{n}), {x});
  int p = n > np ? net.add_node("particles", std::make_unique<Slice>(0, np), {s}) : s;
  int r = net.add_node("as_list", std::make_unique<Reshape>(Shape{particles, quantities}), {p});
  int t = net.add_node("channels_first", std::make_unique<Transpose>(std::vector<Index>{1, 0}), {r});
  Window w{{3}, {1}, {1, 1}, {1}, false};
  auto c1 = std::make_unique<Conv>(quantities, 16, w);
  auto c2 = std::make_unique<Conv>(16, 8, w);
  Rng rng(seed ^ 0xC0FFEEULL);
  auto init = [&](Conv& c, Index fan_in) {
    const double limit = std::sqrt(6.0 / static_cast<double>(fan_in));
    for (double& v : c.weight().values()) v = (2.0 * rng.uniform() - 1.0) * limit;
    c.bias().fill(0.0);
  };
  init(*c1, quantities * 3);
  init(*c2, 16 * 3);
  int h = net.add_node("conv1", std::move(c1), {t});
  h = net.add_node("conv1_relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  h = net.add_node("conv2", std::move(c2), {h});
  h = net.add_node("conv2_relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  h = net.add_node("flatten", std::make_unique<Reshape>(Shape{8 * particles}), {h});
  Index width = 8 * particles;
  if (n > np) {
    int e = net.add_node("expert", std::make_unique<Slice>(np, n - np), {s});
    h = net.add_node("concat", std::make_unique<Concat>(0), {h, e});
    width += n - np;
  }
  h = net.add_node("dense1", std::make_unique<Dense>(width, 32), {h});
  h = net.add_node("dense1_relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  h = net.add_node("dense2", std::make_unique<Dense>(32, 1), {h});
  h = net.add_node("output", std::make_unique<Activation>(ActivationKind::Sigmoid), {h});
  net.set_output(h);
  net.metadata["architecture"] = "cnn1d";
  return net;
}

XaugStudyResult xaug_study(const XaugStudyOptions& o) {
  if (o.events < 100 || o.test_events < 100) throw Error("the XAUG study needs at least 100 training and test events");
  if (o.models < 1) throw Error("the number of models per network must be at least 1");
  Dataset train_data = generate_toy("xaug-jets", o.events, o.seed);
  Dataset test_data = generate_toy("xaug-jets", o.test_events, o.seed + 1000003);
  const auto particles = xaug_particle_columns();
  auto with_xaug = particles;
  for (const auto& c : xaug_expert_columns()) with_xaug.push_back(c);
  const auto labels = train_data.labels();
  const auto test_labels = test_data.labels();
  std::vector<Index> rows;
  for (Index i = 0; i < std::min(o.explain_events, o.test_events); ++i) rows.push_back(i);
  const Dataset explain_data = test_data.subset(rows);
  const auto explain_labels = explain_data.labels();

  XaugStudyResult res;
  res.composite = o.composite.name;
  for (int kind = 0; kind < (o.cnn ? 2 : 1); ++kind)
    for (int xa = 0; xa < 2; ++xa) {
      const auto& cols = xa ? with_xaug : particles;
      XaugNetworkResult nr;
      nr.name = fmt::format("{} particles{}", kind == 0 ? "dense" : "cnn1d", xa ? "+XAUG" : "");
      nr.xaug = xa == 1;
      std::vector<Aggregation> aggs;
      const Tensor X = train_data.columns_matrix(cols);
      const Tensor Xt = test_data.columns_matrix(cols);
      for (Index m = 0; m < o.models; ++m) {
        const std::uint64_t seed = o.seed * 1000 + static_cast<std::uint64_t>(m) + 1;
        Network net = kind == 0 ? build_network(cols, parse_architecture("64,64", "relu", "sigmoid"))
                                : build_particle_cnn(cols, 20, 5, seed);
        TrainOptions to;
        to.epochs = o.epochs;
        to.seed = seed;
        to.quiet = o.quiet;
        to.patience = 4;
        to.learning_rate = 2e-3;
        train(net, X, labels, {}, to);
        Tensor score = evaluate(net, {Xt}, {net.output_neuron()});
        nr.auc.push_back(auc(score.values(), test_labels));
        LrpOptions lo;
        lo.composite = o.composite;
        const Events ev(net, explain_data);
        LrpRelevance rel = lrp(net, ev.inputs(), lo);
        rel.features = event_feature_names(ev);
        res.target = rel.target;
        if (m == 0) nr.conservation = summarize_conservation(rel);
        aggs.push_back(aggregate(rel.features, rel.relevance, rel.inputs, explain_labels, AggregationOptions{}));
      }
      nr.relevance = combine(aggs);
      nr.xaug_share = mnr_share(nr.relevance.mean, "xaug_");
      for (double a : nr.auc) nr.auc_mean += a / static_cast<double>(nr.auc.size());
      if (nr.auc.size() > 1) {
        for (double a : nr.auc) nr.auc_std += (a - nr.auc_mean) * (a - nr.auc_mean);
        nr.auc_std = std::sqrt(nr.auc_std / static_cast<double>(nr.auc.size() - 1));
      }
      res.networks.push_back(std::move(nr));
    }
  return res;
}

std::string XaugStudyResult::table(Index rows) const {
  std::string out = fmt::format("XAUG study (LRP {}, target {}):\n", composite, target);
  out += fmt::format("  {:<24} {:>8} {:>8} {:>12}  {}\n", "network", "AUC", "AUC std", "XAUG share", "top features");
  for (const auto& n : networks) {
    std::vector<size_t> order(n.relevance.mean.features.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return n.relevance.mean.mnr[a] > n.relevance.mean.mnr[b]; });
    std::string top;
    for (size_t i = 0; i < std::min<size_t>(4, order.size()); ++i)
      top += fmt::format("{}{} {:.3f}", i ? ", " : "", n.relevance.mean.features[order[i]],
                         n.relevance.mean.mnr[order[i]]);
    out += fmt::format("  {:<24} {:>8.4f} {:>8.4f} {:>12}  {}\n", n.name, n.auc_mean, n.auc_std,
                       n.xaug ? fmt::format("{:.1f}%", 100 * n.xaug_share) : "-", top);
  }
  for (const auto& n : networks) {
    out += fmt::format("\n{}: AUC {:.4f}, conservation: mean |R_out - sum R_in| {:.3g} (bias {:.3g}, epsilon {:.3g})\n",
                       n.name, n.auc_mean, n.conservation.mean_abs_error, n.conservation.mean_abs_bias,
                       n.conservation.mean_abs_epsilon);
    out += n.relevance.table(rows);
  }
  return out;
}

nlohmann::json XaugStudyResult::to_json() const {
  nlohmann::json j{{"method", "lrp"}, {"study", "xaug"}, {"composite", composite}, {"target", target}};
  nlohmann::json nets = nlohmann::json::array();
  for (const auto& n : networks) {
    nlohmann::json x = n.relevance.to_json();
    x.erase("profiles");
    x["name"] = n.name;
    x["xaug"] = n.xaug;
    x["auc"] = n.auc;
    x["auc_mean"] = n.auc_mean;
    x["auc_std"] = n.auc_std;
    x["xaug_share"] = n.xaug_share;
    x["conservation"] = n.conservation.to_json();
    nets.push_back(x);
  }
  j["networks"] = nets;
  return j;
}

}  // namespace unbox
