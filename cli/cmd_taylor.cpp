// `unbox taylor`: the Taylor-expansion analysis (ranked mean absolute Taylor
// coefficients), and `unbox taylor select`: the variables of the top features, for the
// retraining workflow (all variables, the selection, the inverted selection).
#include <fmt/format.h>

#include <charconv>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/explain/taylor.hpp"

namespace unbox::cli {

namespace {
struct TaylorArgs {
  std::string model;
  DataArgs data{"", "", "", false};
  std::string neuron = "output", columns, convention = "monomial", units = "standardized", top, out, per_event;
  std::string inverted;
  int order = 2;
  Index rows = 20;
  Index max_events = 0;
  bool json = false, quiet = false;
  int threads = 0;
} a;

double parse_percent(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '%') t.pop_back();
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || !(v > 0 && v <= 100))
    throw Error(fmt::format("bad --top '{}': expected a percentage in (0, 100], e.g. 5%", text));
  return v;
}

TaylorResult analyse(Network& net, Dataset& data, TaylorOptions& o) {
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.model.empty()) throw Error("--model is required");
  if (a.data.path.empty()) throw Error("--data is required");
  net = load_network(a.model);
  data = load_data(a.data);
  if (a.data.label.empty() && data.has("label")) data.label_column = "label";  // per-class averages when present
  if (data.label_column) check_labels(data);
  if (a.max_events > 0 && data.events() > a.max_events) {
    // The first events: files are usually shuffled; keeps it deterministic.
    std::vector<Index> rows(static_cast<size_t>(a.max_events));
    for (Index i = 0; i < a.max_events; ++i) rows[static_cast<size_t>(i)] = i;
    data = data.subset(rows);
  }
  o.neuron = a.neuron;
  o.order = a.order;
  if (a.order < 1 || a.order > 3) throw Error(fmt::format("--order must be 1, 2 or 3, got {}", a.order));
  o.convention = parse_convention(a.convention);
  if (a.units != "standardized" && a.units != "physical")
    throw Error(fmt::format("bad --units '{}': expected standardized (after the model's Standardize layer) or "
                            "physical (raw data columns)",
                            a.units));
  o.physical_units = a.units == "physical";
  o.columns = split_list(a.columns);
  return taylor(net, data, o);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

int run_taylor() {
  Network net;
  Dataset data;
  TaylorOptions o;
  TaylorResult r = analyse(net, data, o);
  const double top = a.top.empty() ? 0.0 : parse_percent(a.top);
  if (!a.out.empty()) write_text_atomically(a.out, r.to_json(top).dump(2) + "\n");
  if (!a.per_event.empty()) {
    // Every event's coefficients (in the chosen convention and units), one column each:
    // for plots and for cross-checks against other tools.
    DerivativeOptions d{.order = o.order, .physical_units = o.physical_units};
    auto inputs = gather_inputs(net, data, o.columns);
    InputDerivatives all = input_derivatives(net, inputs, net.resolve(o.neuron), d);
    const auto& vars = o.columns.empty() ? all.plan.variables : o.columns;
    const Index n = static_cast<Index>(vars.size()), N = data.events();
    const bool mono = o.convention == TaylorConvention::Monomial;
    Dataset out;
    auto column = [&](const std::string& name, const Tensor& t, Index pos, Index width, double fac) {
      Tensor c({N});
      for (Index e = 0; e < N; ++e) c[e] = fac * t[e * width + pos];
      out.add(name, std::move(c));
    };
    out.add(a.neuron, all.value);
    for (Index i = 0; i < n; ++i) column("t(" + vars[static_cast<size_t>(i)] + ")", all.first, i, n, 1.0);
    if (o.order >= 2)
      for (Index i = 0; i < n; ++i)
        for (Index j = i; j < n; ++j)
          column(fmt::format("t({})", feature_name({vars[static_cast<size_t>(i)], vars[static_cast<size_t>(j)]})),
                 all.second, pair_index(i, j, n), pair_count(n), mono && i == j ? 0.5 : 1.0);
    if (o.order >= 3) {
      auto tl = triple_list(n);
      for (Index t = 0; t < triple_count(n); ++t) {
        Index i = tl[3 * t], j = tl[3 * t + 1], k = tl[3 * t + 2];
        double fac = !mono ? 1.0 : (i == j && j == k) ? 1.0 / 6 : (i == j || j == k) ? 0.5 : 1.0;
        column(fmt::format("t({})", feature_name({vars[static_cast<size_t>(i)], vars[static_cast<size_t>(j)],
                                                  vars[static_cast<size_t>(k)]})),
               all.third, t, triple_count(n), fac);
      }
    }
    write_dataset(out, a.per_event);
  }
  if (a.json) {
    std::cout << r.to_json(top).dump(2) << "\n";
  } else if (!a.quiet) {
    std::cout << r.table(a.rows, top);
  }
  return 0;
}

int run_select() {
  if (a.top.empty()) throw Error("taylor select needs --top, e.g. --top 5%");
  const double top = parse_percent(a.top);
  Network net;
  Dataset data;
  TaylorOptions o;
  TaylorResult r = analyse(net, data, o);
  auto vars = r.top_variables(top);
  std::vector<std::string> rest;
  for (const auto& v : r.variables)
    if (std::find(vars.begin(), vars.end(), v) == vars.end()) rest.push_back(v);
  if (!a.out.empty()) write_text_atomically(a.out, join(vars, "\n") + "\n");
  if (!a.inverted.empty()) write_text_atomically(a.inverted, join(rest, "\n") + (rest.empty() ? "" : "\n"));
  if (a.json) {
    std::cout << nlohmann::json{{"neuron", r.neuron},
                                {"convention", convention_name(r.convention)},
                                {"percent", top},
                                {"features", r.top_count(top)},
                                {"selected", vars},
                                {"inverted", rest}}
                     .dump(2)
              << "\n";
  } else if (a.quiet) {
    std::cout << join(vars, ",") << "\n";  // ready for --columns "$(unbox taylor select ... --quiet)"
  } else {
    std::cout << fmt::format("top {}% of {} features ({} features, {} convention, order <= {}) involve {} of {} "
                             "variables:\n  {}\ninverted selection ({}):\n  {}\n",
                             top, r.features.size(), r.top_count(top), convention_name(r.convention), r.order,
                             vars.size(), r.variables.size(), join(vars, ","), rest.size(), join(rest, ","));
    for (const auto& note : r.notes) std::cout << "note: " << note << "\n";
  }
  return 0;
}

void add_options(CLI::App* c, bool select) {
  c->add_option("--model", a.model, "Model file (.unbox)");
  c->add_option("--data", a.data.path, "Events to expand around (csv, npy, npz, h5[:/path])");
  c->add_option("--label", a.data.label,
                "Label column (1 signal, 0 background) for per-class averages (default: 'label' when present)");
  c->add_option("--weight", a.data.weight, "Event weight column (weighted averages)");
  c->add_option("--columns", a.columns, "Data columns feeding the model's input, in order (default: by name)");
  c->add_option("--neuron", a.neuron,
                "Neuron to expand: output (after the output activation), output:pre, L2N12, L12N0:pre, NODE[j]")
      ->capture_default_str();
  c->add_option("--order", a.order, "Highest order: 1, 2 or 3")->capture_default_str();
  c->add_option("--convention", a.convention,
                "monomial: Taylor-monomial coefficients as tayloranalysis (t_ii = f_ii/2, third order / prod n!); "
                "derivative: plain derivatives as Wunsch et al. 2018")
      ->capture_default_str();
  c->add_option("--units", a.units,
                "standardized: derivatives by the inputs the first layer sees (after the model's Standardize); "
                "physical: by the raw data columns")
      ->capture_default_str();
  c->add_option("--top", a.top, select ? "Select the variables of the top P% of the ranked features, e.g. 5%"
                                       : "Also list the top P% of features and the variables they involve, e.g. 5%");
  c->add_option("--events", a.max_events, "Use only the first N events (0: all)")->capture_default_str();
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print JSON instead of the table");
  c->add_flag("--quiet", a.quiet, select ? "Print only the comma-separated selection" : "Print nothing");
  if (select) {
    c->add_option("--out", a.out, "Write the selected variables, one per line");
    c->add_option("--inverted", a.inverted, "Write the other variables (the inverted selection), one per line");
  } else {
    c->add_option("--out", a.out, "Write the result as JSON");
    c->add_option("--per-event", a.per_event,
                  "Write every event's coefficients, one column per feature (csv, npy, npz, h5)");
    c->add_option("--rows", a.rows, "Table rows to print (0: all)")->capture_default_str();
  }
}
}  // namespace

void register_taylor(CLI::App& app) {
  static CLI::App* select = nullptr;
  auto* c = add_command(
      app, "taylor",
      "Taylor-expansion analysis: rank single variables, pairs and triples by the mean absolute Taylor coefficient "
      "of a neuron (Wunsch et al.)",
      "unbox taylor --model m.unbox --data test.csv --label label --order 2 --top 5%\n"
      "  unbox taylor select --model m.unbox --data test.csv --top 5% --out selected.txt --inverted rest.txt\n"
      "  unbox train --data train.csv --columns \"$(paste -sd, selected.txt)\" --arch 64,64 --out sel.unbox",
      [] { return select && select->parsed() ? run_select() : run_taylor(); });
  add_options(c, false);
  select = c->add_subcommand("select", "Write the variables involved in the top P% of features (for retraining)");
  add_options(select, true);
}

}  // namespace unbox::cli
