// `unbox lrp`: layer-wise relevance propagation with rules, composites and per-layer
// overrides; per-event relevances, conservation report, the XAUG poster's aggregations
// (mean normalized relevance per feature and class, profiles, maps), mean +- std across
// several trainings; `unbox lrp study xaug`: the XAUG jet study in one command.
#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/onnx.hpp"
#include "unbox/studies/xaug_study.hpp"

namespace unbox::cli {

namespace {
struct LrpArgs {
  std::string profile, model, rule, composite, layer_rule, neuron, out, per_event;
  EventArgs data;
  double epsilon = 1e-6, gamma = 0.25;
  Index bins = 10, rows = 15, chunk = 0;
  bool json = false, no_canonize = false;
  int threads = 0;
} a;

struct StudyArgs {
  std::string name, out, rule = "epsilon", composite;
  Index events = 20000, test_events = 10000, explain_events = 2000, epochs = 15, models = 1, rows = 8;
  std::uint64_t seed = 1;
  bool json = false, no_cnn = false;
  int threads = 0;
} st;

LrpComposite make_composite(const std::string& rule, const std::string& composite, const std::string& overrides,
                            double eps, double gamma) {
  if (!rule.empty() && !composite.empty()) throw Error("give either --rule or --composite, not both");
  LrpComposite c = !rule.empty() ? lrp_single_rule(parse_lrp_rule(rule, eps, gamma))
                                 : lrp_composite(composite.empty() ? "epsilon-gamma-box" : composite, eps, gamma);
  if (!overrides.empty()) add_lrp_overrides(c, overrides, eps, gamma);
  return c;
}

bool reads_bounds(const LrpComposite& c) {
  if (c.all) return c.all->uses_bounds();
  bool any = c.input.uses_bounds() || c.dense.uses_bounds() || c.conv.uses_bounds();
  for (const auto& [layer, rule] : c.overrides) any = any || rule.uses_bounds();
  return any;
}

// Chunk by chunk and/or across ranks. With a zbox rule a first pass finds the data range at
// every zbox layer over all events (merged by min and max: exact); then each chunk's sums
// are merged in event order, the ranks' at rank 0 in rank order. Profiles need quantiles of
// the whole sample: not computed.
int run_streamed(const std::vector<std::string>& files, const LrpOptions& o) {
  refuse_whole_sample_outputs(a.profile, a.per_event);
  std::vector<Network> nets;
  for (const auto& file : files) {
    nets.push_back(load_model(file));
    std::string note;
    if (dist::root())
      (void)explained_target(nets.back(), a.neuron, &note,
                             "sigmoid and tanh break LRP's sign assumptions (the default is output:pre)");
  }
  const Binding binding{split_list(a.data.columns)};
  std::vector<LrpOptions> opts(nets.size(), o);
  if (reads_bounds(o.composite)) {
    const std::string merged = reduce_across_ranks(
        [&] {
          std::vector<LrpBounds> b(nets.size());
          for_each_chunk(a.data, a.chunk, [&](Dataset&& d) {
            for (size_t k = 0; k < nets.size(); ++k)
              b[k].merge(lrp_bounds(nets[k], Events(nets[k], d, binding).inputs(), o));
          });
          nlohmann::json j = nlohmann::json::array();
          for (const auto& x : b) j.push_back(x.to_json());
          return j.dump();
        },
        [&](const std::vector<std::string>& parts) {
          std::vector<LrpBounds> b(nets.size());
          for (const auto& p : parts) {
            const auto j = nlohmann::json::parse(p);
            for (size_t k = 0; k < nets.size(); ++k) b[k].merge(LrpBounds::from_json(j.at(k)));
          }
          nlohmann::json j = nlohmann::json::array();
          for (const auto& x : b) j.push_back(x.to_json());
          return j.dump();
        });
    const auto j = nlohmann::json::parse(merged);
    for (size_t k = 0; k < nets.size(); ++k) opts[k].bounds = LrpBounds::from_json(j.at(k));
  }
  auto result = stream_per_model<LrpResult>(a.data, a.chunk, files, [&](size_t k, const Dataset& d) {
    return lrp_part(nets[k], Events(nets[k], d, binding), opts[k]);
  });
  if (!result) return 0;  // not rank 0
  const LrpResult r = LrpResult::from_json(*result);
  print_result(*result, r.table(), a.json, a.out);
  return 0;
}

int run_lrp() {
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.model.empty()) throw Error("--model is required");
  LrpOptions o;
  o.composite = make_composite(a.rule, a.composite, a.layer_rule, a.epsilon, a.gamma);
  o.canonize = !a.no_canonize;
  o.epsilon = a.epsilon;
  o.bins = a.bins;
  o.rows = a.rows;
  o.profiles = split_list(a.profile);
  const auto models = split_list(a.model);
  if (streamed_run(a.chunk)) return run_streamed(models, o);
  const Dataset data = read_event_data(a.data);
  std::vector<LrpResult> results;
  for (const auto& file : models) {
    const Network net = load_model(file);
    std::string note;
    (void)explained_target(net, a.neuron, &note,
                           "sigmoid and tanh break LRP's sign assumptions (the default is output:pre)");  // the warning
    o.neuron = a.neuron;
    results.push_back(lrp(net, Events(net, data, Binding{split_list(a.data.columns)}), o));
    results.back().models = {file};
    if (results.size() == 1 && !a.per_event.empty()) write_dataset(results.front().per_event_dataset(), a.per_event);
  }
  const LrpResult r = combine(std::move(results));
  print_result(r.to_json(), r.table(), a.json, a.out);
  return 0;
}

int run_study() {
  if (st.threads > 0) set_thread_count(st.threads);
  if (st.name != "xaug") throw Error(fmt::format("unknown study '{}'; known studies: xaug", st.name));
  XaugStudyOptions o;
  o.events = st.events;
  o.test_events = st.test_events;
  o.explain_events = st.explain_events;
  o.epochs = st.epochs;
  o.models = st.models;
  o.seed = st.seed;
  o.cnn = !st.no_cnn;
  o.composite = make_composite(st.composite.empty() ? st.rule : "", st.composite, "", 1e-6, 0.25);
  XaugStudyResult r = xaug_study(o);
  nlohmann::json j = r.to_json();
  if (!st.out.empty()) write_text_atomically(st.out, j.dump(2) + "\n");
  if (st.json)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << r.table(st.rows);
  return 0;
}
}  // namespace

void register_lrp(CLI::App& app) {
  static CLI::App* study = nullptr;
  auto* c = add_command(
      app, "lrp",
      "Layer-wise relevance propagation: per-event relevances of the inputs, conservation report, mean normalized "
      "relevance per feature and class, profiles, maps (Bach et al.; XAUG poster, Agarwal et al.)",
      "unbox lrp --model m.unbox --data test.csv --rule epsilon\n"
      "  unbox lrp --model m.unbox --data test.csv --composite epsilon-gamma-box --layer-rule L1=flat --out lrp.json\n"
      "  unbox lrp --model s1.unbox,s2.unbox,s3.unbox --data test.csv --rule zplus --per-event relevances.csv\n"
      "  unbox lrp study xaug --out xaug.json",
      [] { return study && study->parsed() ? run_study() : run_lrp(); });
  add_model_option(c, a.model, true);
  add_event_options(c, a.data);
  c->add_option(
      "--rule", a.rule,
      "One rule for every layer (nothing else slipped in at the input): 0 (no stabilizer; 0/0 = 0), epsilon, "
      "gamma (generalized: signed inputs), gamma-positive (w + gamma w+), alpha1beta0, alpha2beta1 (any "
      "alphaAbetaB with A - B = 1), zplus, wsquare, flat, zbox (bounds: the data range at the layer's input)");
  c->add_option("--composite", a.composite,
                "Rules by layer type and position: epsilon-gamma-box (default: zbox input, gamma conv, epsilon dense), "
                "epsilon-plus, epsilon-plus-flat, epsilon-alpha2beta1, box-alpha1beta0-epsilon");
  c->add_option("--layer-rule", a.layer_rule, "Per-layer overrides, e.g. L1=zbox,L3=epsilon or NODE=rule");
  c->add_option("--epsilon", a.epsilon, "Stabilizer of the epsilon rule: z + eps sign(z), with sign(0) = +1")
      ->capture_default_str();
  c->add_option("--gamma", a.gamma, "Gamma of the gamma rules (weights raised by gamma times their favoured-sign part)")
      ->capture_default_str();
  c->add_option("--neuron", a.neuron,
                "Neuron to explain (default output:pre, the logit before a final sigmoid/tanh/softmax; 'output' forces "
                "the post-activation value, with a warning)");
  c->add_flag("--no-canonize", a.no_canonize, "Do not fold BatchNorm into the preceding Dense/Conv layer");
  c->add_option("--bins", a.bins, "Bins of the relevance profiles")->capture_default_str();
  c->add_option("--top,--rows", a.rows, "Table rows to print: the top N features (0: all)")->capture_default_str();
  c->add_option("--profile", a.profile,
                "Also print the profile table (mean score in bins of the value) of these "
                "inputs, comma-separated (every input's profile is in the JSON)");
  c->add_option("--out,-o", a.out, "Write the result as JSON");
  c->add_option("--per-event", a.per_event,
                "Write every event's relevances (R_<feature>, R_output, R_input_sum, R_bias, R_epsilon, R_other)");
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print JSON instead of the tables");
  add_chunk_option(c, a.chunk,
                   "the sums per feature and class (no profiles; a zbox rule reads the data twice: its range first)");

  study = c->add_subcommand("study",
                            "A built-in study: xaug (toy jets; dense and 1-D CNN, particles alone and with "
                            "XAUG variables; AUCs and LRP relevance tables)");
  study->footer("Example:\n  unbox lrp study xaug --events 20000 --seed 1 --out xaug.json\n");
  study->add_option("name", st.name, "Study name: xaug")->required();
  study->add_option("--events", st.events, "Training events (20% validate)")->capture_default_str();
  study->add_option("--test-events", st.test_events, "Independent test events (AUC)")->capture_default_str();
  study->add_option("--explain-events", st.explain_events, "Test events explained by LRP")->capture_default_str();
  study->add_option("--epochs", st.epochs, "Maximum epochs per training (early stopping)")->capture_default_str();
  study->add_option("--models", st.models, "Trainings per network with different seeds (mean +- std)")
      ->capture_default_str();
  study->add_option("--seed", st.seed, "Seed of the toy and the trainings")->capture_default_str();
  study->add_option("--rule", st.rule, "LRP rule for every layer")->capture_default_str();
  study->add_option("--composite", st.composite, "LRP composite instead of --rule");
  study->add_flag("--no-cnn", st.no_cnn, "Only the dense networks");
  study->add_option("--rows", st.rows, "Relevance table rows per network")->capture_default_str();
  study->add_option("--out", st.out, "Write the result as JSON");
  study->add_option("--threads", st.threads, "OpenMP threads (default: all)");
  study->add_flag("--json", st.json, "Print JSON instead of the tables");
}

}  // namespace unbox::cli
