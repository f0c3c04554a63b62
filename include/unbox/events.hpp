// Events: a Dataset bound to a model's inputs, one way for every method.
//
// Binding rule (the same for taylor, mi, ad, maximize, caveman, lrp, attribute, ado,
// eval and predict):
//  1. a tensor input (per-event rank > 1) reads the array named after the input;
//  2. a flat input reads `columns` (in order) when the binding names them;
//  3. else the model's own feature names, when the data has all of them;
//  4. else an array of the input's name of the right width;
//  5. else, for a model with a single flat input that carries no column names (an ONNX
//     model not written by unbox, or converted from one), the data's own columns in order,
//     leaving out the label and weight columns.
// The names under which results report the input features are the data's names
// (`columns()`), never the placeholders x0, x1, ... of an ONNX model.
// Labels and weights travel with the events. `nn` knows the data; `data` knows no networks.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct Binding {
  std::vector<std::string> columns;  // data columns feeding a single flat input, in order (empty: the rule above)
  Index first = 0;                   // keep only the first N events (0: all)
};

class Events {
 public:
  Events() = default;
  // Events not bound to a model (methods that read only data columns: ado on columns,
  // eval on a score column).
  explicit Events(Dataset data, Index first = 0);
  // Events bound to `model`'s inputs.
  Events(const Network& model, Dataset data, const Binding& binding = {});

  const Dataset& data() const { return data_; }
  Index size() const { return data_.events(); }
  bool bound() const { return !inputs_.empty(); }
  // One tensor per model input (input_nodes() order). Empty when not bound.
  const std::vector<Tensor>& inputs() const { return inputs_; }
  // The names of input k's features: for a flat input the data columns it reads; for a
  // tensor input the element names INPUT[i,j,...] (row-major).
  const std::vector<std::string>& feature_names(size_t input = 0) const { return names_.at(input); }
  // True when every input is flat and their features are data columns.
  bool flat() const { return flat_; }
  // How input 0 was bound: "columns", "names", "array", "positional" (for messages and JSON).
  const std::string& how() const { return how_; }

  bool has_labels() const { return data_.label_column.has_value(); }
  bool has_weights() const { return data_.weight_column.has_value(); }
  // Label values (empty without a label column) and weights (1 without a weight column).
  std::vector<double> labels() const;
  std::vector<double> weights() const;
  // A method that needs classes: labels must exist and be 0 or 1 (Error naming `method`,
  // the file, column, event and value otherwise).
  void require_labels(std::string_view method) const;
  // Check that the events were bound to a model with `model`'s inputs (count and shapes).
  void check_model(const Network& model, std::string_view method) const;

 private:
  Dataset data_;
  std::vector<Tensor> inputs_;
  std::vector<std::vector<std::string>> names_;
  std::vector<Shape> shapes_;
  bool flat_ = true;
  std::string how_;
};

// True when the model names the data columns of its flat inputs (native models trained by
// unbox, ONNX files written by unbox); false for ONNX models from elsewhere, whose input
// features carry placeholder names.
bool model_names_columns(const Network& model);

// The values of `name` for every event: with a model, a neuron when the name resolves to
// one (output, output:pre, L2N3, NODE[j]); otherwise a 1-D column of the data. The one
// column-or-neuron resolver of ado, eval and the ADO search. NaN or Inf: Error.
std::vector<double> column_or_neuron(const Network* model, const Events& events, const std::string& name,
                                     Index batch = 4096);

// The element names of a per-event shape: NAME[i], NAME[i,j], ... (row-major); the one
// naming of tensor-input elements for every method.
std::vector<std::string> element_names(const std::string& name, const Shape& shape);

}  // namespace unbox
