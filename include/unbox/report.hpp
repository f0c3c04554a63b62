// The HTML report: result files in, one self-contained HTML file out (the plotting library,
// Vega-Lite with Vega and vega-embed, inlined; no network). Every figure is a Vega-Lite spec
// written here from a result file, so the figures' data can be checked against the files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unbox {

struct ReportFigure {
  std::string id;  // unique in the report, e.g. "fig-3"
  std::string title;
  std::string caption;          // what it shows and how it was made
  nlohmann::ordered_json spec;  // Vega-Lite
};

struct ReportSection {
  std::string id, title, source;  // source: the result file
  std::string html;               // tables and text before the figures (escaped already)
  std::vector<ReportFigure> figures;
};

// Vega-Lite specs of an `unbox hist` result (HistogramViewResult::to_json()): 1-D class
// histograms (rect per bin and class, normalized) over a signal/background ratio panel,
// slices layered, 2-D heat maps per class.
std::vector<ReportFigure> histogram_figures(const nlohmann::json& result, const std::string& source);

struct ReportOptions {
  std::string title = "unbox report";
  // Folder holding vega/, vega-lite/ and vega-embed/ (npm's node_modules under report/).
  // Empty: $UNBOX_REPORT_JS, else the build's report/node_modules.
  std::string js_dir;
};

struct Report {
  std::string title;
  std::vector<ReportSection> sections;
  std::vector<std::string> unrecognized;  // files given that no section reads
  // Sections a stop-study report would hold whose result files are missing (partial results).
  std::vector<std::string> absent;
  // The self-contained page.
  std::string html(const std::string& js_dir) const;
  // All figures' ids and specs, for --figures.
  std::vector<const ReportFigure*> figures() const;
};

// Read result files (a folder: its files, sorted by name; the folder of `unbox study stop`:
// its sections in the paper's order, see docs/report.md): `unbox hist --out` JSON,
// `unbox eval --json` output, ROC files of `unbox eval --roc` (columns thresholds, fpr, tpr),
// cut-flows of `unbox physics features --cutflow`.
Report build_report(const std::vector<std::string>& paths, const ReportOptions& options = {});
// Each figure of `report` as files in `dir` (created): ID.vl.json (the Vega-Lite spec), ID.svg
// (Vega's own SVG export, run in Node by report/render_svg.mjs next to `js_dir`) and, when
// `png`, ID.png (the SVG drawn by Debian's headless Chromium at twice its size), plus
// figures.json listing id, title, caption and files. Every file is written atomically.
// Returns the files written. Error when Node fails; when Chromium is missing, no PNG and
// `note` says so.
struct FigureExport {
  std::vector<std::string> files;
  std::string note;
};
FigureExport export_figures(const Report& report, const std::string& dir, const std::string& js_dir, bool png = true);

// The folder of the inlined JavaScript (see ReportOptions::js_dir); Error when it is missing.
std::string report_js_dir(const std::string& requested = "");

}  // namespace unbox
