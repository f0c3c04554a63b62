// unbox study stop: the stop/top case study of Roxlo & Reece end to end (stop_study.hpp).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "study_command.hpp"
#include "unbox/core.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/report.hpp"
#include "unbox/studies/stop_study_views.hpp"

namespace unbox::cli {

namespace {

void parse_point(const std::string& text, double& m1, double& m2) {
  double a = 0, b = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lf,%lf%c", &a, &b, &extra) != 2)
    throw Error(fmt::format("--point '{}': expected M_STOP,M_LSP in GeV, e.g. 750,1", text));
  m1 = a;
  m2 = b;
}

// The study's data views (views/*.json) and its HTML report in the paper's order. A missing
// plotting library leaves the results in place and says how to get the report later.
void write_study_report(const StudyArgs& a) {
  namespace fs = std::filesystem;
  const std::string dir = a.options.out;
  const auto views = studies::write_stop_study_views(dir);
  std::string js;
  try {
    js = report_js_dir();
  } catch (const Error& e) {
    std::cerr << "unbox: no report.html: " << e.what() << "\n";
    return;
  }
  ReportOptions ro;
  ro.title = fmt::format("unbox: the stop study of Roxlo & Reece at ({}) GeV", a.point);
  const Report r = build_report({dir}, ro);
  const std::string path = (fs::path(dir) / "report.html").string();
  write_text_atomically(path, r.html(js));
  if (!a.json)
    std::cout << fmt::format("{} data views in {}/views/; the report ({} sections, {} figures{}): {}\n", views.size(),
                             dir, r.sections.size(), r.figures().size(),
                             r.absent.empty() ? "" : fmt::format(", {} absent", r.absent.size()),
                             fs::absolute(path).string());
}

// A dataset of 1-D columns as bytes (name, count, raw doubles per column) and back, for the
// generation across ranks.
std::string pack(const Dataset& d) {
  std::string out;
  for (const auto& name : d.names()) {
    const Tensor& t = d.get(name);
    const auto n = static_cast<std::int64_t>(t.size());
    out += name;
    out += '\n';
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    if (n > 0) out.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(n) * sizeof(double));
  }
  return out;
}

Dataset unpack(const std::string& bytes) {
  Dataset d;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t nl = bytes.find('\n', at);
    if (nl == std::string::npos || nl + 1 + sizeof(std::int64_t) > bytes.size()) throw Error("bad rank events");
    const std::string name = bytes.substr(at, nl - at);
    std::int64_t n = 0;
    std::memcpy(&n, bytes.data() + nl + 1, sizeof n);
    at = nl + 1 + sizeof n;
    if (n < 0 || at + static_cast<size_t>(n) * sizeof(double) > bytes.size()) throw Error("bad rank events");
    std::vector<double> v(static_cast<size_t>(n));
    if (n > 0) std::memcpy(v.data(), bytes.data() + at, static_cast<size_t>(n) * sizeof(double));  // empty: no buffer
    at += static_cast<size_t>(n) * sizeof(double);
    d.add(name, Tensor({static_cast<Index>(n)}, std::move(v)));
  }
  return d;
}

// This rank's part of one source call, as "ok:" + bytes or "error:" + message.
std::string generate_part(const std::string& process, std::int64_t n, std::uint64_t seed, bool spin) {
  try {
    return "ok:" + pack(studies::builtin_event_source_part(dist::rank(), dist::size())(process, n, seed, spin));
  } catch (const Error& e) {
    return std::string("error:") + e.what();
  }
}

// Under mpirun the built-in generator's events are split across ranks: rank 0 runs the study,
// and each of its source calls is broadcast ("G process|n|seed|spin"); every rank generates
// its contiguous range of the streams (per-stream seeds: the events do not depend on the
// number of ranks) and rank 0 joins the parts in rank order. "done" releases the others.
studies::EventSource rank0_source() {
  return [](const std::string& process, std::int64_t n, std::uint64_t seed, bool spin) {
    dist::broadcast(fmt::format("G{}|{}|{}|{}", process, n, seed, spin ? 1 : 0));
    const auto parts = dist::gather(generate_part(process, n, seed, spin));
    Dataset all;
    for (size_t r = 0; r < parts.size(); ++r) {
      if (parts[r].rfind("error:", 0) == 0) throw Error(fmt::format("rank {}: {}", r, parts[r].substr(6)));
      Dataset d = unpack(parts[r].substr(3));
      if (r == 0)
        all = std::move(d);
      else
        append_events(all, d);
    }
    all.source = "generator";
    return all;
  };
}

int serve_generation() {
  for (;;) {
    const std::string request = dist::broadcast("");
    if (request.empty() || request[0] != 'G') return 0;
    const std::string body = request.substr(1);
    const size_t b3 = body.rfind('|'), b2 = body.rfind('|', b3 - 1), b1 = body.rfind('|', b2 - 1);
    const std::string process = body.substr(0, b1);
    const std::int64_t n = std::stoll(body.substr(b1 + 1, b2 - b1 - 1));
    const std::uint64_t seed = std::stoull(body.substr(b2 + 1, b3 - b2 - 1));
    dist::gather(generate_part(process, n, seed, body.substr(b3 + 1) == "1"));
  }
}

}  // namespace

void add_study_options(CLI::App* c, StudyArgs& a) {
  auto& o = a.options;
  c->add_option("--point", a.point, "Stop and neutralino masses in GeV: 750,1, 350,200 or 185,5")
      ->capture_default_str();
  c->add_option("--events", o.events,
                "Signal events and background events generated before the selection "
                "(background split among ttbar, tW, WW by cross section)")
      ->capture_default_str();
  c->add_option("--out", o.out, "Folder for the result files (JSON, CSV, the model)")->capture_default_str();
  c->add_option("--seeds", o.seeds, "Networks trained with seeds S, S+1, ...; the spread is reported")
      ->capture_default_str();
  c->add_option("--seed", o.seed, "Random seed (events, split, training, methods)")->capture_default_str();
  c->add_option("--epochs", o.epochs, "Maximum training epochs (early stopping on the validation split)")
      ->capture_default_str();
  c->add_option("--tw-oversample", o.tw_oversample,
                "tW events generated per tW event of the cross-section split (weights compensate)")
      ->capture_default_str();
  c->add_option("--patience", o.patience, "Epochs without a better validation loss before training stops")
      ->capture_default_str();
  c->add_option("--learning-rate", o.learning_rate, "Adam's learning rate")->capture_default_str();
  c->add_option("--batch", o.batch, "Events per optimizer step")->capture_default_str();
  c->add_option("--bootstrap", o.bootstrap, "Bootstrap replicas for the AMS uncertainties")->capture_default_str();
  c->add_option("--lumi", o.lumi, "Integrated luminosity in fb^-1")->capture_default_str();
  c->add_option("--explain-events", o.explain_events, "Test events the explanation methods run on")
      ->capture_default_str();
  c->add_option("--maximize-points", o.maximize_points, "Activation-maximization starting points")
      ->capture_default_str();
  c->add_option("--train-weights", a.train_weights,
                "Training weights: physical (expected events per event) or process (each process's expected "
                "events spread evenly over its events; the generator's tail bias kept)")
      ->capture_default_str();
  c->add_option("--loss", a.loss,
                "Training loss on the tanh output: bce (cross-entropy, P(signal) = (1 + tanh z) / 2) or mse "
                "(squared error on +1/-1)")
      ->capture_default_str();
  c->add_option("--cache", o.cache, "Folder of generated samples: reused when present, else written");
  c->add_flag("--no-spin-correlation", a.no_spin, "Generate ttbar without spin correlations");
  c->add_flag("--no-explain", a.no_explain,
              "Only the figures of merit and Figures 8, 13, 20 (no activation differences, NMI, maximization, "
              "caveman, Taylor, LRP, Integrated Gradients)");
  c->add_option("--source", a.source,
                "Event source: builtin (the built-in generator) or toy (synthetic events to exercise the "
                "machinery; not physics)")
      ->capture_default_str();
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a.json, "Print the result as JSON instead of the table");
  c->add_flag("--no-report", a.no_report,
              "Do not write the data views (views/) and report.html into the --out folder after the study");
  c->add_flag("--quiet,-q", o.quiet, "No progress bars");
}

int run_study(StudyArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  auto& o = a.options;
  parse_point(a.point, o.m_stop, o.m_lsp);
  o.spin_correlation = !a.no_spin;
  o.explain = !a.no_explain;
  o.train_weights = studies::parse_train_weights(a.train_weights);
  o.loss = parse_loss(a.loss);
  if (o.loss == Loss::Auto) throw Error("--loss: expected bce or mse");
  if (a.source == "builtin") {
    o.source = studies::builtin_event_source();
    o.source_id = studies::builtin_source_id();
  } else if (a.source == "toy") {
    o.source = studies::toy_event_source();
    o.source_id = "toy";
  } else
    throw Error(fmt::format("--source '{}': expected builtin or toy", a.source));
  if (!o.source)
    throw Error(
        "the built-in generator is not available in this build (--source toy runs the study on synthetic "
        "events that exercise the machinery; `unbox demo toy` is the product-toy demo)");
  if (a.demo && !a.json)
    std::cout << fmt::format(
        "unbox demo: the stop study of Roxlo & Reece at ({}) GeV, {} signal and {} background "
        "events{}\n",
        a.point, o.events, o.events, a.source == "toy" ? " (synthetic toy events)" : "");
  if (dist::size() > 1) {
    if (a.source != "builtin")
      throw Error("study stop across ranks splits the built-in generator's events; --source toy runs in one process");
    if (!dist::root()) return serve_generation();
    o.source = rank0_source();
  }
  studies::StopStudyResult r;
  try {
    r = studies::stop_study(o);
  } catch (...) {
    if (dist::size() > 1) dist::broadcast("done");
    throw;
  }
  if (dist::size() > 1) dist::broadcast("done");
  if (a.json) {
    std::printf("%s\n", r.to_json().dump(2).c_str());
    if (!o.out.empty() && !a.no_report) write_study_report(a);
    return 0;
  }
  std::cout << r.table() << "\n" << r.summary << "\n";
  if (!o.out.empty())
    std::cout << fmt::format("\n{} files written to {}/ (summary.json has every number)\n", r.files.size(), o.out);
  if (!o.out.empty() && !a.no_report) write_study_report(a);
  return 0;
}

void register_study(CLI::App& app) {
  CLI::App* study = app.add_subcommand("study", "Worked case studies of the papers, end to end");
  study->require_subcommand(1);
  static StudyArgs a;
  auto* c =
      add_command(*study, "stop",
                  "The stop/top study of Roxlo & Reece: generate, split, train the paper's network, AUC, AMS "
                  "against the best mT2ll cut, and the paper's explanations",
                  "unbox study stop --point 750,1 --events 60000 --out stop-750 --json", [] { return run_study(a); });
  a.options.out = "stop-study";
  add_study_options(c, a);
}

}  // namespace unbox::cli
