// `unbox attribute --method saliency|grad-x-input|ig|smoothgrad`: gradient attributions
// beside LRP, with the same aggregations (mean normalized relevance, profiles, maps,
// mean +- std across trainings) and the same default target as `unbox lrp`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct AttrArgs {
  std::string profile, model, method = "ig", neuron, columns, out, per_event, baseline = "mean";
  DataArgs data{"", "", "", false};
  Index steps = 64, samples = 25, bins = 10, rows = 15, max_events = 0;
  double noise = 0.1;
  std::uint64_t seed = 1;
  bool json = false;
  int threads = 0;
} a;

int run_attribute() {
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.model.empty()) throw Error("--model is required");
  if (a.data.path.empty()) throw Error("--data is required");
  AttributeOptions o;
  o.method = parse_attribution_method(a.method);
  o.baseline = a.baseline;
  o.steps = a.steps;
  o.samples = a.samples;
  o.noise = a.noise;
  o.seed = a.seed;
  o.columns = split_list(a.columns);
  if (o.steps < 1) throw Error(fmt::format("--steps must be positive, got {}", o.steps));
  const auto models = split_list(a.model);
  Dataset data = load_events_to_explain(a.data, a.max_events);
  const std::vector<double> labels = data.label_column ? data.labels() : std::vector<double>{};
  std::vector<Aggregation> aggs;
  std::string target, note;
  double mean_abs_complete = 0, max_abs_complete = 0, max_rel_complete = 0;
  for (size_t m = 0; m < models.size(); ++m) {
    Network net = load_model(models[m]);
    o.neuron = explained_target(net, a.neuron, &note, "the default, as for lrp, is output:pre");
    Attribution r = attribute(net, data, o);
    target = r.target;
    aggs.push_back(aggregate(r.features, r.scores, r.inputs, labels, AggregationOptions{a.bins, a.rows}));
    if (m == 0) {
      for (size_t e = 0; e < r.completeness_error.size(); ++e) {
        const double err = std::abs(r.completeness_error[e]);
        mean_abs_complete += err / static_cast<double>(r.completeness_error.size());
        max_abs_complete = std::max(max_abs_complete, err);
        const double scale = std::abs(r.f_x[e] - r.f_baseline[e]) + std::abs(r.f_x[e]);
        if (scale > 0) max_rel_complete = std::max(max_rel_complete, err / scale);
      }
      if (!a.per_event.empty()) {
        Dataset out = score_columns("A_", r.features, r.scores);
        if (!r.completeness_error.empty()) {
          out.add("f_x", Tensor({data.events()}, r.f_x));
          out.add("f_baseline", Tensor({data.events()}, r.f_baseline));
          out.add("completeness_error", Tensor({data.events()}, r.completeness_error));
        }
        if (!labels.empty()) out.add("label", Tensor({data.events()}, labels));
        write_dataset(out, a.per_event);
      }
    }
  }
  AggregateSummary s = combine(aggs);
  for (const auto& f : split_list(a.profile)) (void)s.profile_table(f);  // unknown names fail before any output
  nlohmann::json j = s.to_json();
  j["method"] = attribution_method_name(o.method);
  j["target"] = target;
  j["models"] = models;
  j["events"] = data.events();
  nlohmann::json cons{{"applies", o.method == AttributionMethod::IntegratedGradients}};
  if (o.method == AttributionMethod::IntegratedGradients) {
    j["baseline"] = o.baseline;
    j["steps"] = o.steps;
    j["quadrature"] = "gauss-legendre";
    cons["mean_abs_error"] = mean_abs_complete;
    cons["max_abs_error"] = max_abs_complete;
    cons["max_relative_error"] = max_rel_complete;
  } else {
    cons["mean_abs_error"] = nullptr;
  }
  // Integrated Gradients' completeness is its conservation: sum of attributions = f(x) - f(baseline).
  j["conservation"] = cons;
  if (o.method == AttributionMethod::SmoothGrad) j["samples"] = o.samples, j["noise"] = o.noise, j["seed"] = o.seed;
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(2) + "\n");
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << note << "\n";
  std::cout << fmt::format("{} on {} events", attribution_method_name(o.method), data.events());
  if (o.method == AttributionMethod::IntegratedGradients)
    std::cout << fmt::format(" (baseline {}, {} Gauss-Legendre points); completeness |sum A - (f(x) - f(baseline))|: "
                             "mean {:.3g}, max {:.3g}, max relative {:.3g}",
                             o.baseline, o.steps, mean_abs_complete, max_abs_complete, max_rel_complete);
  std::cout << "\n" << s.table(a.rows);
  for (const auto& f : split_list(a.profile)) std::cout << "\n" << s.profile_table(f);
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
  c->add_option("--model", a.model, "Model file(s) (.unbox or .onnx), comma-separated for mean +- std across trainings");
  c->add_option("--data", a.data.path, "Events to explain (csv, npy, npz, h5[:/path])");
  c->add_option("--label", a.data.label, "Label column for per-class aggregates (default: 'label' when present)");
  c->add_option("--columns", a.columns, "Data columns feeding the model's input, in order (default: by name)");
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
  c->add_option("--rows", a.rows, "Table rows to print (0: all)")->capture_default_str();
  c->add_option("--profile", a.profile, "Also print the profile table (mean score in bins of the value) of these "
                                        "inputs, comma-separated (every input's profile is in the JSON)");
  c->add_option("--events", a.max_events, "Use only the first N events (0: all)")->capture_default_str();
  c->add_option("--out", a.out, "Write the result as JSON");
  c->add_option("--per-event", a.per_event, "Write every event's attributions (A_<feature>, IG completeness)");
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print JSON instead of the table");
}

}  // namespace unbox::cli
