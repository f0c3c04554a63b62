// unbox report: result files (or folders of them) -> one self-contained HTML page.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/report.hpp"

namespace unbox::cli {

namespace {

struct ReportArgs {
  std::vector<std::string> results;
  std::string out = "report.html", title = "unbox report", figures;
  bool no_png = false;
};

int run_report(const ReportArgs& a) {
  ReportOptions o;
  o.title = a.title;
  const std::string js = report_js_dir();
  Report r = build_report(a.results, o);
  write_text_atomically(a.out, r.html(js));
  size_t nfig = r.figures().size();
  std::printf("unbox report: %zu sections, %zu figures -> %s\n", r.sections.size(), nfig, a.out.c_str());
  for (const auto& u : r.unrecognized) std::printf("  not shown (no section reads it): %s\n", u.c_str());
  for (const auto& u : r.absent) std::printf("  section absent: %s\n", u.c_str());
  if (!a.figures.empty()) {
    const FigureExport ex = export_figures(r, a.figures, js, !a.no_png);
    std::printf("  %zu figures as Vega-Lite specs, SVG%s in %s\n", nfig, ex.note.empty() && !a.no_png ? " and PNG" : "",
                a.figures.c_str());
    if (!ex.note.empty()) std::printf("  %s\n", ex.note.c_str());
  }
  return 0;
}

}  // namespace

void register_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* c = add_command(app, "report", "One self-contained HTML report (Vega-Lite figures) from result files",
                        "unbox report met.json eval.json roc.csv --out report.html\n"
                        "  unbox report results/ --out report.html --figures figures/",
                        [a] { return run_report(*a); });
  c->add_option("results", a->results,
                "Result files or folders: unbox hist --out JSON, unbox eval --json output, unbox eval --roc files")
      ->required();
  c->add_option("--out,-o", a->out, "The HTML file")->capture_default_str();
  c->add_option("--title", a->title, "Title of the page")->capture_default_str();
  c->add_option("--figures", a->figures,
                "Also write each figure as a Vega-Lite spec, an SVG (Vega in node) and a PNG (headless Chromium) "
                "into this folder");
  c->add_flag("--no-png", a->no_png, "With --figures: SVG only (no Chromium)");
}

}  // namespace unbox::cli
