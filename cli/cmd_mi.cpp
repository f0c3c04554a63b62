// unbox mi: normalized mutual information (Roxlo & Reece eq. 1) between neurons and
// variables, or the Kraskov estimator in nats with the information coefficient.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct MiArgs {
  EventArgs data;
  std::string model, out, neurons = "all", variables, estimator = "binned", binning = "equal-frequency", view = "all";
  Index bins = 20, k = 3, knn_events = 20000, top = 5;
  std::uint64_t seed = 1;
  bool json = false;
  int threads = 0;
};

// Across ranks (binned estimator): each rank reads its contiguous range of the events and
// computes its columns; once every rank got that far, the bins and joint histograms are
// merged (mutual_info_across): every rank has the one-process result, rank 0 prints it.
MutualInfoResult run_ranks(const Network& net, const MiArgs& a, MutualInfoOptions o) {
  std::string failed;
  MutualInfoColumns cols;
  try {
    Dataset mine;
    bool first = true;
    for_each_chunk(a.data, 0, [&](Dataset&& d) {
      if (first)
        mine = std::move(d);
      else
        append_events(mine, d);
      first = false;
    });
    Events events(net, std::move(mine), Binding{split_list(a.data.columns), 0});
    if (o.variables.empty() && !events.flat()) throw Error("--variables names no variable");
    cols = mutual_info_columns(net, events, o);
  } catch (const Error& e) {
    failed = e.what();
    if (failed.empty()) failed = "error";
  }
  const auto messages = dist::gather(failed);
  const std::vector<double> flags = dist::all_gather({failed.empty() ? 0.0 : 1.0});
  for (size_t r = 0; r < messages.size(); ++r)
    if (!messages[r].empty()) throw Error(fmt::format("rank {}: {}", r, messages[r]));
  for (double f : flags)
    if (f != 0.0) throw Error(failed.empty() ? "another rank failed" : failed);  // not printed: not rank 0
  return mutual_info_across(cols, o, [](const std::vector<double>& v) { return dist::all_gather(v); });
}

int run_mi(const MiArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  MutualInfoOptions o;
  o.estimator = parse_mi_estimator(a.estimator);
  o.binning = parse_binning(a.binning);
  o.bins = a.bins;
  o.k = a.k;
  o.knn_events = a.knn_events;
  o.seed = a.seed;
  if (a.view != "all" && a.view != "matrix" && a.view != "by-variable" && a.view != "by-neuron")
    throw Error(fmt::format("unknown --view '{}': expected all, matrix, by-variable or by-neuron", a.view));
  Network net = load_model(a.model);
  // Default variables: what the model reads (mT2, labels, truth need naming).
  o.variables = split_list(a.variables);
  o.neurons = split_list(a.neurons);
  if (o.neurons.empty()) throw Error("--neurons names no neuron");
  o.top = a.top;
  if (dist::size() > 1 && o.estimator != MiEstimator::Binned)
    throw Error("mi --estimator ksg needs every value's neighbours: it runs in one process (binned runs across ranks)");
  MutualInfoResult r;
  if (dist::size() > 1) {
    r = run_ranks(net, a, o);
    if (!dist::root()) return 0;
  } else {
    Events events = bind_events(net, a.data);
    if (o.variables.empty() && !events.flat()) throw Error("--variables names no variable");
    r = mutual_info(net, events, o);
  }
  if (!a.out.empty()) write_text_atomically(a.out, r.to_json().dump(2) + "\n");
  if (a.json) {
    std::printf("%s\n", r.to_json().dump(2).c_str());
    return 0;
  }
  const std::string what =
      r.estimator == MiEstimator::Binned
          ? fmt::format("normalized mutual information I/sqrt(H H), {} bins ({}), {} events", r.bins,
                        to_string(r.binning), r.events)
          : fmt::format("KSG (k = {}) information coefficient sqrt(1-exp(-2I)), {} events", r.k, r.events);
  std::string out = fmt::format("unbox mi: {} neurons x {} variables on '{}': {}\n", r.neurons.size(),
                                r.variables.size(), a.data.data, what);
  if (a.view == "all" || a.view == "matrix") out += "\n" + r.matrix_table();
  if (a.view == "all" || a.view == "by-variable") {
    out += fmt::format("\nneurons that know most about each variable (top {}):\n", a.top);
    out += r.top_neurons_table(a.top);
  }
  if (a.view == "all" || a.view == "by-neuron") {
    out += fmt::format("\nvariables each neuron tracks (top {}):\n", std::min<Index>(a.top, 3));
    out += r.top_variables_table(std::min<Index>(a.top, 3));
  }
  if (r.estimator == MiEstimator::Kraskov) {
    // The raw nats are in --json (mi_nats); say where the normalized number comes from.
    out += "\n(KSG: mutual information in nats is in --json as mi_nats)\n";
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

void register_mi(CLI::App& app) {
  auto a = std::make_shared<MiArgs>();
  auto* c =
      add_command(app, "mi", "Normalized mutual information between neurons and variables (Roxlo & Reece eq. 1)",
                  "unbox mi --model m.unbox --data test.csv --neurons L2,L5N4,output --variables mt2ll,met,label\n"
                  "  unbox mi --model m.unbox --data test.csv --neurons L5 --variables x,y --estimator ksg",
                  [a] { return run_mi(*a); });
  c->footer(
      "\nReads its events whole (equal-frequency bins need every value): no --chunk. Under mpirun the binned "
      "estimator runs across ranks (each reads its range; exact edges and summed histograms: the one-process "
      "result); KSG runs in one process (docs/distributed.md).");
  add_model_option(c, a->model)->required();
  add_event_options(c, a->data);
  c->add_option("--neurons", a->neurons,
                "Neurons, comma-separated: L2N12, L12N0:pre, output, NODE[j], whole layers L2 or L2:pre, or all "
                "(every neuron of L1..Lm)")
      ->capture_default_str();
  c->add_option("--variables", a->variables,
                "Variables, comma-separated: data columns (inputs, mT2, label, truth) or neurons "
                "(default: the model's inputs)");
  c->add_option("--estimator", a->estimator, "binned (eq. 1) or ksg (Kraskov kNN, nats and information coefficient)")
      ->capture_default_str();
  c->add_option("--binning", a->binning, "equal-frequency or equal-width")->capture_default_str();
  c->add_option("--bins", a->bins, "Bins per column; a column with at most this many distinct values uses them as bins")
      ->capture_default_str();
  c->add_option("--k", a->k, "KSG: neighbours")->capture_default_str();
  c->add_option("--knn-events", a->knn_events, "KSG: seeded random subset of events (0: all)")->capture_default_str();
  c->add_option("--top", a->top, "Entries in the sorted views")->capture_default_str();
  c->add_option("--view", a->view, "Terminal output: all, matrix, by-variable or by-neuron")->capture_default_str();
  c->add_option("--out,-o", a->out, "Also write the result as JSON to this file");
  c->add_option("--seed", a->seed, "Random seed (KSG subset and tie-breaking)")->capture_default_str();
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a->json, "Print JSON: neurons, variables, nmi (one row per neuron), mi_nats, ...");
}

}  // namespace unbox::cli
