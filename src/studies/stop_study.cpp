// The stop/top study of Roxlo & Reece end to end (see stop_study.hpp). Each method is called
// from one small function (run_*) so that a change of the methods' calling convention touches
// one place each.
#include "unbox/studies/stop_study.hpp"
#include "unbox/events.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "unbox/core.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/explain/ado.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/explain/taylor.hpp"
#include "unbox/metrics.hpp"
#include "unbox/network.hpp"
#include "unbox/physics/stop_dilepton.hpp"
#include "unbox/random.hpp"
#include "unbox/train.hpp"

namespace unbox::studies {

using json = nlohmann::ordered_json;

namespace {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

std::string point_name(double m1, double m2) { return format_double(m1) + "," + format_double(m2); }

// Readable names of the inputs for tables and the summary (the paper's symbols).
std::string pretty(const std::string& c) {
  static const std::map<std::string, std::string> names = {
      {"log_met", "MET"},           {"log_l1_pt", "pT_l1"},       {"log_l2_pt", "pT_l2"},
      {"log_j1_pt", "pT_j1"},       {"log_j2_pt", "pT_j2"},       {"l1_eta", "eta_l1"},
      {"l2_eta", "eta_l2"},         {"j1_eta", "eta_j1"},         {"j2_eta", "eta_j2"},
      {"l1_dphi", "phi_l1"},        {"l2_dphi", "phi_l2"},        {"j1_dphi", "phi_j1"},
      {"j2_dphi", "phi_j2"},        {"l1_dphi_sign", "phi_s_l1"}, {"l2_dphi_sign", "phi_s_l2"},
      {"j1_dphi_sign", "phi_s_j1"}, {"j2_dphi_sign", "phi_s_j2"}, {"j1_btag", "b_j1"},
      {"j2_btag", "b_j2"},          {"mt2ll", "mT2ll"},           {"met", "MET"}};
  auto it = names.find(c);
  return it == names.end() ? c : it->second;
}

std::vector<double> column(const Dataset& d, const std::string& name) { return d.get(name).values(); }

double weighted_quantile(std::vector<std::pair<double, double>> vw, double q) {
  if (vw.empty()) return std::nan("");
  std::sort(vw.begin(), vw.end());
  double total = 0.0;
  for (auto& p : vw) total += p.second;
  double acc = 0.0;
  for (auto& p : vw) {
    acc += p.second;
    if (acc >= q * total) return p.first;
  }
  return vw.back().first;
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  double m = mean_of(v), s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// ---- output files ---------------------------------------------------------------------

struct Writer {
  std::string dir;
  std::vector<std::string>* files;
  void text(const std::string& name, const std::string& content) const {
    if (dir.empty()) return;
    write_text_atomically((std::filesystem::path(dir) / name).string(), content);
    files->push_back(name);
  }
  void json_file(const std::string& name, const json& j) const { text(name, j.dump(2) + "\n"); }
  // A table: named columns of numbers, or of text (strings quoted when needed).
  void csv(const std::string& name, const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) const {
    std::string s;
    for (size_t k = 0; k < header.size(); ++k) s += (k ? "," : "") + header[k];
    s += "\n";
    for (auto& r : rows) {
      for (size_t k = 0; k < r.size(); ++k) s += (k ? "," : "") + r[k];
      s += "\n";
    }
    text(name, s);
  }
};

std::string num(double v) { return format_double(v); }

// ---- stage 1: events --------------------------------------------------------------------

const std::vector<std::string>& required_columns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c = physics::stop_dilepton_input_columns();
    for (const char* x : {"mt2ll", "met", "isr_pt", "weight"}) c.emplace_back(x);
    return c;
  }();
  return cols;
}

struct ProcessSpec {
  std::string name;  // "stop:750,1", "ttbar", ...
  int code;          // 0 signal, 1 ttbar, 2 tW, 3 WW
  std::int64_t n;
  std::uint64_t seed;
};

std::vector<ProcessSpec> processes(const StopStudyOptions& o) {
  const double total = kXsecTtbar + kXsecTw + kXsecWw;
  const auto n_tt = static_cast<std::int64_t>(std::llround(static_cast<double>(o.events) * kXsecTtbar / total));
  const auto n_tw = static_cast<std::int64_t>(std::llround(static_cast<double>(o.events) * kXsecTw / total));
  const std::uint64_t s = o.seed * 16;
  return {{"stop:" + point_name(o.m_stop, o.m_lsp), 0, o.events, s + 1},
          {"ttbar", 1, n_tt, s + 2},
          {"tw", 2, n_tw * std::max<std::int64_t>(1, o.tw_oversample), s + 3},
          {"ww", 3, o.events - n_tt - n_tw, s + 4}};
}

// One process from the source, or from the cache folder when it holds that sample (the file
// name carries everything the sample depends on: source, process, events, seed, spin setting).
Dataset source_events(const StopStudyOptions& o, const std::string& process, std::int64_t n, std::uint64_t seed,
                      bool spin) {
  if (o.cache.empty()) return o.source(process, n, seed, spin);
  std::string name = process;
  for (char& ch : name)
    if (ch == ':' || ch == ',') ch = '_';
  const std::filesystem::path path =
      std::filesystem::path(o.cache) /
      fmt::format("{}_{}_n{}_seed{}_spin{}.npz", o.source_id, name, n, seed, spin ? 1 : 0);
  if (std::filesystem::exists(path)) {
    Dataset d = read_npz(path.string());  // a sample with no selected event is a valid file of 0 rows
    d.weight_column = "weight";
    return d;
  }
  Dataset d = o.source(process, n, seed, spin);
  std::filesystem::create_directories(o.cache);
  write_atomically(path.string(), [&](const std::string& tmp) { write_npz(d, tmp); });
  return d;
}

// All processes in one table with "label" (1 signal) and "process" (code) columns.
Dataset generate_events(const StopStudyOptions& o, bool spin, json& samples) {
  std::vector<std::string> cols = physics::stop_dilepton_columns();
  cols.emplace_back("weight");
  std::vector<std::vector<double>> out(cols.size());
  std::vector<double> label, process;
  auto specs = processes(o);
  Progress progress("generate", static_cast<Index>(specs.size()), o.quiet);
  samples = json::object();
  Index done = 0;
  for (const auto& p : specs) {
    progress.update(done, p.name);
    Dataset d = source_events(o, p.name, p.n, p.seed, p.code == 1 ? spin : true);
    for (const auto& c : required_columns())
      if (!d.has(c))
        throw Error(
            fmt::format("the event source gave no column '{}' for {} (the study needs the stop-dilepton "
                        "columns and 'weight')",
                        c, p.name));
    const bool all = std::all_of(cols.begin(), cols.end(), [&](const std::string& c) { return d.has(c); });
    for (size_t k = 0; k < cols.size(); ++k) {
      if (d.has(cols[k])) {
        const auto& v = d.get(cols[k]).values();
        for (double x : v)
          if (!std::isfinite(x))
            throw Error(fmt::format("the event source gave a non-finite '{}' for {}", cols[k], p.name));
        out[k].insert(out[k].end(), v.begin(), v.end());
      } else {
        out[k].insert(out[k].end(), static_cast<size_t>(d.events()), std::nan(""));
      }
    }
    (void)all;
    label.insert(label.end(), static_cast<size_t>(d.events()), p.code == 0 ? 1.0 : 0.0);
    process.insert(process.end(), static_cast<size_t>(d.events()), static_cast<double>(p.code));
    const auto& w = d.get("weight").values();
    const double sw = std::accumulate(w.begin(), w.end(), 0.0);
    samples[p.name] = {{"generated", p.n},
                       {"selected", d.events()},
                       {"seed", p.seed},
                       {"expected_events", sw * o.lumi},
                       {"spin_correlation", p.code == 1 ? json(spin) : json(nullptr)}};
    ++done;
  }
  Index selected = 0;
  for (auto& [name, v] : samples.items()) selected += v["selected"].get<Index>();
  progress.finish(fmt::format("{} selected events of {} processes", selected, specs.size()));
  Dataset all;
  for (size_t k = 0; k < cols.size(); ++k) {
    const auto n = static_cast<Index>(out[k].size());
    all.add(cols[k], Tensor({n}, std::move(out[k])));
  }
  const auto n = static_cast<Index>(label.size());
  all.add("label", Tensor({n}, std::move(label)));
  all.add("process", Tensor({n}, std::move(process)));
  all.label_column = "label";
  all.weight_column = "weight";
  all.source = "stop study events";
  return all;
}

// ---- stage 2: split -------------------------------------------------------------------

struct Split {
  std::vector<Index> train_val, test;  // rows of the event table
  double validation_fraction = 0.0;    // of train_val, as train() takes it
};

Split split_events(Index n, const StopStudyOptions& o) {
  std::vector<Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  Rng rng = Rng::stream(o.seed, 0x5b117);  // the split's own stream: the same permutation everywhere
  rng.shuffle(order);
  const auto n_train = static_cast<Index>(std::llround(o.train_fraction * static_cast<double>(n)));
  const auto n_val = static_cast<Index>(std::llround(o.validation_fraction * static_cast<double>(n)));
  if (n_train < 10 || n_val < 10 || n - n_train - n_val < 10)
    throw Error(fmt::format(
        "too few selected events ({}) for training, validation and test splits of {:.0f} %, "
        "{:.0f} % and {:.0f} %: generate more events",
        n, 100 * o.train_fraction, 100 * o.validation_fraction, 100 * (1 - o.train_fraction - o.validation_fraction)));
  Split s;
  s.train_val.assign(order.begin(), order.begin() + n_train + n_val);
  s.test.assign(order.begin() + n_train + n_val, order.end());
  s.validation_fraction = static_cast<double>(n_val) / static_cast<double>(n_train + n_val);
  return s;
}

// ---- stage 3: training (the library's train API) ----------------------------------------

}  // namespace

std::vector<double> training_weights(const Dataset& events, TrainWeights mode) {
  std::vector<double> w = events.weights();
  if (mode == TrainWeights::Physical) return w;
  const auto& proc = events.get("process").values();
  // Per process: its total expected events spread evenly over its selected events, so the
  // processes keep their cross-section shares while inside each the generator's tail bias
  // stays in (no 1/p compensation).
  std::map<double, std::pair<double, double>> sum;  // process code -> (sum w, events)
  for (size_t i = 0; i < w.size(); ++i) {
    auto& e = sum[proc[i]];
    e.first += w[i];
    e.second += 1.0;
  }
  for (size_t i = 0; i < w.size(); ++i) {
    const auto& e = sum[proc[i]];
    w[i] = e.first / e.second;
  }
  return w;
}

std::string train_weights_name(TrainWeights mode) { return mode == TrainWeights::Physical ? "physical" : "process"; }

TrainWeights parse_train_weights(const std::string& name) {
  if (name == "physical") return TrainWeights::Physical;
  if (name == "process") return TrainWeights::Process;
  throw Error(fmt::format("training weights '{}': expected physical or process", name));
}

namespace {

TrainOptions paper_train_options(const StopStudyOptions& o, std::uint64_t seed, double validation_fraction) {
  const Architecture arch = parse_architecture("paper");
  TrainOptions t;
  t.epochs = o.epochs;
  t.patience = o.patience;
  t.learning_rate = o.learning_rate;
  t.batch = o.batch;
  t.l1 = arch.l1;
  t.loss = o.loss;
  t.validation_fraction = validation_fraction;
  t.balance_classes = true;  // the stop cross section is tiny next to tt-bar
  t.seed = seed;
  t.quiet = o.quiet;
  return t;
}

Network train_paper_network(const Dataset& trval, const StopStudyOptions& o, std::uint64_t seed,
                            double validation_fraction, TrainResult& result) {
  Network net = build_network(physics::stop_dilepton_input_columns(), parse_architecture("paper"));
  const TrainOptions t = paper_train_options(o, seed, validation_fraction);
  result = train(net, trval.columns_matrix(physics::stop_dilepton_input_columns()), trval.labels(),
                 training_weights(trval, o.train_weights), t);
  return net;
}

std::vector<double> network_scores(const Network& net, const Dataset& d) {
  return evaluate(net, gather_inputs(net, d), {net.resolve("output:pre")}).values();
}

// ---- the methods, one small function each ---------------------------------------------

ActivationDifferenceResult run_activation_difference(const Network& net, const Dataset& d, const std::string& neuron,
                                                     int layer, std::uint64_t seed) {
  ActivationDifferenceOptions a;
  a.layer = layer;
  a.samples = d.events();
  a.bootstrap = 50;
  a.seed = seed;
  a.neuron = neuron;
  return activation_difference(net, Events(net, d), a);
}

MutualInfoResult run_mutual_info(const Network& net, const Dataset& d) {
  MutualInfoOptions m;
  m.neurons = {"all"};
  m.variables = {"mt2ll", "met", "output:pre"};
  return mutual_info(net, Events(net, d), m);
}

MaximizeResult run_maximize(const Network& net, const Dataset& d, const std::string& neuron, double threshold,
                            const StopStudyOptions& o) {
  MaximizeOptions m;
  m.points = o.maximize_points;
  m.threshold = threshold;
  m.steps = 200;
  m.seed = o.seed;
  Progress progress("maximize " + neuron, m.points, o.quiet);
  m.progress = [&](Index done) { progress.update(done); };
  m.neuron = neuron;
  MaximizeResult r = maximize(net, Events(net, d), m);
  progress.finish(fmt::format("{:.0f} % converged", 100 * r.converged_fraction()));
  return r;
}

CavemanResult run_caveman(const Network& net, const Dataset& d, const Dataset& population, const std::string& neuron,
                          std::uint64_t seed) {
  CavemanOptions c;
  c.fit_events = d.events() / 2;
  c.seed = seed;
  c.neuron = neuron;
  c.population = population;
  return caveman(net, Events(net, d), c);
}

TaylorResult run_taylor(const Network& net, const Dataset& d) {
  TaylorOptions t;
  t.neuron = "output:pre";
  t.order = 2;
  return taylor(net, Events(net, d), t);
}

AggregateSummary run_lrp(const Network& net, const Dataset& d) {
  LrpOptions l;  // output:pre, the default composite
  LrpRelevance r = lrp(net, Events(net, d).inputs(), l);
  return combine({aggregate(r.features, r.relevance, r.inputs, d.labels(), {})});
}

AggregateSummary run_integrated_gradients(const Network& net, const Dataset& d, std::uint64_t seed) {
  AttributeOptions a;
  a.method = AttributionMethod::IntegratedGradients;
  a.steps = 32;
  a.seed = seed;
  Attribution r = attribute(net, Events(net, d).inputs(), a);
  return combine({aggregate(r.features, r.scores, r.inputs, d.labels(), {})});
}

AdoResult run_ado(const std::vector<double>& f, const std::vector<double>& g, const std::vector<double>& labels,
                  const std::vector<double>& weights) {
  return ado(f, g, labels, weights);
}

// ---- pieces of the analysis -----------------------------------------------------------

json ams_json(const AmsWithError& a) {
  return {{"ams", a.ams},
          {"err", a.err},
          {"threshold", a.threshold},
          {"s", a.s},
          {"b", a.b},
          {"bootstrap_mean", a.bootstrap_mean},
          {"err_fixed_threshold", a.err_fixed},
          {"selected_signal_events", a.n_s},
          {"selected_background_events", a.n_b},
          {"background_rel_stat_err", a.b_rel_err}};
}

// Figure 8: equal-width histogram of the scores, signal and background.
void output_histogram(const std::vector<double>& score, const std::vector<double>& label, const std::vector<double>& w,
                      double lumi_scale, const Writer& out, json& analysis) {
  const Index bins = 40;
  const auto [mn, mx] = std::minmax_element(score.begin(), score.end());
  const double lo = *mn, hi = *mx > *mn ? *mx : *mn + 1.0;
  std::vector<double> ns(bins), nb(bins), ws(bins), wb(bins);
  for (size_t i = 0; i < score.size(); ++i) {
    auto k = std::clamp<Index>(static_cast<Index>((score[i] - lo) / (hi - lo) * bins), 0, bins - 1);
    (label[i] > 0.5 ? ns : nb)[k] += 1;
    (label[i] > 0.5 ? ws : wb)[k] += w[i] * lumi_scale;
  }
  std::vector<std::vector<std::string>> rows;
  for (Index k = 0; k < bins; ++k)
    rows.push_back({num(lo + (hi - lo) * k / bins), num(lo + (hi - lo) * (k + 1) / bins), num(ns[k]), num(nb[k]),
                    num(ws[k]), num(wb[k])});
  out.csv("fig8_output_histogram.csv",
          {"lo", "hi", "signal_events", "background_events", "signal_expected", "background_expected"}, rows);
  analysis["fig8"] = {
      {"neuron", "output:pre"}, {"bins", bins}, {"lo", lo}, {"hi", hi}, {"file", "fig8_output_histogram.csv"}};
}

json ad_json(const ActivationDifferenceResult& r, Index top) {
  json rows = json::array();
  for (Index k = 0; k < std::min<Index>(top, static_cast<Index>(r.ranking.size())); ++k)
    rows.push_back({{"variable", r.ranking[k].variable}, {"ad", r.ranking[k].ad}, {"err", r.ranking[k].err}});
  return rows;
}

void write_ad(const ActivationDifferenceResult& r, const std::string& name, const Writer& out) {
  std::vector<std::vector<std::string>> rows;
  for (auto& e : r.ranking) rows.push_back({e.variable, pretty(e.variable), num(e.ad), num(e.err)});
  out.csv(name, {"variable", "symbol", "ad", "err"}, rows);
}

int layer_of(const std::string& neuron) {  // "L2N12" -> 2, else -1
  int l = -1, n = -1;
  if (std::sscanf(neuron.c_str(), "L%dN%d", &l, &n) == 2 && neuron.find(':') == std::string::npos) return l;
  return -1;
}

json aggregation_ranking(const AggregateSummary& s, const std::string& name, const Writer& out) {
  const auto& m = s.mean;
  std::vector<size_t> order(m.features.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return m.mnr[a] > m.mnr[b]; });
  std::vector<std::vector<std::string>> rows;
  json ranking = json::array();
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t k = order[r];
    const double sig = m.mnr_class.size() == 2 ? m.mnr_class[1][k] : std::nan("");
    const double bkg = m.mnr_class.size() == 2 ? m.mnr_class[0][k] : std::nan("");
    rows.push_back({std::to_string(r + 1), m.features[k], pretty(m.features[k]), num(m.mnr[k]), num(sig), num(bkg)});
    ranking.push_back({{"feature", m.features[k]}, {"mnr", m.mnr[k]}});
  }
  out.csv(name, {"rank", "feature", "symbol", "mnr", "mnr_signal", "mnr_background"}, rows);
  return ranking;
}

// The core of one study: events, split, K networks, AUC and AMS on the test split.
struct Core {
  Dataset events, test;
  Split split;
  std::vector<Network> nets;
  std::vector<TrainResult> trains;
  json samples;
  double scale = 1.0;
  std::vector<double> score, label, weight;              // test split; weight includes scale
  Dataset validation;                                    // the first network's validation events
  std::vector<double> val_score, val_label, val_weight;  // weight scaled by selected / validation
};

Core run_core(const StopStudyOptions& o, bool spin, std::vector<SeedResult>& seeds, json& stage_seconds,
              const std::string& prefix) {
  Core c;
  double t0 = now_seconds();
  c.events = generate_events(o, spin, c.samples);
  stage_seconds[prefix + "generate"] = now_seconds() - t0;
  c.split = split_events(c.events.events(), o);
  c.test = c.events.subset(c.split.test);
  const Dataset trval = c.events.subset(c.split.train_val);
  c.scale = static_cast<double>(c.events.events()) / static_cast<double>(c.test.events());
  c.label = c.test.labels();
  c.weight = c.test.weights();
  for (double& w : c.weight) w *= c.scale;
  const std::vector<double> mt2 = column(c.test, "mt2ll");
  for (int k = 0; k < o.seeds; ++k) {
    t0 = now_seconds();
    TrainResult tr;
    const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(k);
    c.nets.push_back(train_paper_network(trval, o, seed, c.split.validation_fraction, tr));
    c.trains.push_back(tr);
    SeedResult s;
    s.seed = seed;
    std::vector<double> score = network_scores(c.nets.back(), c.test);
    s.auc = auc(score, c.label, c.weight);
    s.ams_network = best_ams_with_error(score, c.label, c.weight, o.lumi, o.br, o.bootstrap, o.seed + 1000 + k);
    s.ams_lead = paired_ams_difference(score, mt2, c.label, c.weight, o.lumi, o.br, o.bootstrap, o.seed + 3000 + k);
    s.epochs_run = tr.epochs_run;
    s.seconds = now_seconds() - t0;
    seeds.push_back(s);
    if (k == 0) {
      c.score = std::move(score);
      // The events train() held out (early stopping only): where thresholds can be chosen
      // without looking at the test split.
      const TrainOptions t = paper_train_options(o, seed, c.split.validation_fraction);
      c.validation = trval.subset(validation_events(trval.events(), t));
      c.val_score = network_scores(c.nets.back(), c.validation);
      c.val_label = c.validation.labels();
      c.val_weight = c.validation.weights();
      const double vs = static_cast<double>(c.events.events()) / static_cast<double>(c.validation.events());
      for (double& w : c.val_weight) w *= vs;
    }
    stage_seconds[prefix + "train_seed" + std::to_string(seed)] = s.seconds;
  }
  return c;
}

}  // namespace

// ---- public pieces --------------------------------------------------------------------

std::vector<std::vector<double>> bootstrap_best_ams(const std::vector<const std::vector<double>*>& scores,
                                                    const std::vector<double>& labels,
                                                    const std::vector<double>& weights, double lumi, double br,
                                                    std::int64_t replicas, std::uint64_t seed) {
  // Each replica draws the test events with replacement (each with its weight) from its own
  // stream (seed, replica) and finds the best threshold of every score again on those same
  // events, so the error includes the choice of the cut and differences are paired; replicas
  // run in parallel and the result does not depend on the threads.
  const size_t n = labels.size();
  std::vector<std::vector<double>> values(scores.size(), std::vector<double>(static_cast<size_t>(replicas)));
#pragma omp parallel
  {
    std::vector<double> bs(n), bl(n), bw(n);
    std::vector<size_t> pick(n);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t k = 0; k < replicas; ++k) {
      Rng rng = Rng::stream(seed, static_cast<std::uint64_t>(k));
      for (size_t i = 0; i < n; ++i) {
        pick[i] = static_cast<size_t>(rng.below(n));
        bl[i] = labels[pick[i]];
        bw[i] = weights[pick[i]];
      }
      for (size_t s = 0; s < scores.size(); ++s) {
        for (size_t i = 0; i < n; ++i) bs[i] = (*scores[s])[pick[i]];
        values[s][static_cast<size_t>(k)] = ams_scan(bs, bl, bw, lumi, br).best;
      }
    }
  }
  return values;
}

AmsWithError best_ams_with_error(const std::vector<double>& scores, const std::vector<double>& labels,
                                 const std::vector<double>& weights, double lumi, double br, std::int64_t replicas,
                                 std::uint64_t seed) {
  AmsWithError r;
  const AmsScan scan = ams_scan(scores, labels, weights, lumi, br);
  r.ams = scan.best;
  r.threshold = scan.threshold;
  r.s = scan.s;
  r.b = scan.b;
  double sw = 0.0, sw2 = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!(scores[i] >= r.threshold)) continue;
    if (labels[i] > 0.5) {
      ++r.n_s;
    } else {
      ++r.n_b;
      sw += weights[i];
      sw2 += weights[i] * weights[i];
    }
  }
  r.b_rel_err = sw > 0 ? std::sqrt(sw2) / sw : std::nan("");  // undefined with no background selected
  {
    // The first-order (delta-method) error of the AMS at the chosen threshold, the threshold
    // held fixed: var s = lumi^2 sum w_s^2, var b = lumi^2 sum w_b^2 over the selected events.
    double ss2 = 0.0;
    for (size_t i = 0; i < scores.size(); ++i)
      if (scores[i] >= r.threshold && labels[i] > 0.5) ss2 += weights[i] * weights[i];
    const double bb = r.b + br, a = r.ams;
    if (a > 0) {
      const double da_ds = std::log1p(r.s / bb) / a, da_db = (std::log1p(r.s / bb) - r.s / bb) / a;
      r.err_fixed = std::sqrt(da_ds * da_ds * lumi * lumi * ss2 + da_db * da_db * lumi * lumi * sw2);
    }
  }
  if (replicas <= 1 || scores.empty()) return r;
  const std::vector<double> values = bootstrap_best_ams({&scores}, labels, weights, lumi, br, replicas, seed)[0];
  r.bootstrap_mean = mean_of(values);
  r.err = std_of(values);
  return r;
}

AmsDifference paired_ams_difference(const std::vector<double>& a, const std::vector<double>& b,
                                    const std::vector<double>& labels, const std::vector<double>& weights, double lumi,
                                    double br, std::int64_t replicas, std::uint64_t seed) {
  AmsDifference d;
  d.diff = ams_scan(a, labels, weights, lumi, br).best - ams_scan(b, labels, weights, lumi, br).best;
  if (replicas <= 1 || a.empty()) return d;
  const auto v = bootstrap_best_ams({&a, &b}, labels, weights, lumi, br, replicas, seed);
  std::vector<double> diff(v[0].size());
  std::int64_t ahead = 0;
  for (size_t k = 0; k < diff.size(); ++k) {
    diff[k] = v[0][k] - v[1][k];
    ahead += diff[k] > 0;
  }
  d.err = std_of(diff);
  d.replicas = replicas;
  d.replicas_ahead = ahead;
  return d;
}

json paper_numbers(double m_stop, double m_lsp) {
  const std::string p = point_name(m_stop, m_lsp);
  if (p == "750,1")
    return {{"ams_network", 1.72},
            {"ams_threshold", "pre-transfer output < -10.4 (signal trained towards -1)"},
            {"ams_mt2_cut", 1.56},
            {"mt2_cut_gev", 156.0},
            {"fig9_neurons", {"L2N12", "L3N?", "L5N4"}},
            {"fig9_nmi_mt2", {0.31, 0.31, 0.20}},
            {"fig9_nmi_met", {0.13, 0.14, 0.22}},
            {"fig9_nmi_output", {0.20, 0.22, 0.36}},
            {"table1_L2N12", {{"phi_l2", 0.41}, {"MET", 0.35}, {"phi_l1", 0.27}, {"pT_l2", 0.17}, {"pT_l1", 0.11}}},
            {"table2_L5N4", {{"MET", 0.57}, {"phi_l2", 0.18}, {"phi_l1", 0.12}, {"pT_l2", 0.10}, {"pT_l1", 0.10}}}};
  if (p == "350,200")
    return {{"table3_L5N10", {{"MET", 0.50}, {"phi_l1", 0.30}, {"phi_l2", 0.27}, {"pT_j1", 0.24}}},
            {"fig16_met_split_gev", 245.0},
            {"ams", "not quoted"}};
  if (p == "185,5")
    return {{"ams_network", 30.0},
            {"ams_network_note", "\"nearly 30\" with a threshold keeping over 90 % of events (no mT2ll cut quoted)"},
            {"table4_output", {{"phi_l2", 0.55}, {"phi_l1", 0.51}, {"eta_l2", 0.51}, {"MET", 0.45}}},
            {"fig27_cuts", "cos phi_l1 < -0.5, cos phi_l2 < -0.5, MET > 110 GeV"}};
  return json::object();
}

MetAngleMedians met_angle_medians(const Dataset& events) {
  const auto& a1 = events.get("l1_dphi").values();
  const auto& a2 = events.get("l2_dphi").values();
  const auto& met = events.get("met").values();
  const std::vector<double> w = events.weights();
  std::vector<std::pair<double, double>> opp, adj, rest, all;
  for (Index i = 0; i < events.events(); ++i) {
    const double c1 = std::cos(a1[i]), c2 = std::cos(a2[i]);
    const std::pair<double, double> p{met[i], w[static_cast<size_t>(i)]};
    all.push_back(p);
    if (c1 < -0.5 && c2 < -0.5)
      opp.push_back(p);
    else if (c1 > 0.5 && c2 > 0.5)
      adj.push_back(p);
    else
      rest.push_back(p);
  }
  MetAngleMedians m;
  m.n_opposite = static_cast<std::int64_t>(opp.size());
  m.n_adjacent = static_cast<std::int64_t>(adj.size());
  m.n_rest = static_cast<std::int64_t>(rest.size());
  m.opposite = weighted_quantile(opp, 0.5);
  m.adjacent = weighted_quantile(adj, 0.5);
  m.rest = weighted_quantile(rest, 0.5);
  m.all = weighted_quantile(all, 0.5);
  return m;
}

std::vector<std::string> stop_study_files(const StopStudyOptions& o) {
  std::vector<std::string> f = {"events.json",
                                "splits.json",
                                "seeds.csv",
                                "test_events.csv",
                                "model.unbox",
                                "metrics.json",
                                "fig8_output_histogram.csv"};
  f.emplace_back("training.csv");  // the learning curves (the report's training figure)
  if (o.explain)
    for (const char* x : {"ad_layers.json", "ad_L2.csv", "ad_L3.csv", "ad_L5.csv", "ad_output.csv", "nmi.csv",
                          "nmi.json", "maximize_L2.csv", "maximize_L2_histograms.json", "maximize_L5.csv",
                          "maximize_L5_histograms.json", "caveman.json", "taylor.csv", "lrp.csv", "ig.csv"})
      f.emplace_back(x);
  for (const char* x : {"ado.json", "fig13_met_angles.csv", "fig13_met_angles.json", "fig13_met_histograms.csv",
                        "fig20_isr.csv", "fig20_isr.json"})
    f.emplace_back(x);
  if (std::abs(o.m_stop - 185.0) < 1e-9 && std::abs(o.m_lsp - 5.0) < 1e-9 && o.compare_spin)
    f.emplace_back("spin_correlation.json");
  f.emplace_back("summary.json");
  f.emplace_back("summary.txt");
  return f;
}

StopStudyResult stop_study(const StopStudyOptions& o) {
  if (!o.source) throw Error("the built-in generator is not available in this build");
  if (o.events < 100) throw Error(fmt::format("the study needs at least 100 events per class, not {}", o.events));
  if (o.seeds < 1) throw Error("the study needs at least one seed");
  if (!(o.train_fraction > 0 && o.validation_fraction > 0 && o.train_fraction + o.validation_fraction < 1))
    throw Error("the training and validation fractions must be positive and leave a test split");
  if (!(o.m_stop > 0 && o.m_lsp >= 0 && o.m_lsp < o.m_stop))
    throw Error(fmt::format("invalid mass point ({}, {}) GeV: need 0 <= m_lsp < m_stop", o.m_stop, o.m_lsp));

  StopStudyResult res;
  res.options = o;
  res.options.source = nullptr;
  res.point = point_name(o.m_stop, o.m_lsp);
  if (!o.out.empty()) std::filesystem::create_directories(o.out);
  Writer out{o.out, &res.files};
  json& an = res.analysis;
  json& sec = res.stage_seconds;
  sec = json::object();

  // Events, split, networks, AUC and AMS. At (185, 5) the spin comparison differs in tt-bar
  // only: the other samples (same seeds) are kept in memory and used again.
  const bool spin_study = std::abs(o.m_stop - 185.0) < 1e-9 && std::abs(o.m_lsp - 5.0) < 1e-9 && o.compare_spin;
  std::map<std::string, Dataset> kept;
  StopStudyOptions om = o;
  if (spin_study)
    om.source = [&](const std::string& p, std::int64_t n, std::uint64_t seed, bool spin) {
      Dataset d = o.source(p, n, seed, spin);
      if (p != "ttbar") kept[p] = d;
      return d;
    };
  Core c = run_core(om, o.spin_correlation, res.seeds, sec, "");
  res.samples = c.samples;
  out.json_file("events.json", {{"point", res.point}, {"lumi_fb", o.lumi}, {"samples", c.samples}});
  res.train_events = c.trains[0].train_events;
  res.validation_events = c.trains[0].validation_events;
  res.test_events = c.test.events();
  res.test_weight_scale = c.scale;
  for (double l : c.label) (l > 0.5 ? res.events_signal : res.events_background) += 1;
  for (size_t i = 0; i < c.label.size(); ++i)
    (c.label[i] > 0.5 ? res.expected_signal : res.expected_background) += c.weight[i] * o.lumi;
  out.json_file("splits.json",
                {{"selected_events", c.events.events()},
                 {"train", res.train_events},
                 {"validation", res.validation_events},
                 {"test", res.test_events},
                 {"test_signal", res.events_signal},
                 {"test_background", res.events_background},
                 {"test_weight_scale", c.scale},
                 {"fractions", {o.train_fraction, o.validation_fraction, 1 - o.train_fraction - o.validation_fraction}},
                 {"seed", o.seed},
                 {"note",
                  "a seeded shuffle of all selected events; the first part trains (train() "
                  "holds out the validation events among them), the rest is the test split; "
                  "test weights are scaled by selected/test events"}});
  const Network& net = c.nets[0];
  if (!o.out.empty()) {
    // The test split itself, with the network's score, so every figure of merit can be redone.
    Dataset t = c.test;
    t.set("weight", Tensor({t.events()}, c.weight));
    t.add("score", Tensor({t.events()}, c.score));
    write_dataset(t, (std::filesystem::path(o.out) / "test_events.csv").string());
    res.files.push_back("test_events.csv");
  }
  if (!o.out.empty()) {
    // save_network writes directly; go through a temporary so the file appears whole.
    write_atomically((std::filesystem::path(o.out) / "model.unbox").string(),
                     [&](const std::string& tmp) { save_network(net, tmp); });
    res.files.push_back("model.unbox");
  }
  res.auc = res.seeds[0].auc;
  res.ams_network = res.seeds[0].ams_network;
  double t0 = now_seconds();
  const std::vector<double> mt2 = column(c.test, "mt2ll");
  res.ams_mt2 = best_ams_with_error(mt2, c.label, c.weight, o.lumi, o.br, o.bootstrap, o.seed + 2000);
  res.ams_lead = res.seeds[0].ams_lead;
  {
    // A check on the optimism of choosing a threshold on the events it is evaluated on: both
    // thresholds chosen on the validation split, the AMS then computed on the test split.
    auto at = [&](const std::vector<double>& score, double threshold) {
      double s = 0, b = 0;
      for (size_t i = 0; i < score.size(); ++i)
        if (score[i] >= threshold) (c.label[i] > 0.5 ? s : b) += c.weight[i] * o.lumi;
      return json{{"threshold", threshold}, {"ams_test", ams(s, b, o.br)}, {"s", s}, {"b", b}};
    };
    const double tn = ams_scan(c.val_score, c.val_label, c.val_weight, o.lumi, o.br).threshold;
    const double tm = ams_scan(column(c.validation, "mt2ll"), c.val_label, c.val_weight, o.lumi, o.br).threshold;
    res.validation_thresholds = {
        {"network", at(c.score, tn)}, {"mt2ll", at(mt2, tm)}, {"validation_events", c.validation.events()}};
  }
  {
    std::vector<double> a, m, d;
    for (auto& s : res.seeds) {
      a.push_back(s.auc);
      m.push_back(s.ams_network.ams);
      d.push_back(s.ams_lead.diff);
    }
    res.auc_mean = mean_of(a);
    res.auc_std = std_of(a);
    res.ams_mean = mean_of(m);
    res.ams_std = std_of(m);
    res.lead_mean = mean_of(d);
    res.lead_std = std_of(d);
    std::vector<std::vector<std::string>> rows;
    for (auto& s : res.seeds)
      rows.push_back({std::to_string(s.seed), num(s.auc), num(s.ams_network.ams), num(s.ams_network.err),
                      num(s.ams_network.threshold), num(s.ams_lead.diff), num(s.ams_lead.err),
                      std::to_string(s.epochs_run), num(s.seconds)});
    out.csv("seeds.csv",
            {"seed", "auc", "ams_network", "ams_network_err", "ams_threshold", "ams_network_minus_mt2_cut",
             "ams_network_minus_mt2_cut_err", "epochs", "seconds"},
            rows);
    // Training curves (the report's learning-curve figure): one row per seed and epoch.
    std::vector<std::vector<std::string>> hist;
    for (size_t k = 0; k < c.trains.size(); ++k)
      for (const auto& e : c.trains[k].history)
        hist.push_back({std::to_string(res.seeds[k].seed), std::to_string(e.epoch), num(e.loss), num(e.val_loss),
                        num(e.val_auc), num(e.seconds)});
    out.csv("training.csv", {"seed", "epoch", "loss", "val_loss", "val_auc", "seconds"}, hist);
  }
  out.json_file("metrics.json", {{"split", "test"},
                                 {"auc", res.auc},
                                 {"ams_network", ams_json(res.ams_network)},
                                 {"ams_mt2", ams_json(res.ams_mt2)},
                                 {"lumi_fb", o.lumi},
                                 {"br", o.br},
                                 {"bootstrap", o.bootstrap},
                                 {"thresholds_from_validation", res.validation_thresholds},
                                 {"score", "output:pre (selected: score >= ams_threshold)"}});
  sec["ams"] = now_seconds() - t0;

  // The explanations run on the first explain_events test events (the test split is shuffled).
  t0 = now_seconds();
  std::vector<Index> ex_rows(static_cast<size_t>(std::min<Index>(o.explain_events, c.test.events())));
  std::iota(ex_rows.begin(), ex_rows.end(), Index{0});
  Dataset ex = c.test.subset(ex_rows);
  Progress progress("explain", 9, o.quiet);
  progress.update(0, "Figure 8");
  output_histogram(c.score, c.label, c.weight, o.lumi, out, an);

  // Activation differences: the output against each layer's neurons (the top neurons of
  // Figure 9), then the inputs against those neurons (Tables 1-4).
  std::map<int, std::string> top;
  ActivationDifferenceResult ad_out;
  res.nmi_mt2 = json::object();
  if (o.explain) {
    progress.update(1, "activation difference");
    json ad_layers = json::object();
    const int hidden = static_cast<int>(net.layers().size()) - 2;  // L1..L11 (the last is the output layer)
    for (int layer : {2, 3, 5}) {
      if (layer > hidden) continue;
      auto r = run_activation_difference(net, ex, "output:pre", layer, o.seed);
      top[layer] = r.ranking.at(0).variable;
      ad_layers["L" + std::to_string(layer)] = {{"top", top[layer]}, {"ranking", ad_json(r, 10)}};
    }
    out.json_file("ad_layers.json", ad_layers);
    json tables = json::object();
    for (auto& [layer, neuron] : top) {
      auto r = run_activation_difference(net, ex, neuron, 0, o.seed);
      write_ad(r, "ad_L" + std::to_string(layer) + ".csv", out);
      tables["L" + std::to_string(layer)] = {{"neuron", neuron}, {"ranking", ad_json(r, 6)}};
    }
    ad_out = run_activation_difference(net, ex, "output:pre", 0, o.seed);
    write_ad(ad_out, "ad_output.csv", out);
    tables["output"] = {{"neuron", "output:pre"}, {"ranking", ad_json(ad_out, 6)}};
    an["activation_difference"] = {{"layers", ad_layers}, {"tables", tables}};

    // Figure 9: NMI of every hidden neuron with mT2ll, MET and the output.
    progress.update(2, "mutual information");
    MutualInfoResult mi = run_mutual_info(net, ex);
    {
      std::map<int, double> best;
      std::vector<std::vector<std::string>> rows;
      for (size_t k = 0; k < mi.neurons.size(); ++k) {
        const int l = layer_of(mi.neurons[k]);
        if (l >= 1) best[l] = std::max(best.count(l) ? best[l] : 0.0, mi.nmi[k][0]);
        rows.push_back({mi.neurons[k], num(mi.nmi[k][0]), num(mi.nmi[k][1]), num(mi.nmi[k][2])});
      }
      for (auto& [l, v] : best) res.nmi_mt2["L" + std::to_string(l)] = v;
      out.csv("nmi.csv", {"neuron", "mt2ll", "met", "output"}, rows);
      json fig9 = json::object();
      for (auto& [layer, neuron] : top) {
        auto it = std::find(mi.neurons.begin(), mi.neurons.end(), neuron);
        if (it == mi.neurons.end()) continue;
        const auto k = static_cast<size_t>(it - mi.neurons.begin());
        fig9["L" + std::to_string(layer)] = {
            {"neuron", neuron}, {"mt2ll", mi.nmi[k][0]}, {"met", mi.nmi[k][1]}, {"output", mi.nmi[k][2]}};
      }
      an["fig9"] = fig9;
      out.json_file("nmi.json", {{"nmi_mt2_per_layer", res.nmi_mt2},
                                 {"fig9", fig9},
                                 {"events", mi.events},
                                 {"bins", mi.bins},
                                 {"estimator", "binned, equal frequency"}});
    }

    // Figures 10-12: maximization of the top neurons of L2 and L5; Figure 11: caveman of L2's.
    progress.update(3, "maximization");
    Dataset population_l2;
    json max_json = json::object();
    for (int layer : {2, 5}) {
      if (!top.count(layer)) continue;
      const std::string& neuron = top[layer];
      std::vector<double> act = evaluate(net, gather_inputs(net, ex), {net.resolve(neuron)}).values();
      std::vector<std::pair<double, double>> vw;
      for (double v : act) vw.emplace_back(v, 1.0);
      const double threshold = weighted_quantile(vw, 0.99);  // the paper's "activation threshold"
      MaximizeResult r = run_maximize(net, ex, neuron, threshold, o);
      Dataset pop = r.to_dataset();
      HistogramOptions h;
      h.top = 5;
      PopulationHistograms hist = population_histograms(r, h);
      const std::string base = "maximize_L" + std::to_string(layer);
      if (!o.out.empty()) {
        write_dataset(pop, (std::filesystem::path(o.out) / (base + ".csv")).string());
        res.files.push_back(base + ".csv");
      }
      json ranked_1d = json::array(), ranked_2d = json::array();
      for (auto& x : hist.one) ranked_1d.push_back({{"variables", x.names}, {"score_nats", x.score}});
      for (auto& x : hist.two) ranked_2d.push_back({{"variables", x.names}, {"score_nats", x.score}});
      out.json_file(base + "_histograms.json", {{"summary", r.to_json()}, {"histograms", hist.to_json()}});
      max_json["L" + std::to_string(layer)] = {{"neuron", neuron},
                                               {"threshold", threshold},
                                               {"converged_fraction", r.converged_fraction()},
                                               {"top_1d", ranked_1d},
                                               {"top_2d", ranked_2d}};
      if (layer == 2) population_l2 = std::move(pop);
    }
    an["maximize"] = max_json;

    progress.update(4, "caveman");
    if (top.count(2)) {
      CavemanResult cv = run_caveman(net, ex, population_l2, top[2], o.seed);
      out.json_file("caveman.json", cv.to_json());
      an["caveman"] = {{"neuron", top[2]},
                       {"formula", cv.variable.formula()},
                       {"auc", cv.auc},
                       {"neuron_auc", cv.neuron_auc},
                       {"linear_auc", cv.linear_auc},
                       {"correlation", cv.correlation}};
    }

    progress.update(5, "Taylor");
    {
      std::vector<Index> rows(static_cast<size_t>(std::min<Index>(ex.events(), 3000)));
      std::iota(rows.begin(), rows.end(), Index{0});
      TaylorResult t = run_taylor(net, ex.subset(rows));
      std::vector<std::vector<std::string>> csv;
      json top_t = json::array();
      for (auto& f : t.features) {
        csv.push_back({"\"" + f.name + "\"", std::to_string(f.order), num(f.value), num(f.share), num(f.signal),
                       num(f.background)});
        if (top_t.size() < 10) top_t.push_back({{"feature", f.name}, {"value", f.value}, {"share", f.share}});
      }
      out.csv("taylor.csv", {"feature", "order", "mean_abs", "share", "signal", "background"}, csv);
      an["taylor"] = {{"neuron", "output:pre"}, {"order", 2}, {"events", t.events}, {"top", top_t}};
    }

    progress.update(6, "LRP and Integrated Gradients");
    an["lrp"] = {{"neuron", "output:pre"},
                 {"composite", "epsilon-gamma-box"},
                 {"ranking", aggregation_ranking(run_lrp(net, ex), "lrp.csv", out)}};
    an["integrated_gradients"] = {
        {"neuron", "output:pre"},
        {"baseline", "mean"},
        {"ranking", aggregation_ranking(run_integrated_gradients(net, ex, o.seed), "ig.csv", out)}};

  }  // o.explain

  progress.update(7, "ADO");
  {
    AdoResult a = run_ado(c.score, mt2, c.label, c.weight);
    out.json_file("ado.json", {{"f", "output:pre"}, {"g", "mt2ll"}, {"split", "test"}, {"result", a.to_json()}});
    an["ado_mt2"] = a.ado;
  }

  // Figure 13: MET in the lepton-MET angle categories, every selected event by process.
  progress.update(8, "Figure 13 and Figure 20");
  {
    const auto& proc = c.events.get("process").values();
    json fig13 = json::object();
    std::vector<std::vector<std::string>> rows;
    constexpr Index kMetBins = 24;
    constexpr double kMetBinWidth = 25.0;
    std::vector<std::string> hist_names = {"met_lo", "met_hi"};
    std::vector<std::vector<double>> hists;
    const std::vector<std::pair<std::string, std::vector<int>>> groups = {
        {"signal", {0}}, {"ttbar", {1}}, {"tw", {2}}, {"ww", {3}}, {"background", {1, 2, 3}}};
    for (auto& [name, codes] : groups) {
      std::vector<Index> rows_g;
      for (Index i = 0; i < c.events.events(); ++i)
        if (std::find(codes.begin(), codes.end(), static_cast<int>(proc[i])) != codes.end()) rows_g.push_back(i);
      if (rows_g.empty()) continue;
      MetAngleMedians m = met_angle_medians(c.events.subset(rows_g));
      // The distributions themselves: expected events at the luminosity per 25 GeV of MET
      // (0-600 GeV, the last bin holding the overflow), per category.
      {
        const auto& a1 = c.events.get("l1_dphi").values();
        const auto& a2 = c.events.get("l2_dphi").values();
        const auto& met = c.events.get("met").values();
        const auto& w = c.events.get("weight").values();
        std::vector<std::vector<double>> h(3, std::vector<double>(kMetBins, 0.0));
        for (Index i : rows_g) {
          const double c1 = std::cos(a1[i]), c2 = std::cos(a2[i]);
          const int cat = (c1 < -0.5 && c2 < -0.5) ? 0 : (c1 > 0.5 && c2 > 0.5) ? 1 : 2;
          const auto b = std::clamp<Index>(static_cast<Index>(met[i] / kMetBinWidth), 0, kMetBins - 1);
          h[static_cast<size_t>(cat)][static_cast<size_t>(b)] += w[i] * o.lumi;
        }
        for (int cat = 0; cat < 3; ++cat) {
          hist_names.push_back(name + (cat == 0 ? "_opposite" : cat == 1 ? "_adjacent" : "_rest"));
          hists.push_back(h[static_cast<size_t>(cat)]);
        }
      }
      fig13[name] = {{"median_met_both_opposite", m.opposite},
                     {"median_met_both_adjacent", m.adjacent},
                     {"median_met_rest", m.rest},
                     {"median_met_all", m.all},
                     {"events_both_opposite", m.n_opposite},
                     {"events_both_adjacent", m.n_adjacent},
                     {"events_rest", m.n_rest}};
      rows.push_back({name, num(m.opposite), num(m.adjacent), num(m.rest), num(m.all), std::to_string(m.n_opposite),
                      std::to_string(m.n_adjacent), std::to_string(m.n_rest)});
    }
    out.csv("fig13_met_angles.csv",
            {"sample", "median_met_opposite", "median_met_adjacent", "median_met_rest", "median_met_all",
             "events_opposite", "events_adjacent", "events_rest"},
            rows);
    {
      std::vector<std::vector<std::string>> hrows;
      for (Index b = 0; b < kMetBins; ++b) {
        std::vector<std::string> r = {num(kMetBinWidth * b), num(kMetBinWidth * (b + 1))};
        for (auto& h : hists) r.push_back(num(h[static_cast<size_t>(b)]));
        hrows.push_back(r);
      }
      out.csv("fig13_met_histograms.csv", hist_names, hrows);
    }
    out.json_file("fig13_met_angles.json",
                  {{"definition",
                    "opposite: cos dphi(l, MET) < -1/2 for both leptons; adjacent: > 1/2 for both; "
                    "rest: the others. Weighted medians in GeV over every selected event; "
                    "fig13_met_histograms.csv: expected events at the luminosity per 25 GeV of MET, the "
                    "last bin (575-600 GeV) holding everything above."},
                   {"samples", fig13}});
    an["fig13"] = fig13;
  }

  // Figure 20: ISR pT (eq. 6 of the paper, the stop-dilepton isr_pt column) in slices of the
  // output: the 10 % most background-like, the middle 10 %, the 10 % most signal-like test
  // events, signal and background mixed unweighted as in the paper's figure.
  {
    const std::vector<double> isr = column(c.test, "isr_pt");
    std::vector<size_t> order(c.score.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return c.score[a] < c.score[b]; });
    const size_t n = order.size();
    const std::vector<std::tuple<std::string, double, double>> slices = {
        {"background_like", 0.0, 0.1}, {"middle", 0.45, 0.55}, {"signal_like", 0.9, 1.0}};
    json fig20 = json::object();
    const int bins = 20;
    const double hi = 500.0;
    std::vector<std::vector<double>> hists;
    for (auto& [name, a, b] : slices) {
      std::vector<std::pair<double, double>> vw;
      std::vector<double> h(bins, 0.0);
      double sum = 0.0, sig = 0.0;
      for (size_t k = static_cast<size_t>(a * n); k < static_cast<size_t>(b * n); ++k) {
        const double v = isr[order[k]];
        vw.emplace_back(v, 1.0);
        sum += v;
        sig += c.label[order[k]];
        h[static_cast<size_t>(std::clamp(static_cast<int>(v / hi * bins), 0, bins - 1))] += 1;
      }
      const double cnt = static_cast<double>(vw.size());
      fig20[name] = {{"events", vw.size()},
                     {"signal_fraction", cnt > 0 ? sig / cnt : 0.0},
                     {"mean_isr_pt", cnt > 0 ? sum / cnt : 0.0},
                     {"median_isr_pt", weighted_quantile(vw, 0.5)}};
      hists.push_back(h);
    }
    std::vector<std::vector<std::string>> rows;
    for (int k = 0; k < bins; ++k)
      rows.push_back(
          {num(hi * k / bins), num(hi * (k + 1) / bins), num(hists[0][k]), num(hists[1][k]), num(hists[2][k])});
    out.csv("fig20_isr.csv", {"lo", "hi", "background_like", "middle", "signal_like"}, rows);
    out.json_file("fig20_isr.json",
                  {{"variable",
                    "isr_pt: eq. (6) of the paper (pT of the first untagged jet of j1, j2; else the "
                    "pT of the system recoiling against l1, l2, j1, j2 and the MET), GeV"},
                   {"slices", "by output:pre quantile over the test split: [0, 10 %), [45, 55 %), [90, 100 %]"},
                   {"overflow", "the last bin holds everything above 500 GeV"},
                   {"slices_result", fig20}});
    an["fig20"] = fig20;
  }
  progress.finish(o.explain ? "figures, activation differences, NMI, maximization, caveman, Taylor, LRP, IG, ADO"
                            : "figures and ADO");
  sec["explain"] = now_seconds() - t0;

  // (185, 5): the core study again with the other tt-bar spin setting.
  if (spin_study) {
    StopStudyOptions o2 = o;
    o2.seeds = 1;
    o2.source = [&](const std::string& p, std::int64_t n, std::uint64_t seed, bool spin) {
      auto it = kept.find(p);
      return it != kept.end() ? it->second : o.source(p, n, seed, spin);
    };
    std::vector<SeedResult> s2;
    Core c2 = run_core(o2, !o.spin_correlation, s2, sec, "spin_");
    const auto m2 =
        best_ams_with_error(column(c2.test, "mt2ll"), c2.label, c2.weight, o.lumi, o.br, o.bootstrap, o.seed + 2000);
    auto entry = [&](double a, const AmsWithError& n, const AmsWithError& m) {
      return json{{"auc", a},
                  {"ams_network", n.ams},
                  {"ams_network_err", n.err},
                  {"ams_mt2_cut", m.ams},
                  {"ams_mt2_cut_err", m.err}};
    };
    json with = entry(res.auc, res.ams_network, res.ams_mt2), without = entry(s2[0].auc, s2[0].ams_network, m2);
    if (!o.spin_correlation) std::swap(with, without);
    an["spin_correlation"] = {{"with", with}, {"without", without}};
    out.json_file("spin_correlation.json", an["spin_correlation"]);
  }

  // A summary in words, from the numbers.
  {
    std::string s;
    s += fmt::format(
        "At (m_stop, m_lsp) = ({}) GeV with {} signal and {} background test events, the network "
        "reaches AUC {:.3f} and AMS {:.2f} +- {:.2f} (output:pre >= {:.3g}) against the best mT2ll cut's "
        "{:.2f} +- {:.2f} at {:.0f} GeV",
        res.point, res.events_signal, res.events_background, res.auc, res.ams_network.ams, res.ams_network.err,
        res.ams_network.threshold, res.ams_mt2.ams, res.ams_mt2.err, res.ams_mt2.threshold);
    const json paper = paper_numbers(o.m_stop, o.m_lsp);
    if (paper.contains("ams_mt2_cut"))
      s += fmt::format(" (paper: {} vs {} at {} GeV)", paper["ams_network"].get<double>(),
                       paper["ams_mt2_cut"].get<double>(), paper["mt2_cut_gev"].get<double>());
    s += ". ";
    if (res.ams_lead.replicas > 0)
      s += fmt::format(
          "The network {} the cut by {:+.2f} +- {:.2f} (paired bootstrap: both cuts chosen again on the same "
          "resampled events; the network ahead in {} of {} replicas). ",
          res.ams_lead.diff >= 0 ? "leads" : "trails", res.ams_lead.diff, res.ams_lead.err, res.ams_lead.replicas_ahead,
          res.ams_lead.replicas);
    if (o.seeds > 1)
      s += fmt::format(
          "Over {} seeds AUC {:.3f} +- {:.3f}, AMS {:.2f} +- {:.2f} (network minus cut {:+.2f} +- {:.2f}). ", o.seeds,
          res.auc_mean, res.auc_std, res.ams_mean, res.ams_std, res.lead_mean, res.lead_std);
    if (ad_out.ranking.size() >= 3)
      s += fmt::format("The network cuts mainly on {}, {} and {} (activation differences {:.2f}, {:.2f}, {:.2f}). ",
                       pretty(ad_out.ranking[0].variable), pretty(ad_out.ranking[1].variable),
                       pretty(ad_out.ranking[2].variable), ad_out.ranking[0].ad, ad_out.ranking[1].ad,
                       ad_out.ranking[2].ad);
    if (an.contains("fig9")) {
      std::string best_l;
      double best_v = -1;
      for (auto& [k, v] : an["fig9"].items())
        if (v["mt2ll"].get<double>() > best_v) {
          best_v = v["mt2ll"].get<double>();
          best_l = v["neuron"].get<std::string>();
        }
      if (!best_l.empty()) s += fmt::format("Neuron {} tracks mT2ll with NMI {:.2f}. ", best_l, best_v);
    }
    if (an.contains("caveman"))
      s += fmt::format("A caveman variable of {} separates with AUC {:.3f} (the neuron itself {:.3f}{}). ",
                       an["caveman"]["neuron"].get<std::string>(), an["caveman"]["auc"].get<double>(),
                       an["caveman"]["neuron_auc"].get<double>(),
                       an["caveman"]["neuron_auc"].get<double>() < 0.5 ? "; below 1/2: it rises for background" : "");
    s += fmt::format("The network orders signal-background pairs as mT2ll does for a fraction {:.2f} of them (ADO). ",
                     an["ado_mt2"].get<double>());
    if (an["fig13"].contains("ttbar")) {
      const auto& t = an["fig13"]["ttbar"];
      s += fmt::format(
          "In tt-bar the median MET is {:.0f} GeV with both leptons opposite the MET, {:.0f} GeV with "
          "both adjacent ({:.0f} GeV otherwise). ",
          t["median_met_both_opposite"].get<double>(), t["median_met_both_adjacent"].get<double>(),
          t["median_met_rest"].get<double>());
    }
    const auto& f20 = an["fig20"];
    s += fmt::format(
        "The most signal-like 10 % of events have median ISR pT {:.0f} GeV against {:.0f} GeV for the "
        "most background-like.",
        f20["signal_like"]["median_isr_pt"].get<double>(), f20["background_like"]["median_isr_pt"].get<double>());
    if (an.contains("spin_correlation"))
      s += fmt::format(" Without tt-bar spin correlations the AUC is {:.3f} (with: {:.3f}).",
                       an["spin_correlation"]["without"]["auc"].get<double>(),
                       an["spin_correlation"]["with"]["auc"].get<double>());
    res.summary = s;
  }
  if (!o.out.empty()) {
    res.files.push_back("summary.json");
    res.files.push_back("summary.txt");
    write_text_atomically((std::filesystem::path(o.out) / "summary.json").string(), res.to_json().dump(2) + "\n");
    write_text_atomically((std::filesystem::path(o.out) / "summary.txt").string(),
                          res.table() + "\n" + res.summary + "\n");
  }
  return res;
}

// ---- result output --------------------------------------------------------------------

json StopStudyResult::to_json() const {
  json j;
  j["point"] = point;
  j["m_stop"] = options.m_stop;
  j["m_lsp"] = options.m_lsp;
  j["auc"] = auc;
  j["ams_network"] = ams_network.ams;
  j["ams_network_err"] = ams_network.err;
  j["ams_threshold"] = ams_network.threshold;
  j["ams_mt2_cut"] = ams_mt2.ams;
  j["ams_mt2_cut_err"] = ams_mt2.err;
  // Network minus cut with the paired bootstrap error (both cuts re-chosen on the same replicas).
  j["ams_network_minus_mt2_cut"] = ams_lead.diff;
  j["ams_network_minus_mt2_cut_err"] = ams_lead.err;
  j["ams_network_ahead_replicas"] = ams_lead.replicas_ahead;
  j["ams_bootstrap_replicas"] = ams_lead.replicas;
  j["mt2_cut_gev"] = ams_mt2.threshold;
  // The first-order errors at the chosen thresholds held fixed (the errors above re-choose them).
  j["ams_network_err_fixed_threshold"] = ams_network.err_fixed;
  j["ams_mt2_cut_err_fixed_threshold"] = ams_mt2.err_fixed;
  {
    // The paper's symbols of the columns (the report labels its figures with them).
    json sym = json::object();
    for (const auto& c : physics::stop_dilepton_input_columns()) sym[c] = pretty(c);
    for (const char* c : {"mt2ll", "met"}) sym[c] = pretty(c);
    j["symbols"] = sym;
  }
  j["train_weights"] = train_weights_name(options.train_weights);
  j["loss"] = loss_key(options.loss);
  j["thresholds_from_validation"] = validation_thresholds;
  // The background estimate above the chosen mT2ll cut and above the network's threshold:
  // expected events at the luminosity, its statistical error from the finite simulated sample
  // (sqrt(sum w^2)), and the number of simulated test events there.
  auto b_abs_err = [](const AmsWithError& a) { return std::isfinite(a.b_rel_err) ? a.b * a.b_rel_err : 0.0; };
  j["b_above_cut"] = ams_mt2.b;
  j["b_above_cut_err"] = b_abs_err(ams_mt2);
  j["b_above_cut_events"] = ams_mt2.n_b;
  j["b_above_threshold"] = ams_network.b;
  j["b_above_threshold_err"] = b_abs_err(ams_network);
  j["b_above_threshold_events"] = ams_network.n_b;
  j["events_signal"] = events_signal;
  j["events_background"] = events_background;
  j["expected_signal"] = expected_signal;
  j["expected_background"] = expected_background;
  j["nmi_mt2"] = nmi_mt2;
  j["split"] = {{"train", train_events},
                {"validation", validation_events},
                {"test", test_events},
                {"test_weight_scale", test_weight_scale}};
  j["lumi_fb"] = options.lumi;
  j["br"] = options.br;
  j["events_generated_per_class"] = options.events;
  j["spin_correlation"] = options.spin_correlation;
  j["score"] = "output:pre";
  j["options"] = {{"events", options.events},
                  {"seeds", options.seeds},
                  {"seed", options.seed},
                  {"epochs", options.epochs},
                  {"patience", options.patience},
                  {"tw_oversample", options.tw_oversample},
                  {"learning_rate", options.learning_rate},
                  {"batch", options.batch},
                  {"train_weights", train_weights_name(options.train_weights)},
                  {"loss", loss_key(options.loss)},
                  {"cache", options.cache},
                  {"train_fraction", options.train_fraction},
                  {"validation_fraction", options.validation_fraction},
                  {"bootstrap", options.bootstrap},
                  {"explain", options.explain},
                  {"explain_events", options.explain_events},
                  {"maximize_points", options.maximize_points},
                  {"architecture", "paper"},
                  {"threads", thread_count()}};
  json s = json::array();
  for (auto& x : seeds)
    s.push_back({{"seed", x.seed},
                 {"auc", x.auc},
                 {"ams_network", x.ams_network.ams},
                 {"ams_network_err", x.ams_network.err},
                 {"ams_threshold", x.ams_network.threshold},
                 {"ams_network_minus_mt2_cut", x.ams_lead.diff},
                 {"ams_network_minus_mt2_cut_err", x.ams_lead.err},
                 {"epochs", x.epochs_run}});
  j["seeds"] = {{"runs", s},
                {"auc_mean", auc_mean},
                {"auc_std", auc_std},
                {"ams_mean", ams_mean},
                {"ams_std", ams_std},
                {"ams_network_minus_mt2_cut_mean", lead_mean},
                {"ams_network_minus_mt2_cut_std", lead_std}};
  j["ams_network_detail"] = ams_json(ams_network);
  j["ams_mt2_cut_detail"] = ams_json(ams_mt2);
  j["samples"] = samples;
  j["analysis"] = analysis;
  j["paper"] = paper_numbers(options.m_stop, options.m_lsp);
  j["summary"] = summary;
  j["stage_seconds"] = stage_seconds;
  j["files"] = files;
  return j;
}

std::string StopStudyResult::table() const {
  const json paper = paper_numbers(options.m_stop, options.m_lsp);
  auto p = [&](const char* key) -> std::string {
    if (!paper.contains(key)) return "-";
    const auto& v = paper[key];
    return v.is_number() ? fmt::format("{:.2f}", v.get<double>()) : v.get<std::string>();
  };
  auto pct = [](double v) { return std::isfinite(v) ? fmt::format("{:.0f} %", 100 * v) : std::string("none"); };
  std::string t;
  t += fmt::format(
      "stop study ({}) GeV, {:.1f} fb^-1, b_r = {}, test split: {} signal / {} background events "
      "(expected {:.1f} / {:.1f})\n",
      point, options.lumi, options.br, events_signal, events_background, expected_signal, expected_background);
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "", "unbox", "paper");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "AUC (test, weighted)", fmt::format("{:.4f}", auc), "-");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "AMS network (output:pre)",
                   fmt::format("{:.2f} +- {:.2f}", ams_network.ams, ams_network.err), p("ams_network"));
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  threshold (output:pre >=)",
                   fmt::format("{:.4g}", ams_network.threshold), paper.contains("ams_threshold") ? "< -10.4" : "-");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "AMS best mT2ll cut",
                   fmt::format("{:.2f} +- {:.2f}", ams_mt2.ams, ams_mt2.err), p("ams_mt2_cut"));
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  mT2ll cut (GeV)", fmt::format("{:.0f}", ams_mt2.threshold),
                   paper.contains("mt2_cut_gev") ? fmt::format("{:.0f}", paper["mt2_cut_gev"].get<double>()) : "-");
  if (ams_lead.replicas > 0) {
    std::string paper_lead = "-";
    if (paper.contains("ams_mt2_cut") && paper["ams_network"].is_number())
      paper_lead = fmt::format("{:+.2f}", paper["ams_network"].get<double>() - paper["ams_mt2_cut"].get<double>());
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "AMS network - mT2ll cut (paired)",
                     fmt::format("{:+.2f} +- {:.2f}", ams_lead.diff, ams_lead.err), paper_lead);
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "  replicas with the network ahead",
                     fmt::format("{} of {}", ams_lead.replicas_ahead, ams_lead.replicas), "-");
  }
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  expected s / b, network",
                   fmt::format("{:.1f} / {:.1f}", ams_network.s, ams_network.b), "-");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  expected s / b, mT2ll cut",
                   fmt::format("{:.1f} / {:.1f}", ams_mt2.s, ams_mt2.b), "-");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  b stat. error (net / mT2 cut)",
                   fmt::format("{} / {}", pct(ams_network.b_rel_err), pct(ams_mt2.b_rel_err)), "-");
  t += fmt::format("  {:<34} {:>18} {:>12}\n", "  simulated b events (net / mT2 cut)",
                   fmt::format("{} / {}", ams_network.n_b, ams_mt2.n_b), "-");
  if (validation_thresholds.contains("network"))
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "  AMS net / mT2, cuts from valid.",
                     fmt::format("{:.2f} / {:.2f}", validation_thresholds["network"]["ams_test"].get<double>(),
                                 validation_thresholds["mt2ll"]["ams_test"].get<double>()),
                     "-");
  if (analysis.contains("spin_correlation")) {
    const auto& sc = analysis["spin_correlation"];
    const bool with_main = options.spin_correlation;
    const auto& other = sc[with_main ? "without" : "with"];
    const std::string tag = with_main ? "without tt spin corr." : "with tt spin corr.";
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "AUC " + tag, fmt::format("{:.4f}", other["auc"].get<double>()), "-");
    t += fmt::format(
        "  {:<34} {:>18} {:>12}\n", "AMS network " + tag,
        fmt::format("{:.2f} +- {:.2f}", other["ams_network"].get<double>(), other["ams_network_err"].get<double>()),
        "-");
    t += fmt::format(
        "  {:<34} {:>18} {:>12}\n", "AMS best mT2ll cut " + tag,
        fmt::format("{:.2f} +- {:.2f}", other["ams_mt2_cut"].get<double>(), other["ams_mt2_cut_err"].get<double>()),
        "-");
  }
  if (seeds.size() > 1) {
    t += fmt::format("  {:<34} {:>18} {:>12}\n", fmt::format("AMS over {} seeds", seeds.size()),
                     fmt::format("{:.2f} +- {:.2f}", ams_mean, ams_std), "-");
    int ahead = 0;
    for (const auto& x : seeds) ahead += x.ams_lead.diff > 0;
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "  network - mT2ll cut over seeds",
                     fmt::format("{:+.2f} +- {:.2f}", lead_mean, lead_std), "-");
    t += fmt::format("  {:<34} {:>18} {:>12}\n", "  networks ahead of the cut",
                     fmt::format("{} of {}", ahead, seeds.size()), "-");
  }
  if (analysis.contains("fig9")) {
    const bool have = paper.contains("fig9_nmi_mt2");
    int k = 0;
    for (int layer : {2, 3, 5}) {
      const std::string key = "L" + std::to_string(layer);
      if (analysis["fig9"].contains(key)) {
        const auto& f = analysis["fig9"][key];
        t += fmt::format("  {:<34} {:>18} {:>12}\n",
                         fmt::format("NMI(top {} neuron {}, mT2ll)", key, f["neuron"].get<std::string>()),
                         fmt::format("{:.2f}", f["mt2ll"].get<double>()),
                         have ? fmt::format("{:.2f}", paper["fig9_nmi_mt2"][k].get<double>()) : "-");
      }
      ++k;
    }
  }
  if (analysis.contains("activation_difference")) {
    const auto& tabs = analysis["activation_difference"]["tables"];
    for (auto& [k, v] : tabs.items()) {
      std::string row;
      for (auto& e : v["ranking"])
        row += fmt::format("{} {:.2f}, ", pretty(e["variable"].get<std::string>()), e["ad"].get<double>());
      if (row.size() > 2) row.resize(row.size() - 2);
      t += fmt::format("  AD of {} ({}): {}\n", v["neuron"].get<std::string>(), k, row);
    }
    std::string pt;
    for (const char* key : {"table1_L2N12", "table2_L5N4", "table3_L5N10", "table4_output"})
      if (paper.contains(key)) {
        std::string row;
        for (auto& [n, v] : paper[key].items()) row += fmt::format("{} {:.2f}, ", n, v.get<double>());
        row.resize(row.size() - 2);
        t += fmt::format("  paper {}: {}\n", key, row);
      }
  }
  return t;
}

}  // namespace unbox::studies
