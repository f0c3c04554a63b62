// unbox ad: activation difference (Roxlo & Reece eq. 2) of one neuron with respect to the
// inputs or to the neurons of an earlier layer, ranked, with bootstrap uncertainties.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct AdArgs {
  std::string model, neuron = "output", layer = "L0", out;
  EventArgs data;
  Index samples = 20000, bootstrap = 200, top = 0, chunk = 0;
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

// Chunk by chunk and/or across ranks (ActivationDifferenceRun): pass 1 reads this rank's
// events (z moments; the sampled events' and donors' values that fall in them), the ranks
// exchange those values, pass 2 evaluates this rank's share of the sampled events, and rank 0
// merges the ranks' sums in rank order. The sampled events depend on the seed and the sample's
// size only: the numbers equal one process's to round-off.
int run_streamed(const Network& net, const AdArgs& a, const ActivationDifferenceOptions& o) {
  auto merged = run_distributed([&]() -> std::optional<nlohmann::json> {
    std::optional<ActivationDifferenceRun> run;
    std::string failed;
    try {
      const SampleShare share = sample_share(a.data, "ad");
      run.emplace(net, o, share.total);
      for_each_chunk_in(a.data, a.chunk, share.begin, share.end, [&](Dataset&& d, Index first) {
        run->add(Events(net, std::move(d), Binding{split_list(a.data.columns), 0}), first);
      });
    } catch (const Error& e) {
      failed = e.what();
    }
    // Every rank learns whether one failed before the exchange (a rank that threw alone would
    // leave the others waiting); the failed rank reports, the others step aside.
    const std::vector<double> flags = dist::all_gather({failed.empty() ? 0.0 : 1.0});
    if (!failed.empty()) throw Error(failed);
    for (double f : flags)
      if (f != 0.0) return std::nullopt;
    run->fill(dist::all_gather(run->collected()));
    const dist::Range mine = dist::split(run->samples(), dist::rank(), dist::size());
    return run->result(mine.begin, mine.end).to_json();
  });
  if (!merged) return 0;  // not rank 0
  ActivationDifferenceResult r = ActivationDifferenceResult::from_json(*merged);
  r.top = a.top;
  print_result(*merged, r.table(), a.json, a.out);
  return 0;
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
  if (streamed_run(a.chunk)) return run_streamed(net, a, o);
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
  c->add_option("--out,-o", a->out, "Also write the result as JSON to this file (with the sums unbox merge needs)");
  add_chunk_option(c, a->chunk, "the sampled events and their donors (2 x samples x variables doubles)");
  c->add_flag("--json", a->json, "Print JSON: neuron, ranking [{variable, ad, err}] sorted by ad");
}

}  // namespace unbox::cli
