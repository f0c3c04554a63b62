// Mini-batch training with Adam.
//
// Determinism: every mini-batch is cut into fixed chunks of kChunk events; each chunk's
// gradient is computed (in parallel) into its own buffer and the buffers are summed in
// chunk order. The result is therefore bit-identical for a seed whatever the number of
// threads, and no buffer is allocated per step. Across processes (options.ranks) each
// computes a share of the chunks and all receive every chunk's buffer before the same
// in-order sum: bit-identical for any number of processes too.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "unbox/metrics.hpp"
#include "unbox/ops.hpp"
#include "unbox/parallel.hpp"
#include "unbox/random.hpp"
#include "unbox/train.hpp"

namespace unbox {

namespace {
constexpr Index kChunk = 128;

// The seeded split: a shuffled order of all events, the first n_val held out.
std::vector<Index> shuffled_order(Index n_events, Rng& rng) {
  std::vector<Index> order(static_cast<size_t>(n_events));
  std::iota(order.begin(), order.end(), Index{0});
  rng.shuffle_scaled(order);
  return order;
}

Index validation_count(Index n_events, double fraction) {
  return static_cast<Index>(std::llround(fraction * static_cast<double>(n_events)));
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

bool relu_family(const Op* op) {
  auto* a = dynamic_cast<const Activation*>(op);
  return a && (a->kind() == ActivationKind::ReLU || a->kind() == ActivationKind::LeakyReLU ||
               a->kind() == ActivationKind::ELU);
}

// Glorot-uniform weights, He-uniform before ReLU-family activations; zero biases.
void initialize(Network& net, Rng& rng) {
  const auto& nodes = net.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    Tensor *weight = nullptr, *bias = nullptr;
    if (auto* dense = dynamic_cast<Dense*>(nodes[i].op.get())) {
      weight = &dense->weight();
      bias = &dense->bias();
    } else if (auto* pd = dynamic_cast<ParticleDense*>(nodes[i].op.get())) {  // per-particle dense (PFN)
      weight = &pd->weight();
      bias = &pd->bias();
    } else {
      continue;
    }
    bool he = i + 1 < nodes.size() && relu_family(nodes[i + 1].op.get());
    double fan_in = static_cast<double>(weight->dim(1)), fan_out = static_cast<double>(weight->dim(0));
    double limit = he ? std::sqrt(6.0 / fan_in) : std::sqrt(6.0 / (fan_in + fan_out));
    for (double& w : weight->values()) w = (2.0 * rng.uniform() - 1.0) * limit;
    bias->fill(0.0);
  }
}

struct Objective {
  Loss loss;
  int target;  // node whose value the loss is computed from
  // Cross-entropy: the logit is logit_scale * (target value): 1 for a sigmoid's input, 2 for
  // a tanh's (P(signal) = (1 + tanh z) / 2 = sigmoid(2 z)).
  double logit_scale = 1.0;
  // loss of one event and d(loss)/d(target value)
  double value(double z, double y, double& grad) const {
    if (loss == Loss::BinaryCrossEntropy) {  // v is the logit; stable log(1 + e^v) - y v
      const double v = logit_scale * z;
      double s = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
      grad = logit_scale * (s - y);
      return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))) - y * v;
    }
    const double v = z;
    double t = y > 0.5 ? 1.0 : -1.0;  // MSE on the tanh output with targets +-1
    grad = 2.0 * (v - t);
    return (v - t) * (v - t);
  }
};

Objective make_objective(const Network& net, Loss loss) {
  const Node& out = net.node(net.output_node());
  if (shape_size(out.shape) != 1)
    throw Error(
        fmt::format("training needs one output neuron; the output '{}' has {}", out.name, shape_size(out.shape)));
  const std::string type = out.op ? out.op->type() : "";
  if (loss == Loss::Auto) {
    if (type == "Sigmoid")
      loss = Loss::BinaryCrossEntropy;
    else if (type == "Tanh")
      loss = Loss::MeanSquaredError;
    else
      throw Error(fmt::format("cannot choose a loss for an output of type {}; give one", type));
  }
  if (loss == Loss::BinaryCrossEntropy) {
    // computed from the logit, for stability
    if (type == "Sigmoid") return {loss, out.inputs[0], 1.0};
    if (type == "Tanh") return {loss, out.inputs[0], 2.0};
    throw Error(
        fmt::format("binary cross-entropy needs a sigmoid or tanh output, not {}", type.empty() ? "none" : type));
  }
  if (type != "Tanh")
    throw Error(fmt::format("the squared-error loss compares a tanh output with +1/-1; the output is {}",
                            type.empty() ? "none" : type));
  return {loss, net.output_node(), 1.0};
}

// Standardize right after the (single) input: fit it on the training events.
void fit_standardization(Network& net, const Tensor& train_inputs) {
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    const Node& n = net.nodes()[i];
    if (n.op && n.op->type() == "Standardize" && n.inputs.size() == 1 && net.node(n.inputs[0]).is_input())
      static_cast<Standardize&>(net.op(static_cast<int>(i))).fit(train_inputs);
    if (n.op && n.op->type() == "ClipMinMax" && n.inputs.size() == 1 && net.node(n.inputs[0]).is_input())
      static_cast<ClipMinMax&>(net.op(static_cast<int>(i))).fit(train_inputs);
    if (n.op && n.op->type() == "ParticleStandardize" && n.inputs.size() == 1 && net.node(n.inputs[0]).is_input())
      static_cast<ParticleStandardize&>(net.op(static_cast<int>(i))).fit(train_inputs);
  }
}

}  // namespace

std::vector<Index> validation_events(Index n_events, const TrainOptions& o) {
  Rng rng(o.seed);  // the same generator train() starts with, used first for the split
  std::vector<Index> order = shuffled_order(n_events, rng);
  order.resize(static_cast<size_t>(validation_count(n_events, o.validation_fraction)));
  return order;
}

Loss parse_loss(const std::string& name) {
  if (name == "auto") return Loss::Auto;
  if (name == "bce") return Loss::BinaryCrossEntropy;
  if (name == "mse") return Loss::MeanSquaredError;
  throw Error(fmt::format("loss '{}': expected auto, bce or mse", name));
}

std::string loss_key(Loss loss) {
  switch (loss) {
    case Loss::BinaryCrossEntropy:
      return "bce";
    case Loss::MeanSquaredError:
      return "mse";
    default:
      return "auto";
  }
}

std::string loss_name(Loss loss) {
  switch (loss) {
    case Loss::BinaryCrossEntropy:
      return "binary cross-entropy";
    case Loss::MeanSquaredError:
      return "mean squared error (targets +1/-1)";
    default:
      return "auto";
  }
}

void check(const TrainOptions& o) {
  if (o.batch <= 0 || o.epochs <= 0 || !(o.learning_rate > 0))
    throw Error("train: batch, epochs and learning rate must be positive");
  if (!(o.validation_fraction >= 0 && o.validation_fraction < 1))
    throw Error("train: the validation fraction must be in [0, 1)");
}

std::vector<std::string> check_training_inputs(const Dataset& data, const std::vector<std::string>& columns) {
  if (!data.label_column)
    throw Error(fmt::format("training needs a label column (0 background, 1 signal) in '{}'", data.source));
  const Tensor& y = data.get(*data.label_column);
  require_binary_labels({y.data(), static_cast<size_t>(y.size())},
                        fmt::format("{}: label column '{}'", data.source, *data.label_column));
  std::vector<std::string> features = columns.empty() ? data.feature_columns() : columns;
  if (features.empty()) throw Error(fmt::format("{}: no input columns left besides the label and weight", data.source));
  std::vector<std::string> checked = features;
  checked.push_back(*data.label_column);
  if (data.weight_column) checked.push_back(*data.weight_column);
  for (const auto& n : checked) {
    const Tensor& t = data.get(n);
    const double* v = t.data();
    for (Index i = 0; i < t.size(); ++i)
      if (!std::isfinite(v[i]))
        throw Error(fmt::format("{}: column '{}' has {} at event {}; 'train' does not accept NaN or Inf", data.source,
                                n, format_double(v[i]), i / t.per_event() + 1));
  }
  check_training_data(data, features);  // >= 2 events, both classes, |x| < 1e150, usable weights
  return features;
}

void record_training(Network& net, const Dataset& data, const std::string& architecture, const TrainOptions& o,
                     const TrainResult& r) {
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& h : r.history)
    hist.push_back({{"epoch", h.epoch}, {"loss", h.loss}, {"val_loss", h.val_loss}, {"val_auc", h.val_auc}});
  net.metadata["architecture"] = architecture;
  net.metadata["training"] = {{"data", data.source},
                              {"label", data.label_column.value_or("")},
                              {"weight", data.weight_column.value_or("")},
                              {"loss", loss_name(r.loss)},
                              {"optimizer",
                               {{"name", "Adam"},
                                {"learning_rate", o.learning_rate},
                                {"beta1", o.beta1},
                                {"beta2", o.beta2},
                                {"epsilon", o.adam_epsilon}}},
                              {"batch", o.batch},
                              {"l1", o.l1},
                              {"l2", o.l2},
                              {"validation_fraction", o.validation_fraction},
                              {"balance_classes", o.balance_classes},
                              {"seed", o.seed},
                              {"threads", thread_count()},
                              {"epochs_run", r.epochs_run},
                              {"best_epoch", r.best_epoch},
                              {"best_val_loss", r.best_val_loss},
                              {"best_val_auc", r.best_val_auc},
                              {"train_events", r.train_events},
                              {"validation_events", r.validation_events},
                              {"history", hist}};
  net.metadata["unbox_version"] = "0.1.0";
}

TrainResult train(Network& net, const Tensor& inputs, const std::vector<double>& labels,
                  const std::vector<double>& weights_in, const TrainOptions& o) {
  const double t_start = now();
  if (net.input_nodes().size() != 1) throw Error("train: the network must have exactly one input");
  const Index n_events = inputs.events(), width = inputs.per_event();
  if (static_cast<Index>(labels.size()) != n_events) throw Error("train: one label per event is needed");
  if (!weights_in.empty() && static_cast<Index>(weights_in.size()) != n_events)
    throw Error("train: one weight per event is needed");
  check(o);
  const Objective obj = make_objective(net, o.loss);

  Rng rng(o.seed);
  // Seeded split: the first validation_fraction of a shuffled order is held out.
  const std::vector<Index> order = shuffled_order(n_events, rng);
  const Index n_val = validation_count(n_events, o.validation_fraction);
  std::vector<Index> val_idx(order.begin(), order.begin() + n_val), train_idx(order.begin() + n_val, order.end());
  if (train_idx.empty()) throw Error("train: no training events left after the validation split");

  // Weights: optional class balancing, then normalized to mean 1 over the training split.
  std::vector<double> w = weights_in.empty() ? std::vector<double>(static_cast<size_t>(n_events), 1.0) : weights_in;
  if (o.balance_classes) {
    double ws = 0, wb = 0;
    for (Index i : train_idx) (labels[static_cast<size_t>(i)] > 0.5 ? ws : wb) += w[static_cast<size_t>(i)];
    if (ws <= 0 || wb <= 0) throw Error("train: cannot balance classes: one class has no positive total weight");
    for (Index i = 0; i < n_events; ++i)
      w[static_cast<size_t>(i)] *= labels[static_cast<size_t>(i)] > 0.5 ? 0.5 / ws : 0.5 / wb;
  }
  double wsum = 0;
  for (Index i : train_idx) wsum += w[static_cast<size_t>(i)];
  if (!(wsum > 0)) throw Error("train: the training events' weights do not sum to a positive number");
  const double wscale = static_cast<double>(train_idx.size()) / wsum;
  for (double& x : w) x *= wscale;

  initialize(net, rng);
  if (o.fit_standardization) fit_standardization(net, inputs.gather_events(train_idx));

  // Parameters, their gradients per chunk, and Adam's moments.
  struct Slot {
    int node;
    size_t param;  // position among the node's parameters()
    Tensor* value;
    bool regularized;
    Tensor m, v;
  };
  std::vector<Slot> slots;
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (net.nodes()[i].op) {
      auto params = net.op(static_cast<int>(i)).parameters();
      for (size_t k = 0; k < params.size(); ++k)
        if (params[k].trainable)
          slots.push_back({static_cast<int>(i), k, params[k].value, params[k].regularized,
                           Tensor(params[k].value->shape()), Tensor(params[k].value->shape())});
    }
  const Index max_chunks = (o.batch + kChunk - 1) / kChunk;
  std::vector<std::vector<std::vector<Tensor>>> chunk_grads(static_cast<size_t>(max_chunks));
  for (auto& g : chunk_grads) g = net.make_parameter_buffers();
  std::vector<double> chunk_loss(static_cast<size_t>(max_chunks));
  // Data parallelism: every process's chunks (loss, then the gradients in parameter order)
  // gathered on every process, unpacked into the buffers of one process.
  const bool ranked = o.ranks.size > 1;
  if (ranked && (o.ranks.rank < 0 || o.ranks.rank >= o.ranks.size || !o.ranks.all_gather))
    throw Error(fmt::format("train: bad process {} of {}", o.ranks.rank, o.ranks.size));
  auto share_begin = [&](Index chunks, int r) {  // contiguous, the first (chunks mod size) one more
    const Index base = chunks / o.ranks.size, extra = chunks % o.ranks.size;
    return r * base + std::min<Index>(r, extra);
  };
  std::vector<double> packed;
  auto exchange_chunks = [&](Index chunks, Index c_first, Index c_count) {
    packed.clear();
    for (Index c = c_first; c < c_first + c_count; ++c) {
      packed.push_back(chunk_loss[static_cast<size_t>(c)]);
      for (const auto& node_grads : chunk_grads[static_cast<size_t>(c)])
        for (const Tensor& gt : node_grads) packed.insert(packed.end(), gt.data(), gt.data() + gt.size());
    }
    const std::vector<double> all = o.ranks.all_gather(packed);
    if (c_count > 0 && static_cast<Index>(all.size()) != chunks * static_cast<Index>(packed.size() / c_count))
      throw Error("train: the processes' gradients do not match (different data or options on some rank?)");
    size_t at = 0;
    for (Index c = 0; c < chunks; ++c) {
      if (at >= all.size()) throw Error("train: the processes' gradients do not match");
      chunk_loss[static_cast<size_t>(c)] = all[at++];
      for (auto& node_grads : chunk_grads[static_cast<size_t>(c)])
        for (Tensor& gt : node_grads) {
          if (at + static_cast<size_t>(gt.size()) > all.size())
            throw Error("train: the processes' gradients do not match");
          std::copy_n(all.data() + at, gt.size(), gt.data());
          at += static_cast<size_t>(gt.size());
        }
    }
  };
  const int threads = std::max(1, omp_get_max_threads());
  std::vector<Workspace> workspaces(static_cast<size_t>(threads));
  std::vector<Tensor> chunk_in(static_cast<size_t>(threads)), seeds(static_cast<size_t>(threads));

  // Validation: loss from the objective's node, AUC from the pre-activation output
  // (a saturated tanh would turn distinct scores into ties).
  Tensor val_inputs = inputs.gather_events(val_idx);
  std::vector<double> val_labels, val_w;
  for (Index i : val_idx) {
    val_labels.push_back(labels[static_cast<size_t>(i)]);
    val_w.push_back(w[static_cast<size_t>(i)]);
  }
  const NeuronRef auc_neuron = net.resolve("output:pre");
  auto validate = [&](double& vloss, double& vauc) {
    vloss = vauc = std::nan("");
    if (val_idx.empty()) return;
    Tensor v = evaluate(net, {val_inputs}, {{obj.target, 0}, auc_neuron});
    double sl = 0, sw = 0, g;
    std::vector<double> scores(val_idx.size());
    for (size_t e = 0; e < val_idx.size(); ++e) {
      sl += val_w[e] * obj.value(v[static_cast<Index>(e) * 2], val_labels[e], g);
      sw += val_w[e];
      scores[e] = v[static_cast<Index>(e) * 2 + 1];
    }
    vloss = sl / sw;
    bool both = std::any_of(val_labels.begin(), val_labels.end(), [](double y) { return y > 0.5; }) &&
                std::any_of(val_labels.begin(), val_labels.end(), [](double y) { return y < 0.5; });
    if (both) vauc = auc(scores, val_labels, val_w);
  };

  TrainResult result;
  result.loss = obj.loss;
  result.train_events = static_cast<Index>(train_idx.size());
  result.validation_events = n_val;
  std::vector<Tensor> best;
  auto snapshot = [&] {
    best.clear();
    for (auto& s : slots) best.push_back(*s.value);
  };
  snapshot();
  double best_val = std::numeric_limits<double>::infinity();
  Index since_best = 0, step = 0;
  const Index steps_per_epoch = (result.train_events + o.batch - 1) / o.batch;
  Progress progress("train", o.epochs * steps_per_epoch, o.quiet);

  std::string last_val;  // the previous epoch's validation figures, shown on the bar
  for (Index epoch = 1; epoch <= o.epochs; ++epoch) {
    const double t_epoch = now();
    rng.shuffle_scaled(train_idx);
    double epoch_loss = 0;
    for (Index b0 = 0; b0 < result.train_events; b0 += o.batch) {
      const Index bsize = std::min(o.batch, result.train_events - b0);
      const Index chunks = (bsize + kChunk - 1) / kChunk;
      // Across processes: this one computes chunks [c_first, c_first + c_count).
      const Index c_first = ranked ? share_begin(chunks, o.ranks.rank) : 0;
      const Index c_count = ranked ? share_begin(chunks, o.ranks.rank + 1) - c_first : chunks;
      parallel_for(c_count, [&](Index cc) {
        const Index c = c_first + cc;
        const int t = omp_get_thread_num();
        const Index c0 = b0 + c * kChunk, cn = std::min(kChunk, b0 + bsize - c0);
        Tensor& x = chunk_in[static_cast<size_t>(t)];
        x.resize({cn, width});
        for (Index e = 0; e < cn; ++e)
          std::copy_n(inputs.data() + train_idx[static_cast<size_t>(c0 + e)] * width, width, x.data() + e * width);
        Workspace& ws = workspaces[static_cast<size_t>(t)];
        net.forward({&x}, ws, obj.target);
        const Tensor& v = ws.values[static_cast<size_t>(obj.target)];
        Tensor& seed = seeds[static_cast<size_t>(t)];
        seed.resize(v.shape());
        double l = 0, g;
        for (Index e = 0; e < cn; ++e) {
          const auto i = static_cast<size_t>(train_idx[static_cast<size_t>(c0 + e)]);
          l += w[i] * obj.value(v[e], labels[i], g);
          seed[e] = w[i] * g / static_cast<double>(bsize);
        }
        chunk_loss[static_cast<size_t>(c)] = l;
        auto& grads = chunk_grads[static_cast<size_t>(c)];
        for (auto& node_grads : grads)
          for (Tensor& gt : node_grads) gt.fill(0.0);
        net.backward(ws, obj.target, seed, &grads);
      });
      if (ranked) exchange_chunks(chunks, c_first, c_count);
      // Sum the chunks in order, add the regularization, take an Adam step.
      ++step;
      double batch_loss = 0;
      for (Index c = 0; c < chunks; ++c) batch_loss += chunk_loss[static_cast<size_t>(c)];
      batch_loss /= static_cast<double>(bsize);
      const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
      const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
      for (auto& s : slots) {
        const size_t k = s.param;
        double* val = s.value->data();
        double* m = s.m.data();
        double* v = s.v.data();
        const Index n = s.value->size();
        for (Index j = 0; j < n; ++j) {
          double g = 0;
          for (Index c = 0; c < chunks; ++c)
            g += chunk_grads[static_cast<size_t>(c)][static_cast<size_t>(s.node)][k][j];
          if (s.regularized) {
            if (o.l1 > 0) g += o.l1 * (val[j] > 0 ? 1.0 : (val[j] < 0 ? -1.0 : 0.0));
            if (o.l2 > 0) g += 2.0 * o.l2 * val[j];
          }
          m[j] = o.beta1 * m[j] + (1 - o.beta1) * g;
          v[j] = o.beta2 * v[j] + (1 - o.beta2) * g * g;
          val[j] -= o.learning_rate * (m[j] / bc1) / (std::sqrt(v[j] / bc2) + o.adam_epsilon);
        }
      }
      epoch_loss += batch_loss * static_cast<double>(bsize);
      if (o.hook) o.hook(TrainEvent{TrainEvent::Step, step, epoch, batch_loss, 0, 0, &net});
      progress.update(step, fmt::format("epoch {}/{} loss {:.4f}{}", epoch, o.epochs,
                                        epoch_loss / static_cast<double>(b0 + bsize), last_val));
    }
    epoch_loss /= static_cast<double>(result.train_events);
    double vloss, vauc;
    validate(vloss, vauc);
    const double secs = now() - t_epoch;
    result.history.push_back({epoch, epoch_loss, vloss, vauc, secs});
    result.epochs_run = epoch;
    last_val = fmt::format(" | val_loss {:.4f} val_auc {:.4f}", vloss, vauc);
    const double monitored = val_idx.empty() ? epoch_loss : vloss;
    bool improved = monitored < best_val;
    if (improved) {
      best_val = monitored;
      result.best_epoch = epoch;
      result.best_val_loss = vloss;
      result.best_val_auc = vauc;
      since_best = 0;
      snapshot();
    } else {
      ++since_best;
    }
    const double left = (now() - t_start) / static_cast<double>(epoch) * static_cast<double>(o.epochs - epoch);
    progress.line(
        fmt::format("epoch {:>3}/{}  loss {:.5f}  val_loss {:.5f}  val_auc {:.4f}  {:.1f}s{}  (at most {:.0f}s left)",
                    epoch, o.epochs, epoch_loss, vloss, vauc, secs, improved ? "  *" : "", left));
    if (o.hook) o.hook(TrainEvent{TrainEvent::Epoch, step, epoch, epoch_loss, vloss, vauc, &net});
    if (o.patience > 0 && since_best >= o.patience) {
      result.stopped_early = true;
      break;
    }
  }
  // Restore the best weights.
  for (size_t i = 0; i < slots.size(); ++i) *slots[i].value = best[i];
  result.steps = step;
  result.seconds = now() - t_start;
  progress.finish(fmt::format("done: best epoch {} (val_loss {:.5f}, val_auc {:.4f})", result.best_epoch,
                              result.best_val_loss, result.best_val_auc));
  return result;
}

}  // namespace unbox
