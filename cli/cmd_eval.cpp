// unbox eval: classifier performance (AUC, efficiencies, AMS) of a score.
//
// A thin printer of the library's eval (explain/eval.hpp): the score is a data column
// (--score COL) or a neuron of a model (--model M [--neuron N] [--columns ...]).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/data.hpp"
#include "unbox/explain/eval.hpp"
#include "unbox/metrics.hpp"
#include "unbox/network.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct EvalArgs {
  EventArgs data;
  std::string score;  // a column of --data used as the score
  std::string model, neuron = "output", roc, out;
  double lumi = 1.0, br = 10.0;
  bool json = false;
  int threads = 0;
};

int run_eval(EvalArgs& a) {
  if (!a.model.empty() && !a.score.empty()) throw Error("give either --model (score with a network) or --score COLUMN");
  if (a.model.empty() && a.score.empty())
    throw Error("nothing to evaluate: give --model M (a network) or --score COLUMN (a column of the data)");
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.data.label.empty()) a.data.label = "label";
  EvalMetricsOptions o;
  o.neuron = a.neuron;
  o.score = a.score;
  o.lumi = a.lumi;
  o.br = a.br;
  EvalResult r;
  if (a.model.empty()) {
    r = eval(unbound_events(a.data), o);
  } else {
    const Network net = load_model(a.model);
    r = eval(net, bind_events(net, a.data), o);
  }
  for (const auto& n : r.notes) std::fprintf(stderr, "unbox: note: %s\n", n.c_str());
  if (!a.roc.empty()) write_dataset(r.roc_dataset(), a.roc);  // atomic
  print_result(r.to_json(), r.table(), a.json, a.out);
  return 0;
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalArgs>();
  CLI::App* cmd = add_command(app, "eval", "Classifier performance of a score: AUC, ROC, efficiencies, AMS",
                              "unbox eval --model m.unbox --data test.csv --label label --weight w --lumi 35.9\n"
                              "  unbox eval --data events.csv --label label --score mt2ll",
                              [o] { return run_eval(*o); });
  add_event_options(cmd, o->data);
  cmd->get_option("--data")->required();
  add_model_option(cmd, o->model);
  cmd->add_option("--neuron", o->neuron,
                  "With --model: the neuron used as the score (output, output:pre, L2N12, NODE[j]); "
                  "for a tanh output prefer output:pre")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "OpenMP threads (default: all)");
  cmd->add_option("--score", o->score, "Column of the data used as the score (larger = more signal-like)");
  cmd->add_option("--lumi", o->lumi, "Integrated luminosity in fb^-1 for the AMS (s, b = lumi x weights)")
      ->capture_default_str();
  cmd->add_option("--br", o->br, "AMS regularization term b_r (Roxlo & Reece eq. 5)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print a JSON object instead of the table");
  cmd->add_option("--out,-o", o->out, "Also write the JSON result to this file");
  cmd->add_option("--roc", o->roc, "Write the ROC curve (thresholds, fpr, tpr; first threshold +inf) to this file");
}

}  // namespace unbox::cli
