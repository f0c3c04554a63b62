// unbox maximize: activation maximization (Roxlo & Reece section 2.5): the population
// file, the ranked 1-, 2- and 3-D histograms (JSON) and a terminal heat map.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct MaximizeArgs {
  std::string model, neuron = "output", out, histograms, box = "data";
  EventArgs data;
  double threshold = 0.0;
  bool minimize = false, json = false, hold_discrete = false, ascii = false, quiet = false;
  MaximizeOptions opt;
  HistogramOptions hist;
  int heatmaps = 4;
  int threads = 0;
};

void parse_box(const std::string& text, MaximizeOptions& o) {
  if (text == "data") {
    o.box = BoxKind::DataRange;
  } else if (text == "sample") {
    o.box = BoxKind::Sample;
  } else if (text.rfind("std:", 0) == 0) {
    o.box = BoxKind::StdDev;
    try {
      size_t used = 0;
      o.box_k = std::stod(text.substr(4), &used);
      if (used != text.size() - 4 || !(o.box_k > 0)) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw Error(fmt::format("--box {}: expected std:K with K > 0, e.g. std:3", text));
    }
  } else {
    throw Error(fmt::format("--box {}: expected data, std:K (e.g. std:3) or sample", text));
  }
}

int run_maximize(MaximizeArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  parse_box(a.box, a.opt);
  a.opt.threshold = a.threshold;
  a.opt.minimize = a.minimize;
  a.opt.hold_discrete = a.hold_discrete;
  a.opt.neuron = a.neuron;
  Network net = load_model(a.model);
  const Events events = bind_events(net, a.data);
  Progress progress("maximize", a.opt.points, a.quiet || a.json);
  a.opt.progress = [&](Index done) { progress.update(done); };
  a.opt.histograms = a.hist;
  MaximizeResult r = maximize(net, events, a.opt);
  progress.finish();
  r.population_file = a.out;
  r.histograms_file = a.histograms.empty() ? a.out + ".hist.json" : a.histograms;
  write_dataset(r.to_dataset(), r.population_file);
  write_text_atomically(r.histograms_file, r.histograms_to_json().dump() + "\n");
  if (a.json) {
    std::printf("%s\n", r.to_json().dump(2).c_str());
    return 0;
  }
  std::fputs(r.table().c_str(), stdout);
  if (const std::string maps = r.heat_maps(a.heatmaps, a.ascii); !maps.empty()) {
    std::fputs("\n", stdout);
    std::fputs(maps.c_str(), stdout);
  }
  return 0;
}

}  // namespace

void register_maximize(CLI::App& app) {
  auto a = std::make_shared<MaximizeArgs>();
  auto* c = add_command(app, "maximize",
                        "Activation maximization: a population of inputs that drive a neuron past a threshold",
                        "unbox maximize --model m.unbox --data train.csv --neuron L2N3 --points 10000 --threshold 2 "
                        "--out pop.csv",
                        [a] { return run_maximize(*a); });
  add_model_option(c, a->model)->required();
  add_event_options(c, a->data);
  c->add_option("--neuron,-n", a->neuron, "Neuron: output, output:pre, L2N12, L12N0:pre, NODE[j]")
      ->capture_default_str();
  c->add_option("--points,-k", a->opt.points, "Number of starting points")->capture_default_str();
  c->add_option("--threshold,-t", a->threshold, "Stop a point once activation >= T (<= T with --minimize)")->required();
  c->add_flag("--minimize", a->minimize, "Gradient descent: for neurons whose interesting side is negative");
  c->add_option("--out,-o", a->out,
                "Population file (csv, npy, npz, h5): inputs, activation, steps, converged, boundary_<input>")
      ->required();
  c->add_option("--histograms", a->histograms, "Ranked histograms as JSON (default: OUT.hist.json)");
  c->add_option("--steps", a->opt.steps, "Step limit per point")->capture_default_str();
  c->add_option("--lr,--step-size", a->opt.step_size, "Adam step size in units of each input's data standard deviation")
      ->capture_default_str();
  c->add_option("--box", a->box,
                "Starting points and clamping box: data (uniform in the data range), std:K (mean +- K std), "
                "sample (data events as starts, data range as box)")
      ->capture_default_str();
  c->add_flag("--hold-discrete", a->hold_discrete,
              "Hold discrete inputs (<= --discrete-max distinct values, e.g. b-tags, signs) at sampled data values");
  c->add_option("--discrete-max", a->opt.discrete_max_values,
                "Inputs with at most this many distinct values are discrete")
      ->capture_default_str();
  c->add_option("--plausibility", a->opt.plausibility,
                "Add LAMBDA x log-density of a Gaussian mixture fitted to the (standardized) data to the objective")
      ->capture_default_str();
  c->add_option("--components", a->opt.gmm_components, "Gaussian mixture components for --plausibility")
      ->capture_default_str();
  c->add_option("--bins", a->hist.bins, "Bins per axis of the 1-D and 2-D histograms")->capture_default_str();
  c->add_option("--bins3", a->hist.bins3, "Bins per axis of the 3-D histograms")->capture_default_str();
  c->add_option("--top", a->hist.top, "Histograms kept per dimension")->capture_default_str();
  c->add_option("--heatmaps", a->heatmaps, "Top 2-D histograms drawn in the terminal (0: none)")->capture_default_str();
  c->add_flag("--ascii", a->ascii, "Draw heat maps with ' .:#@' instead of unicode blocks");
  c->add_option("--seed", a->opt.seed, "Random seed (starting points, mixture)")->capture_default_str();
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_flag("--quiet,-q", a->quiet, "No progress bar");
  c->add_flag("--json", a->json, "Print a JSON summary instead of the table and heat maps");
}

}  // namespace unbox::cli
