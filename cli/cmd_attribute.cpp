// `unbox attribute --method saliency|grad-x-input|ig|smoothgrad`: gradient attributions
// beside LRP, with the same aggregations (mean normalized relevance, profiles, maps,
// mean +- std across trainings) and the same default target as `unbox lrp`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct AttrArgs {
  std::string profile, model, method = "ig", neuron, out, per_event, baseline = "mean";
  EventArgs data;
  Index steps = 64, samples = 25, bins = 10, rows = 15, chunk = 0;
  double noise = 0.1;
  std::uint64_t seed = 1;
  bool json = false;
  int threads = 0;
} a;

// Chunk by chunk and/or across ranks. IG's mean baseline and SmoothGrad's noise come from
// the whole sample: a first pass adds the inputs' moments over every chunk and rank (and
// counts every rank's events, so SmoothGrad seeds each event by its number among all); then
// each chunk's sums are merged in event order, the ranks' at rank 0 in rank order. Profiles
// need quantiles of the whole sample: not computed.
int run_streamed(const std::vector<std::string>& files, const AttributeOptions& o) {
  refuse_whole_sample_outputs(a.profile, a.per_event);
  if (o.method == AttributionMethod::IntegratedGradients && o.baseline != "zero" && o.baseline != "mean")
    throw Error(
        fmt::format("--baseline {}: an event of the whole sample is not streamed (zero or mean; or drop --chunk, "
                    "run one process)",
                    o.baseline));
  std::vector<Network> nets;
  for (const auto& file : files) {
    nets.push_back(load_model(file));
    std::string note;
    if (dist::root()) (void)explained_target(nets.back(), a.neuron, &note, "the default, as for lrp, is output:pre");
  }
  const Binding binding{split_list(a.data.columns)};
  AttributeOptions opt = o;
  Index first = 0;  // this rank's first event among all
  const bool moments = (o.method == AttributionMethod::IntegratedGradients && o.baseline == "mean") ||
                       o.method == AttributionMethod::SmoothGrad;
  if (moments) {
    const auto j = nlohmann::json::parse(reduce_across_ranks(
        [&] {
          InputMoments m;
          for_each_chunk(a.data, a.chunk, [&](Dataset&& d) { m.add(Events(nets[0], std::move(d), binding).inputs()); });
          return m.to_json().dump();
        },
        [&](const std::vector<std::string>& parts) {
          InputMoments all;
          nlohmann::json counts = nlohmann::json::array();
          for (const auto& p : parts) {
            const InputMoments m = InputMoments::from_json(nlohmann::json::parse(p));
            counts.push_back(m.n);
            all.merge(m);
          }
          return nlohmann::json{{"moments", all.to_json()}, {"counts", counts}}.dump();
        }));
    InputMoments::from_json(j.at("moments")).apply(opt);
    for (int r = 0; r < dist::rank(); ++r) first += static_cast<Index>(j.at("counts").at(r).get<double>());
  }
  auto result = stream_per_model<AttributionResult>(a.data, a.chunk, files, [&](size_t k, const Dataset& d) {
    if (k == 0) {  // the chunk's place in the sample (the sampling streams follow it)
      opt.first_event = first;
      first += d.events();
    }
    return attribute_part(nets[k], Events(nets[k], d, binding), opt);
  });
  if (!result) return 0;  // not rank 0
  const AttributionResult r = AttributionResult::from_json(*result);
  print_result(*result, r.table(), a.json, a.out);
  return 0;
}

int run_attribute() {
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.model.empty()) throw Error("--model is required");
  AttributeOptions o;
  o.method = parse_attribution_method(a.method);
  o.baseline = a.baseline;
  o.steps = a.steps;
  o.samples = a.samples;
  o.noise = a.noise;
  o.seed = a.seed;
  o.bins = a.bins;
  o.rows = a.rows;
  o.profiles = split_list(a.profile);
  o.neuron = a.neuron;
  const auto models = split_list(a.model);
  if (streamed_run(a.chunk)) return run_streamed(models, o);
  const Dataset data = read_event_data(a.data);
  std::vector<AttributionResult> results;
  for (const auto& file : models) {
    const Network net = load_model(file);
    std::string note;
    (void)explained_target(net, a.neuron, &note, "the default, as for lrp, is output:pre");  // the warning
    results.push_back(attribute(net, Events(net, data, Binding{split_list(a.data.columns)}), o));
    results.back().models = {file};
    if (results.size() == 1 && !a.per_event.empty()) write_dataset(results.front().per_event_dataset(), a.per_event);
  }
  const AttributionResult r = combine(std::move(results));
  print_result(r.to_json(), r.table(), a.json, a.out);
  return 0;
}
}  // namespace

void register_attribute(CLI::App& app) {
  auto* c = add_command(
      app, "attribute",
      "Gradient attributions: saliency, gradient x input, Integrated Gradients (Gauss-Legendre, completeness error), "
      "SmoothGrad; aggregated like unbox lrp",
      "unbox attribute --model m.unbox --data test.csv --method ig --baseline mean --steps 64\n"
      "  unbox attribute --model m.unbox --data test.csv --method smoothgrad --samples 50 --noise 0.1\n"
      "  unbox attribute --model s1.unbox,s2.unbox --data test.csv --method grad-x-input --json",
      run_attribute);
  add_model_option(c, a.model, true);
  add_event_options(c, a.data);
  c->add_option("--method", a.method, "saliency (gradient), grad-x-input, ig (Integrated Gradients), smoothgrad")
      ->capture_default_str();
  c->add_option("--neuron", a.neuron,
                "Neuron to explain (default output:pre before a final sigmoid/tanh/softmax, as unbox lrp; 'output' "
                "forces the post-activation value)");
  c->add_option("--baseline", a.baseline,
                "IG baseline: zero, mean (the data mean) or event:K (event K of the data). Note: with a "
                "clip3-minmax model gradients vanish beyond +-3 std, so paths there add nothing")
      ->capture_default_str();
  c->add_option("--steps", a.steps, "IG Gauss-Legendre points on the path")->capture_default_str();
  c->add_option("--samples", a.samples, "SmoothGrad noisy samples per event")->capture_default_str();
  c->add_option("--noise", a.noise, "SmoothGrad noise std as a fraction of each input's std")->capture_default_str();
  c->add_option("--seed", a.seed, "SmoothGrad seed")->capture_default_str();
  c->add_option("--bins", a.bins, "Bins of the profiles")->capture_default_str();
  c->add_option("--top,--rows", a.rows, "Table rows to print: the top N features (0: all)")->capture_default_str();
  c->add_option("--profile", a.profile,
                "Also print the profile table (mean score in bins of the value) of these "
                "inputs, comma-separated (every input's profile is in the JSON)");
  c->add_option("--out,-o", a.out, "Write the result as JSON");
  c->add_option("--per-event", a.per_event, "Write every event's attributions (A_<feature>, IG completeness)");
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print JSON instead of the table");
  add_chunk_option(c, a.chunk,
                   "the sums per feature and class (no profiles; IG's mean baseline and SmoothGrad read the data "
                   "twice: its moments first)");
}

}  // namespace unbox::cli
