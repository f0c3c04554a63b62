// Activation difference (eq. 2 of Roxlo & Reece) with respect to the inputs or to the
// neurons of an earlier layer, with bootstrap uncertainties.
//
// Work: one forward pass over all events for sigma_z, then one batched pass over the S
// sampled events per variable (only that variable's column changes); the per-event
// differences are kept ([S, n]) so the bootstrap only re-weights them.
#include "unbox/explain/activation_difference.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/random.hpp"

namespace unbox {

Network network_from_layer(const Network& net, int layer, int last) {
  const auto layers = net.layers();
  if (layers.empty())
    throw Error("this network is not a plain stack of layers, so it has no hidden layers L1..Lm to start from");
  if (layer < 0 || layer >= static_cast<int>(layers.size()))
    throw Error(fmt::format("layer L{} does not exist: the network has layers L0..L{}", layer, layers.size() - 1));
  const LayerInfo& l = layers[static_cast<size_t>(layer)];
  if (last <= l.post_node || last >= static_cast<int>(net.nodes().size()))
    throw Error(fmt::format("the neuron does not come after layer L{}", layer));
  std::vector<std::string> names;
  for (Index j = 0; j < l.width; ++j) names.push_back(fmt::format("L{}N{}", layer, j));
  Network tail;
  int prev = tail.add_input(fmt::format("L{}", layer), {l.width}, names);
  for (int i = l.post_node + 1; i <= last; ++i) {
    const Node& n = net.node(i);
    prev = tail.add_node(n.name, n.op->clone(), {prev});
  }
  tail.set_output(prev);
  tail.metadata = net.metadata;
  return tail;
}

void ActivationDifferenceAccumulator::add(const double* d, Index rows) {
  const Index n = static_cast<Index>(sum.size());
  for (Index s = 0; s < rows; ++s)
    for (Index i = 0; i < n; ++i) sum[static_cast<size_t>(i)] += d[s * n + i];
  count += rows;
}

void ActivationDifferenceAccumulator::merge(const ActivationDifferenceAccumulator& o) {
  if (o.sum.size() != sum.size()) throw Error("activation difference: merging sums over different variables");
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += o.sum[i];
  count += o.count;
}

std::vector<double> ActivationDifferenceAccumulator::mean() const {
  std::vector<double> m(sum);
  for (double& v : m) v /= static_cast<double>(count);
  return m;
}

ActivationDifferenceResult activation_difference(const Network& net, const Events& events,
                                                 const ActivationDifferenceOptions& o) {
  if (o.samples < 1) throw Error(fmt::format("the number of sampled events must be at least 1, not {}", o.samples));
  if (o.bootstrap < 0) throw Error("the number of bootstrap replicas must not be negative");
  events.check_model(net, "activation difference");
  const Dataset& data = events.data();
  const std::string& neuron = o.neuron;
  const EvalOptions eval{.batch = o.batch};
  const NeuronRef ref = net.resolve(neuron);
  const Index n_events = data.events();
  if (n_events < 2)
    throw Error(fmt::format("'{}' has {} events; activation difference needs at least 2", data.source, n_events));
  const std::vector<Tensor>& inputs = events.inputs();

  // sigma_z over the whole data set (population standard deviation).
  const Tensor z_all = evaluate(net, inputs, {ref}, eval);
  double mean = 0.0;
  for (double v : z_all.values()) mean += v;
  mean /= static_cast<double>(n_events);
  double var = 0.0;
  for (double v : z_all.values()) var += (v - mean) * (v - mean);
  const double sigma = std::sqrt(var / static_cast<double>(n_events));
  if (!(sigma > 0.0))
    throw Error(fmt::format("neuron {} is constant on '{}' (sigma = 0): its activation difference is undefined", neuron,
                            data.source));

  // The function z(x) and the x it reads.
  Network sub_storage;
  const Network* sub = &net;
  NeuronRef target = ref;
  Tensor x_owned;
  const Tensor* x = nullptr;
  std::vector<std::string> names;
  if (o.layer == 0) {
    if (inputs.size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1)
      throw Error("activation difference with respect to the inputs needs a model with one flat input");
    x = &inputs[0];
    names = events.feature_names(0);
  } else {
    const auto layers = net.layers();
    if (layers.empty())
      throw Error("a hidden layer as the variables needs a plain stack of layers (this network has none)");
    if (o.layer < 0 || o.layer >= static_cast<int>(layers.size()))
      throw Error(fmt::format("layer L{} does not exist: the network has layers L0..L{}", o.layer, layers.size() - 1));
    const LayerInfo& l = layers[static_cast<size_t>(o.layer)];
    if (ref.node <= l.post_node)
      throw Error(fmt::format("neuron {} does not come after layer L{}: choose an earlier layer", neuron, o.layer));
    std::vector<NeuronRef> layer_refs;
    for (Index j = 0; j < l.width; ++j) layer_refs.push_back({l.post_node, j});
    x_owned = evaluate(net, inputs, layer_refs, eval);
    x = &x_owned;
    sub_storage = network_from_layer(net, o.layer, ref.node);
    sub = &sub_storage;
    target = {sub_storage.output_node(), ref.index};
    names = sub_storage.feature_names(0);
  }
  const Index n = x->per_event();

  // Sampled events: a seeded partial Fisher-Yates (without replacement), all when S >= N.
  Rng rng(o.seed);
  const Index S = std::min(o.samples, n_events);
  std::vector<Index> picked(static_cast<size_t>(n_events));
  std::iota(picked.begin(), picked.end(), Index{0});
  if (S < n_events)
    for (Index i = 0; i < S; ++i) {
      const Index j = i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n_events - i)));
      std::swap(picked[static_cast<size_t>(i)], picked[static_cast<size_t>(j)]);
    }
  picked.resize(static_cast<size_t>(S));
  const Tensor base = x->gather_events(picked);
  const Tensor z0 = evaluate(*sub, {base}, {target}, eval);
  ProgressCounter progress(o.progress, n);  // one unit per swapped variable

  // d[s, i] = |z(x_s) - z(x_s with x_i from a random event)| / sigma.
  std::vector<double> d(static_cast<size_t>(S * n));
  Tensor swapped = base;
  for (Index i = 0; i < n; ++i) {
    for (Index s = 0; s < S; ++s) {
      const Index donor = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n_events)));
      swapped[s * n + i] = (*x)[donor * n + i];
    }
    const Tensor zi = evaluate(*sub, {swapped}, {target}, eval);
    for (Index s = 0; s < S; ++s) {
      d[static_cast<size_t>(s * n + i)] = std::abs(z0[s] - zi[s]) / sigma;
      swapped[s * n + i] = base[s * n + i];
    }
    progress.add(1);
  }
  progress.finish();

  ActivationDifferenceAccumulator acc(n);
  acc.add(d.data(), S);
  const std::vector<double> ad = acc.mean();

  // Bootstrap over the sampled events: resample S of them with replacement (as
  // multiplicities) and recompute each mean.
  std::vector<double> err(static_cast<size_t>(n), 0.0);
  if (o.bootstrap >= 2) {
    std::vector<double> sum(static_cast<size_t>(n), 0.0), sum2(static_cast<size_t>(n), 0.0), m(static_cast<size_t>(n));
    std::vector<Index> mult(static_cast<size_t>(S));
    for (Index b = 0; b < o.bootstrap; ++b) {
      std::fill(mult.begin(), mult.end(), 0);
      for (Index s = 0; s < S; ++s) ++mult[static_cast<size_t>(rng.below(static_cast<std::uint64_t>(S)))];
      std::fill(m.begin(), m.end(), 0.0);
      for (Index s = 0; s < S; ++s) {
        const Index c = mult[static_cast<size_t>(s)];
        if (c == 0) continue;
        const double w = static_cast<double>(c);
        const double* row = d.data() + s * n;
        for (Index i = 0; i < n; ++i) m[static_cast<size_t>(i)] += w * row[i];
      }
      for (Index i = 0; i < n; ++i) {
        const double v = m[static_cast<size_t>(i)] / static_cast<double>(S) - ad[static_cast<size_t>(i)];
        sum[static_cast<size_t>(i)] += v;  // centred on the estimate: less cancellation
        sum2[static_cast<size_t>(i)] += v * v;
      }
    }
    const double B = static_cast<double>(o.bootstrap);
    for (Index i = 0; i < n; ++i) {
      const double mu = sum[static_cast<size_t>(i)] / B;
      err[static_cast<size_t>(i)] = std::sqrt(std::max(0.0, (sum2[static_cast<size_t>(i)] - B * mu * mu) / (B - 1.0)));
    }
  }

  ActivationDifferenceResult r;
  r.neuron = neuron;
  r.layer = o.layer;
  r.samples = S;
  r.bootstrap = o.bootstrap;
  r.events = n_events;
  r.seed = o.seed;
  r.sigma = sigma;
  r.top = o.top;
  for (Index i = 0; i < n; ++i)
    r.ranking.push_back({names[static_cast<size_t>(i)], ad[static_cast<size_t>(i)], err[static_cast<size_t>(i)]});
  std::stable_sort(r.ranking.begin(), r.ranking.end(),
                   [](const ActivationDifferenceEntry& a, const ActivationDifferenceEntry& b) { return a.ad > b.ad; });
  return r;
}

nlohmann::json ActivationDifferenceResult::to_json() const {
  nlohmann::json j;
  j["neuron"] = neuron;
  j["layer"] = fmt::format("L{}", layer);
  j["ranking"] = nlohmann::json::array();
  for (const auto& e : ranking) j["ranking"].push_back({{"variable", e.variable}, {"ad", e.ad}, {"err", e.err}});
  j["sigma"] = sigma;
  j["samples"] = samples;
  j["bootstrap"] = bootstrap;
  j["events"] = events;
  j["seed"] = seed;
  return j;
}

std::string ActivationDifferenceResult::table(Index top) const {
  std::string out = fmt::format(
      "activation difference of {} with respect to {}: {} sampled of {} events, "
      "sigma_z = {:.4g}, err from {} bootstrap replicas\n",
      neuron, layer == 0 ? std::string("the inputs (L0)") : fmt::format("layer L{}", layer), samples, events, sigma,
      bootstrap);
  size_t w = 8;
  for (const auto& e : ranking) w = std::max(w, e.variable.size());
  out += fmt::format("{:>4}  {:<{}}  {:>7}  {:>7}\n", "rank", "variable", w, "AD", "err");
  const Index shown =
      top > 0 ? std::min<Index>(top, static_cast<Index>(ranking.size())) : static_cast<Index>(ranking.size());
  for (Index k = 0; k < shown; ++k) {
    const auto& e = ranking[static_cast<size_t>(k)];
    out += fmt::format("{:>4}  {:<{}}  {:>7.4f}  {:>7.4f}\n", k + 1, e.variable, w, e.ad, e.err);
  }
  if (shown < static_cast<Index>(ranking.size()))
    out += fmt::format("      ({} more below {:.4f})\n", static_cast<Index>(ranking.size()) - shown,
                       ranking[static_cast<size_t>(shown - 1)].ad);
  return out;
}

}  // namespace unbox
