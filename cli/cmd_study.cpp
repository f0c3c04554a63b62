// unbox study stop: the stop/top case study of Roxlo & Reece end to end (stop_study.hpp).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "study_command.hpp"
#include "unbox/core.hpp"
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
  if (a.source == "builtin")
    o.source = studies::builtin_event_source();
  else if (a.source == "toy")
    o.source = studies::toy_event_source();
  else
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
  studies::StopStudyResult r = studies::stop_study(o);
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
