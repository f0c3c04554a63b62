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
  // The self-contained page.
  std::string html(const std::string& js_dir) const;
  // All figures' ids and specs, for --figures.
  std::vector<const ReportFigure*> figures() const;
};

// Read result files (a folder: its files, sorted by name): `unbox hist --out` JSON,
// `unbox eval --json` output, ROC files of `unbox eval --roc` (columns thresholds, fpr, tpr),
// cut-flows of `unbox physics features --cutflow`.
Report build_report(const std::vector<std::string>& paths, const ReportOptions& options = {});
// The folder of the inlined JavaScript (see ReportOptions::js_dir); Error when it is missing.
std::string report_js_dir(const std::string& requested = "");

}  // namespace unbox
