// Helpers shared by the report's files (report.cpp, study_report.cpp); not a public header.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

}  // namespace unbox::report_detail
