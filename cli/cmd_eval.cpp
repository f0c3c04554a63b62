// unbox eval: classifier performance (AUC, efficiencies, AMS) of a score.
//
// The score comes from exactly one place, `scores_for(...)`; today that is a data column
// (--score COL). Scoring with a network (--model M [--neuron N] [--columns ...]) plugs in
// there; the metrics, the terminal table, the JSON and the ROC file after it are shared.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/network.hpp"
#include "unbox/data.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct EvalOptions {
  std::string data;
  std::string label = "label";
  std::string score;   // a column of --data used as the score
  std::string weight;  // optional weight column (expected events per fb^-1 for the AMS)
  double lumi = 1.0;
  double br = 10.0;
  bool json = false;
  std::string roc;
  // Scoring with a network instead of a column.
  std::string model;
  std::string neuron = "output";
  std::string columns;
  int threads = 0;
  bool allow_nan = false;
};

// The background efficiencies at which the signal efficiency is reported.
constexpr double kBkgEffs[] = {0.01, 0.1};

struct EvalSummary {
  std::string score_name;
  double auc = 0.0;
  Index n_signal = 0, n_background = 0;
  double sum_w_signal = 0.0, sum_w_background = 0.0;
  double sig_eff[std::size(kBkgEffs)] = {};
  bool weighted = false;
  AmsScan ams;
  double lumi = 1.0, br = 10.0;
  RocCurve roc;
};

// Labels must be exactly 0 or 1; say which file, column, event and value when not.
std::vector<double> checked_labels(const Dataset& d, const std::string& file, const std::string& col) {
  std::vector<double> labels = d.labels();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0.0 && labels[i] != 1.0)
      throw Error(fmt::format("label column '{}' in '{}' must hold 0 (background) or 1 (signal); event {} has {}",
                              col, file, i + 1, labels[i]));
  return labels;
}

std::vector<double> column_scores(const Dataset& d, const std::string& col, const std::string& file) {
  const Tensor& t = d.get(col);
  if (t.rank() != 1)
    throw Error(fmt::format("score '{}' in '{}' is an array of shape {}, not a column", col, file,
                            shape_string(t.shape())));
  return t.values();
}

// The one source of scores. `name` receives what the score is (column or neuron name).
std::vector<double> scores_for(const Dataset& d, const EvalOptions& o, std::string& name) {
  if (!o.model.empty() && !o.score.empty()) throw Error("give either --model (score with a network) or --score COLUMN");
  if (o.model.empty()) {
    if (o.score.empty())
      throw Error("nothing to evaluate: give --model M (a network) or --score COLUMN (a column of the data)");
    name = o.score;
    return column_scores(d, o.score, o.data);
  }
  if (o.threads > 0) set_thread_count(o.threads);
  Network net = load_model(o.model);
  NeuronRef ref = net.resolve(o.neuron);
  name = o.neuron;
  auto inputs = gather_inputs(net, d, model_columns(net, d, split_list(o.columns)));
  for (const Tensor& t : inputs)
    for (double v : t.values())
      if (!std::isfinite(v)) throw Error(fmt::format("'{}' has NaN or Inf in the model's inputs; eval refuses them", o.data));
  std::vector<double> scores = evaluate(net, inputs, {ref}).values();
  // A tanh (or sigmoid) output saturates to exactly +-1 (0, 1) in double precision, and the
  // saturated events become ties: say so, since AUC and cut scans then lose resolution.
  const Node& out = net.node(net.output_node());
  if (o.neuron == "output" && out.op && (out.op->type() == "Tanh" || out.op->type() == "Sigmoid")) {
    const bool tanh_out = out.op->type() == "Tanh";
    size_t saturated = 0;
    for (double v : scores) saturated += tanh_out ? std::abs(v) == 1.0 : (v == 0.0 || v == 1.0);
    if (saturated > 0)
      std::fprintf(stderr,
                   "unbox: note: %zu events saturate the %s output at exactly %s (ties); "
                   "--neuron output:pre ranks them by the value before the activation\n",
                   saturated, tanh_out ? "tanh" : "sigmoid", tanh_out ? "+-1" : "0 or 1");
  }
  return scores;
}

EvalSummary summarize(const std::vector<double>& scores, const std::vector<double>& labels,
                      const std::vector<double>& weights, bool weighted, const EvalOptions& o) {
  EvalSummary s;
  s.weighted = weighted;
  s.lumi = o.lumi;
  s.br = o.br;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1.0) {
      ++s.n_signal;
      s.sum_w_signal += weights[i];
    } else {
      ++s.n_background;
      s.sum_w_background += weights[i];
    }
  }
  if (s.n_signal == 0 || s.n_background == 0)
    throw Error(fmt::format("'{}' has {} signal and {} background events; AUC needs both signal and background events",
                            o.data, s.n_signal, s.n_background));
  const std::span<const double> w = weighted ? std::span<const double>(weights) : std::span<const double>();
  s.auc = auc(scores, labels, w);
  s.roc = roc_curve(scores, labels, w);
  for (size_t k = 0; k < std::size(kBkgEffs); ++k) s.sig_eff[k] = sig_eff_at_bkg_eff(s.roc, kBkgEffs[k]);
  if (weighted) s.ams = ams_scan(scores, labels, w, o.lumi, o.br);
  return s;
}

std::string eff_key(double e) { return fmt::format("{}", e); }  // "0.01", "0.1"

nlohmann::ordered_json to_json(const EvalSummary& s) {
  nlohmann::ordered_json j;
  j["score"] = s.score_name;
  j["auc"] = s.auc;
  j["n_signal"] = s.n_signal;
  j["n_background"] = s.n_background;
  j["sum_w_signal"] = s.sum_w_signal;
  j["sum_w_background"] = s.sum_w_background;
  nlohmann::ordered_json eff;
  for (size_t k = 0; k < std::size(kBkgEffs); ++k) eff[eff_key(kBkgEffs[k])] = s.sig_eff[k];
  j["sig_eff_at_bkg_eff"] = eff;
  if (s.weighted)
    j["ams"] = {{"best", s.ams.best}, {"threshold", s.ams.threshold}, {"s", s.ams.s},
                {"b", s.ams.b},       {"lumi", s.lumi},                {"br", s.br}};
  return j;
}

std::string to_table(const EvalSummary& s, const std::string& file) {
  std::string t;
  auto row = [&t](const std::string& k, const std::string& v) { t += fmt::format("  {:<34} {}\n", k, v); };
  t += fmt::format("unbox eval: score '{}' on '{}'\n", s.score_name, file);
  row("AUC", fmt::format("{:.6f}", s.auc));
  row("signal events", fmt::format("{:<10} sum of weights {:.6g}", s.n_signal, s.sum_w_signal));
  row("background events", fmt::format("{:<10} sum of weights {:.6g}", s.n_background, s.sum_w_background));
  for (size_t k = 0; k < std::size(kBkgEffs); ++k)
    row(fmt::format("signal eff. at background eff. {:g}%", 100 * kBkgEffs[k]), fmt::format("{:.4f}", s.sig_eff[k]));
  if (s.weighted) {
    row(fmt::format("best AMS (lumi {:g}, br {:g})", s.lumi, s.br), fmt::format("{:.4f}", s.ams.best));
    row("  selecting score >=", fmt::format("{:.6g}", s.ams.threshold));
    row("  s, b", fmt::format("{:.6g}, {:.6g}", s.ams.s, s.ams.b));
  }
  return t;
}

void write_roc(const RocCurve& roc, const std::string& path) {
  const auto n = static_cast<Index>(roc.fpr.size());
  Dataset d;
  d.add("thresholds", Tensor({n}, roc.thresholds));
  d.add("fpr", Tensor({n}, roc.fpr));
  d.add("tpr", Tensor({n}, roc.tpr));
  write_dataset(d, path);  // atomic
}

int run_eval(const EvalOptions& o) {
  ReadOptions ro;
  ro.allow_nan = o.allow_nan;  // the file may hold NaN elsewhere; the score and labels may not
  Dataset d = read_dataset(o.data, ro);
  if (d.source.empty()) d.source = o.data;
  d.label_column = o.label;
  d.get(o.label);  // a clear "no column" error before anything else
  if (!o.weight.empty()) {
    d.get(o.weight);
    d.weight_column = o.weight;
  }
  const std::vector<double> labels = checked_labels(d, o.data, o.label);
  if (!o.weight.empty()) check_finite(d, {o.weight}, "eval");  // names the file and the event (from 1)
  const std::vector<double> weights = d.weights();

  std::string score_name;
  const std::vector<double> scores = scores_for(d, o, score_name);
  EvalSummary s = summarize(scores, labels, weights, !o.weight.empty(), o);
  s.score_name = score_name;

  if (!o.roc.empty()) write_roc(s.roc, o.roc);
  if (o.json)
    std::printf("%s\n", to_json(s).dump(2).c_str());
  else
    std::fputs(to_table(s, o.data).c_str(), stdout);
  return 0;
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = add_command(app, "eval", "Classifier performance of a score: AUC, ROC, efficiencies, AMS",
                              "unbox eval --model m.unbox --data test.csv --label label --weight w --lumi 35.9\n"
                              "  unbox eval --data events.csv --label label --score mt2ll",
                              [o] { return run_eval(*o); });
  cmd->add_option("--data,-d", o->data, "Data file (.csv, .npy, .npz, .h5[:/group])")->required();
  cmd->add_option("--label", o->label, "Label column: 1 signal, 0 background")->capture_default_str();
  cmd->add_option("--model,-m", o->model, "Model file (.unbox) whose neuron is the score");
  cmd->add_option("--neuron", o->neuron,
                  "With --model: the neuron used as the score (output, output:pre, L2N12, NODE[j]); "
                  "for a tanh output prefer output:pre")
      ->capture_default_str();
  cmd->add_option("--columns", o->columns, "With --model: data columns feeding the model's inputs, in order");
  cmd->add_option("--threads", o->threads, "OpenMP threads (default: all)");
  cmd->add_flag("--allow-nan", o->allow_nan,
                "Read files holding NaN/Inf (eval still refuses them in the score, label and weight)");
  cmd->add_option("--score", o->score, "Column of the data used as the score (larger = more signal-like)");
  cmd->add_option("--weight,-w", o->weight, "Weight column (expected events per fb^-1); enables the AMS scan");
  cmd->add_option("--lumi", o->lumi, "Integrated luminosity in fb^-1 for the AMS (s, b = lumi x weights)")
      ->capture_default_str();
  cmd->add_option("--br", o->br, "AMS regularization term b_r (Roxlo & Reece eq. 5)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print a JSON object instead of the table");
  cmd->add_option("--roc", o->roc, "Write the ROC curve (thresholds, fpr, tpr; first threshold +inf) to this file");
}

}  // namespace unbox::cli
