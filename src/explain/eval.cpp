// Classifier performance of a score (see eval.hpp).
#include "unbox/explain/eval.hpp"

#include <fmt/format.h>

#include <cmath>

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

EvalResult eval_scores(std::span<const double> scores, const Events& events, const std::string& score_name,
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
  r.counts.add(labels.data(), weights.data(), static_cast<Index>(labels.size()));
  if (r.counts.n_signal == 0 || r.counts.n_background == 0)
    throw Error(fmt::format("'{}' has {} signal and {} background events; AUC needs both signal and background events",
                            r.source, r.counts.n_signal, r.counts.n_background));
  const std::span<const double> w = r.weighted ? std::span<const double>(weights) : std::span<const double>();
  r.auc = auc(scores, labels, w);
  r.roc = roc_curve(scores, labels, w);
  r.background_efficiencies = o.background_efficiencies;
  for (double e : o.background_efficiencies) r.signal_efficiencies.push_back(sig_eff_at_bkg_eff(r.roc, e));
  if (r.weighted) r.ams = ams_scan(scores, labels, w, o.lumi, o.br);
  return r;
}

EvalResult eval(const Network& model, const Events& events, const EvalMetricsOptions& o) {
  const std::string name = o.score.empty() ? o.neuron : o.score;
  ProgressCounter progress(o.progress, 2);  // the scores, then the metrics
  const std::vector<double> scores = column_or_neuron(&model, events, name, o.batch);
  progress.add(1);
  EvalResult r = eval_scores(scores, events, name, o);
  progress.finish();
  // A tanh (or sigmoid) output saturates to exactly +-1 (0, 1) in double precision, and the
  // saturated events become ties: say so, since AUC and cut scans then lose resolution.
  const Node& out = model.node(model.output_node());
  if (name == "output" && out.op && (out.op->type() == "Tanh" || out.op->type() == "Sigmoid")) {
    const bool tanh_out = out.op->type() == "Tanh";
    size_t saturated = 0;
    for (double v : scores) saturated += tanh_out ? std::abs(v) == 1.0 : (v == 0.0 || v == 1.0);
    if (saturated > 0)
      r.notes.push_back(
          fmt::format("{} events saturate the {} output at exactly {} (ties); the neuron output:pre "
                      "ranks them by the value before the activation",
                      saturated, tanh_out ? "tanh" : "sigmoid", tanh_out ? "+-1" : "0 or 1"));
  }
  return r;
}

EvalResult eval(const Events& events, const EvalMetricsOptions& o) {
  if (o.score.empty()) throw Error("nothing to evaluate: name a score column (or give a model)");
  ProgressCounter progress(o.progress, 2);  // the scores, then the metrics
  const std::vector<double> scores = column_or_neuron(nullptr, events, o.score, o.batch);
  progress.add(1);
  EvalResult r = eval_scores(scores, events, o.score, o);
  progress.finish();
  return r;
}

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j;
  j["score"] = score_name;
  j["auc"] = auc;
  j["n_signal"] = counts.n_signal;
  j["n_background"] = counts.n_background;
  j["sum_w_signal"] = counts.sum_w_signal;
  j["sum_w_background"] = counts.sum_w_background;
  nlohmann::json eff = nlohmann::json::object();
  for (size_t k = 0; k < background_efficiencies.size(); ++k)
    eff[fmt::format("{}", background_efficiencies[k])] = signal_efficiencies[k];
  j["sig_eff_at_bkg_eff"] = eff;
  if (weighted)
    j["ams"] = {{"best", ams.best}, {"threshold", ams.threshold}, {"s", ams.s}, {"b", ams.b}, {"lumi", lumi},
                {"br", br}};
  return j;
}

std::string EvalResult::table() const {
  std::string t;
  auto row = [&t](const std::string& k, const std::string& v) { t += fmt::format("  {:<34} {}\n", k, v); };
  t += fmt::format("unbox eval: score '{}' on '{}'\n", score_name, source);
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
