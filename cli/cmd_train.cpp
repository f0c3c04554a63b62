#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>

#include "commands.hpp"
#include "train_command.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/taylor.hpp"

namespace unbox::cli {

namespace {
// Learning progress is measured on (up to `limit` of) the events train() holds out for
// validation, which the optimizer never sees; without a validation split, the first events.
std::vector<Index> taylor_sample(Index n_events, const TrainOptions& o, Index limit) {
  std::vector<Index> rows = validation_events(n_events, o);
  if (rows.empty()) {
    rows.resize(static_cast<size_t>(n_events));
    std::iota(rows.begin(), rows.end(), Index{0});
  }
  rows.resize(static_cast<size_t>(std::min<Index>(static_cast<Index>(rows.size()), limit)));
  return rows;
}

// Records the tracked Taylor coefficients after every N steps (or each epoch).
struct TaylorTracker {
  std::vector<std::string> names;  // tracked feature names ("" list = all)
  TaylorOptions options;
  Tensor inputs;
  std::vector<double> labels, weights;
  Index every = 0;
  std::vector<std::vector<double>> rows;  // step, epoch, values...

  void record(const TrainEvent& e) {
    if (every > 0 ? (e.kind != TrainEvent::Step || e.step % every != 0) : e.kind != TrainEvent::Epoch) return;
    TaylorResult r = taylor(*e.network, {inputs}, labels, weights, options);
    if (names.empty()) {
      std::vector<std::string> all;
      for (const auto& f : r.features) all.push_back(f.name);
      std::sort(all.begin(), all.end(), [&](const std::string& a, const std::string& b) {
        return std::count(a.begin(), a.end(), ' ') < std::count(b.begin(), b.end(), ' ') ||
               (std::count(a.begin(), a.end(), ' ') == std::count(b.begin(), b.end(), ' ') && a < b);
      });
      names = all;
    }
    std::vector<double> row = {static_cast<double>(e.step), static_cast<double>(e.epoch)};
    for (const auto& n : names) {
      auto it = std::find_if(r.features.begin(), r.features.end(), [&](const TaylorFeature& f) { return f.name == n; });
      if (it == r.features.end()) {
        std::string known;
        for (size_t i = 0; i < r.features.size() && i < 12; ++i) known += (i ? ", " : "") + r.features[i].name;
        throw Error(fmt::format("--track-taylor: no feature '{}'; features are named like: {}", n, known));
      }
      row.push_back(it->value);
    }
    rows.push_back(std::move(row));
  }
};

// "x1*x2" and "x1 x x2" name the same feature.
std::string normalize_feature(std::string s) {
  for (size_t p; (p = s.find('*')) != std::string::npos;) s.replace(p, 1, " x ");
  std::string out;
  for (char c : s)
    if (!(c == ' ' && (out.empty() || out.back() == ' '))) out += c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

Network run_train(const TrainArgs& a, TrainResult* result_out) {
  if (a.arch.empty()) throw Error("--arch is required: 'paper' or hidden widths like 64,64");
  if (a.data.label.empty()) throw Error("--label is required for training");
  if (a.threads > 0) set_thread_count(a.threads);
  check(a.options);
  Dataset data = load_data(a.data, a.transforms);
  // Labels 0/1, the input columns, finite values, both classes (shared with the Python module).
  const std::vector<std::string> features =
      check_training_inputs(data, a.columns.empty() ? std::vector<std::string>{} : split_list(a.columns));

  Architecture arch =
      parse_architecture(a.arch, a.activation, a.output.empty() ? (a.arch == "paper" ? "tanh" : "sigmoid") : a.output);
  arch.preprocess = a.preprocess;
  TrainOptions o = a.options;
  o.l1 = a.l1 >= 0 ? a.l1 : arch.l1;
  o.l2 = a.l2;
  o.loss = parse_loss(a.loss);
  // Under mpirun: data parallelism (every rank reads the whole sample and computes a share of
  // each mini-batch; rank 0 alone prints and writes the model).
  const bool ranks = dist::size() > 1;
  if (ranks) {
    o.ranks = {dist::rank(), dist::size(), [](const std::vector<double>& v) { return dist::all_gather(v); }};
    if (!dist::root()) o.quiet = true;
  }
  Network net = build_network(features, arch);
  Tensor x = data.columns_matrix(features);
  std::vector<double> y = data.labels(), w;
  if (data.weight_column) {
    w = data.weights();
    for (double v : w)
      if (v < 0) {
        std::fprintf(stderr, "unbox: warning: %s has negative weights in '%s'; they are used as given\n",
                     data.source.c_str(), data.weight_column->c_str());
        break;
      }
  }
  Index n_sig = 0;
  for (double v : y) n_sig += v > 0.5;

  // Every training states its settings, defaults included.
  std::string widths;
  for (Index h : arch.hidden) widths += (widths.empty() ? "" : ",") + std::to_string(h);
  std::string feat;
  for (size_t i = 0; i < features.size(); ++i) feat += (i ? ", " : "") + features[i];
  const bool tanh_out = arch.output == OutputKind::Tanh;
  std::ostringstream discarded;  // --quiet: no settings block either
  std::ostream& err = o.quiet ? static_cast<std::ostream&>(discarded) : std::cerr;
  err << fmt::format("unbox train: {} events ({} signal, {} background) from {}\n", data.events(), n_sig,
                     data.events() - n_sig, data.source);
  err << fmt::format("  inputs ({}): {}\n", features.size(), feat);
  err << fmt::format("  network: {} -> {} -> 1, hidden {}, output {}, loss {}\n", features.size(), widths,
                     arch.activation.describe({}), tanh_out ? "tanh" : "sigmoid",
                     tanh_out && o.loss != Loss::BinaryCrossEntropy ? "mean squared error on +1/-1"
                     : tanh_out                                     ? "binary cross-entropy on (1 + tanh) / 2"
                                                                    : "binary cross-entropy");
  err << fmt::format("  Adam lr {}, batch {}, epochs {} (early stopping, patience {}), L1 {}, L2 {}, validation {}%\n",
                     o.learning_rate, o.batch, o.epochs, o.patience, o.l1, o.l2, o.validation_fraction * 100);
  err << fmt::format("  init {} (Glorot for the output), weights {}{}, seed {}, threads {}\n",
                     arch.activation.piecewise_linear() || arch.activation.kind() == ActivationKind::ELU
                         ? "He-uniform"
                         : "Glorot-uniform",
                     data.weight_column ? "'" + *data.weight_column + "' normalized to mean 1" : "none",
                     o.balance_classes ? ", classes balanced" : "", o.seed, thread_count());

  std::unique_ptr<TaylorTracker> tracker;
  if (!a.track_taylor.empty()) {
    tracker = std::make_unique<TaylorTracker>();
    tracker->every = a.track_every;
    if (a.track_every < 0) throw Error("--every must be 0 (each epoch) or a positive number of steps");
    int max_order = 2;
    if (a.track_taylor != "all") {
      max_order = 1;
      for (const auto& f : split_list(a.track_taylor)) {
        tracker->names.push_back(normalize_feature(f));
        max_order = std::max<int>(
            max_order,
            1 + static_cast<int>(std::count(tracker->names.back().begin(), tracker->names.back().end(), ' ')) / 2);
      }
    }
    if (max_order > 3) throw Error("--track-taylor: features go up to third order (a x b x c)");
    tracker->options.order = max_order;
    std::vector<Index> rows = taylor_sample(x.events(), o, 10000);
    tracker->inputs = x.gather_events(rows);
    for (Index i : rows) {
      tracker->labels.push_back(y[static_cast<size_t>(i)]);
      if (!w.empty()) tracker->weights.push_back(w[static_cast<size_t>(i)]);
    }
    auto user_hook = o.hook;
    if (dist::root())  // rank 0 tracks and writes the table; the model is the same on every rank
      o.hook = [t = tracker.get(), user_hook](const TrainEvent& e) {
        t->record(e);
        if (user_hook) user_hook(e);
      };
    err << fmt::format("  tracking Taylor coefficients ({}) of output on {} validation events after {}\n",
                       a.track_taylor, rows.size(),
                       a.track_every > 0 ? fmt::format("every {} steps", a.track_every) : std::string("each epoch"));
  }

  TrainResult r = train(net, x, y, w, o);

  if (tracker && dist::root()) {
    Dataset table;
    const size_t cols = tracker->names.size() + 2;
    std::vector<std::string> header = {"step", "epoch"};
    header.insert(header.end(), tracker->names.begin(), tracker->names.end());
    const auto nrows = static_cast<Index>(tracker->rows.size());
    for (size_t c = 0; c < cols; ++c) {
      Tensor col({nrows});
      for (Index i = 0; i < nrows; ++i) col[i] = tracker->rows[static_cast<size_t>(i)][c];
      table.add(header[c], std::move(col));
    }
    std::string path = a.track_out;
    if (path.empty()) {
      path = a.out;
      if (auto dot = path.rfind('.'); dot != std::string::npos && path.find('/', dot) == std::string::npos)
        path.resize(dot);
      path += ".taylor.csv";
    }
    if (nrows > 0) write_dataset(table, path);
    // The progress table: at most 25 rows, evenly spaced, always the last.
    std::string out = fmt::format(
        "Taylor coefficients <|t|> of output during training (monomial convention, "
        "standardized units), written to {}:\n",
        path);
    out += fmt::format("{:>7} {:>5}", "step", "epoch");
    for (const auto& n : tracker->names) out += fmt::format(" {:>12}", n);
    out += "\n";
    const Index shown = std::min<Index>(nrows, 25);
    for (Index k = 0; k < shown; ++k) {
      Index i = shown == 1 ? nrows - 1 : k * (nrows - 1) / (shown - 1);
      const auto& row = tracker->rows[static_cast<size_t>(i)];
      out += fmt::format("{:>7} {:>5}", row[0], row[1]);
      for (size_t c = 2; c < row.size(); ++c) out += fmt::format(" {:>12.5g}", row[c]);
      out += "\n";
    }
    std::cerr << out;
  }

  record_training(net, data, arch.name, o, r);
  if (ranks) net.metadata["training"]["ranks"] = dist::size();
  if (!dist::root()) {
    if (result_out) *result_out = r;
    return net;
  }
  save_network(net, a.out);
  if (a.json) {
    nlohmann::json j = net.metadata["training"];
    j["model"] = a.out;
    j["seconds"] = r.seconds;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format("wrote {}: best epoch {} of {}, validation loss {:.5f}, validation AUC {:.4f} ({:.1f}s)\n",
                             a.out, r.best_epoch, r.epochs_run, r.best_val_loss, r.best_val_auc, r.seconds);
  }
  if (result_out) *result_out = r;
  return net;
}

void register_train(CLI::App& app) {
  static TrainArgs a;
  auto* c =
      add_command(app, "train", "Train a classifier (label 1 = signal, the positive side of the output)",
                  "unbox train --data product.csv --label label --arch paper --epochs 20 --seed 1 --out m.unbox", [] {
                    run_train(a);
                    return 0;
                  });
  c->add_option("--data", a.data.path, "Training events (csv, npy, npz, h5[:/path])")->required();
  add_data_transforms(c, a.transforms);
  c->add_option("--label", a.data.label, "Label column: 1 signal, 0 background")->capture_default_str();
  c->add_option("--weight", a.data.weight, "Per-event weight column (normalized to mean 1 in the loss)");
  c->add_flag("--allow-nan", a.data.allow_nan,
              "Read files holding NaN/Inf (training still refuses them in the columns it uses, naming the event)");
  c->add_option("--columns", a.columns, "Input columns, comma-separated (default: all but label and weight)");
  c->add_option("--arch", a.arch,
                "'paper' (Roxlo & Reece: 128,64,32,16,16,8,8,4,4,2,2, LeakyReLU(0.1), tanh output, MSE, L1 1e-5) "
                "or hidden widths, e.g. 64,64, or a Particle Flow Network pfn:PHI:F on columns p0_pt, p0_eta, ..., "
                "e.g. pfn:64,64,32:64,32 (particles with pt == 0 are padding)")
      ->required();
  c->add_option("--activation", a.activation,
                "Hidden activation: relu, leakyrelu(a), tanh, sigmoid, elu, selu, softplus")
      ->capture_default_str();
  c->add_option("--output", a.output, "Output: sigmoid (binary cross-entropy) or tanh (MSE on +1/-1)");
  c->add_option("--loss", a.loss,
                "Loss: auto (the output's: BCE for sigmoid, MSE for tanh), bce (on a tanh output: P(signal) = (1 + "
                "tanh z) / 2) or mse (tanh output only)")
      ->capture_default_str();
  c->add_option(
       "--preprocess", a.preprocess,
       "Input layer: standardize ((x - mean) / std) or clip3-minmax (the XAUG poster: clip at mean +- 3 std of "
       "the training split, then min-max to [0, 1]; gradients are zero beyond +-3 std, so Taylor coefficients, "
       "maximization and Integrated Gradients stall there; not exportable to ONNX)")
      ->capture_default_str();
  c->add_option("--epochs", a.options.epochs, "Maximum epochs (early stopping on validation loss)")
      ->capture_default_str();
  c->add_option("--batch", a.options.batch, "Mini-batch size")->capture_default_str();
  c->add_option("--lr", a.options.learning_rate, "Adam learning rate")->capture_default_str();
  c->add_option("--l1", a.l1, "L1 strength on weights (default: 1e-5 for paper, else 0)");
  c->add_option("--l2", a.l2, "L2 strength on weights")->capture_default_str();
  c->add_option("--patience", a.options.patience, "Early-stopping patience in epochs (0: off)")->capture_default_str();
  c->add_option("--validation", a.options.validation_fraction, "Held-out validation fraction")->capture_default_str();
  c->add_flag("--balance", a.options.balance_classes, "Give signal and background equal total weight");
  c->add_option("--seed", a.options.seed, "Random seed (split, shuffling, initialization)")->capture_default_str();
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_option("--out", a.out, "Model file to write (.unbox)")->required();
  c->add_flag("--json", a.json, "Print the training summary as JSON");
  c->add_flag("--quiet", a.options.quiet, "No progress output");
  c->add_option("--track-taylor", a.track_taylor,
                "Learning progress: record these Taylor coefficients of the output (e.g. 'x1,x2,x1 x x2', or all) on "
                "up to 10k validation events during training");
  c->add_option("--every", a.track_every, "With --track-taylor: record every N optimizer steps (0: each epoch)")
      ->capture_default_str();
  c->add_option("--track-out", a.track_out, "With --track-taylor: the table to write (default: MODEL.taylor.csv)");
}

}  // namespace unbox::cli
