// Training: reaches the paper's performance on the product toy, is deterministic, and
// honours its options (weights, L1, early stopping, hook).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "unbox/metrics.hpp"
#include "unbox/ops/linear.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

using namespace unbox;

namespace {
std::vector<double> all_weights(const Network& net) {
  std::vector<double> out;
  for (const auto& n : net.nodes())
    if (n.op)
      for (const Tensor* p : n.op->parameter_values()) out.insert(out.end(), p->values().begin(), p->values().end());
  return out;
}

double test_auc(const Network& net, const Dataset& test) {
  Tensor s = evaluate(net, gather_inputs(net, test), {net.resolve("output:pre")});
  return auc(s.values(), test.get("label").values());
}
}  // namespace

TEST(Train, PaperNetworkLearnsTheProductToy) {
  Dataset data = generate_toy("product", 200000, 1);
  Dataset test = generate_toy("product", 50000, 2);
  Network net = build_network({"x", "y"}, parse_architecture("paper"));
  TrainOptions o;
  o.epochs = 4;
  o.seed = 1;
  o.l1 = 1e-5;
  o.quiet = true;
  TrainResult r = train(net, data.columns_matrix({"x", "y"}), data.get("label").values(), {}, o);
  EXPECT_EQ(r.loss, Loss::MeanSquaredError);
  EXPECT_EQ(r.train_events, 160000);
  EXPECT_EQ(r.validation_events, 40000);
  double a = test_auc(net, test);
  EXPECT_GE(a, 0.98) << "test AUC " << a;
  // Standardization was fitted on the training split: x and y are uniform in [-1, 1].
  const auto& st = static_cast<const Standardize&>(*net.node(1).op);
  EXPECT_NEAR(st.mean()[0], 0.0, 0.01);
  EXPECT_NEAR(st.stddev()[0], 1.0 / std::sqrt(3.0), 0.01);
}

TEST(Train, SameSeedSameWeightsOnOneOrTwoThreads) {
  Dataset data = generate_toy("gauss-mixed", 6000, 3);
  TrainOptions o;
  o.epochs = 2;
  o.seed = 5;
  o.quiet = true;
  o.l2 = 1e-4;
  auto run = [&](int threads) {
    set_thread_count(threads);
    Network net = build_network({"x1", "x2"}, parse_architecture("16,8", "tanh", "sigmoid"));
    train(net, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
    return all_weights(net);
  };
  int before = thread_count();
  auto a = run(2), b = run(2), c = run(1);
  set_thread_count(before);
  EXPECT_EQ(a, b);  // bit-identical
  EXPECT_EQ(a, c);  // fixed chunking: the thread count does not change the sums
  o.seed = 6;
  set_thread_count(2);
  Network other = build_network({"x1", "x2"}, parse_architecture("16,8", "tanh", "sigmoid"));
  train(other, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  set_thread_count(before);
  EXPECT_NE(all_weights(other), a);
}

TEST(Train, WeightScaleDoesNotChangeTraining) {
  // Weights are normalized to mean 1: multiplying them all by 1000 gives the same weights
  // up to round-off.
  Dataset data = generate_toy("gauss-marginal", 4000, 2);
  std::vector<double> w(4000), w2(4000);
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = 0.5 + static_cast<double>(i % 7) / 7.0;
    w2[i] = 1000.0 * w[i];
  }
  TrainOptions o;
  o.epochs = 2;
  o.quiet = true;
  Network a = build_network({"x1", "x2"}, parse_architecture("8"));
  Network b = a;
  train(a, data.columns_matrix({"x1", "x2"}), data.get("label").values(), w, o);
  train(b, data.columns_matrix({"x1", "x2"}), data.get("label").values(), w2, o);
  auto wa = all_weights(a), wb = all_weights(b);
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wb[i], 1e-9);
}

TEST(Train, HookSeesEveryStepAndEpochAndEarlyStoppingRestoresBest) {
  Dataset data = generate_toy("gauss-width", 3000, 4);
  TrainOptions o;
  o.epochs = 30;
  o.patience = 2;
  o.batch = 100;
  o.quiet = true;
  o.learning_rate = 0.05;  // large: validation loss soon stops improving
  Index steps = 0, epochs = 0;
  std::vector<double> val_losses;
  o.hook = [&](const TrainEvent& e) {
    if (e.kind == TrainEvent::Step) ++steps;
    if (e.kind == TrainEvent::Epoch) {
      ++epochs;
      val_losses.push_back(e.val_loss);
    }
  };
  Network net = build_network({"x1", "x2"}, parse_architecture("32,32", "relu"));
  TrainResult r = train(net, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  EXPECT_EQ(epochs, r.epochs_run);
  EXPECT_EQ(steps, r.epochs_run * 24);  // 2400 training events / 100
  EXPECT_EQ(steps, r.steps);
  ASSERT_TRUE(r.stopped_early);
  EXPECT_EQ(r.epochs_run, r.best_epoch + 2);
  // The restored network gives the best epoch's validation loss.
  double best = *std::min_element(val_losses.begin(), val_losses.end());
  EXPECT_DOUBLE_EQ(r.best_val_loss, best);
}

TEST(Train, L1ShrinksWeightsButNotBiases) {
  Dataset data = generate_toy("gauss-marginal", 4000, 7);
  auto l1_norm = [](const Network& n) {
    double s = 0;
    for (const auto& node : n.nodes())
      if (auto* d = dynamic_cast<const Dense*>(node.op.get()))
        for (double v : d->weight().values()) s += std::abs(v);
    return s;
  };
  auto bias_norm = [](const Network& n) {
    double s = 0;
    for (const auto& node : n.nodes())
      if (auto* d = dynamic_cast<const Dense*>(node.op.get()))
        for (double v : d->bias().values()) s += std::abs(v);
    return s;
  };
  TrainOptions o;
  o.epochs = 5;
  o.batch = 32;
  o.learning_rate = 0.01;
  o.quiet = true;
  o.patience = 0;
  Network plain = build_network({"x1", "x2"}, parse_architecture("16"));
  Network reg = plain;
  train(plain, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  o.l1 = 1.0;  // stronger than any data gradient: 500 Adam steps of ~lr each drive the weights to ~0
  train(reg, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  // 48 weights: 32 in the hidden layer, 16 in the output layer.
  EXPECT_GT(l1_norm(plain) / 48, 0.2);
  EXPECT_LT(l1_norm(reg) / 48, 0.03);
  // The biases carry the class balance and are not pulled to zero.
  EXPECT_GT(bias_norm(reg), 0.01);
}

TEST(Train, RefusesBadSetups) {
  Network net = build_network({"a"}, parse_architecture("4"));
  Tensor x({4, 1}, {1, 2, 3, 4});
  TrainOptions o;
  o.quiet = true;
  EXPECT_THROW(train(net, x, {0, 1, 0}, {}, o), Error);
  o.validation_fraction = 1.0;
  EXPECT_THROW(train(net, x, {0, 1, 0, 1}, {}, o), Error);
  EXPECT_THROW(parse_architecture("64,x"), Error);
  EXPECT_THROW(parse_architecture("64", "swish"), Error);
  EXPECT_THROW(parse_architecture("64", "relu", "softmax"), Error);
  o.validation_fraction = 0.25;
  o.loss = Loss::MeanSquaredError;  // squared error against +-1 needs a tanh output
  EXPECT_THROW(train(net, x, {0, 1, 0, 1}, {}, o), Error);
  EXPECT_THROW(parse_loss("hinge"), Error);
  EXPECT_EQ(parse_loss(loss_key(Loss::BinaryCrossEntropy)), Loss::BinaryCrossEntropy);
}

TEST(Train, ValidationEventsAreTheHeldOutOnes) {
  // With weights that are zero on the announced validation events, the training loss
  // could not see them; check instead the counts and that they are a seeded shuffle.
  TrainOptions o;
  o.seed = 3;
  o.validation_fraction = 0.25;
  auto v = validation_events(1000, o);
  ASSERT_EQ(v.size(), 250u);
  std::vector<Index> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_TRUE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  EXPECT_NE(v, std::vector<Index>(sorted.begin(), sorted.end()));  // shuffled
  EXPECT_EQ(validation_events(1000, o), v);
  o.seed = 4;
  EXPECT_NE(validation_events(1000, o), v);
  // train() holds out exactly these: its validation loss equals the loss computed on them.
  Dataset data = generate_toy("gauss-marginal", 1000, 5);
  o.seed = 3;
  o.epochs = 1;
  o.quiet = true;
  o.patience = 0;
  double reported = 0;
  o.hook = [&](const TrainEvent& e) {
    if (e.kind == TrainEvent::Epoch) reported = e.val_loss;
  };
  Network net = build_network({"x1", "x2"}, parse_architecture("4"));
  train(net, data.columns_matrix({"x1", "x2"}), data.get("label").values(), {}, o);
  Tensor logits = evaluate(net, {data.columns_matrix({"x1", "x2"})}, {net.resolve("output:pre")});
  double loss = 0;
  for (Index i : v) {
    double z = logits[i], y = data.get("label")[i];
    loss += std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))) - y * z;
  }
  EXPECT_NEAR(loss / 250.0, reported, 1e-12);
}

// Cross-entropy on a tanh output: P(signal) = (1 + tanh z) / 2 = sigmoid(2 z), so the loss is
// softplus(2 z) - 2 y z on the tanh's input z. Checked against a hand computation: the
// validation loss after training, and the gradient of the first full-batch step, read off
// Adam's update (with epsilon 1e6 >> |g| the step is -lr g / epsilon) and compared with
// central finite differences of the hand-computed training loss.
TEST(Train, CrossEntropyOnATanhOutputIsTheLogLikelihoodOfSigmoidOfTwiceItsInput) {
  Dataset data = generate_toy("gauss-width", 400, 3);
  const Tensor x = data.columns_matrix({"x1", "x2"});
  const std::vector<double> y = data.get("label").values();
  TrainOptions o;
  o.loss = Loss::BinaryCrossEntropy;
  o.epochs = 1;
  o.patience = 0;
  o.batch = 1000;  // one full-batch step
  o.validation_fraction = 0.25;
  o.adam_epsilon = 1e6;
  o.quiet = true;
  const Network fresh = build_network({"x1", "x2"}, parse_architecture("5", "relu", "tanh"));
  Network init = fresh, stepped = fresh;
  o.learning_rate = 1e-30;  // initialized and standardized, not moved
  train(init, x, y, {}, o);
  o.learning_rate = 1.0;
  const TrainResult r = train(stepped, x, y, {}, o);
  ASSERT_EQ(r.loss, Loss::BinaryCrossEntropy);

  const std::vector<Index> val = validation_events(static_cast<Index>(y.size()), o);
  std::vector<char> is_val(y.size(), 0);
  for (Index i : val) is_val[static_cast<size_t>(i)] = 1;
  auto mean_loss = [&](const Network& net, bool validation) {
    const Tensor z = evaluate(net, {x}, {net.resolve("output:pre")});
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (static_cast<bool>(is_val[i]) != validation) continue;
      const double v = 2 * z[static_cast<Index>(i)];
      s += std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))) - y[i] * v;
      ++n;
    }
    return s / n;
  };
  EXPECT_NEAR(r.best_val_loss, mean_loss(stepped, true), 1e-12);

  // The gradient of every Dense parameter.
  int checked = 0;
  for (size_t k = 0; k < init.nodes().size(); ++k) {
    auto* d0 = dynamic_cast<Dense*>(init.nodes()[k].op.get());
    if (!d0) continue;
    auto* d1 = dynamic_cast<const Dense*>(stepped.nodes()[k].op.get());
    for (int which = 0; which < 2; ++which) {
      Tensor& p0 = which ? d0->bias() : d0->weight();
      const Tensor& p1 = which ? d1->bias() : d1->weight();
      for (Index j = 0; j < p0.size(); ++j) {
        const double g_adam = -(p1[j] - p0[j]) * o.adam_epsilon / o.learning_rate;
        const double keep = p0[j], h = 1e-5;
        p0[j] = keep + h;
        const double up = mean_loss(init, false);
        p0[j] = keep - h;
        const double down = mean_loss(init, false);
        p0[j] = keep;
        const double g_fd = (up - down) / (2 * h);
        EXPECT_NEAR(g_adam, g_fd, 1e-5 * std::max(1.0, std::abs(g_fd))) << "node " << k << " param " << j;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * 5 + 5 + 5 + 1);
}
