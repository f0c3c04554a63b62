// unbox ad: activation difference (Roxlo & Reece eq. 2) of one neuron with respect to the
// inputs or to the neurons of an earlier layer, ranked, with bootstrap uncertainties.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct AdArgs {
  std::string model, neuron = "output", layer = "L0", out;
  EventArgs data;
  Index samples = 20000, bootstrap = 200, top = 0;
  std::uint64_t seed = 1;
  bool json = false;
  int threads = 0;
};

int parse_layer(const std::string& text) {
  std::string t = text;
  if (!t.empty() && (t[0] == 'L' || t[0] == 'l')) t.erase(0, 1);
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 6)
    throw Error(fmt::format("bad --layer '{}': expected L0 (the inputs) or Lk (hidden layer k)", text));
  return std::stoi(t);
}

int run_ad(const AdArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  ActivationDifferenceOptions o;
  o.layer = parse_layer(a.layer);
  o.samples = a.samples;
  o.bootstrap = a.bootstrap;
  o.seed = a.seed;
  o.neuron = a.neuron;
  o.top = a.top;
  Network net = load_model(a.model);
  ActivationDifferenceResult r = activation_difference(net, bind_events(net, a.data), o);
  print_result(r.to_json(), r.table(), a.json, a.out);
  return 0;
}

}  // namespace

void register_ad(CLI::App& app) {
  auto a = std::make_shared<AdArgs>();
  auto* c = add_command(app, "ad", "Activation difference of a neuron (Roxlo & Reece eq. 2), ranked, with errors",
                        "unbox ad --model m.unbox --data test.csv --neuron L2N12\n"
                        "  unbox ad --model m.unbox --data test.csv --neuron output --layer L5 --json",
                        [a] { return run_ad(*a); });
  add_model_option(c, a->model)->required();
  add_event_options(c, a->data);
  c->add_option("--neuron", a->neuron, "The neuron z: L2N12, L12N0:pre, output, NODE[j]")->capture_default_str();
  c->add_option("--layer", a->layer, "With respect to L0 (the inputs) or the neurons of hidden layer Lk before z")
      ->capture_default_str();
  c->add_option("--samples", a->samples, "Events sampled (x in eq. 2)")->capture_default_str();
  c->add_option("--bootstrap", a->bootstrap, "Bootstrap replicas for the uncertainty (0: none)")->capture_default_str();
  c->add_option("--top", a->top, "Rows shown in the table (0: all)")->capture_default_str();
  c->add_option("--seed", a->seed, "Random seed: same seed, same numbers")->capture_default_str();
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_option("--out,-o", a->out, "Also write the result as JSON to this file");
  c->add_flag("--json", a->json, "Print JSON: neuron, ranking [{variable, ad, err}] sorted by ad");
}

}  // namespace unbox::cli
