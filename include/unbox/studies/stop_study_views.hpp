// Data views of a finished stop study: the paper's data figures (8, 9, 16, 19, 26, 27), the
// ROC and AMS-against-threshold curves and the model's layer table, computed from the files
// `unbox study stop` wrote (test_events.csv, model.unbox, ad_layers.json, summary.json) and
// written beside them under views/ as result files the report reads (histogram views as
// `unbox hist --out` writes them). Apart from the study so that a report can be rebuilt from
// an old study folder and the study itself stays one pass.
#pragma once

#include <string>
#include <vector>

namespace unbox::studies {

struct StopStudyViewsOptions {
  long long bins_1d = 40;        // 1-D histograms
  long long bins_2d = 20;        // each axis of 2-D histograms
  long long curve_points = 400;  // points kept of the ROC and AMS curves
};

// Writes views/*.json into `dir` (atomically) and returns their paths relative to `dir`.
// Error when test_events.csv is missing; views needing model.unbox or ad_layers.json are
// skipped when those are absent (a study run without explanations).
std::vector<std::string> write_stop_study_views(const std::string& dir, const StopStudyViewsOptions& options = {});

}  // namespace unbox::studies
