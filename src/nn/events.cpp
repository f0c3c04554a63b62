// Events: the one binding of a Dataset to a model's inputs (see events.hpp).
#include "unbox/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace unbox {

namespace {

std::string quoted_list(const std::vector<std::string>& v, size_t max = 12) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += fmt::format("{}'{}'", i ? ", " : "", v[i]);
  if (v.size() > max) s += fmt::format(", ... ({} in all)", v.size());
  return s;
}

Dataset first_events(Dataset data, Index first) {
  if (first < 0) throw Error(fmt::format("the number of events to use must be >= 0, got {}", first));
  if (first == 0 || data.events() <= first) return data;
  std::vector<Index> rows(static_cast<size_t>(first));
  for (Index i = 0; i < first; ++i) rows[static_cast<size_t>(i)] = i;
  return data.subset(rows);
}

}  // namespace

bool model_names_columns(const Network& model) {
  const auto& m = model.metadata;
  if (!m.is_object()) return true;
  const bool onnx = m.value("format", std::string()) == "onnx";
  return !onnx || m.value("onnx_feature_names", false);
}

std::vector<std::string> element_names(const std::string& name, const Shape& shape) {
  std::vector<std::string> out;
  const Index size = shape_size(shape);
  out.reserve(static_cast<size_t>(size));
  std::vector<Index> parts(shape.size());
  for (Index j = 0; j < size; ++j) {
    Index rem = j;
    for (size_t d = shape.size(); d-- > 0;) parts[d] = rem % shape[d], rem /= shape[d];
    std::string idx;
    for (size_t d = 0; d < parts.size(); ++d) idx += fmt::format("{}{}", d ? "," : "", parts[d]);
    out.push_back(fmt::format("{}[{}]", name, idx));
  }
  return out;
}

Events::Events(Dataset data, Index first) : data_(first_events(std::move(data), first)), how_("unbound") {}

Events::Events(const Network& model, Dataset data, const Binding& b) : data_(first_events(std::move(data), b.first)) {
  const auto& ids = model.input_nodes();
  if (ids.empty()) throw Error("the model has no inputs");
  if (!b.columns.empty() && ids.size() != 1)
    throw Error(
        fmt::format("data columns can be chosen only for a model with one flat input; this model has {} "
                    "inputs (they are bound by name)",
                    ids.size()));
  const Dataset& d = data_;
  for (size_t k = 0; k < ids.size(); ++k) {
    const Node& n = model.node(ids[k]);
    const bool flat = n.shape.size() == 1;
    shapes_.push_back(n.shape);
    std::string how;
    if (flat && !b.columns.empty()) {
      if (static_cast<Index>(b.columns.size()) != n.shape[0])
        throw Error(fmt::format("the model's input '{}' takes {} columns; the chosen data columns are {}", n.name,
                                n.shape[0], b.columns.size()));
      inputs_.push_back(d.columns_matrix(b.columns));
      names_.push_back(b.columns);
      how = "columns";
    } else if (!flat) {
      if (!d.has(n.name))
        throw Error(fmt::format("the model's input '{}' (per-event shape {}) needs an array of that name in '{}'",
                                n.name, shape_string(n.shape), d.source));
      const Tensor& t = d.get(n.name);
      if (t.per_event() != shape_size(n.shape))
        throw Error(fmt::format("array '{}' in '{}' has per-event shape {}, the model expects {}", n.name, d.source,
                                shape_string(t.event_shape()), shape_string(n.shape)));
      inputs_.push_back(t);
      names_.push_back(element_names(n.name, n.shape));
      flat_ = false;
      how = "array";
    } else {
      const auto& names = model.feature_names(static_cast<int>(k));
      std::vector<std::string> missing;
      for (const auto& c : names)
        if (!d.has(c)) missing.push_back(c);
      const bool array = d.has(n.name) && d.get(n.name).rank() > 1;
      if (missing.empty() && !names.empty()) {
        inputs_.push_back(d.columns_matrix(names));
        names_.push_back(names);
        how = "names";
      } else if (array) {
        const Tensor& t = d.get(n.name);
        if (t.per_event() != n.shape[0])
          throw Error(fmt::format("array '{}' in '{}' has per-event shape {}, the model expects {}", n.name, d.source,
                                  shape_string(t.event_shape()), shape_string(n.shape)));
        inputs_.push_back(t);
        names_.push_back(names);
        how = "array";
      } else if (ids.size() == 1 && !model_names_columns(model)) {
        std::vector<std::string> cols = d.feature_columns();
        if (static_cast<Index>(cols.size()) != n.shape[0])
          throw Error(fmt::format(
              "the model's input '{}' takes {} values per event; '{}' has {} data column{} ({}) besides the label and "
              "weight: choose the data columns for the input (and name the label and weight columns)",
              n.name, n.shape[0], d.source, cols.size(), cols.size() == 1 ? "" : "s", quoted_list(cols)));
        inputs_.push_back(d.columns_matrix(cols));
        names_.push_back(cols);
        how = "positional";
      } else {
        throw Error(
            fmt::format("'{}' lacks the model's input column{} {} (choose the data columns that feed the "
                        "input to map other names)",
                        d.source, missing.size() > 1 ? "s" : "", quoted_list(missing)));
      }
    }
    if (k == 0) how_ = how;
  }
}

std::vector<double> Events::labels() const { return data_.label_column ? data_.labels() : std::vector<double>{}; }

std::vector<double> Events::weights() const { return data_.weights(); }

void Events::require_labels(std::string_view method) const {
  if (!data_.label_column)
    throw Error(fmt::format("{} needs a label column (0 background, 1 signal) in '{}'", method, data_.source));
  const Tensor& y = data_.get(*data_.label_column);
  require_binary_labels({y.data(), static_cast<size_t>(y.size())},
                        fmt::format("{}: label column '{}'", data_.source, *data_.label_column));
}

void Events::check_model(const Network& model, std::string_view method) const {
  if (!bound()) throw Error(fmt::format("{}: the events are not bound to a model's inputs", method));
  const auto& ids = model.input_nodes();
  bool same = ids.size() == shapes_.size();
  for (size_t k = 0; same && k < ids.size(); ++k) same = model.node(ids[k]).shape == shapes_[k];
  if (!same) throw Error(fmt::format("{}: the events were bound to a model with other inputs", method));
}

std::vector<double> column_or_neuron(const Network* model, const Events& events, const std::string& name, Index batch) {
  const Dataset& d = events.data();
  std::vector<double> v;
  bool found = false;
  if (model) {
    NeuronRef ref;
    try {
      ref = model->resolve(name);
      found = true;
    } catch (const Error&) {
    }
    if (found) {
      events.check_model(*model, "scoring");
      for (const Tensor& t : events.inputs())
        for (double x : std::span<const double>(t.data(), static_cast<size_t>(t.size())))
          if (!std::isfinite(x))
            throw Error(fmt::format("'{}' has NaN or Inf in the model's inputs; scores need finite inputs", d.source));
      v = evaluate(*model, events.inputs(), {ref}, EvalOptions{.batch = batch}).values();
    }
  }
  if (!found) {
    if (!d.has(name))
      throw Error(fmt::format("'{}' is neither a column of '{}'{}", name, d.source,
                              model ? " nor a neuron of the model (output, output:pre, LkNj, NODE[j])" : ""));
    const Tensor& t = d.get(name);
    if (t.rank() != 1)
      throw Error(
          fmt::format("'{}' in '{}' is an array of shape {}, not a column", name, d.source, shape_string(t.shape())));
    v = t.values();
  }
  for (size_t e = 0; e < v.size(); ++e)
    if (!std::isfinite(v[e]))
      throw Error(fmt::format("'{}' in '{}' is {} at event {}; scores must be finite", name, d.source,
                              format_double(v[e]), e + 1));
  return v;
}

}  // namespace unbox
