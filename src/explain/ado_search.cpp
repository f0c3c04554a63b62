// The guided search by decision ordering (ado_search.hpp).
#include "unbox/explain/ado_search.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/explain/ado.hpp"
#include "unbox/metrics.hpp"
#include "unbox/network.hpp"
#include "unbox/random.hpp"
#include "unbox/train.hpp"

namespace unbox {

namespace {

std::vector<double> pick(const std::vector<double>& v, const std::vector<Index>& rows) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (Index r : rows) out.push_back(v[static_cast<size_t>(r)]);
  return out;
}

std::string base_label(const std::vector<std::string>& base) {
  if (base.size() <= 3) {
    std::string s;
    for (const auto& b : base) s += (s.empty() ? "" : ",") + b;
    return s;
  }
  return fmt::format("{} HL", base.size());
}

}  // namespace

AdoSearchResult ado_search(const Dataset& data, const std::vector<double>& target, const std::string& target_name,
                           const std::vector<std::string>& base, const std::vector<std::string>& pool,
                           const AdoSearchOptions& o) {
  const Index n = data.events();
  if (static_cast<Index>(target.size()) != n)
    throw Error(fmt::format("ADO search: the target has {} values for {} events", target.size(), n));
  if (base.empty()) throw Error("ADO search needs at least one base observable");
  if (pool.empty()) throw Error("ADO search needs a pool of candidate observables");
  if (!(o.train_fraction > 0 && o.train_fraction < 1))
    throw Error("ADO search: the training fraction must be between 0 and 1");
  if (o.max_steps < 0 || o.max_pairs <= 0) throw Error("ADO search: steps must be >= 0 and pairs positive");
  for (const auto& c : base) data.get(c);  // Error naming a missing column
  for (const auto& c : pool) {
    data.get(c);
    if (std::find(base.begin(), base.end(), c) != base.end())
      throw Error(fmt::format("ADO search: '{}' is both a base observable and a pool candidate", c));
  }
  const std::vector<double> labels = data.labels();
  const std::vector<double> weights = data.weight_column ? data.weights() : std::vector<double>{};

  // Seeded split: a shuffled order, the first part trains.
  Rng rng(o.seed);
  std::vector<Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  rng.shuffle_scaled(order);
  const auto n_train = static_cast<Index>(std::llround(o.train_fraction * static_cast<double>(n)));
  std::vector<Index> train_rows(order.begin(), order.begin() + n_train),
      test_rows(order.begin() + n_train, order.end());
  std::sort(train_rows.begin(), train_rows.end());
  std::sort(test_rows.begin(), test_rows.end());
  if (n_train < 10 || test_rows.size() < 10)
    throw Error(fmt::format("ADO search: {} events are too few to split into training and measuring events", n));

  const std::vector<double> y_train = pick(labels, train_rows), y_test = pick(labels, test_rows);
  const std::vector<double> w_train = weights.empty() ? weights : pick(weights, train_rows);
  const std::vector<double> w_test = weights.empty() ? weights : pick(weights, test_rows);
  const std::vector<double> t_test = pick(target, test_rows);
  std::vector<std::vector<double>> pool_test;
  for (const auto& c : pool) {
    const Tensor& t = data.get(c);
    if (t.rank() != 1)
      throw Error(fmt::format("ADO search: '{}' is an array of shape {}, not a column", c, shape_string(t.shape())));
    pool_test.push_back(pick(t.values(), test_rows));
  }

  AdoSearchResult r;
  r.target = target_name;
  r.base = base;
  r.options = o;
  r.train_events = n_train;
  r.test_events = static_cast<Index>(test_rows.size());
  r.target_auc = auc(t_test, y_test, w_test);

  // Progress: one unit per training epoch of the most networks the search can train (the
  // base, then one per addition); a training that stops early counts its whole budget.
  Index usable = 0;
  for (const auto& c : pool_test) {
    const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
    usable += lo != c.end() && *lo != *hi;
  }
  const Index epochs_each = std::max<Index>(1, o.epochs);
  ProgressCounter progress(o.progress, (std::min(o.max_steps, usable) + 1) * epochs_each);

  // Train the small network on `features`; its logit on the measuring events.
  auto scores_for = [&](const std::vector<std::string>& features) {
    Architecture arch = parse_architecture(o.arch, o.activation, "sigmoid");
    Network net = build_network(features, arch);
    TrainOptions t;
    t.epochs = o.epochs;
    t.patience = o.patience;
    t.batch = o.batch;
    t.learning_rate = o.learning_rate;
    t.seed = o.seed;
    t.quiet = o.quiet;
    Index epochs = 0;
    if (o.progress)
      t.hook = [&](const TrainEvent& e) {
        if (e.kind == TrainEvent::Epoch && epochs < epochs_each) ++epochs, progress.add(1);
      };
    const Tensor x = data.columns_matrix(features);
    train(net, x.gather_events(train_rows), y_train, w_train, t);
    progress.add(epochs_each - epochs);
    return evaluate(net, {x.gather_events(test_rows)}, {net.resolve("output:pre")}).values();
  };

  std::vector<std::string> features = base;
  std::vector<bool> used(pool.size(), false);
  // A constant candidate orders no pair (ADO exactly one half everywhere) and carries no
  // information: skip it rather than let it win a step where every candidate is poor.
  for (size_t c = 0; c < pool.size(); ++c) {
    const auto [lo, hi] = std::minmax_element(pool_test[c].begin(), pool_test[c].end());
    if (lo == pool_test[c].end() || *lo == *hi) {
      used[c] = true;
      r.constant_candidates.push_back(pool[c]);
    }
  }
  AdoSearchStep step;
  step.features = features;
  for (;;) {
    const std::vector<double> s = scores_for(features);
    step.auc = auc(s, y_test, w_test);
    step.ado = ado(s, t_test, y_test, w_test).ado;
    const Index additions = static_cast<Index>(r.steps.size());
    if (!r.steps.empty() && step.ado - r.steps.back().ado < o.margin) {
      r.stop_reason = fmt::format("ADO[target] improved by {:.4f}, less than the margin {}",
                                  step.ado - r.steps.back().ado, o.margin);
      r.steps.push_back(step);
      break;
    }
    if (additions >= o.max_steps) {
      r.stop_reason = fmt::format("reached {} additions", o.max_steps);
      r.steps.push_back(step);
      break;
    }
    if (std::find(used.begin(), used.end(), false) == used.end()) {
      r.stop_reason = "the pool is used up";
      r.steps.push_back(step);
      break;
    }
    // The pairs this network orders against the target, and the best candidate on them.
    DiscordantPairs dp =
        discordant_pairs(s, t_test, y_test, o.max_pairs, o.seed + static_cast<std::uint64_t>(additions) + 1);
    step.disordered_pairs = dp.total;
    step.pairs_used = static_cast<Index>(dp.pairs.size());
    step.sampled = dp.sampled;
    if (dp.pairs.empty()) {
      r.stop_reason = "the network orders every pair like the target";
      r.steps.push_back(step);
      break;
    }
    for (size_t c = 0; c < pool.size(); ++c)
      if (!used[c]) step.ranking.push_back({pool[c], ado_on_pairs(pool_test[c], t_test, w_test, dp.pairs).ado});
    std::stable_sort(step.ranking.begin(), step.ranking.end(),
                     [](const AdoCandidate& a, const AdoCandidate& b) { return a.ado_on_pairs > b.ado_on_pairs; });
    const AdoCandidate best = step.ranking.front();
    r.steps.push_back(step);
    used[static_cast<size_t>(std::find(pool.begin(), pool.end(), best.name) - pool.begin())] = true;
    features.push_back(best.name);
    step = AdoSearchStep{};
    step.added = best.name;
    step.ado_on_pairs = best.ado_on_pairs;
    step.features = features;
  }
  progress.finish();
  return r;
}

nlohmann::json AdoSearchResult::to_json() const {
  nlohmann::json j;
  j["target"] = target;
  j["target_auc"] = target_auc;
  j["base"] = base;
  j["train_events"] = train_events;
  j["test_events"] = test_events;
  j["stop_reason"] = stop_reason;
  j["constant_candidates"] = constant_candidates;
  j["options"] = {{"arch", options.arch},
                  {"activation", options.activation},
                  {"epochs", options.epochs},
                  {"patience", options.patience},
                  {"train_fraction", options.train_fraction},
                  {"max_pairs", options.max_pairs},
                  {"max_steps", options.max_steps},
                  {"margin", options.margin},
                  {"seed", options.seed}};
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : this->steps) {
    nlohmann::json o;
    o["added"] = s.added.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.added);
    o["auc"] = s.auc;
    o["ado"] = s.ado;
    o["ado_on_pairs"] = s.added.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.ado_on_pairs);
    o["features"] = s.features;
    o["disordered_pairs"] = s.disordered_pairs;
    o["pairs_used"] = s.pairs_used;
    o["pairs_sampled"] = s.sampled;
    nlohmann::json rk = nlohmann::json::array();
    for (size_t k = 0; k < s.ranking.size() && k < 10; ++k)
      rk.push_back({{"name", s.ranking[k].name}, {"ado_on_pairs", s.ranking[k].ado_on_pairs}});
    o["next_candidates"] = rk;
    steps.push_back(o);
  }
  j["steps"] = steps;
  return j;
}

std::string AdoSearchResult::table() const {
  std::string out =
      fmt::format("ADO guided search: target {} (AUC {:.4f}); networks {} trained on {} events, measured on {}\n\n",
                  target, target_auc, options.arch, train_events, test_events);
  const std::string b = base_label(base);
  std::vector<std::string> cumulative;  // the additions column of each row
  std::string adds;
  size_t wa = 9, wb = std::max<size_t>(4, b.size());
  for (const auto& s : steps) {
    if (!s.added.empty()) adds += (adds.empty() ? "+" : " +") + s.added;
    cumulative.push_back(adds);
    wa = std::max(wa, adds.size());
  }
  wb = std::max(wb, target.size());
  out += fmt::format("  {:<{}} {:<{}} {:>7} {:>12}   {}\n", "Base", wb, "Additions", wa, "AUC", "ADO[target]",
                     "disordered pairs (used to pick the next)");
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    adds = cumulative[i];
    std::string pairs =
        s.pairs_used == 0 ? std::string("-")
                          : fmt::format("{} ({}{})", s.disordered_pairs, s.pairs_used, s.sampled ? " sampled" : " all");
    out += fmt::format("  {:<{}} {:<{}} {:>7.4f} {:>12.4f}   {}\n", b, wb, adds.empty() ? "-" : adds, wa, s.auc, s.ado,
                       pairs);
  }
  out += fmt::format("  {:<{}} {:<{}} {:>7.4f} {:>12}\n", target, wb, "", wa, target_auc, "1");
  out += "\n  stopped: " + stop_reason + "\n";
  if (!constant_candidates.empty())
    out += fmt::format("  skipped {} constant candidate(s): {}\n", constant_candidates.size(),
                       fmt::join(constant_candidates, ", "));
  for (size_t i = 1; i < steps.size(); ++i)
    out += fmt::format("  step {}: {} had ADO {:.4f} against the target on the pairs the previous network disordered\n",
                       i, steps[i].added, steps[i].ado_on_pairs);
  return out;
}

namespace {
AdoSearchResult search_on(const Network* model, const Events& events, const AdoSearchOptions& o) {
  if (o.target.empty()) throw Error("ADO search needs a target discriminant (a data column or a neuron)");
  if (o.base.empty()) throw Error("ADO search needs at least one base observable");
  events.require_labels("ado search");
  const Dataset& data = events.data();
  const std::vector<double> target = column_or_neuron(model, events, o.target);
  std::vector<std::string> pool = o.pool;
  if (pool.empty())
    for (const auto& c : data.feature_columns())
      if (c != o.target && std::find(o.base.begin(), o.base.end(), c) == o.base.end()) pool.push_back(c);
  for (const std::vector<std::string>* list : {&o.base, static_cast<const std::vector<std::string>*>(&pool)})
    for (const auto& n : *list) {
      const Tensor& t = data.get(n);
      for (Index i = 0; i < t.size(); ++i)
        if (!std::isfinite(t[i]))
          throw Error(fmt::format("{}: column '{}' has {} at event {}; the ADO search does not accept NaN or Inf",
                                  data.source, n, format_double(t[i]), i / t.per_event() + 1));
    }
  return ado_search(data, target, o.target, o.base, pool, o);
}
}  // namespace

AdoSearchResult ado_search(const Network& model, const Events& events, const AdoSearchOptions& o) {
  return search_on(&model, events, o);
}
AdoSearchResult ado_search(const Events& events, const AdoSearchOptions& o) { return search_on(nullptr, events, o); }

}  // namespace unbox
