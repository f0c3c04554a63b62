// unbox eval: classifier performance (AUC, efficiencies, AMS) of a score.
//
// A thin printer of the library's eval (explain/eval.hpp): the score is a data column
// (--score COL) or a neuron of a model (--model M [--neuron N] [--columns ...]).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/data.hpp"
#include "unbox/dist.hpp"
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
  Index chunk = 0;
};

// Chunk by chunk and/or across ranks: every chunk's sorted run, merged in event order (at
// rank 0 in rank order), is the run of the whole sample: the same bits as reading it whole.
EvalResult run_streamed(const EvalArgs& a, const EvalMetricsOptions& o) {
  std::optional<Network> net;
  if (!a.model.empty()) net.emplace(load_model(a.model));
  auto part = [&]() -> std::optional<EvalResult> {
    std::vector<EvalResult> parts;
    for_each_chunk(a.data, a.chunk, [&](Dataset&& d) {
      if (net)
        parts.push_back(eval_part(&*net, Events(*net, std::move(d), Binding{split_list(a.data.columns), 0}), o));
      else
        parts.push_back(eval_part(nullptr, Events(std::move(d)), o));
    });
    if (parts.empty()) return std::nullopt;
    EvalResult r = merge(std::move(parts));
    r.source = a.data.data;
    return r;
  };
  if (dist::size() == 1) {  // no JSON round trip of every score
    auto r = part();
    if (!r) throw Error("no events");
    finish(*r, !a.out.empty());
    return std::move(*r);
  }
  auto merged = run_distributed([&]() -> std::optional<nlohmann::json> {
    auto r = part();
    if (!r) return std::nullopt;
    return r->to_json(true);
  });
  if (!merged) return EvalResult();  // not rank 0
  return EvalResult::from_json(*merged);
}

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
  if (streamed_run(a.chunk)) {
    r = run_streamed(a, o);
    if (!dist::root()) return 0;
  } else if (a.model.empty()) {
    r = eval_part(nullptr, unbound_events(a.data), o);
    finish(r, !a.out.empty());  // with --out a file of one class is a part to merge
  } else {
    const Network net = load_model(a.model);
    r = eval_part(&net, bind_events(net, a.data), o);
    finish(r, !a.out.empty());
  }
  for (const auto& n : r.notes) std::fprintf(stderr, "unbox: note: %s\n", n.c_str());
  if (!a.roc.empty()) {
    if (!r.complete) throw Error("--roc needs signal and background events");
    write_dataset(r.roc_dataset(), a.roc);  // atomic
  }
  // Result files carry the merge state (every event's score, label and weight, sorted) for
  // unbox merge; the terminal gets the metrics only.
  if (!a.out.empty()) write_text_atomically(a.out, r.to_json(true).dump(2) + "\n");
  print_result(r.to_json(), r.table(), a.json, "");
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
  cmd->add_option("--out,-o", o->out,
                  "Also write the JSON result to this file, with the merge state for unbox merge (every event's "
                  "score, label and weight)");
  cmd->add_option("--roc", o->roc, "Write the ROC curve (thresholds, fpr, tpr; first threshold +inf) to this file");
  add_chunk_option(cmd, o->chunk, "every event's score, label and weight (24 bytes; the exact AUC needs them all)");
}

}  // namespace unbox::cli
