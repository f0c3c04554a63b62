// Classifier performance of a score (see eval.hpp).
#include "unbox/explain/eval.hpp"

#include <fmt/format.h>

#include <cmath>

#include "unbox/explain/fingerprint.hpp"

namespace unbox {

void EvalAccumulator::add(const double* labels, const double* weights, Index count) {
  for (Index i = 0; i < count; ++i) {
    const double w = weights ? weights[i] : 1.0;
    if (labels[i] == 1.0) {
      ++n_signal;
      sum_w_signal += w;
    } else {
      ++n_background;
      sum_w_background += w;
    }
  }
}

void EvalAccumulator::merge(const EvalAccumulator& o) {
  n_signal += o.n_signal, n_background += o.n_background;
  sum_w_signal += o.sum_w_signal, sum_w_background += o.sum_w_background;
}

namespace {

// The part of eval that events give: counts, the sorted run and the options (no metrics).
EvalResult part_of(std::span<const double> scores, const Events& events, const std::string& score_name,
                   const EvalMetricsOptions& o) {
  events.require_labels("eval");
  const std::vector<double> labels = events.labels();
  const std::vector<double> weights = events.weights();
  if (scores.size() != labels.size()) throw Error("eval: one score per event is needed");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      throw Error(fmt::format("'{}': weight column '{}' is {} at event {} (expected a finite number)",
                              events.data().source, events.data().weight_column.value_or("weight"), weights[i], i + 1));
  EvalResult r;
  r.score_name = score_name;
  r.source = events.data().source;
  r.weighted = events.has_weights();
  r.lumi = o.lumi;
  r.br = o.br;
  r.background_efficiencies = o.background_efficiencies;
  r.complete = false;  // no metrics until finish()
  r.counts.add(labels.data(), weights.data(), static_cast<Index>(labels.size()));
  r.run =
      ScoreRun::sort(scores, labels, r.weighted ? std::span<const double>(weights) : std::span<const double>(), "AUC");
  return r;
}

}  // namespace

void finish(EvalResult& r, bool partial) {
  r.complete = r.counts.n_signal > 0 && r.counts.n_background > 0;
  if (!r.complete && partial) {
    r.notes = {fmt::format("'{}' has {} signal and {} background events: no metrics, a part for unbox merge", r.source,
                           r.counts.n_signal, r.counts.n_background)};
    return;
  }
  if (!r.complete)
    throw Error(fmt::format("'{}' has {} signal and {} background events; AUC needs both signal and background events",
                            r.source, r.counts.n_signal, r.counts.n_background));
  r.auc = auc(r.run);
  r.roc = roc_curve(r.run);
  r.signal_efficiencies.clear();
  for (double e : r.background_efficiencies) r.signal_efficiencies.push_back(sig_eff_at_bkg_eff(r.roc, e));
  if (r.weighted) r.ams = ams_scan(r.run, r.lumi, r.br);
  // A tanh (or sigmoid) output saturates to exactly +-1 (0, 1) in double precision, and the
  // saturated events become ties: say so, since AUC and cut scans then lose resolution.
  r.notes.clear();
  if (r.saturated > 0)
    r.notes.push_back(
        fmt::format("{} events saturate the {} output at exactly {} (ties); the neuron output:pre "
                    "ranks them by the value before the activation",
                    r.saturated, r.saturation, r.saturation == "tanh" ? "+-1" : "0 or 1"));
}

EvalResult eval_scores(std::span<const double> scores, const Events& events, const std::string& score_name,
                       const EvalMetricsOptions& o) {
  EvalResult r = part_of(scores, events, score_name, o);
  finish(r);
  return r;
}

EvalResult eval_part(const Network* model, const Events& events, const EvalMetricsOptions& o) {
  if (!model && o.score.empty()) throw Error("nothing to evaluate: name a score column (or give a model)");
  const std::string name = o.score.empty() ? o.neuron : o.score;
  const std::vector<double> scores = column_or_neuron(model, events, name, o.batch);
  EvalResult r = part_of(scores, events, name, o);
  if (!model || !o.score.empty()) return r;
  r.model = network_fingerprint(*model);
  const Node& out = model->node(model->output_node());
  if (name == "output" && out.op && (out.op->type() == "Tanh" || out.op->type() == "Sigmoid")) {
    const bool tanh_out = out.op->type() == "Tanh";
    r.saturation = tanh_out ? "tanh" : "sigmoid";
    for (double v : scores) r.saturated += tanh_out ? std::abs(v) == 1.0 : (v == 0.0 || v == 1.0);
  }
  return r;
}

EvalResult eval(const Network& model, const Events& events, const EvalMetricsOptions& o) {
  ProgressCounter progress(o.progress, 2);  // the scores, then the metrics
  EvalResult r = eval_part(&model, events, o);
  progress.add(1);
  finish(r);
  progress.finish();
  return r;
}

EvalResult eval(const Events& events, const EvalMetricsOptions& o) {
  ProgressCounter progress(o.progress, 2);  // the scores, then the metrics
  EvalResult r = eval_part(nullptr, events, o);
  progress.add(1);
  finish(r);
  progress.finish();
  return r;
}

namespace {
nlohmann::json merge_key(const EvalResult& r) {
  return {{"score", r.score_name},
          {"weighted", r.weighted},
          {"lumi", r.lumi},
          {"br", r.br},
          {"background_efficiencies", r.background_efficiencies},
          {"model", r.model},
          {"saturation", r.saturation}};
}
}  // namespace

void merge(EvalResult& into, const EvalResult& later) {
  const nlohmann::json a = merge_key(into), b = merge_key(later);
  for (auto it = a.begin(); it != a.end(); ++it)
    if (b[it.key()] != it.value())
      throw Error(fmt::format("eval: cannot merge results with different {} ({} and {})", it.key(), it.value().dump(),
                              b[it.key()].dump()));
  into.counts.merge(later.counts);
  into.run.merge(later.run);
  into.saturated += later.saturated;
  if (later.source != into.source) into.source += "," + later.source;
}

EvalResult merge(std::vector<EvalResult> parts) {
  if (parts.empty()) throw Error("eval: nothing to merge");
  // Neighbours merged pairwise, level by level: the order of the events is kept (earlier
  // parts first) and each event is copied log2(parts) times, not once per part.
  while (parts.size() > 1) {
    std::vector<EvalResult> next;
    for (size_t i = 0; i < parts.size(); i += 2) {
      if (i + 1 < parts.size()) merge(parts[i], parts[i + 1]);
      next.push_back(std::move(parts[i]));
    }
    parts = std::move(next);
  }
  return std::move(parts.front());
}

nlohmann::json EvalResult::to_json(bool state) const {
  nlohmann::json j;
  j["score"] = score_name;
  j["auc"] = complete ? nlohmann::json(auc) : nlohmann::json(nullptr);
  j["n_signal"] = counts.n_signal;
  j["n_background"] = counts.n_background;
  j["sum_w_signal"] = counts.sum_w_signal;
  j["sum_w_background"] = counts.sum_w_background;
  nlohmann::json eff = nlohmann::json::object();
  for (size_t k = 0; k < background_efficiencies.size() && complete; ++k)
    eff[fmt::format("{}", background_efficiencies[k])] = signal_efficiencies[k];
  j["sig_eff_at_bkg_eff"] = eff;
  if (!complete && !notes.empty()) j["notes"] = notes;
  if (weighted && complete)
    j["ams"] = {{"best", ams.best}, {"threshold", ams.threshold}, {"s", ams.s}, {"b", ams.b}, {"lumi", lumi},
                {"br", br}};
  if (!state) return j;
  std::string labels(run.size(), '0');
  for (size_t i = 0; i < run.size(); ++i) labels[i] = run.labels[i] ? '1' : '0';
  nlohmann::json jr = {{"scores", run.scores}, {"labels", std::move(labels)}};
  if (weighted) jr["weights"] = run.weights;
  j["state"] = {{"method", "eval"},
                {"version", 1},
                {"key", merge_key(*this)},
                {"source", source},
                {"counts",
                 {{"n_signal", counts.n_signal},
                  {"n_background", counts.n_background},
                  {"sum_w_signal", counts.sum_w_signal},
                  {"sum_w_background", counts.sum_w_background}}},
                {"saturated", saturated},
                {"run", std::move(jr)}};
  return j;
}

EvalResult EvalResult::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("state") || !j["state"].is_object() || j["state"].value("method", "") != "eval")
    throw Error(
        "not an eval result with a merge state (written by an older unbox, or a printed summary without the state?)");
  const auto& st = j["state"];
  EvalResult r;
  try {
    const auto& key = st.at("key");
    r.score_name = key.at("score").get<std::string>();
    r.weighted = key.at("weighted").get<bool>();
    r.lumi = key.at("lumi").get<double>();
    r.br = key.at("br").get<double>();
    r.background_efficiencies = key.at("background_efficiencies").get<std::vector<double>>();
    r.model = key.at("model").get<std::string>();
    r.saturation = key.at("saturation").get<std::string>();
    r.source = st.value("source", std::string());
    const auto& c = st.at("counts");
    r.counts.n_signal = c.at("n_signal").get<Index>();
    r.counts.n_background = c.at("n_background").get<Index>();
    r.counts.sum_w_signal = c.at("sum_w_signal").get<double>();
    r.counts.sum_w_background = c.at("sum_w_background").get<double>();
    r.saturated = st.at("saturated").get<Index>();
    const auto& jr = st.at("run");
    r.run.scores = jr.at("scores").get<std::vector<double>>();
    const std::string labels = jr.at("labels").get<std::string>();
    if (r.weighted) r.run.weights = jr.at("weights").get<std::vector<double>>();
    const size_t n = r.run.scores.size();
    if (labels.size() != n || (r.weighted && r.run.weights.size() != n))
      throw Error(fmt::format("{} scores, {} labels, {} weights", n, labels.size(), r.run.weights.size()));
    r.run.labels.resize(n);
    Index sig = 0;
    for (size_t i = 0; i < n; ++i) {
      if (labels[i] != '0' && labels[i] != '1') throw Error(fmt::format("label {} is '{}'", i + 1, labels[i]));
      r.run.labels[i] = labels[i] == '1';
      sig += r.run.labels[i];
      if (std::isnan(r.run.scores[i]) || (i > 0 && r.run.scores[i] > r.run.scores[i - 1]))
        throw Error(fmt::format("score {} is not in descending order", i + 1));
      if (r.weighted && !std::isfinite(r.run.weights[i])) throw Error(fmt::format("weight {} is not finite", i + 1));
    }
    if (sig != r.counts.n_signal || static_cast<Index>(n) - sig != r.counts.n_background)
      throw Error("the counts do not match the scores");
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("a malformed eval merge state: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("a malformed eval merge state: {}", e.what()));
  }
  finish(r, true);  // a part of one class is fine here; merges finish again
  return r;
}

std::string EvalResult::table() const {
  std::string t;
  auto row = [&t](const std::string& k, const std::string& v) { t += fmt::format("  {:<34} {}\n", k, v); };
  t += fmt::format("unbox eval: score '{}' on '{}'\n", score_name, source);
  if (!complete) {
    t += fmt::format("  {} signal and {} background events: no metrics (a part for unbox merge)\n", counts.n_signal,
                     counts.n_background);
    return t;
  }
  row("AUC", fmt::format("{:.6f}", auc));
  row("signal events", fmt::format("{:<10} sum of weights {:.6g}", counts.n_signal, counts.sum_w_signal));
  row("background events", fmt::format("{:<10} sum of weights {:.6g}", counts.n_background, counts.sum_w_background));
  for (size_t k = 0; k < background_efficiencies.size(); ++k)
    row(fmt::format("signal eff. at background eff. {:g}%", 100 * background_efficiencies[k]),
        fmt::format("{:.4f}", signal_efficiencies[k]));
  if (weighted) {
    row(fmt::format("best AMS (lumi {:g}, br {:g})", lumi, br), fmt::format("{:.4f}", ams.best));
    row("  selecting score >=", fmt::format("{:.6g}", ams.threshold));
    row("  s, b", fmt::format("{:.6g}, {:.6g}", ams.s, ams.b));
  }
  return t;
}

Dataset EvalResult::roc_dataset() const {
  const auto n = static_cast<Index>(roc.fpr.size());
  Dataset d;
  d.add("thresholds", Tensor({n}, roc.thresholds));
  d.add("fpr", Tensor({n}, roc.fpr));
  d.add("tpr", Tensor({n}, roc.tpr));
  return d;
}

}  // namespace unbox
