// `unbox taylor`: the Taylor-expansion analysis (ranked mean absolute Taylor
// coefficients), and `unbox taylor select`: the variables of the top features, for the
// retraining workflow (all variables, the selection, the inverted selection).
#include <fmt/format.h>

#include <charconv>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct TaylorArgs {
  std::string model;
  EventArgs data;
  std::string neuron = "output", convention = "monomial", units = "standardized", top, out, per_event;
  std::string inverted;
  double top_percent = 0;
  int order = 2;
  Index rows = 20, chunk = 0;
  bool json = false, quiet = false;
  int threads = 0;
} a;

double parse_percent(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '%') t.pop_back();
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || !(v > 0 && v <= 100))
    throw Error(fmt::format("bad --top-percent '{}': expected a percentage in (0, 100], e.g. 5", text));
  return v;
}

// --top N is a count; the old spelling --top P% is a percentage (as --top-percent P).
void parse_top(double& percent, Index& count) {
  percent = a.top_percent;
  count = 0;
  if (a.top.empty()) return;
  if (a.top.back() == '%') {
    percent = parse_percent(a.top);
    return;
  }
  auto [p, ec] = std::from_chars(a.top.data(), a.top.data() + a.top.size(), count);
  if (ec != std::errc() || p != a.top.data() + a.top.size() || count < 1)
    throw Error(fmt::format("bad --top '{}': expected a count N >= 1 (percentages: --top-percent P)", a.top));
}

TaylorOptions options() {
  if (a.threads > 0) set_thread_count(a.threads);
  if (a.model.empty()) throw Error("--model is required");
  TaylorOptions o;
  o.neuron = a.neuron;
  o.order = a.order;
  if (a.order < 1 || a.order > 3) throw Error(fmt::format("--order must be 1, 2 or 3, got {}", a.order));
  o.convention = parse_convention(a.convention);
  if (a.units != "standardized" && a.units != "physical")
    throw Error(
        fmt::format("bad --units '{}': expected standardized (after the model's Standardize layer) or "
                    "physical (raw data columns)",
                    a.units));
  o.physical_units = a.units == "physical";
  o.rows = a.rows;
  return o;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Chunk by chunk and/or across ranks: each chunk's sums merged in event order, the ranks'
// results merged in rank order at rank 0, which prints and writes.
int run_streamed(const Network& net, const TaylorOptions& o) {
  if (o.per_event) throw Error("--per-event keeps every event: it is not streamed (drop --chunk, run on one rank)");
  auto merged = run_distributed([&]() -> std::optional<nlohmann::json> {
    std::optional<TaylorResult> part;
    for_each_chunk(a.data, a.chunk, [&](Dataset&& d) {
      TaylorResult r = taylor(net, Events(net, std::move(d), Binding{split_list(a.data.columns), 0}), o);
      if (part)
        merge(*part, r);
      else
        part = std::move(r);
    });
    if (!part) return std::nullopt;
    return part->to_json();
  });
  if (!merged) return 0;  // not rank 0
  if (!a.out.empty()) write_text_atomically(a.out, merged->dump(2) + "\n");
  if (a.json)
    std::cout << merged->dump(2) << "\n";
  else if (!a.quiet)
    std::cout << TaylorResult::from_json(*merged).table();
  return 0;
}

int run_taylor() {
  TaylorOptions o = options();
  Index count = 0;
  parse_top(o.top_percent, count);
  if (count > 0) o.rows = count;
  o.per_event = !a.per_event.empty();
  const Network net = load_model(a.model);
  if (streamed_run(a.chunk)) return run_streamed(net, o);
  TaylorResult r = taylor(net, bind_events(net, a.data), o);
  if (o.per_event) write_dataset(r.per_event_dataset(), a.per_event);  // from the one derivative pass
  const nlohmann::json j = r.to_json();
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(2) + "\n");
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else if (!a.quiet) {
    std::cout << r.table();
  }
  return 0;
}

int run_select() {
  TaylorSelectOptions so;
  so.taylor = options();
  parse_top(so.top_percent, so.top);
  if (so.top == 0 && so.top_percent == 0)
    throw Error("taylor select needs --top N or --top-percent P, e.g. --top-percent 5");
  const Network net = load_model(a.model);
  TaylorSelection r = taylor_select(net, bind_events(net, a.data), so);
  if (!a.out.empty()) write_text_atomically(a.out, join(r.selected, "\n") + "\n");
  if (!a.inverted.empty()) write_text_atomically(a.inverted, join(r.inverted, "\n") + (r.inverted.empty() ? "" : "\n"));
  if (a.json) {
    std::cout << r.to_json().dump(2) << "\n";
  } else if (a.quiet) {
    std::cout << join(r.selected, ",") << "\n";  // ready for --columns "$(unbox taylor select ... --quiet)"
  } else {
    std::cout << r.table();
  }
  return 0;
}

void add_options(CLI::App* c, bool select) {
  add_model_option(c, a.model);
  add_event_options(c, a.data);
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
  c->add_option("--top-percent", a.top_percent,
                select ? "Select the variables of the top P% of the ranked features, e.g. 5"
                       : "Also list the top P% of features and the variables they involve, e.g. 5 (default: none)");
  c->add_option("--top", a.top,
                select ? "Select the variables of the top N features (the old spelling N% means --top-percent N)"
                       : "Table rows: the top N features (the old spelling N% means --top-percent N)");
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print JSON instead of the table");
  c->add_flag("--quiet,-q", a.quiet, select ? "Print only the comma-separated selection" : "Print nothing");
  if (select) {
    c->add_option("--out,-o", a.out, "Write the selected variables, one per line");
    c->add_option("--inverted", a.inverted, "Write the other variables (the inverted selection), one per line");
  } else {
    c->add_option("--out,-o", a.out, "Write the result as JSON");
    c->add_option("--per-event", a.per_event,
                  "Write every event's coefficients, one column per feature (csv, npy, npz, h5)");
    c->add_option("--rows", a.rows, "Table rows to print (0: all; as --top N)")->capture_default_str();
    add_chunk_option(c, a.chunk, "the sums per feature (3 x features doubles)");
  }
}
}  // namespace

void register_taylor(CLI::App& app) {
  static CLI::App* select = nullptr;
  auto* c = add_command(
      app, "taylor",
      "Taylor-expansion analysis: rank single variables, pairs and triples by the mean absolute Taylor coefficient "
      "of a neuron (Wunsch et al.)",
      "unbox taylor --model m.unbox --data test.csv --label label --order 2 --top-percent 5\n"
      "  unbox taylor select --model m.unbox --data test.csv --top-percent 5 --out selected.txt --inverted rest.txt\n"
      "  unbox train --data train.csv --columns \"$(paste -sd, selected.txt)\" --arch 64,64 --out sel.unbox",
      [] { return select && select->parsed() ? run_select() : run_taylor(); });
  add_options(c, false);
  select = c->add_subcommand("select", "Write the variables involved in the top P% of features (for retraining)");
  add_options(select, true);
}

}  // namespace unbox::cli
