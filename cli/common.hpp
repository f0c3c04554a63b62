// Helpers shared by the subcommands: reading data with its label and weight columns,
// checking labels and finiteness, splitting comma lists, printing layer tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
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
// The label and weight columns of events just read (Error naming a missing one); with
// default_label and no label given, a column named "label" when there is one.
void set_label_and_weight(Dataset& d, const std::string& label, const std::string& weight, bool default_label = false);
// The same, then the --define and --cut transforms (after the label and weight are attached):
// the one way every subcommand reads its events. `log` (optional) receives the cut-flow.
Dataset load_data(const DataArgs& args, const DataTransforms& transforms, DataTransformLog* log = nullptr);
// Every label is 0 or 1: otherwise an Error naming the file, column, event and value.
void check_labels(const Dataset& data);
std::vector<std::string> split_list(const std::string& text);

// The neuron `lrp` and `attribute` explain: `forced` (their --neuron) or the default target
// (output:pre before a final sigmoid, tanh or softmax). `note` receives the line to print.
// Forcing the post-activation `output` prints a warning on stderr ending in `why`.
std::string explained_target(const Network& net, const std::string& forced, std::string* note, const std::string& why);

// ---- the calling convention's shared options ----------------------------------------

// The events every analysis subcommand reads, with the same flags and meanings:
// --data/-d, --label, --weight, --columns, --events, --allow-nan.
struct EventArgs {
  std::string data;
  std::string label;    // "" = "label" when the data has such a column (default_label), else none
  std::string weight;   // "" = none
  std::string columns;  // comma list: data columns feeding a single flat input, in order
  Index events = 0;     // first N events (0: all)
  bool allow_nan = false;
  bool default_label = true;
  DataTransforms transforms;  // --define, --cut (before --events takes the first N)
};
// Also registers --define and --cut (add_data_transforms).
void add_event_options(CLI::App* c, EventArgs& a, bool with_columns = true);
// The data with its label and weight columns, cut to the first N events.
Dataset read_event_data(const EventArgs& a);
// Bound to a model's inputs by the one rule (events.hpp).
Events bind_events(const Network& model, const EventArgs& a);
// Not bound to a model (methods on data columns only).
Events unbound_events(const EventArgs& a);
// --model/-m (native .unbox or ONNX; `list`: comma-separated models allowed).
CLI::Option* add_model_option(CLI::App* c, std::string& model, bool list = false);
// Print a result: JSON (--json) or its table; --out writes the JSON atomically.
void print_result(const nlohmann::json& j, const std::string& table, bool json, const std::string& out);

}  // namespace unbox::cli
