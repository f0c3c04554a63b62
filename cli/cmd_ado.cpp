// unbox ado: decision ordering between two discriminants (Faucett, Thaler & Whiteson);
// `unbox ado search`: the guided search for the observables that close the gap to a deep
// network; `unbox ado study`: the worked study on the XAUG jet toy (PFN target, EFP pool).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/ado.hpp"
#include "unbox/explain/ado_search.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"
#include "unbox/studies/ado_study.hpp"

namespace unbox::cli {

namespace {

// The line naming the result file, under the table (none when no file was asked for).
std::string result_line(const std::string& out) { return out.empty() ? "" : "  result -> " + out + "\n"; }

struct AdoArgs {
  EventArgs data;
  std::string score, against, model, out;
  bool json = false;
  int threads = 0;
  // search
  CLI::App* search = nullptr;
  std::string target, base, pool, pool_data;
  AdoSearchOptions sopt;
  // study
  CLI::App* study = nullptr;
  AdoStudyOptions study_opt;
};

int run_ado(AdoArgs& a) {
  if (a.score.empty() || a.against.empty())
    throw Error(
        "ado needs --score S and --against A (data columns, or neurons with --model); "
        "or use `unbox ado search` / `unbox ado study`");
  if (a.threads > 0) set_thread_count(a.threads);
  const AdoOptions o{a.score, a.against};
  AdoComparison r;
  if (a.model.empty()) {
    r = ado(unbound_events(a.data), o);
  } else {
    const Network net = load_model(a.model);
    r = ado(net, bind_events(net, a.data), o);
  }
  print_result(r.to_json(), r.table(), a.json, a.out);
  return 0;
}

int run_search(AdoArgs& a) {
  if (a.target.empty()) throw Error("ado search needs --target (a column, or a neuron with --model)");
  if (a.base.empty()) throw Error("ado search needs --base: the HL columns the first network sees");
  if (a.threads > 0) set_thread_count(a.threads);
  Dataset data = read_event_data(a.data);
  AdoSearchOptions& o = a.sopt;
  o.target = a.target;
  o.base = split_list(a.base);
  o.pool = split_list(a.pool);
  if (!a.pool_data.empty()) {
    Dataset p = read_dataset(a.pool_data);
    if (p.events() != data.events())
      throw Error(
          fmt::format("--pool-data '{}' has {} rows but '{}' has {}; they must hold the same events in the same order",
                      a.pool_data, p.events(), a.data.data, data.events()));
    const bool all = o.pool.empty();
    for (const auto& name : p.names()) {
      if (p.get(name).rank() != 1 || name == a.data.label || name == a.data.weight) continue;
      if (data.has(name)) {
        if (!all && std::find(o.pool.begin(), o.pool.end(), name) != o.pool.end())
          throw Error(fmt::format("pool column '{}' is in both '{}' and '{}'", name, a.data.data, a.pool_data));
        continue;
      }
      data.add(name, p.get(name));
      if (all) o.pool.push_back(name);
    }
  }
  AdoSearchResult r;
  if (a.model.empty()) {
    r = ado_search(Events(std::move(data)), o);
  } else {
    const Network net = load_model(a.model);
    r = ado_search(net, Events(net, std::move(data), Binding{split_list(a.data.columns)}), o);
  }
  print_result(r.to_json(), r.table() + result_line(a.out), a.json, a.out);
  return 0;
}

int run_study(AdoArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  AdoStudyResult r = ado_study(a.study_opt);
  print_result(r.to_json(), r.table() + result_line(a.out), a.json, a.out);
  return 0;
}

void add_search_options(CLI::App* c, AdoArgs& a) {
  AdoSearchOptions& o = a.sopt;
  c->add_option("--arch", o.arch, "Hidden widths of the small networks trained on the HL sets")->capture_default_str();
  c->add_option("--activation", o.activation, "Their hidden activation")->capture_default_str();
  c->add_option("--epochs", o.epochs, "Training epochs (early stopping on a validation split)")->capture_default_str();
  c->add_option("--patience", o.patience, "Early-stopping patience")->capture_default_str();
  c->add_option("--learning-rate", o.learning_rate, "Adam learning rate")->capture_default_str();
  c->add_option("--batch", o.batch, "Mini-batch size")->capture_default_str();
  c->add_option("--train-fraction", o.train_fraction,
                "Events the networks train on; AUC, ADO and the disordered pairs use the rest")
      ->capture_default_str();
  c->add_option("--max-pairs", o.max_pairs, "Disordered pairs kept (a seeded sample beyond this)")
      ->capture_default_str();
  c->add_option("--steps", o.max_steps, "Additions at most")->capture_default_str();
  c->add_option("--margin", o.margin, "Stop when ADO[target] improves by less than this")->capture_default_str();
  c->add_option("--seed", o.seed, "Seed of the split, the trainings and the pair sample")->capture_default_str();
}

}  // namespace

void register_ado(CLI::App& app) {
  auto a = std::make_shared<AdoArgs>();
  auto* c = add_command(
      app, "ado",
      "Decision ordering: how often two discriminants order signal-background pairs the same way (ADO, exact over "
      "all pairs)",
      "unbox ado --data test.csv --label label --score xaug_mass --against score --json\n"
      "  unbox ado --data test.csv --label label --model pfn.unbox --score output:pre --against xaug_mass\n"
      "  unbox ado search --data jets.csv --pool-data efps.csv --label label --model pfn.unbox --target output:pre "
      "--base xaug_mass,xaug_subjet_dr\n"
      "  unbox ado study --events 6000 --out study.json",
      [a] {
        if (a->search->parsed()) return run_search(*a);
        if (a->study->parsed()) return run_study(*a);
        return run_ado(*a);
      });
  c->require_subcommand(0, 1);
  auto common = [&](CLI::App* s) {
    add_event_options(s, a->data);
    s->add_option("--model,-m", a->model,
                  "Model (.unbox or .onnx): names may then be neurons (output:pre, L2N3, NODE[j])");
    s->add_option("--threads", a->threads, "OpenMP threads (default: all)");
    s->add_option("--out,-o", a->out, "Also write the JSON result to this file");
    s->add_flag("--json", a->json, "Print JSON instead of the table");
  };
  common(c);
  c->add_option("--score,-s", a->score, "First discriminant: a column, or with --model a neuron");
  c->add_option("--against,-a", a->against, "Second discriminant: a column, or with --model a neuron");

  a->search = c->add_subcommand("search",
                                "Guided search: add the pool observable that best orders the pairs the "
                                "HL network gets wrong, retrain, repeat");
  common(a->search);
  a->search->add_option("--target,-t", a->target, "The discriminant to map (a column, or with --model a neuron)");
  a->search->add_option("--base,-b", a->base, "Comma list of the base HL columns");
  a->search->add_option("--pool,-p", a->pool,
                        "Comma list of candidate columns (default: every column of --pool-data, or of --data "
                        "besides the base, target, label and weight)");
  a->search->add_option("--pool-data", a->pool_data,
                        "File with more candidate columns, the same events in the same order");
  add_search_options(a->search, *a);

  a->study = c->add_subcommand(
      "study",
      "The worked study on the XAUG jet toy: a Particle Flow Network as target, jet-level HL as base, EFPs as pool");
  AdoStudyOptions& so = a->study_opt;
  a->study->add_option("--events", so.events, "Jets generated (half signal)")->capture_default_str();
  a->study->add_option("--pfn", so.pfn_arch, "Target architecture pfn:PHI:F")->capture_default_str();
  a->study->add_option("--pfn-epochs", so.pfn_epochs, "Epochs for the PFN")->capture_default_str();
  a->study->add_option("--base", so.base, "Comma list of the base HL columns")->capture_default_str();
  a->study->add_option("--dmax", so.dmax, "EFPs up to this degree form the pool")->capture_default_str();
  a->study->add_option("--beta", so.betas, "Comma list of angular exponents beta for the EFP pool")
      ->capture_default_str();
  a->study->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  a->study->add_option("--out,-o", a->out, "Also write the JSON result to this file");
  a->study->add_flag("--json", a->json, "Print JSON instead of the table");
  add_search_options(a->study, *a);
  a->study->callback([a] { a->study_opt.search = a->sopt; });
}

}  // namespace unbox::cli
