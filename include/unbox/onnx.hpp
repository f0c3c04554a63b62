// ONNX import and export. An ONNX graph becomes a Network of unbox operations (Gemm and
// MatMul become Dense layers, so plain MLPs keep their L-names); any unbox model is
// written back with standard ONNX operators only. Both compute in double precision.
#pragma once

#include <string>
#include <vector>

#include "unbox/network.hpp"

namespace unbox {

class Dataset;

// The model uses something unbox does not support (an operator, an attribute value, a
// data type, a rank). Its message names the node, op type and opset, and what is supported.
class OnnxUnsupported : public Error {
 public:
  using Error::Error;
};

struct OnnxModel {
  Network net;
  std::vector<std::string> outputs;  // the graph's output names, in order
  std::vector<int> output_nodes;     // the network node computing each
  Index opset = 0;
};

// Read and map an ONNX file. Truncated or corrupt files: Error; unsupported content:
// OnnxUnsupported. The network's output is the graph's first output.
OnnxModel read_onnx(const std::string& path);
Network import_onnx(const std::string& path);
// The same from a serialized ModelProto in memory (torch.onnx.export into a buffer);
// `name` stands for the file in messages.
OnnxModel read_onnx_bytes(const std::string& bytes, const std::string& name);

// A native .unbox model or an ONNX model, chosen by the file's first bytes (the native
// signature) and else by the extension.
Network load_model(const std::string& path);

// True for a network imported from ONNX (metadata "format": "onnx").
bool is_onnx_network(const Network& net);

// What an ONNX model needs from the data, for `unbox info` (one line per input).
std::string onnx_input_summary(const Network& net);

// Describing any model (native or ONNX), the same for `unbox info` and the Python module:
// the JSON of `unbox info --json` (model, parameters, inputs, layers, nodes, metadata), the
// text of `unbox info` (inputs, standardization, layer table, training), and the layer
// table alone (layers with their neuron names; the node list for a general graph).
// `model` names the model (its file).
nlohmann::json model_info(const Network& net, const std::string& model);
std::string model_summary(const Network& net, const std::string& model);
std::string layer_table(const Network& net);

// A serialized onnx.TensorProto file (the backend test data's input_0.pb ...): values in
// double and the full shape (batch axis included). Non-float data: OnnxUnsupported.
Tensor read_onnx_tensor(const std::string& path, Shape& full_shape);

// The ONNX operator types import understands, for messages and `unbox info`.
const std::vector<std::string>& onnx_supported_ops();

// Write `net` as an ONNX model (float64, opset 13) with standard operators only:
// Standardize as Sub and Div, Dense as Gemm, the activations, Softmax, Concat, Conv,
// pooling, BatchNormalization, Reshape, Transpose. Atomically.
void export_onnx(const Network& net, const std::string& path);

}  // namespace unbox
