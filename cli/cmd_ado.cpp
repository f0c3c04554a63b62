// unbox ado: decision ordering between two discriminants (Faucett, Thaler & Whiteson);
// `unbox ado search`: the guided search for the observables that close the gap to a deep
// network; `unbox ado study`: the worked study on the XAUG jet toy (PFN target, EFP pool).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/ado.hpp"
#include "unbox/explain/ado_search.hpp"
#include "unbox/explain/ado_study.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {

struct AdoArgs {
  std::string data, label = "label", weight, score, against, model, columns, out;
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

// The values of `name` for every event: with a model, a neuron when the name resolves to
// one (output, output:pre, L2N3, NODE[j]); otherwise a 1-D column of the data.
std::vector<double> discriminant(const Dataset& d, const Network* net, const std::vector<Tensor>* inputs,
                                 const std::string& name, const std::string& file) {
  if (net) {
    NeuronRef ref;
    bool neuron = true;
    try {
      ref = net->resolve(name);
    } catch (const Error&) {
      neuron = false;
    }
    if (neuron) return evaluate(*net, *inputs, {ref}).values();
  }
  if (!d.has(name))
    throw Error(fmt::format("'{}' is neither a column of '{}'{}", name, file,
                            net ? " nor a neuron of the model (output, output:pre, LkNj, NODE[j])" : ""));
  const Tensor& t = d.get(name);
  if (t.rank() != 1)
    throw Error(fmt::format("'{}' in '{}' is an array of shape {}, not a column", name, file, shape_string(t.shape())));
  return t.values();
}

struct Loaded {
  Dataset data;
  std::unique_ptr<Network> net;
  std::vector<Tensor> inputs;
};

Loaded load(const AdoArgs& a) {
  if (a.data.empty()) throw Error("ado needs --data");
  if (a.threads > 0) set_thread_count(a.threads);
  Loaded l;
  l.data = load_data({a.data, a.label, a.weight});
  if (l.data.source.empty()) l.data.source = a.data;
  check_labels(l.data);
  if (!a.model.empty()) {
    l.net = std::make_unique<Network>(load_model(a.model));
    l.inputs = gather_inputs(*l.net, l.data, model_columns(*l.net, l.data, split_list(a.columns)));
  }
  return l;
}

int run_ado(AdoArgs& a) {
  if (a.score.empty() || a.against.empty())
    throw Error("ado needs --score S and --against A (data columns, or neurons with --model); "
                "or use `unbox ado search` / `unbox ado study`");
  Loaded l = load(a);
  const auto f = discriminant(l.data, l.net.get(), &l.inputs, a.score, a.data);
  const auto g = discriminant(l.data, l.net.get(), &l.inputs, a.against, a.data);
  const auto labels = l.data.labels();
  const auto w = a.weight.empty() ? std::vector<double>{} : l.data.weights();
  AdoResult r = ado(f, g, labels, w);
  const double auc_f = auc(f, labels, w), auc_g = auc(g, labels, w);
  nlohmann::ordered_json j;
  j["ado"] = r.ado;
  j["score"] = a.score;
  j["against"] = a.against;
  j["auc_score"] = auc_f;
  j["auc_against"] = auc_g;
  const nlohmann::ordered_json details = r.to_json();
  for (auto it = details.begin(); it != details.end(); ++it)
    if (it.key() != "ado") j[it.key()] = it.value();
  j["ties"] = "a pair tied in either discriminant counts one half";
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(2) + "\n");
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::string t = fmt::format("unbox ado: '{}' against '{}' on '{}'\n", a.score, a.against, a.data);
  t += fmt::format("  ADO                 {:.6f}   (ties count one half)\n", r.ado);
  t += fmt::format("  pairs               {} signal x {} background = {}\n", r.n_signal, r.n_background, r.n_pairs);
  t += fmt::format("  concordant          {:.6f}\n  discordant          {:.6f}\n  tied                {:.6f}\n",
                   r.concordant, r.discordant, r.tied);
  t += fmt::format("  AUC {:<15} {:.6f}\n  AUC {:<15} {:.6f}\n", a.score, auc_f, a.against, auc_g);
  std::fputs(t.c_str(), stdout);
  return 0;
}

int run_search(AdoArgs& a) {
  if (a.target.empty()) throw Error("ado search needs --target (a column, or a neuron with --model)");
  if (a.base.empty()) throw Error("ado search needs --base: the HL columns the first network sees");
  Loaded l = load(a);
  const std::vector<double> target = discriminant(l.data, l.net.get(), &l.inputs, a.target, a.data);
  std::vector<std::string> base = split_list(a.base), pool = split_list(a.pool);
  if (!a.pool_data.empty()) {
    Dataset p = read_dataset(a.pool_data);
    if (p.events() != l.data.events())
      throw Error(fmt::format("--pool-data '{}' has {} rows but '{}' has {}; they must hold the same events in the same order",
                              a.pool_data, p.events(), a.data, l.data.events()));
    const bool all = pool.empty();
    for (const auto& name : p.names()) {
      if (p.get(name).rank() != 1 || name == a.label || name == a.weight) continue;
      if (l.data.has(name)) {
        if (!all && std::find(pool.begin(), pool.end(), name) != pool.end())
          throw Error(fmt::format("pool column '{}' is in both '{}' and '{}'", name, a.data, a.pool_data));
        continue;
      }
      l.data.add(name, p.get(name));
      if (all) pool.push_back(name);
    }
  } else if (pool.empty()) {
    for (const auto& c : l.data.feature_columns())
      if (c != a.target && std::find(base.begin(), base.end(), c) == base.end()) pool.push_back(c);
  }
  check_finite(l.data, base, "ado search");
  check_finite(l.data, pool, "ado search");
  AdoSearchResult r = ado_search(l.data, target, a.target, base, pool, a.sopt);
  auto j = r.to_json();
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(2) + "\n");
  if (a.json) std::printf("%s\n", j.dump(2).c_str());
  else std::fputs((r.to_table() + (a.out.empty() ? "" : "  result -> " + a.out + "\n")).c_str(), stdout);
  return 0;
}

int run_study(AdoArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  AdoStudyResult r = ado_study(a.study_opt);
  auto j = r.to_json();
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(2) + "\n");
  if (a.json) std::printf("%s\n", j.dump(2).c_str());
  else std::fputs((r.to_table() + (a.out.empty() ? "" : "  result -> " + a.out + "\n")).c_str(), stdout);
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
  c->add_option("--max-pairs", o.max_pairs, "Disordered pairs kept (a seeded sample beyond this)")->capture_default_str();
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
    s->add_option("--data,-d", a->data, "Events (csv, npy, npz, h5)");
    s->add_option("--label", a->label, "Label column: 1 signal, 0 background")->capture_default_str();
    s->add_option("--weight,-w", a->weight, "Weight column: pairs weigh w_sig * w_bkg");
    s->add_option("--model,-m", a->model, "Model (.unbox or .onnx): names may then be neurons (output:pre, L2N3, NODE[j])");
    s->add_option("--columns", a->columns, "With --model: data columns feeding the model's inputs, in order");
    s->add_option("--threads", a->threads, "OpenMP threads (default: all)");
    s->add_option("--out,-o", a->out, "Also write the JSON result to this file");
    s->add_flag("--json", a->json, "Print JSON instead of the table");
  };
  common(c);
  c->add_option("--score,-s", a->score, "First discriminant: a column, or with --model a neuron");
  c->add_option("--against,-a", a->against, "Second discriminant: a column, or with --model a neuron");

  a->search = c->add_subcommand("search", "Guided search: add the pool observable that best orders the pairs the "
                                          "HL network gets wrong, retrain, repeat");
  common(a->search);
  a->search->add_option("--target,-t", a->target, "The discriminant to map (a column, or with --model a neuron)");
  a->search->add_option("--base,-b", a->base, "Comma list of the base HL columns");
  a->search->add_option("--pool,-p", a->pool,
                        "Comma list of candidate columns (default: every column of --pool-data, or of --data "
                        "besides the base, target, label and weight)");
  a->search->add_option("--pool-data", a->pool_data, "File with more candidate columns, the same events in the same order");
  add_search_options(a->search, *a);

  a->study = c->add_subcommand(
      "study", "The worked study on the XAUG jet toy: a Particle Flow Network as target, jet-level HL as base, EFPs as pool");
  AdoStudyOptions& so = a->study_opt;
  a->study->add_option("--events", so.events, "Jets generated (half signal)")->capture_default_str();
  a->study->add_option("--pfn", so.pfn_arch, "Target architecture pfn:PHI:F")->capture_default_str();
  a->study->add_option("--pfn-epochs", so.pfn_epochs, "Epochs for the PFN")->capture_default_str();
  a->study->add_option("--base", so.base, "Comma list of the base HL columns")->capture_default_str();
  a->study->add_option("--dmax", so.dmax, "EFPs up to this degree form the pool")->capture_default_str();
  a->study->add_option("--beta", so.betas, "Comma list of angular exponents beta for the EFP pool")->capture_default_str();
  a->study->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  a->study->add_option("--out,-o", a->out, "Also write the JSON result to this file");
  a->study->add_flag("--json", a->json, "Print JSON instead of the table");
  add_search_options(a->study, *a);
  a->study->callback([a] { a->study_opt.search = a->sopt; });
}

}  // namespace unbox::cli
