// Aggregations of per-event relevances or attributions (the XAUG poster): mean
// normalized relevance per feature and per class, profiles in bins of the input value,
// average maps for particle lists and images, and mean +- std across several trainings.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <regex>

#include "unbox/explain/lrp.hpp"

namespace unbox {

namespace {
// Layout of a particle list from names p{i}_{q} (all features must match), or of one
// tensor input name[i,j] / name[c,i,j]: rows and columns of the map; empty when neither.
bool map_layout(const std::vector<std::string>& f, std::vector<std::string>& rows, std::vector<std::string>& cols,
                std::vector<Index>& cell) {
  static const std::regex particle(R"(p(\d+)_(\w+))");
  std::smatch m;
  std::vector<int> pi;
  std::vector<std::string> q;
  bool ok = !f.empty();
  for (const auto& n : f) {
    if (!std::regex_match(n, m, particle)) {
      ok = false;
      break;
    }
    pi.push_back(std::stoi(m[1]));
    q.push_back(m[2]);
  }
  if (ok) {
    int np = 0;
    for (int p : pi) np = std::max(np, p + 1);
    for (const auto& s : q)
      if (std::find(cols.begin(), cols.end(), s) == cols.end()) cols.push_back(s);
    for (int p = 0; p < np; ++p) rows.push_back(fmt::format("p{}", p));
    for (size_t i = 0; i < f.size(); ++i)
      cell.push_back(pi[i] * static_cast<Index>(cols.size()) +
                     (std::find(cols.begin(), cols.end(), q[i]) - cols.begin()));
    return true;
  }
  // name[a,b] or name[c,a,b] (summed over c): a tensor input.
  static const std::regex tens(R"((\w+)\[(\d+),(\d+)(?:,(\d+))?\])");
  std::vector<std::array<Index, 2>> ij;
  Index nr = 0, nc = 0;
  for (const auto& n : f) {
    if (!std::regex_match(n, m, tens)) return false;
    Index a = std::stol(m[2]), b = std::stol(m[3]);
    if (m[4].matched) a = b, b = std::stol(m[4]);
    ij.push_back({a, b});
    nr = std::max(nr, a + 1), nc = std::max(nc, b + 1);
  }
  for (Index a = 0; a < nr; ++a) rows.push_back(std::to_string(a));
  for (Index b = 0; b < nc; ++b) cols.push_back(std::to_string(b));
  for (auto& [a, b] : ij) cell.push_back(a * nc + b);
  return true;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  const size_t k = static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}
}  // namespace

RelevanceAccumulator::RelevanceAccumulator(const std::vector<std::string>& features, bool classes)
    : features(static_cast<Index>(features.size())), classes(classes) {
  has_map = map_layout(features, map_rows, map_cols, cell);
  const auto F = static_cast<size_t>(this->features);
  mnr.assign(F, 0.0), mean.assign(F, 0.0);
  if (classes) mnr_class.assign(2, std::vector<double>(F, 0.0));
  if (has_map) map.assign(classes ? 3 : 1, std::vector<double>(map_rows.size() * map_cols.size(), 0.0));
}

void RelevanceAccumulator::add(const double* scores, Index count, const double* labels) {
  const Index F = features;
  for (Index e = 0; e < count; ++e) {
    const double* row = scores + e * F;
    double mx = 0;
    for (Index j = 0; j < F; ++j) mx = std::max(mx, std::abs(row[j]));
    for (Index j = 0; j < F; ++j) mean[static_cast<size_t>(j)] += row[j];
    events += 1;
    if (mx == 0.0) continue;  // an event without relevance has no normalized scores
    used += 1;
    const int c = classes ? static_cast<int>(labels[e]) : -1;
    if (c >= 0) class_events[static_cast<size_t>(c)] += 1;
    for (Index j = 0; j < F; ++j) {
      const double v = std::abs(row[j]) / mx;
      mnr[static_cast<size_t>(j)] += v;
      if (c >= 0) mnr_class[static_cast<size_t>(c)][static_cast<size_t>(j)] += v;
      if (has_map) {
        map[0][static_cast<size_t>(cell[static_cast<size_t>(j)])] += v;
        if (c >= 0) map[static_cast<size_t>(1 + c)][static_cast<size_t>(cell[static_cast<size_t>(j)])] += v;
      }
    }
  }
}

void RelevanceAccumulator::merge(const RelevanceAccumulator& o) {
  if (o.features != features || o.classes != classes || o.has_map != has_map)
    throw Error("relevance aggregation: merging sums over different features");
  auto addv = [](std::vector<double>& a, const std::vector<double>& b) {
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  };
  addv(mnr, o.mnr), addv(mean, o.mean);
  for (size_t c = 0; c < mnr_class.size(); ++c) addv(mnr_class[c], o.mnr_class[c]);
  for (size_t c = 0; c < map.size(); ++c) addv(map[c], o.map[c]);
  events += o.events, used += o.used;
  class_events[0] += o.class_events[0], class_events[1] += o.class_events[1];
}

void RelevanceAccumulator::finish(Aggregation& a) const {
  const auto F = static_cast<size_t>(features);
  a.mnr.assign(F, 0.0), a.mean.assign(F, 0.0);
  a.mnr_class.assign(mnr_class.size(), std::vector<double>(F, 0.0));
  for (size_t j = 0; j < F; ++j) {
    a.mnr[j] = mnr[j] / std::max(used, 1.0);
    a.mean[j] = mean[j] / std::max(events, 1.0);
    for (size_t c = 0; c < mnr_class.size(); ++c) a.mnr_class[c][j] = mnr_class[c][j] / std::max(class_events[c], 1.0);
  }
  a.map_rows = map_rows, a.map_cols = map_cols;
  a.map = map;
  if (has_map) {
    for (auto& v : a.map[0]) v /= std::max(used, 1.0);
    for (size_t c = 1; c < a.map.size(); ++c)
      for (auto& v : a.map[c]) v /= std::max(class_events[c - 1], 1.0);
  }
}

nlohmann::json RelevanceAccumulator::to_json() const {
  nlohmann::json j = {{"mnr", mnr},
                      {"mean", mean},
                      {"events", events},
                      {"used", used},
                      {"class_events", {class_events[0], class_events[1]}}};
  if (classes) j["mnr_class"] = mnr_class;
  if (has_map) j["map"] = map;
  return j;
}

RelevanceAccumulator RelevanceAccumulator::from_json(const nlohmann::json& j, const std::vector<std::string>& features,
                                                     bool classes) {
  RelevanceAccumulator a(features, classes);
  auto read = [](const nlohmann::json& v, std::vector<double>& into, const char* what) {
    auto x = v.get<std::vector<double>>();
    if (x.size() != into.size())
      throw Error(fmt::format("'{}' holds {} sums, {} expected", what, x.size(), into.size()));
    into = std::move(x);
  };
  read(j.at("mnr"), a.mnr, "mnr");
  read(j.at("mean"), a.mean, "mean");
  for (size_t c = 0; c < a.mnr_class.size(); ++c) read(j.at("mnr_class").at(c), a.mnr_class[c], "mnr_class");
  for (size_t c = 0; c < a.map.size(); ++c) read(j.at("map").at(c), a.map[c], "map");
  a.events = j.at("events").get<double>();
  a.used = j.at("used").get<double>();
  a.class_events[0] = j.at("class_events").at(0).get<double>();
  a.class_events[1] = j.at("class_events").at(1).get<double>();
  return a;
}

Aggregation aggregate(const std::vector<std::string>& features, const Tensor& scores, const Tensor& inputs,
                      const std::vector<double>& labels, const AggregationOptions& o) {
  RelevanceAccumulator sums;
  return aggregate(features, scores, inputs, labels, o, sums);
}

Aggregation aggregate(const std::vector<std::string>& features, const Tensor& scores, const Tensor& inputs,
                      const std::vector<double>& labels, const AggregationOptions& o, RelevanceAccumulator& acc) {
  const Index N = scores.events(), F = scores.per_event();
  if (static_cast<Index>(features.size()) != F) throw Error("aggregate: feature names do not match the scores");
  if (!labels.empty() && static_cast<Index>(labels.size()) != N) throw Error("aggregate: labels do not match events");
  Aggregation a;
  a.features = features;
  acc = RelevanceAccumulator(features, !labels.empty());
  acc.add(scores.data(), N, labels.empty() ? nullptr : labels.data());
  acc.finish(a);
  // Profiles: equal-width bins between the 1% and 99% quantiles of the input (outliers go
  // to the end bins), mean signed score per bin.
  const Index bins = std::max<Index>(1, o.bins);
  a.profile_edges.resize(static_cast<size_t>(F));
  a.profile_mean.resize(static_cast<size_t>(F));
  a.profile_count.resize(static_cast<size_t>(F));
  std::vector<double> col(static_cast<size_t>(N));
  for (Index j = 0; j < F; ++j) {
    for (Index e = 0; e < N; ++e) col[static_cast<size_t>(e)] = inputs[e * F + j];
    const double lo = quantile(col, 0.01), hi = quantile(col, 0.99);
    auto& edges = a.profile_edges[static_cast<size_t>(j)];
    auto& mean = a.profile_mean[static_cast<size_t>(j)];
    auto& count = a.profile_count[static_cast<size_t>(j)];
    edges.resize(static_cast<size_t>(bins + 1));
    for (Index b = 0; b <= bins; ++b)
      edges[static_cast<size_t>(b)] = lo + (hi - lo) * static_cast<double>(b) / static_cast<double>(bins);
    mean.assign(static_cast<size_t>(bins), 0.0);
    count.assign(static_cast<size_t>(bins), 0.0);
    for (Index e = 0; e < N; ++e) {
      const double x = col[static_cast<size_t>(e)];
      Index b = hi > lo ? static_cast<Index>(std::floor((x - lo) / (hi - lo) * static_cast<double>(bins))) : 0;
      b = std::clamp<Index>(b, 0, bins - 1);
      mean[static_cast<size_t>(b)] += scores[e * F + j];
      count[static_cast<size_t>(b)] += 1;
    }
    for (Index b = 0; b < bins; ++b)
      if (count[static_cast<size_t>(b)] > 0) mean[static_cast<size_t>(b)] /= count[static_cast<size_t>(b)];
  }
  return a;
}

namespace {
void combine_vec(const std::vector<const std::vector<double>*>& v, std::vector<double>& mean, std::vector<double>& sd) {
  const size_t n = v.front()->size();
  mean.assign(n, 0.0);
  sd.assign(v.size() > 1 ? n : 0, 0.0);
  for (const auto* x : v) {
    if (x->size() != n) throw Error("the models' aggregations differ in size: are they the same architecture?");
    for (size_t i = 0; i < n; ++i) mean[i] += (*x)[i];
  }
  for (size_t i = 0; i < n; ++i) mean[i] /= static_cast<double>(v.size());
  if (v.size() < 2) return;
  for (const auto* x : v)
    for (size_t i = 0; i < n; ++i) sd[i] += ((*x)[i] - mean[i]) * ((*x)[i] - mean[i]);
  for (size_t i = 0; i < n; ++i) sd[i] = std::sqrt(sd[i] / static_cast<double>(v.size() - 1));
}

void combine_nested(const std::vector<Aggregation>& m, std::vector<std::vector<double>> Aggregation::*field,
                    Aggregation& mean, Aggregation& sd) {
  const size_t k = (m.front().*field).size();
  (mean.*field).resize(k);
  (sd.*field).resize(m.size() > 1 ? k : 0);
  for (size_t i = 0; i < k; ++i) {
    std::vector<const std::vector<double>*> v;
    for (const auto& a : m) {
      if ((a.*field).size() != k)
        throw Error("the models' aggregations differ in size: are they the same architecture?");
      v.push_back(&(a.*field)[i]);
    }
    std::vector<double> s;
    combine_vec(v, (mean.*field)[i], s);
    if (m.size() > 1) (sd.*field)[i] = s;
  }
}
}  // namespace

AggregateSummary combine(const std::vector<Aggregation>& m) {
  if (m.empty()) throw Error("combine: no models");
  for (const auto& a : m)
    if (a.features != m.front().features) throw Error("the models read different input features");
  AggregateSummary s;
  s.models = static_cast<Index>(m.size());
  s.mean.features = s.std.features = m.front().features;
  s.mean.map_rows = s.std.map_rows = m.front().map_rows;
  s.mean.map_cols = s.std.map_cols = m.front().map_cols;
  std::vector<const std::vector<double>*> v;
  for (const auto& a : m) v.push_back(&a.mnr);
  combine_vec(v, s.mean.mnr, s.std.mnr);
  v.clear();
  for (const auto& a : m) v.push_back(&a.mean);
  combine_vec(v, s.mean.mean, s.std.mean);
  combine_nested(m, &Aggregation::mnr_class, s.mean, s.std);
  combine_nested(m, &Aggregation::profile_mean, s.mean, s.std);
  combine_nested(m, &Aggregation::map, s.mean, s.std);
  // Edges and counts: the first model's (the data are the same).
  s.mean.profile_edges = m.front().profile_edges;
  s.mean.profile_count = m.front().profile_count;
  return s;
}

double mnr_share(const Aggregation& a, const std::string& prefix) {
  double tot = 0, part = 0;
  for (size_t j = 0; j < a.features.size(); ++j) {
    tot += a.mnr[j];
    if (a.features[j].rfind(prefix, 0) == 0) part += a.mnr[j];
  }
  return tot > 0 ? part / tot : 0.0;
}

std::string AggregateSummary::table(Index rows) const {
  const size_t F = mean.features.size();
  std::vector<size_t> order(F);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mean.mnr[a] > mean.mnr[b]; });
  const size_t n = rows <= 0 ? F : std::min(F, static_cast<size_t>(rows));
  size_t w = 7;
  for (size_t i = 0; i < n; ++i) w = std::max(w, mean.features[order[i]].size());
  std::string out = fmt::format("mean normalized relevance{} ({} of {} features):\n",
                                models > 1 ? fmt::format(" (mean +- std over {} models)", models) : "", n, F);
  out += fmt::format("  {:>4}  {:<{}}  {:>10}{}", "rank", "feature", w, "MNR",
                     models > 1 ? fmt::format("  {:>9}", "std") : "");
  const bool cls = mean.mnr_class.size() == 2;
  if (cls) out += fmt::format("  {:>10}  {:>10}", "MNR(sig)", "MNR(bkg)");
  out += fmt::format("  {:>11}\n", "mean score");
  for (size_t i = 0; i < n; ++i) {
    const size_t j = order[i];
    out += fmt::format("  {:>4}  {:<{}}  {:>10.4f}", i + 1, mean.features[j], w, mean.mnr[j]);
    if (models > 1) out += fmt::format("  {:>9.4f}", std.mnr[j]);
    if (cls) out += fmt::format("  {:>10.4f}  {:>10.4f}", mean.mnr_class[1][j], mean.mnr_class[0][j]);
    out += fmt::format("  {:>11.4g}\n", mean.mean[j]);
  }
  return out;
}

std::string AggregateSummary::profile_table(const std::string& feature) const {
  const auto it = std::find(mean.features.begin(), mean.features.end(), feature);
  if (it == mean.features.end()) {
    std::string some;
    for (size_t i = 0; i < std::min<size_t>(5, mean.features.size()); ++i) some += (i ? ", " : "") + mean.features[i];
    throw Error(fmt::format("no input feature '{}' for a profile; the inputs are {}{}", feature, some,
                            mean.features.size() > 5 ? ", ..." : ""));
  }
  const size_t j = static_cast<size_t>(it - mean.features.begin());
  if (mean.profile_edges.size() != mean.features.size())
    throw Error(
        "no profiles: they need quantiles of the whole sample, and this result was computed chunk by chunk, "
        "across ranks or merged (run on the events read whole, in one process, for profiles)");
  const auto& e = mean.profile_edges[j];
  std::string out = fmt::format("profile of {} (mean score per bin of its value{}):\n", feature,
                                models > 1 ? ", +- std across models" : "");
  out += fmt::format("  {:>12}  {:>12}  {:>8}  {:>12}{}\n", "from", "to", "events", "mean score",
                     models > 1 ? fmt::format("  {:>10}", "std") : "");
  for (size_t b = 0; b + 1 < e.size(); ++b) {
    out += fmt::format("  {:>12.5g}  {:>12.5g}  {:>8}  {:>12.5g}", e[b], e[b + 1], mean.profile_count[j][b],
                       mean.profile_mean[j][b]);
    if (models > 1) out += fmt::format("  {:>10.4g}", std.profile_mean[j][b]);
    out += "\n";
  }
  return out;
}

nlohmann::json AggregateSummary::to_json() const {
  nlohmann::json j;
  j["models"] = models;
  nlohmann::json mnr = nlohmann::json::object(), mnr_std = nlohmann::json::object();
  for (size_t i = 0; i < mean.features.size(); ++i) {
    mnr[mean.features[i]] = mean.mnr[i];
    if (models > 1) mnr_std[mean.features[i]] = std.mnr[i];
  }
  j["mean_normalized_relevance"] = mnr;
  if (models > 1) j["mean_normalized_relevance_std"] = mnr_std;
  if (mean.mnr_class.size() == 2) {
    nlohmann::json pc = nlohmann::json::object();
    for (int c = 0; c < 2; ++c) {
      nlohmann::json o = nlohmann::json::object(), os = nlohmann::json::object();
      for (size_t i = 0; i < mean.features.size(); ++i) {
        o[mean.features[i]] = mean.mnr_class[static_cast<size_t>(c)][i];
        if (models > 1) os[mean.features[i]] = std.mnr_class[static_cast<size_t>(c)][i];
      }
      pc[c == 1 ? "signal" : "background"] = models > 1 ? nlohmann::json{{"mean", o}, {"std", os}} : o;
    }
    j["mean_normalized_relevance_per_class"] = pc;
  }
  nlohmann::json ms = nlohmann::json::object();
  for (size_t i = 0; i < mean.features.size(); ++i) ms[mean.features[i]] = mean.mean[i];
  j["mean_relevance"] = ms;
  nlohmann::json prof = nlohmann::json::object();
  for (size_t i = 0; i < mean.features.size() && mean.profile_edges.size() == mean.features.size(); ++i) {
    nlohmann::json p{
        {"edges", mean.profile_edges[i]}, {"mean", mean.profile_mean[i]}, {"count", mean.profile_count[i]}};
    if (models > 1) p["std"] = std.profile_mean[i];
    prof[mean.features[i]] = p;
  }
  j["profiles"] = prof;
  if (!mean.map.empty()) {
    nlohmann::json m{{"rows", mean.map_rows}, {"cols", mean.map_cols}, {"all", mean.map[0]}};
    if (mean.map.size() == 3) m["signal"] = mean.map[2], m["background"] = mean.map[1];
    if (models > 1) m["std_all"] = std.map[0];
    j["map"] = m;
  }
  return j;
}

}  // namespace unbox
