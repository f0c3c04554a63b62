// Helpers shared by the subcommands: reading data with its label and weight columns,
// checking labels and finiteness, splitting comma lists, printing layer tables.
#pragma once

#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"

namespace CLI {
class App;
}

namespace unbox::cli {

// --define NAME=EXPR (repeatable, in order) and --cut EXPR (repeatable, ANDed, after the
// defines, so cuts may use defined columns): see include/unbox/expressions.hpp.
struct DataTransforms {
  std::vector<std::string> defines;
  std::vector<std::string> cuts;
};

// Events left after each cut, in order (for cut-flow lines and result files).
struct CutFlowStep {
  std::string cut;
  Index events = 0;
};
struct DataTransformLog {
  Index events_before = 0;
  std::vector<CutFlowStep> cuts;
};

// Register --define and --cut on a subcommand, storing into `t`.
void add_data_transforms(CLI::App* command, DataTransforms& t);
// Apply the defines, then the cuts, to `data` (in place). No-op when `t` is empty.
DataTransformLog apply_data_transforms(Dataset& data, const DataTransforms& t);

struct DataArgs {
  std::string path;
  std::string label;   // "" = none
  std::string weight;  // "" = none
  bool allow_nan = false;
};

// Read a dataset and attach its label and weight columns (which must exist).
Dataset load_data(const DataArgs& args);
// The same, then the --define and --cut transforms (after the label and weight are attached).
Dataset load_data(const DataArgs& args, const DataTransforms& transforms);
// Every label is 0 or 1: otherwise an Error naming the file, column, event and value.
void check_labels(const Dataset& data);
// No NaN or Inf in the given arrays (train and eval refuse them even with --allow-nan).
void check_finite(const Dataset& data, const std::vector<std::string>& names, const std::string& command);
std::vector<std::string> split_list(const std::string& text);
// The layer table of `unbox info` and the demo.
std::string layer_table(const Network& net);

// The neuron `lrp` and `attribute` explain: `forced` (their --neuron) or the default target
// (output:pre before a final sigmoid, tanh or softmax). `note` receives the line to print.
// Forcing the post-activation `output` prints a warning on stderr ending in `why`.
std::string explained_target(const Network& net, const std::string& forced, std::string* note,
                             const std::string& why);

// The events lrp and attribute explain: the data file, its label column ("label" when it
// exists and --label named none; checked to be 0/1), cut to the first `max_events` (> 0).
Dataset load_events_to_explain(const DataArgs& args, Index max_events);

// Per-event scores [N, features] as columns PREFIX<feature> of a new dataset.
Dataset score_columns(const std::string& prefix, const std::vector<std::string>& features, const Tensor& scores);

}  // namespace unbox::cli
