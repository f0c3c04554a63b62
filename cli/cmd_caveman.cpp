// unbox caveman: a caveman variable from a neuron's maximization population (Roxlo &
// Reece section 2.6, appendix A); `unbox caveman apply` evaluates a saved one.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct CavemanArgs {
  std::string model, population, neuron = "output", out;
  EventArgs data;
  bool json = false;
  int threads = 0;
  CavemanOptions opt;
  // apply
  CLI::App* apply = nullptr;
  std::string variable, apply_data, apply_out, apply_label, keep, name = "caveman";
};

int run_apply(CavemanArgs& a) {
  std::ifstream in(a.variable);
  if (!in) throw Error(fmt::format("cannot open caveman variable '{}'", a.variable));
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}' is not valid JSON: {}", a.variable, e.what()));
  }
  CavemanVariable v;
  try {
    v = CavemanVariable::from_json(j);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}' is not a caveman variable: {}", a.variable, e.what()));
  }
  Dataset data = read_dataset(a.apply_data);
  if (data.source.empty()) data.source = a.apply_data;
  std::vector<double> vals = v.evaluate(data);
  Dataset out;
  for (const auto& k : split_list(a.keep)) out.add(k, data.get(k));
  out.add(a.name, Tensor({data.events()}, vals));
  write_dataset(out, a.apply_out);
  std::string msg =
      fmt::format("wrote {}: {} events, column '{}' = {}\n", a.apply_out, data.events(), a.name, v.formula());
  if (!a.apply_label.empty()) {
    data.label_column = a.apply_label;
    check_labels(data);
    msg += fmt::format("AUC ({}) {:.4f}\n", a.apply_label, auc(vals, data.get(a.apply_label).values()));
  }
  std::fputs(msg.c_str(), stdout);
  return 0;
}

int run_caveman(CavemanArgs& a) {
  if (a.apply && a.apply->parsed()) return run_apply(a);
  for (auto [name, value] : {std::pair{"--model", &a.model}, {"--data", &a.data.data}, {"--population", &a.population}})
    if (value->empty()) throw Error(fmt::format("caveman needs {} (or use `unbox caveman apply`)", name));
  if (a.threads > 0) set_thread_count(a.threads);
  Network net = load_model(a.model);
  const Events events = bind_events(net, a.data);
  a.opt.population = read_dataset(a.population);
  if (a.opt.population.source.empty()) a.opt.population.source = a.population;
  a.opt.neuron = a.neuron;
  CavemanResult r = caveman(net, events, a.opt);
  if (!a.out.empty()) write_text_atomically(a.out, r.variable.to_json().dump(2) + "\n");
  if (a.json) {
    auto j = r.to_json();
    if (!a.out.empty()) j["out"] = a.out;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::string t = r.table();
    if (!a.out.empty())
      t += fmt::format("  variable -> {} (unbox caveman apply --variable {} --data D --out F)\n", a.out, a.out);
    std::fputs(t.c_str(), stdout);
  }
  return 0;
}

}  // namespace

void register_caveman(CLI::App& app) {
  auto a = std::make_shared<CavemanArgs>();
  auto* c = add_command(app, "caveman",
                        "Caveman variable: a readable formula approximating a neuron, built from the islands of its "
                        "maximization population",
                        "unbox caveman --model m.unbox --data test.csv --population pop.csv --neuron output "
                        "--label label --out var.json\n"
                        "  unbox caveman apply --variable var.json --data other.csv --out scored.csv",
                        [a] { return run_caveman(*a); });
  c->require_subcommand(0, 1);
  add_model_option(c, a->model);
  add_event_options(c, a->data);
  c->add_option("--population,-p", a->population, "Population file written by unbox maximize --out");
  c->add_option("--neuron,-n", a->neuron, "The neuron the population maximized")->capture_default_str();
  c->add_option("--terms", a->opt.terms, "Terms left by the L1 penalty")->capture_default_str();
  c->add_option("--histograms-per-dim", a->opt.histograms_per_dim,
                "Top histograms of each dimension searched for islands (the paper: 20)")
      ->capture_default_str();
  c->add_option("--clusters", a->opt.max_clusters, "Islands per histogram, largest first")->capture_default_str();
  c->add_option("--density", a->opt.density_factor,
                "DBSCAN core points: neighbourhood this many times denser than a uniform population")
      ->capture_default_str();
  c->add_option("--fit-events", a->opt.fit_events, "Data events for fitting the combination (the rest test it)")
      ->capture_default_str();
  c->add_option("--fit-iterations", a->opt.fit_iterations, "Adam steps fitting each island's function")
      ->capture_default_str();
  c->add_option("--out,-o", a->out, "Save the variable as JSON (for unbox caveman apply)");
  c->add_option("--seed", a->opt.seed, "Random seed")->capture_default_str();
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a->json, "Print JSON (formula, terms, auc, neuron_auc, linear) instead of the table");

  a->apply = c->add_subcommand("apply", "Evaluate a saved caveman variable on data");
  a->apply->add_option("--variable,-v", a->variable, "Caveman variable JSON (caveman --out)")->required();
  a->apply->add_option("--data,-d", a->apply_data, "Events (csv, npy, npz, h5)")->required();
  a->apply->add_option("--out,-o", a->apply_out, "Output file; extension picks the format")->required();
  a->apply->add_option("--name", a->name, "Name of the output column")->capture_default_str();
  a->apply->add_option("--keep", a->keep, "Data columns to copy to the output (e.g. label)");
  a->apply->add_option("--label", a->apply_label, "Label column: also print the variable's AUC");
}

}  // namespace unbox::cli
