// Helpers shared by the subcommands: reading data with its label and weight columns,
// checking labels and finiteness, splitting comma lists, printing layer tables.
#pragma once

#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"

namespace unbox::cli {

struct DataArgs {
  std::string path;
  std::string label;   // "" = none
  std::string weight;  // "" = none
  bool allow_nan = false;
};

// Read a dataset and attach its label and weight columns (which must exist).
Dataset load_data(const DataArgs& args);
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
