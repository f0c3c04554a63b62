#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include <CLI/CLI.hpp>

#include "unbox/data_stream.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/expressions.hpp"
#include "unbox/naming.hpp"

namespace unbox::cli {

Dataset load_data(const DataArgs& a) {
  ReadOptions ro;
  ro.allow_nan = a.allow_nan;
  // One file, or the concatenation of a comma list or glob (data_stream.hpp), for every subcommand.
  Dataset d = is_file_list(a.path) ? read_datasets(expand_data_files(a.path), ro) : read_dataset(a.path, ro);
  set_label_and_weight(d, a.label, a.weight);
  return d;
}

void set_label_and_weight(Dataset& d, const std::string& label, const std::string& weight, bool default_label) {
  if (!label.empty()) {
    d.get(label);  // throws the standard "no column" error
    d.label_column = label;
  } else if (default_label && d.has("label")) {
    d.label_column = "label";
  }
  if (!weight.empty()) {
    d.get(weight);
    d.weight_column = weight;
  }
}

Dataset load_data(const DataArgs& a, const DataTransforms& t, DataTransformLog* log) {
  Dataset d = load_data(a);
  DataTransformLog l = apply_data_transforms(d, t);
  if (log) *log = std::move(l);
  return d;
}

void add_data_transforms(CLI::App* c, DataTransforms& t) {
  c->add_option("--define", t.defines,
                "Derived column NAME=EXPRESSION (muParser: + - * / ^, log exp sqrt abs sin cos atan2 min max, ...; "
                "repeatable, in order), e.g. \"v=log(met)+l1_dphi+l2_dphi\"")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  c->add_option("--cut", t.cuts,
                "Keep events where EXPRESSION is non-zero (comparisons, && ||; repeatable, ANDed, after the "
                "defines), e.g. \"met > 80 && njets >= 2\"")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
}

DataTransformLog apply_data_transforms(Dataset& data, const DataTransforms& t) {
  DataTransformLog log;
  log.events_before = data.events();
  for (const auto& d : t.defines) add_defined_column(data, d);
  for (const auto& c : t.cuts) {
    CutResult r = apply_cut(data, c);
    data = std::move(r.data);
    log.cuts.push_back({c, r.passed});
  }
  return log;
}

void check_labels(const Dataset& data) {
  const Tensor& y = data.get(*data.label_column);
  require_binary_labels({y.data(), static_cast<size_t>(y.size())},
                        fmt::format("{}: label column '{}'", data.source, *data.label_column));
}

std::vector<std::string> split_list(const std::string& text) { return split_commas(text); }

std::string explained_target(const Network& net, const std::string& forced, std::string* note, const std::string& why) {
  const std::string t = default_target(net, note);
  if (forced.empty()) return t;
  *note = "target: " + forced;
  if (forced == "output" && t == "output:pre")
    std::cerr << "unbox: warning: --neuron output explains the value after the final activation; " << why << "\n";
  return forced;
}

void add_event_options(CLI::App* c, EventArgs& a, bool with_columns) {
  c->add_option("--data,-d", a.data,
                "Events (csv, npy, npz, h5[:/path]); several files as one sample: a comma list and/or globs, "
                "e.g. 'run*.h5' (each glob's matches in name order)");
  c->add_option("--label", a.label, "Label column, 1 signal / 0 background (default: 'label' when present)");
  c->add_option("--weight,-w", a.weight, "Weight column (default: none, every event weighs 1)");
  if (with_columns)
    c->add_option("--columns", a.columns,
                  "Data columns feeding the model's input, in order (default: the model's column names; for a model "
                  "without names, e.g. ONNX, the data's columns in order without label and weight)");
  c->add_option("--events", a.events, "Use only the first N events (0: all)")->capture_default_str();
  c->add_flag("--allow-nan", a.allow_nan, "Read files holding NaN/Inf (methods still refuse them where they matter)");
  add_data_transforms(c, a.transforms);
}

Dataset read_event_data(const EventArgs& a) {
  if (a.data.empty()) throw Error("--data is required");
  Dataset d = load_data({a.data, a.label, a.weight, a.allow_nan}, a.transforms);
  if (d.source.empty()) d.source = a.data;
  if (a.label.empty() && a.default_label && d.has("label")) d.label_column = "label";
  // Labels are checked (0/1) by the methods that use classes (Events::require_labels).
  if (a.events < 0) throw Error(fmt::format("--events must be >= 0, got {}", a.events));
  if (a.events > 0 && d.events() > a.events) {
    std::vector<Index> rows(static_cast<size_t>(a.events));
    for (Index i = 0; i < a.events; ++i) rows[static_cast<size_t>(i)] = i;
    d = d.subset(rows);
  }
  return d;
}

Events bind_events(const Network& model, const EventArgs& a) {
  return Events(model, read_event_data(a), Binding{split_list(a.columns), 0});
}

Events unbound_events(const EventArgs& a) { return Events(read_event_data(a)); }

CLI::Option* add_model_option(CLI::App* c, std::string& model, bool list) {
  return c->add_option("--model,-m", model,
                       list ? "Model file(s), native .unbox or ONNX; several of one architecture, comma-separated, "
                              "give mean +- std across trainings"
                            : "Model file: native .unbox or ONNX (chosen by content)");
}

void print_result(const nlohmann::json& j, const std::string& table, bool json, const std::string& out) {
  if (!out.empty()) write_text_atomically(out, j.dump(2) + "\n");
  if (json)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << table;
}

}  // namespace unbox::cli
