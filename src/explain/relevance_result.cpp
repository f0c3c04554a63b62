// The results of `lrp` and `attribute` on events: per-event scores, conservation or
// completeness, aggregation (mean normalized relevance, profiles, maps) and mean +- std over
// trainings; their tables and JSON (what the CLI prints).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/explain/attribute.hpp"
#include "unbox/explain/fingerprint.hpp"
#include "unbox/explain/lrp.hpp"

namespace unbox {

Dataset score_columns(const std::string& prefix, const std::vector<std::string>& features, const Tensor& scores) {
  Dataset out;
  const Index n = scores.dim(0);
  for (size_t j = 0; j < features.size(); ++j) {
    Tensor c({n});
    for (Index e = 0; e < n; ++e) c[e] = scores.at(e, static_cast<Index>(j));
    out.add(prefix + features[j], std::move(c));
  }
  return out;
}

std::vector<std::string> event_feature_names(const Events& events) {
  std::vector<std::string> names;
  for (size_t k = 0; k < events.inputs().size(); ++k)
    names.insert(names.end(), events.feature_names(k).begin(), events.feature_names(k).end());
  return names;
}

namespace {

std::vector<double> checked_labels(const Events& events, const char* method) {
  if (!events.has_labels()) return {};
  events.require_labels(method);
  return events.labels();
}

void check_profiles(const AggregateSummary& s, const std::vector<std::string>& profiles) {
  for (const auto& f : profiles) (void)s.profile_table(f);  // unknown names fail before any output
}

std::string target_note(const Network& net, const std::string& neuron) {
  std::string note;
  if (neuron.empty())
    (void)default_target(net, &note);
  else
    note = fmt::format("target: {}", neuron);
  return note;
}

}  // namespace

// ---- merge states ------------------------------------------------------------------

void LrpBounds::merge(const LrpBounds& o) {
  if (range.empty()) {
    range = o.range;
    return;
  }
  for (auto& [node, lh] : range) {
    const auto it = o.range.find(node);
    if (it == o.range.end() || it->second.first.size() != lh.first.size())
      throw Error(fmt::format("LRP: merging zbox ranges of different layers ('{}')", node));
    for (size_t j = 0; j < lh.first.size(); ++j) {
      lh.first[j] = std::min(lh.first[j], it->second.first[j]);
      lh.second[j] = std::max(lh.second[j], it->second.second[j]);
    }
  }
}

nlohmann::json LrpBounds::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, lh] : range) j[node] = {{"low", lh.first}, {"high", lh.second}};
  return j;
}

LrpBounds LrpBounds::from_json(const nlohmann::json& j) {
  LrpBounds b;
  for (auto it = j.begin(); it != j.end(); ++it)
    b.range[it.key()] = {it.value().at("low").get<std::vector<double>>(),
                         it.value().at("high").get<std::vector<double>>()};
  return b;
}

namespace {
// FNV-1a over the bytes of some doubles (what a merge key compares instead of the values).
std::string values_fingerprint(const std::vector<const std::vector<double>*>& values) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const auto* v : values) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(v->data());
    for (size_t i = 0; i < v->size() * sizeof(double); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    h = (h ^ 0xffU) * 1099511628211ULL;  // a separator: [a][b] and [a, b] differ
  }
  return fmt::format("fnv1a64:{:016x}", h);
}
}  // namespace

std::string LrpBounds::fingerprint() const {
  if (range.empty()) return "";
  std::vector<const std::vector<double>*> v;
  for (const auto& [node, lh] : range) v.push_back(&lh.first), v.push_back(&lh.second);
  return values_fingerprint(v);
}

void ConservationAccumulator::add(const LrpRelevance& r) {
  for (size_t e = 0; e < r.output.size(); ++e) {
    abs_error += std::abs(r.output[e] - r.input_sum[e]);
    abs_bias += std::abs(r.bias[e]);
    abs_epsilon += std::abs(r.epsilon[e]);
    abs_other += std::abs(r.other[e]);
    output += r.output[e];
    max_abs_unexplained =
        std::max(max_abs_unexplained, std::abs(r.output[e] - r.input_sum[e] - r.bias[e] - r.epsilon[e] - r.other[e]));
  }
  events += static_cast<double>(r.output.size());
}

void ConservationAccumulator::merge(const ConservationAccumulator& o) {
  events += o.events, abs_error += o.abs_error, abs_bias += o.abs_bias, abs_epsilon += o.abs_epsilon;
  abs_other += o.abs_other, output += o.output;
  max_abs_unexplained = std::max(max_abs_unexplained, o.max_abs_unexplained);
}

ConservationSummary ConservationAccumulator::finish() const {
  ConservationSummary c;
  if (events == 0) return c;
  c.mean_abs_error = abs_error / events, c.mean_abs_bias = abs_bias / events;
  c.mean_abs_epsilon = abs_epsilon / events, c.mean_abs_other = abs_other / events, c.mean_output = output / events;
  c.max_abs_unexplained = max_abs_unexplained;
  return c;
}

nlohmann::json ConservationAccumulator::to_json() const {
  return {{"events", events},
          {"abs_error", abs_error},
          {"abs_bias", abs_bias},
          {"abs_epsilon", abs_epsilon},
          {"abs_other", abs_other},
          {"output", output},
          {"max_abs_unexplained", max_abs_unexplained}};
}

ConservationAccumulator ConservationAccumulator::from_json(const nlohmann::json& j) {
  ConservationAccumulator c;
  c.events = j.at("events").get<double>();
  c.abs_error = j.at("abs_error").get<double>();
  c.abs_bias = j.at("abs_bias").get<double>();
  c.abs_epsilon = j.at("abs_epsilon").get<double>();
  c.abs_other = j.at("abs_other").get<double>();
  c.output = j.at("output").get<double>();
  c.max_abs_unexplained = j.at("max_abs_unexplained").get<double>();
  return c;
}

namespace {
// The per-model means of a result from its sums (no profiles).
std::vector<Aggregation> means_of(const std::vector<std::string>& features,
                                  const std::vector<RelevanceAccumulator>& sums) {
  std::vector<Aggregation> out;
  for (const auto& acc : sums) {
    Aggregation a;
    a.features = features;
    acc.finish(a);
    out.push_back(std::move(a));
  }
  return out;
}

// The first entry of two merge keys that differs: Error naming it.
void same_keys(const char* method, const nlohmann::json& a, const nlohmann::json& b, const char* hint = "") {
  for (auto it = a.begin(); it != a.end(); ++it)
    if (!b.contains(it.key()) || b[it.key()] != it.value()) {
      std::string x = it.value().dump(), y = b.contains(it.key()) ? b[it.key()].dump() : "absent";
      if (x.size() > 120) x = x.substr(0, 117) + "...";
      if (y.size() > 120) y = y.substr(0, 117) + "...";
      throw Error(fmt::format("{}: cannot merge results with different '{}' ({} vs {}){}", method, it.key(), x, y,
                              it.key().find("data") != std::string::npos ? hint : ""));
    }
}
}  // namespace

// ---- LRP ---------------------------------------------------------------------------

namespace {
nlohmann::json lrp_key(const LrpResult& r) {
  std::vector<std::string> zbox;
  for (const auto& b : r.bounds) zbox.push_back(b.fingerprint());
  return {{"target", r.target},
          {"composite", r.composite},
          {"layer_rules", r.layer_rules},
          {"epsilon", r.epsilon},
          {"canonized", r.canonized},
          {"features", r.summary.mean.features},
          {"classes", !r.sums.empty() && r.sums.front().classes},
          {"models", r.fingerprints},
          {"zbox_data_range", zbox}};
}

void finish_lrp(LrpResult& r) {
  r.per_model = means_of(r.summary.mean.features, r.sums);
  r.conservation.clear();
  for (const auto& c : r.conservation_sums) r.conservation.push_back(c.finish());
  r.summary = unbox::combine(r.per_model);
}
}  // namespace

LrpResult lrp_part(const Network& model, const Events& events, const LrpOptions& o) {
  events.check_model(model, "LRP");
  LrpResult r;
  r.note = target_note(model, o.neuron);
  LrpRelevance rel = lrp(model, events.inputs(), o);
  const auto names = event_feature_names(events);
  if (names.size() == rel.features.size()) rel.features = names;
  r.target = rel.target;
  r.composite = o.composite.name;
  r.models = {"model"};
  r.layer_rules = rel.layer_rules;
  r.epsilon = o.epsilon;
  r.canonized = o.canonize;
  r.events = events.size();
  r.rows = o.rows;
  r.streamed = true;
  const std::vector<double> labels = checked_labels(events, "LRP");
  RelevanceAccumulator acc(rel.features, !labels.empty());
  acc.add(rel.relevance.data(), rel.relevance.events(), labels.empty() ? nullptr : labels.data());
  r.sums = {std::move(acc)};
  ConservationAccumulator c;
  c.add(rel);
  r.conservation_sums = {c};
  r.fingerprints = {network_fingerprint(model)};
  r.bounds = {rel.bounds};
  r.summary.mean.features = rel.features;
  finish_lrp(r);
  return r;
}

void merge(LrpResult& into, const LrpResult& later) {
  same_keys("lrp", lrp_key(into), lrp_key(later),
            ": the zbox rule reads the data range, which differs between the parts; merge runs given the same "
            "range, or use rules without zbox (e.g. the epsilon rule alone)");
  for (size_t k = 0; k < into.sums.size(); ++k) {
    into.sums[k].merge(later.sums[k]);
    into.conservation_sums[k].merge(later.conservation_sums[k]);
  }
  into.events += later.events;
  into.streamed = true;
  into.relevance = LrpRelevance();
  into.labels.clear();
  finish_lrp(into);
}

LrpResult lrp(const Network& model, const Events& events, const LrpOptions& o) {
  events.check_model(model, "LRP");
  LrpResult r;
  r.note = target_note(model, o.neuron);
  r.relevance = lrp(model, events.inputs(), o);
  const auto names = event_feature_names(events);
  if (names.size() == r.relevance.features.size()) r.relevance.features = names;
  r.target = r.relevance.target;
  r.composite = o.composite.name;
  r.models = {"model"};
  r.layer_rules = r.relevance.layer_rules;
  r.epsilon = o.epsilon;
  r.canonized = o.canonize;
  r.events = events.size();
  r.labels = checked_labels(events, "LRP");
  r.rows = o.rows;
  r.profiles = o.profiles;
  ConservationAccumulator cons;
  cons.add(r.relevance);
  r.conservation_sums = {cons};
  r.conservation = {cons.finish()};
  r.sums.resize(1);
  r.per_model = {aggregate(r.relevance.features, r.relevance.relevance, r.relevance.inputs, r.labels,
                           AggregationOptions{o.bins, o.rows}, r.sums.front())};
  r.fingerprints = {network_fingerprint(model)};
  r.bounds = {r.relevance.bounds};
  r.summary = unbox::combine(r.per_model);
  check_profiles(r.summary, r.profiles);
  return r;
}

LrpResult combine(std::vector<LrpResult> m) {
  if (m.empty()) throw Error("combine: no results");
  LrpResult r = std::move(m.front());
  for (size_t i = 1; i < m.size(); ++i) {
    if (m[i].events != r.events) throw Error("combine: the results are on different events");
    r.models.insert(r.models.end(), m[i].models.begin(), m[i].models.end());
    r.conservation.insert(r.conservation.end(), m[i].conservation.begin(), m[i].conservation.end());
    r.per_model.insert(r.per_model.end(), m[i].per_model.begin(), m[i].per_model.end());
    r.sums.insert(r.sums.end(), m[i].sums.begin(), m[i].sums.end());
    r.conservation_sums.insert(r.conservation_sums.end(), m[i].conservation_sums.begin(), m[i].conservation_sums.end());
    r.fingerprints.insert(r.fingerprints.end(), m[i].fingerprints.begin(), m[i].fingerprints.end());
    r.bounds.insert(r.bounds.end(), m[i].bounds.begin(), m[i].bounds.end());
    r.target = m[i].target, r.layer_rules = m[i].layer_rules, r.note = m[i].note;  // as the last model says
  }
  r.summary = unbox::combine(r.per_model);
  return r;
}

nlohmann::json LrpResult::to_json() const {
  nlohmann::json j = summary.to_json();
  j["method"] = "lrp";
  j["target"] = target;
  j["models"] = models;
  j["composite"] = composite;
  j["layer_rules"] = layer_rules;
  j["epsilon"] = epsilon;
  j["sign_zero"] = "+1 (a zero denominator gets +epsilon; under rule 0 it drops its relevance)";
  j["canonized"] = canonized;
  j["events"] = events;
  j["conservation"] = conservation.front().to_json();
  if (conservation.size() > 1) {
    nlohmann::json per = nlohmann::json::array();
    for (const auto& x : conservation) per.push_back(x.to_json());
    j["conservation_per_model"] = per;
  }
  if (streamed) j["notes"] = {"no profiles: they need quantiles of the whole sample (read whole, in one process)"};
  if (sums.size() != per_model.size()) return j;  // no merge state (built by hand)
  nlohmann::json per = nlohmann::json::array();
  for (size_t k = 0; k < sums.size(); ++k)
    per.push_back({{"relevance", sums[k].to_json()},
                   {"conservation", conservation_sums[k].to_json()},
                   {"zbox", bounds[k].to_json()}});
  j["state"] = {{"method", "lrp"}, {"version", 1}, {"key", lrp_key(*this)},
                {"sums", per},     {"note", note}, {"rows", rows}};
  return j;
}

LrpResult LrpResult::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("state") || !j["state"].is_object() || j["state"].value("method", "") != "lrp")
    throw Error("not an lrp result with a merge state (written by an older unbox?)");
  const auto& st = j["state"];
  LrpResult r;
  try {
    const auto& key = st.at("key");
    r.target = key.at("target").get<std::string>();
    r.composite = key.at("composite").get<std::string>();
    r.layer_rules = key.at("layer_rules").get<std::vector<std::string>>();
    r.epsilon = key.at("epsilon").get<double>();
    r.canonized = key.at("canonized").get<bool>();
    const auto features = key.at("features").get<std::vector<std::string>>();
    const bool classes = key.at("classes").get<bool>();
    r.fingerprints = key.at("models").get<std::vector<std::string>>();
    r.models = j.value("models", std::vector<std::string>(r.fingerprints.size(), "model"));
    r.events = j.at("events").get<Index>();
    r.note = st.value("note", std::string());
    r.rows = st.value("rows", Index{15});
    const auto& per = st.at("sums");
    if (per.size() != r.fingerprints.size() || r.models.size() != r.fingerprints.size())
      throw Error(fmt::format("{} models but {} sums", r.fingerprints.size(), per.size()));
    for (const auto& m : per) {
      r.sums.push_back(RelevanceAccumulator::from_json(m.at("relevance"), features, classes));
      r.conservation_sums.push_back(ConservationAccumulator::from_json(m.at("conservation")));
      r.bounds.push_back(LrpBounds::from_json(m.at("zbox")));
    }
    r.summary.mean.features = features;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("a malformed lrp merge state: {}", e.what()));
  }
  r.streamed = true;
  finish_lrp(r);
  return r;
}

std::string LrpResult::table() const {
  const ConservationSummary& c = conservation.front();
  std::string s = fmt::format("{}\nLRP {} on {} events; layers:\n", note, composite, events);
  for (const auto& l : layer_rules) s += fmt::format("  {}\n", l);
  s += fmt::format(
      "conservation (first model): mean output relevance {:.6g}; mean |R_out - sum R_in| {:.3g}, absorbed: bias "
      "{:.3g}, epsilon {:.3g}, other {:.3g}; unexplained (round-off) max {:.2g}\n",
      c.mean_output, c.mean_abs_error, c.mean_abs_bias, c.mean_abs_epsilon, c.mean_abs_other, c.max_abs_unexplained);
  s += summary.table(rows);
  for (const auto& f : profiles) s += fmt::format("\n{}", summary.profile_table(f));
  if (streamed) s += "(no profiles: they need quantiles of the whole sample; read whole, in one process)\n";
  return s;
}

Dataset LrpResult::per_event_dataset() const {
  const LrpRelevance& r = relevance;
  Dataset out = score_columns("R_", r.features, r.relevance);
  out.add("R_output", Tensor({events}, r.output));
  out.add("R_input_sum", Tensor({events}, r.input_sum));
  out.add("R_bias", Tensor({events}, r.bias));
  out.add("R_epsilon", Tensor({events}, r.epsilon));
  out.add("R_other", Tensor({events}, r.other));
  if (!labels.empty()) out.add("label", Tensor({events}, labels));
  return out;
}

// ---- attributions -------------------------------------------------------------------

namespace {
nlohmann::json attribute_key(const AttributionResult& r) {
  nlohmann::json k = {{"method", r.method},
                      {"target", r.target},
                      {"features", r.summary.mean.features},
                      {"classes", !r.sums.empty() && r.sums.front().classes},
                      {"models", r.fingerprints},
                      {"baseline_or_noise_from_data", r.data_keys}};
  if (r.integrated_gradients()) k["baseline"] = r.baseline, k["steps"] = r.steps;
  if (r.method == "smoothgrad") k["samples"] = r.samples, k["noise"] = r.noise, k["seed"] = r.seed;
  return k;
}

std::string data_key(const Attribution& a) {
  std::vector<const std::vector<double>*> v;
  for (const auto& x : a.baseline_values) v.push_back(&x);
  for (const auto& x : a.noise_sigma) v.push_back(&x);
  return v.empty() ? "" : values_fingerprint(v);
}

void finish_attribution(AttributionResult& r) {
  r.per_model = means_of(r.summary.mean.features, r.sums);
  r.summary = unbox::combine(r.per_model);
  r.mean_abs_completeness = r.completeness_events > 0 ? r.completeness_sum / r.completeness_events : 0.0;
}

// Completeness of the first model's events, added to `r`'s (IG).
void add_completeness(AttributionResult& r, const Attribution& a) {
  for (size_t e = 0; e < a.completeness_error.size(); ++e) {
    const double err = std::abs(a.completeness_error[e]);
    r.completeness_sum += err;
    r.max_abs_completeness = std::max(r.max_abs_completeness, err);
    const double scale = std::abs(a.f_x[e] - a.f_baseline[e]) + std::abs(a.f_x[e]);
    if (scale > 0) r.max_relative_completeness = std::max(r.max_relative_completeness, err / scale);
  }
  r.completeness_events += static_cast<double>(a.completeness_error.size());
}
}  // namespace

AttributionResult attribute_part(const Network& model, const Events& events, const AttributeOptions& o) {
  events.check_model(model, "attribute");
  if (o.steps < 1) throw Error(fmt::format("the number of integration points must be positive, got {}", o.steps));
  AttributionResult r;
  r.note = target_note(model, o.neuron);
  Attribution a = attribute(model, events.inputs(), o);
  const auto names = event_feature_names(events);
  if (names.size() == a.features.size()) a.features = names;
  r.method = attribution_method_name(o.method);
  r.target = a.target;
  r.baseline = o.baseline;
  r.models = {"model"};
  r.events = events.size();
  r.steps = o.steps, r.samples = o.samples, r.noise = o.noise, r.seed = o.seed;
  r.rows = o.rows;
  r.streamed = true;
  const std::vector<double> labels = checked_labels(events, "attribute");
  add_completeness(r, a);
  RelevanceAccumulator acc(a.features, !labels.empty());
  acc.add(a.scores.data(), a.scores.events(), labels.empty() ? nullptr : labels.data());
  r.sums = {std::move(acc)};
  r.fingerprints = {network_fingerprint(model)};
  r.data_keys = {data_key(a)};
  r.summary.mean.features = a.features;
  finish_attribution(r);
  return r;
}

void merge(AttributionResult& into, const AttributionResult& later) {
  same_keys("attribute", attribute_key(into), attribute_key(later),
            ": the baseline or noise comes from the data and differs between the parts; merge runs with the zero "
            "baseline, saliency or grad-x-input, or run over all files at once (in chunks or across MPI ranks)");
  for (size_t k = 0; k < into.sums.size(); ++k) into.sums[k].merge(later.sums[k]);
  into.completeness_sum += later.completeness_sum;
  into.completeness_events += later.completeness_events;
  into.max_abs_completeness = std::max(into.max_abs_completeness, later.max_abs_completeness);
  into.max_relative_completeness = std::max(into.max_relative_completeness, later.max_relative_completeness);
  into.events += later.events;
  into.streamed = true;
  into.attribution = Attribution();
  into.labels.clear();
  finish_attribution(into);
}

AttributionResult attribute(const Network& model, const Events& events, const AttributeOptions& o) {
  events.check_model(model, "attribute");
  if (o.steps < 1) throw Error(fmt::format("the number of integration points must be positive, got {}", o.steps));
  AttributionResult r;
  r.note = target_note(model, o.neuron);
  r.attribution = attribute(model, events.inputs(), o);
  Attribution& a = r.attribution;
  const auto names = event_feature_names(events);
  if (names.size() == a.features.size()) a.features = names;
  r.method = attribution_method_name(o.method);
  r.target = a.target;
  r.baseline = o.baseline;
  r.models = {"model"};
  r.events = events.size();
  r.steps = o.steps, r.samples = o.samples, r.noise = o.noise, r.seed = o.seed;
  r.labels = checked_labels(events, "attribute");
  r.rows = o.rows;
  r.profiles = o.profiles;
  for (size_t e = 0; e < a.completeness_error.size(); ++e) {
    const double err = std::abs(a.completeness_error[e]);
    r.mean_abs_completeness += err / static_cast<double>(a.completeness_error.size());
  }
  add_completeness(r, a);
  r.sums.resize(1);
  r.per_model = {aggregate(a.features, a.scores, a.inputs, r.labels, AggregationOptions{o.bins, o.rows}, r.sums[0])};
  r.fingerprints = {network_fingerprint(model)};
  r.data_keys = {data_key(a)};
  r.summary = unbox::combine(r.per_model);
  check_profiles(r.summary, r.profiles);
  return r;
}

AttributionResult combine(std::vector<AttributionResult> m) {
  if (m.empty()) throw Error("combine: no results");
  AttributionResult r = std::move(m.front());
  for (size_t i = 1; i < m.size(); ++i) {
    if (m[i].events != r.events) throw Error("combine: the results are on different events");
    r.models.insert(r.models.end(), m[i].models.begin(), m[i].models.end());
    r.per_model.insert(r.per_model.end(), m[i].per_model.begin(), m[i].per_model.end());
    r.sums.insert(r.sums.end(), m[i].sums.begin(), m[i].sums.end());
    r.fingerprints.insert(r.fingerprints.end(), m[i].fingerprints.begin(), m[i].fingerprints.end());
    r.data_keys.insert(r.data_keys.end(), m[i].data_keys.begin(), m[i].data_keys.end());
    r.target = m[i].target, r.note = m[i].note;
  }
  r.summary = unbox::combine(r.per_model);
  return r;
}

nlohmann::json AttributionResult::to_json() const {
  nlohmann::json j = summary.to_json();
  j["method"] = method;
  j["target"] = target;
  j["models"] = models;
  j["events"] = events;
  nlohmann::json cons{{"applies", integrated_gradients()}};
  if (integrated_gradients()) {
    j["baseline"] = baseline;
    j["steps"] = steps;
    j["quadrature"] = "gauss-legendre";
    cons["mean_abs_error"] = mean_abs_completeness;
    cons["max_abs_error"] = max_abs_completeness;
    cons["max_relative_error"] = max_relative_completeness;
  } else {
    cons["mean_abs_error"] = nullptr;
  }
  // Integrated Gradients' completeness is its conservation: sum of attributions = f(x) - f(baseline).
  j["conservation"] = cons;
  if (method == "smoothgrad") j["samples"] = samples, j["noise"] = noise, j["seed"] = seed;
  if (streamed) j["notes"] = {"no profiles: they need quantiles of the whole sample (read whole, in one process)"};
  if (sums.size() != per_model.size()) return j;  // no merge state (built by hand)
  nlohmann::json per = nlohmann::json::array();
  for (const auto& acc : sums) per.push_back(acc.to_json());
  j["state"] = {{"method", "attribute"},
                {"version", 1},
                {"key", attribute_key(*this)},
                {"sums", per},
                {"completeness",
                 {{"sum", completeness_sum},
                  {"events", completeness_events},
                  {"max_abs", max_abs_completeness},
                  {"max_relative", max_relative_completeness}}},
                {"note", note},
                {"rows", rows}};
  return j;
}

AttributionResult AttributionResult::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("state") || !j["state"].is_object() ||
      j["state"].value("method", "") != "attribute")
    throw Error("not an attribute result with a merge state (written by an older unbox?)");
  const auto& st = j["state"];
  AttributionResult r;
  try {
    const auto& key = st.at("key");
    r.method = key.at("method").get<std::string>();
    r.target = key.at("target").get<std::string>();
    const auto features = key.at("features").get<std::vector<std::string>>();
    const bool classes = key.at("classes").get<bool>();
    r.fingerprints = key.at("models").get<std::vector<std::string>>();
    r.data_keys = key.at("baseline_or_noise_from_data").get<std::vector<std::string>>();
    r.baseline = key.value("baseline", std::string("mean"));
    r.steps = key.value("steps", Index{0});
    r.samples = key.value("samples", Index{0});
    r.noise = key.value("noise", 0.0);
    r.seed = key.value("seed", std::uint64_t{1});
    r.models = j.value("models", std::vector<std::string>(r.fingerprints.size(), "model"));
    r.events = j.at("events").get<Index>();
    r.note = st.value("note", std::string());
    r.rows = st.value("rows", Index{15});
    const auto& c = st.at("completeness");
    r.completeness_sum = c.at("sum").get<double>();
    r.completeness_events = c.at("events").get<double>();
    r.max_abs_completeness = c.at("max_abs").get<double>();
    r.max_relative_completeness = c.at("max_relative").get<double>();
    const auto& per = st.at("sums");
    if (per.size() != r.fingerprints.size() || r.models.size() != r.fingerprints.size() ||
        r.data_keys.size() != r.fingerprints.size())
      throw Error(fmt::format("{} models but {} sums", r.fingerprints.size(), per.size()));
    for (const auto& m : per) r.sums.push_back(RelevanceAccumulator::from_json(m, features, classes));
    r.summary.mean.features = features;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("a malformed attribute merge state: {}", e.what()));
  }
  r.streamed = true;
  finish_attribution(r);
  return r;
}

std::string AttributionResult::table() const {
  std::string s = fmt::format("{}\n{} on {} events", note, method, events);
  if (integrated_gradients())
    s += fmt::format(
        " (baseline {}, {} Gauss-Legendre points); completeness |sum A - (f(x) - f(baseline))|: "
        "mean {:.3g}, max {:.3g}, max relative {:.3g}",
        baseline, steps, mean_abs_completeness, max_abs_completeness, max_relative_completeness);
  s += fmt::format("\n{}", summary.table(rows));
  for (const auto& f : profiles) s += fmt::format("\n{}", summary.profile_table(f));
  if (streamed) s += "(no profiles: they need quantiles of the whole sample; read whole, in one process)\n";
  return s;
}

Dataset AttributionResult::per_event_dataset() const {
  const Attribution& a = attribution;
  Dataset out = score_columns("A_", a.features, a.scores);
  if (!a.completeness_error.empty()) {
    out.add("f_x", Tensor({events}, a.f_x));
    out.add("f_baseline", Tensor({events}, a.f_baseline));
    out.add("completeness_error", Tensor({events}, a.completeness_error));
  }
  if (!labels.empty()) out.add("label", Tensor({events}, labels));
  return out;
}

}  // namespace unbox
