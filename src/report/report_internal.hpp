// Helpers shared by the report's files (report.cpp, study_report.cpp); not a public header.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/report.hpp"

namespace unbox::report_detail {

using ojson = nlohmann::ordered_json;

extern const char* const kSchema;
extern const char* const kSignal;
extern const char* const kBackground;

std::string escape_html(const std::string& s);
std::string read_text(const std::string& path);
double jnum(const nlohmann::json& v);
ojson color_scale(const std::vector<std::string>& domain);
// Rows {class, lo, hi, value} of a 1-D class histogram.
void add_rows(ojson& rows, const std::string& cls, const nlohmann::json& edges, const nlohmann::json& values);
// A layered Vega-Lite spec: light boxes and a step line per class (log_floor > 0: log y axis).
ojson step_histogram(const ojson& rows, const std::string& xtitle, const std::string& ytitle, const ojson& color,
                     double log_floor);
double log_floor_of(const ojson& rows);
// Physics notation with units for the stop-dilepton columns; other names unchanged.
std::string axis_title(const std::string& name);

// The sections of a stop-study folder (`unbox study stop --out DIR`), in the paper's order,
// and the files of DIR they read (so the report does not list them as unread). `absent`
// receives one line per section whose files are missing.
std::vector<ReportSection> stop_study_sections(const std::string& dir, std::vector<std::string>& used,
                                               std::vector<std::string>& absent);
// DIR holds the summary.json of a stop study.
bool is_stop_study_folder(const std::string& dir);

// Figures of a maximization histograms file (`unbox maximize --histograms`; maximize_figures.cpp):
// 1-D histograms ranked by KL divergence, 2-D heat maps ranked by mutual information, and the top
// `max_triples` 3-D populations as rotatable scatter plots. `name` maps an input to its label;
// `how` ends every caption (options, counts, seed, file).
void maximize_histogram_figures(const nlohmann::json& h, const std::string& neuron, const std::string& how,
                                const std::function<std::string(const std::string&)>& name, ReportSection& s,
                                int max_triples);
// The 3-D scatter spec: `cells` rows {u, v, w} in [-1/2, 1/2]^3 and `value`; rotated by two
// slider-bound parameters, azimuth and elevation (degrees).
ojson rotatable_scatter(const ojson& cells, const std::string& xname, const std::string& yname,
                        const std::string& zname);

// The sections of single result files (method_sections.cpp): a section and its kind ("train",
// "taylor", "maximize", "caveman", "ado", "ado_search", "ad", "relevance", "taylor_curve"), or
// nullopt when the file is none of them.
std::optional<ReportSection> method_section(const nlohmann::json& j, const std::string& path, std::string& kind);
std::optional<ReportSection> method_table_section(const Dataset& d, const std::string& path, std::string& kind);
// The ROC plot of a caveman result (`unbox caveman --json`, with "roc"): the variable, the neuron
// and the linear baseline on the held-out events; nothing without "roc".
void caveman_figures(const nlohmann::json& c, const std::string& source, ReportSection& s);

}  // namespace unbox::report_detail
