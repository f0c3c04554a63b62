// Activation difference (eq. 2 of Roxlo & Reece) with respect to the inputs or to the
// neurons of an earlier layer, with bootstrap uncertainties.
//
// Work: one forward pass over all events for sigma_z (and to collect the sampled events'
// and the donors' values), then one batched pass over the S sampled events per variable
// (only that variable's column changes); the per-event differences are kept ([S, n]) so
// the bootstrap only re-weights them. The same code runs in one piece, chunk by chunk and
// across ranks (ActivationDifferenceRun): the random choices depend on the seed and the
// sample's event count only.
#include "unbox/explain/activation_difference.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "unbox/explain/fingerprint.hpp"
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

namespace {

// The sampled events: a seeded partial Fisher-Yates over 0..N-1 (without replacement) that
// keeps only the positions it moved (O(S) memory), drawing the numbers an array of N would;
// all events in order when S >= N.
std::vector<Index> sample_events(Index n_events, Index S, Rng& rng) {
  std::vector<Index> picked(static_cast<size_t>(S));
  std::iota(picked.begin(), picked.end(), Index{0});
  if (S >= n_events) return picked;
  std::unordered_map<Index, Index> moved;
  moved.reserve(static_cast<size_t>(2 * S));
  auto at = [&](Index k) {
    auto it = moved.find(k);
    return it == moved.end() ? k : it->second;
  };
  for (Index i = 0; i < S; ++i) {
    const Index j = i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n_events - i)));
    const Index vi = at(i), vj = at(j);
    moved[j] = vi;  // position i is never read again (later j > i)
    picked[static_cast<size_t>(i)] = vj;
  }
  return picked;
}

// The ranking, sigma and counts of `r` from its sums. A part on which z is constant (a
// single event, a short rank range) has no ranking of its own: Error only when `whole`.
void finish(ActivationDifferenceResult& r, bool whole) {
  const ActivationDifferenceSums& s = r.sums;
  const Index n = static_cast<Index>(r.variables.size());
  if (static_cast<Index>(s.ad.size()) != n) throw Error("activation difference: sums and variables disagree");
  r.events = s.events;
  r.samples = s.samples;
  r.sigma = s.events > 0 ? std::sqrt(std::max(0.0, s.z_m2) / static_cast<double>(s.events)) : 0.0;
  r.ranking.clear();
  if (!(r.sigma > 0.0) && !whole) return;
  if (!(r.sigma > 0.0))
    throw Error(fmt::format("neuron {} is constant on the sample (sigma = 0): its activation difference is undefined",
                            r.neuron));
  const double norm = static_cast<double>(s.events) * r.sigma;
  std::vector<double> ad(static_cast<size_t>(n)), err(static_cast<size_t>(n), 0.0);
  for (Index i = 0; i < n; ++i) ad[static_cast<size_t>(i)] = s.ad[static_cast<size_t>(i)] / norm;
  const Index B = static_cast<Index>(s.replicas.size()) / std::max<Index>(n, 1);
  if (B >= 2) {
    // Standard deviation of the replicas' means, centred on the estimate (less cancellation).
    for (Index i = 0; i < n; ++i) {
      double sum = 0.0, sum2 = 0.0;
      for (Index b = 0; b < B; ++b) {
        const double v = s.replicas[static_cast<size_t>(b * n + i)] / norm - ad[static_cast<size_t>(i)];
        sum += v;
        sum2 += v * v;
      }
      const double mu = sum / static_cast<double>(B);
      err[static_cast<size_t>(i)] =
          std::sqrt(std::max(0.0, (sum2 - static_cast<double>(B) * mu * mu) / (static_cast<double>(B) - 1.0)));
    }
  }
  for (Index i = 0; i < n; ++i)
    r.ranking.push_back({r.variables[static_cast<size_t>(i)], ad[static_cast<size_t>(i)], err[static_cast<size_t>(i)]});
  std::stable_sort(r.ranking.begin(), r.ranking.end(),
                   [](const ActivationDifferenceEntry& a, const ActivationDifferenceEntry& b) { return a.ad > b.ad; });
}

nlohmann::json merge_key(const ActivationDifferenceResult& r) {
  return {{"neuron", r.neuron},       {"layer", fmt::format("L{}", r.layer)},
          {"variables", r.variables}, {"samples", r.requested_samples},
          {"bootstrap", r.bootstrap}, {"seed", r.seed},
          {"model", r.model}};
}

}  // namespace

void ActivationDifferenceSums::merge(const ActivationDifferenceSums& o) {
  if (o.ad.size() != ad.size() || o.replicas.size() != replicas.size())
    throw Error("activation difference: merging sums over different variables or bootstrap replicas");
  if (events == 0) {
    z_mean = o.z_mean;
    z_m2 = o.z_m2;
  } else if (o.events > 0) {  // Chan et al.: the moments of the union
    const double na = static_cast<double>(events), nb = static_cast<double>(o.events), n = na + nb;
    const double delta = o.z_mean - z_mean;
    z_mean += delta * nb / n;
    z_m2 += o.z_m2 + delta * delta * na * nb / n;
  }
  events += o.events;
  samples += o.samples;
  for (size_t i = 0; i < ad.size(); ++i) ad[i] += o.ad[i];
  for (size_t i = 0; i < replicas.size(); ++i) replicas[i] += o.replicas[i];
}

ActivationDifferenceRun::ActivationDifferenceRun(const Network& net, const ActivationDifferenceOptions& o, Index total)
    : net_(&net), o_(o), total_(total) {
  if (o.samples < 1) throw Error(fmt::format("the number of sampled events must be at least 1, not {}", o.samples));
  if (o.bootstrap < 0) throw Error("the number of bootstrap replicas must not be negative");
  if (total < 2) throw Error(fmt::format("the sample has {} events; activation difference needs at least 2", total));
  ref_ = net.resolve(o.neuron);
  target_ = ref_;
  if (o.layer == 0) {
    if (net.input_nodes().size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1)
      throw Error("activation difference with respect to the inputs needs a model with one flat input");
    n_ = net.node(net.input_nodes()[0]).shape[0];
  } else {
    const auto layers = net.layers();
    if (layers.empty())
      throw Error("a hidden layer as the variables needs a plain stack of layers (this network has none)");
    if (o.layer < 0 || o.layer >= static_cast<int>(layers.size()))
      throw Error(fmt::format("layer L{} does not exist: the network has layers L0..L{}", o.layer, layers.size() - 1));
    const LayerInfo& l = layers[static_cast<size_t>(o.layer)];
    if (ref_.node <= l.post_node)
      throw Error(fmt::format("neuron {} does not come after layer L{}: choose an earlier layer", o.neuron, o.layer));
    for (Index j = 0; j < l.width; ++j) layer_refs_.push_back({l.post_node, j});
    sub_ = network_from_layer(net, o.layer, ref_.node);
    tail_ = true;
    target_ = {sub_.output_node(), ref_.index};
    names_ = sub_.feature_names(0);
    n_ = l.width;
  }
  // The random choices, in activation_difference()'s order: the sampled events, then for
  // each variable a donor event per sampled event, then (in result()) the bootstrap.
  Rng rng(o.seed);
  samples_ = std::min(o.samples, total);
  const std::vector<Index> picked = sample_events(total, samples_, rng);
  const Index S = samples_, n = n_;
  pick_at_.resize(static_cast<size_t>(S));
  for (Index s = 0; s < S; ++s) pick_at_[static_cast<size_t>(s)] = {picked[static_cast<size_t>(s)], s};
  donor_at_.resize(static_cast<size_t>(S * n));
  for (Index i = 0; i < n; ++i)
    for (Index s = 0; s < S; ++s)
      donor_at_[static_cast<size_t>(s * n + i)] = {static_cast<Index>(rng.below(static_cast<std::uint64_t>(total))),
                                                   s * n + i};
  bootstrap_rng_ = rng;
  std::sort(pick_at_.begin(), pick_at_.end());
  std::sort(donor_at_.begin(), donor_at_.end());
  base_.assign(static_cast<size_t>(S * n), 0.0);
  donor_.assign(static_cast<size_t>(S * n), 0.0);
  have_base_.assign(static_cast<size_t>(S), 0);
  have_donor_.assign(static_cast<size_t>(S * n), 0);
  z_.ad.assign(static_cast<size_t>(n), 0.0);
}

void ActivationDifferenceRun::add(const Events& events, Index first) {
  events.check_model(*net_, "activation difference");
  const Index m = events.size();
  if (first < 0 || first + m > total_)
    throw Error(
        fmt::format("activation difference: events {}..{} are outside the sample of {}", first + 1, first + m, total_));
  if (m == 0) return;
  if (source_.empty()) source_ = events.data().source;
  if (!tail_ && names_.empty()) names_ = events.feature_names(0);
  if (!tail_ && static_cast<Index>(names_.size()) != n_)
    throw Error("activation difference: the events' input does not match the model");
  const EvalOptions eval{.batch = o_.batch};
  const std::vector<Tensor>& inputs = events.inputs();
  // The moments of z over this part, merged into the running ones.
  const Tensor z = evaluate(*net_, inputs, {ref_}, eval);
  ActivationDifferenceSums part;
  part.ad.assign(static_cast<size_t>(n_), 0.0);
  part.events = m;
  for (double v : z.values()) part.z_mean += v;
  part.z_mean /= static_cast<double>(m);
  for (double v : z.values()) part.z_m2 += (v - part.z_mean) * (v - part.z_mean);
  z_.merge(part);
  // The variables' values of the sampled and donor events in [first, first + m).
  Tensor x_owned;
  const Tensor* x = &inputs[0];
  if (tail_) {
    x_owned = evaluate(*net_, inputs, layer_refs_, eval);
    x = &x_owned;
  }
  const Index n = n_;
  if (x->per_event() != n) throw Error("activation difference: the part's variables do not match the model");
  const std::pair<Index, Index> lo{first, -1};
  for (auto it = std::lower_bound(pick_at_.begin(), pick_at_.end(), lo); it != pick_at_.end() && it->first < first + m;
       ++it) {
    std::copy_n(x->data() + (it->first - first) * n, n, base_.data() + it->second * n);
    have_base_[static_cast<size_t>(it->second)] = 1;
  }
  for (auto it = std::lower_bound(donor_at_.begin(), donor_at_.end(), lo);
       it != donor_at_.end() && it->first < first + m; ++it) {
    donor_[static_cast<size_t>(it->second)] = (*x)[(it->first - first) * n + it->second % n];
    have_donor_[static_cast<size_t>(it->second)] = 1;
  }
}

std::vector<double> ActivationDifferenceRun::collected() const {
  std::vector<double> out;
  const Index n = n_, sn = samples_ * n_;
  for (Index s = 0; s < samples_; ++s)
    if (have_base_[static_cast<size_t>(s)])
      for (Index i = 0; i < n; ++i) {
        out.push_back(static_cast<double>(s * n + i));
        out.push_back(base_[static_cast<size_t>(s * n + i)]);
      }
  for (Index k = 0; k < sn; ++k)
    if (have_donor_[static_cast<size_t>(k)]) {
      out.push_back(static_cast<double>(sn + k));
      out.push_back(donor_[static_cast<size_t>(k)]);
    }
  return out;
}

void ActivationDifferenceRun::fill(const std::vector<double>& pairs) {
  const Index n = n_, sn = samples_ * n_;
  for (size_t p = 0; p + 1 < pairs.size(); p += 2) {
    const auto k = static_cast<Index>(pairs[p]);
    if (k < 0 || k >= 2 * sn) throw Error("activation difference: a value from another process is out of range");
    if (k < sn) {
      base_[static_cast<size_t>(k)] = pairs[p + 1];
      have_base_[static_cast<size_t>(k / n)] = 1;
    } else {
      donor_[static_cast<size_t>(k - sn)] = pairs[p + 1];
      have_donor_[static_cast<size_t>(k - sn)] = 1;
    }
  }
}

ActivationDifferenceResult ActivationDifferenceRun::result(Index begin, Index end) const {
  if (begin < 0 || end > samples_ || begin > end) throw Error("activation difference: bad range of sampled events");
  const Index n = n_, S = samples_, m = end - begin;
  for (Index s = begin; s < end; ++s) {
    bool ok = have_base_[static_cast<size_t>(s)] != 0;
    for (Index i = 0; i < n && ok; ++i) ok = have_donor_[static_cast<size_t>(s * n + i)] != 0;
    if (!ok)
      throw Error(
          fmt::format("activation difference: sampled event {} was not read (the parts added do not cover "
                      "the sample of {} events)",
                      s + 1, total_));
  }
  const EvalOptions eval{.batch = o_.batch};
  const Network& sub = tail_ ? sub_ : *net_;
  ActivationDifferenceResult r;
  r.neuron = o_.neuron;
  r.layer = o_.layer;
  r.bootstrap = o_.bootstrap;
  r.seed = o_.seed;
  r.top = o_.top;
  r.requested_samples = o_.samples;
  r.variables = names_.empty() ? net_->feature_names(0) : names_;  // no events here: the model's names
  r.model = network_fingerprint(*net_);
  r.sums = z_;
  r.sums.samples = m;
  if (static_cast<Index>(r.variables.size()) != n) throw Error("activation difference: no events were added");
  const Index B = o_.bootstrap >= 2 ? o_.bootstrap : 0;
  r.sums.replicas.assign(static_cast<size_t>(B * n), 0.0);
  if (m > 0) {
    // d[s, i] = |z(x_s) - z(x_s with x_i from its donor)|, sampled events [begin, end).
    Tensor base({m, n});
    std::copy_n(base_.data() + begin * n, m * n, base.data());
    const Tensor z0 = evaluate(sub, {base}, {target_}, eval);
    std::vector<double> d(static_cast<size_t>(m * n));
    Tensor swapped = base;
    ProgressCounter progress(o_.progress, n);  // one unit per swapped variable
    for (Index i = 0; i < n; ++i) {
      for (Index s = 0; s < m; ++s) swapped[s * n + i] = donor_[static_cast<size_t>((begin + s) * n + i)];
      const Tensor zi = evaluate(sub, {swapped}, {target_}, eval);
      for (Index s = 0; s < m; ++s) {
        d[static_cast<size_t>(s * n + i)] = std::abs(z0[s] - zi[s]);
        swapped[s * n + i] = base[s * n + i];
      }
      progress.add(1);
    }
    progress.finish();
    const double w = static_cast<double>(total_) / static_cast<double>(S);  // events per sampled event
    for (Index i = 0; i < n; ++i) {
      double a = 0.0;
      for (Index s = 0; s < m; ++s) a += d[static_cast<size_t>(s * n + i)];
      r.sums.ad[static_cast<size_t>(i)] = w * a;
    }
    // Bootstrap: replica b draws S sampled events with replacement (multiplicities); every
    // process replays all draws and keeps those of its events.
    Rng rng = bootstrap_rng_;
    std::vector<Index> mult(static_cast<size_t>(m));
    std::vector<double> acc(static_cast<size_t>(n));
    for (Index b = 0; b < B; ++b) {
      std::fill(mult.begin(), mult.end(), 0);
      for (Index s = 0; s < S; ++s) {
        const auto k = static_cast<Index>(rng.below(static_cast<std::uint64_t>(S)));
        if (k >= begin && k < end) ++mult[static_cast<size_t>(k - begin)];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (Index s = 0; s < m; ++s) {
        const Index c = mult[static_cast<size_t>(s)];
        if (c == 0) continue;
        const double cw = static_cast<double>(c);
        const double* row = d.data() + s * n;
        for (Index i = 0; i < n; ++i) acc[static_cast<size_t>(i)] += cw * row[i];
      }
      for (Index i = 0; i < n; ++i) r.sums.replicas[static_cast<size_t>(b * n + i)] = w * acc[static_cast<size_t>(i)];
    }
  }
  if (!(r.sums.z_m2 > 0.0) && r.sums.events == total_)
    throw Error(fmt::format("neuron {} is constant on '{}' (sigma = 0): its activation difference is undefined",
                            o_.neuron, source_));
  finish(r, r.sums.events == total_);
  return r;
}

ActivationDifferenceResult activation_difference(const Network& net, const Events& events,
                                                 const ActivationDifferenceOptions& o) {
  if (o.samples < 1) throw Error(fmt::format("the number of sampled events must be at least 1, not {}", o.samples));
  if (o.bootstrap < 0) throw Error("the number of bootstrap replicas must not be negative");
  events.check_model(net, "activation difference");
  if (events.size() < 2)
    throw Error(
        fmt::format("'{}' has {} events; activation difference needs at least 2", events.data().source, events.size()));
  ActivationDifferenceRun run(net, o, events.size());
  run.add(events, 0);
  return run.result(0, run.samples());
}

void merge(ActivationDifferenceResult& into, const ActivationDifferenceResult& other) {
  const nlohmann::json a = merge_key(into), b = merge_key(other);
  if (a != b)
    for (auto it = a.begin(); it != a.end(); ++it)
      if (b[it.key()] != it.value())
        throw Error(fmt::format("activation difference results differ in '{}' ({} vs {}): they do not merge", it.key(),
                                it.value().dump(), b[it.key()].dump()));
  into.sums.merge(other.sums);
  finish(into, true);
}

ActivationDifferenceResult ActivationDifferenceResult::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("state") || !j["state"].is_object() || j["state"].value("method", "") != "ad")
    throw Error("not an activation difference result with a merge state");
  try {
    const nlohmann::json& key = j["state"]["key"];
    const nlohmann::json& s = j["state"]["sums"];
    ActivationDifferenceResult r;
    r.neuron = key.at("neuron").get<std::string>();
    const std::string layer = key.at("layer").get<std::string>();
    if (layer.size() < 2 || layer[0] != 'L') throw Error("bad layer");
    r.layer = std::stoi(layer.substr(1));
    r.variables = key.at("variables").get<std::vector<std::string>>();
    r.requested_samples = key.at("samples").get<Index>();
    r.bootstrap = key.at("bootstrap").get<Index>();
    r.seed = key.at("seed").get<std::uint64_t>();
    r.model = key.at("model").get<std::string>();
    r.sums.events = s.at("events").get<Index>();
    r.sums.samples = s.at("samples").get<Index>();
    r.sums.z_mean = s.at("z_mean").get<double>();
    r.sums.z_m2 = s.at("z_m2").get<double>();
    r.sums.ad = s.at("ad").get<std::vector<double>>();
    r.sums.replicas = s.at("replicas").get<std::vector<double>>();
    const size_t n = r.variables.size();
    if (r.sums.ad.size() != n || (n > 0 && r.sums.replicas.size() % n != 0) ||
        (!r.sums.replicas.empty() && static_cast<Index>(r.sums.replicas.size() / n) != r.bootstrap))
      throw Error("sums of the wrong length");
    finish(r, false);
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("activation difference result: malformed merge state ({})", e.what()));
  } catch (const std::logic_error& e) {
    throw Error(fmt::format("activation difference result: malformed merge state ({})", e.what()));
  }
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
  j["state"] = {{"method", "ad"},
                {"key", merge_key(*this)},
                {"sums",
                 {{"events", sums.events},
                  {"samples", sums.samples},
                  {"z_mean", sums.z_mean},
                  {"z_m2", sums.z_m2},
                  {"ad", sums.ad},
                  {"replicas", sums.replicas}}}};
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
