// Network: a directed acyclic graph of operations on events-first tensors, with one or
// more named inputs, batched forward passes, exact reverse-mode gradients, neuron names
// as in Roxlo & Reece (L0 raw inputs, L2N12, L12N0:pre, output) and a native model file.
// `nn` knows nothing of explanations or of the command line.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/tensor.hpp"

namespace unbox {

class Dataset;

// A tensor an operation owns. Trainable ones are updated by the optimizer; regularized
// ones feel L1/L2 (weights, not biases); the rest (standardization, running statistics)
// are state saved with the model.
struct Parameter {
  std::string name;
  Tensor* value;
  bool trainable;
  bool regularized;
};

// One operation of the graph. Shapes given to and returned by infer_shape are
// per-event shapes (no batch dimension); tensors given to forward/backward are batched
// ([B, ...per-event shape]). An Op holds no per-batch state, so one Op serves many
// threads at once.
class Op {
 public:
  virtual ~Op() = default;
  virtual std::string type() const = 0;
  virtual std::unique_ptr<Op> clone() const = 0;
  // Output shape from input shapes; throws Error naming the mismatch.
  virtual Shape infer_shape(const std::vector<Shape>& inputs) const = 0;
  // out is already sized [B, infer_shape(...)] by the caller.
  virtual void forward(const std::vector<const Tensor*>& in, Tensor& out) const = 0;
  // Reverse mode. Given gout = dL/d(out), ADD dL/d(in[k]) into gin[k] (skip null entries)
  // and, when pgrad is given, ADD parameter gradients into (*pgrad)[p] for the p-th
  // entry of parameters() (already sized like the parameter).
  virtual void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                        const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const = 0;
  // Every tensor the op owns (saved in the model file), in a fixed order.
  virtual std::vector<Parameter> parameters() { return {}; }
  std::vector<const Tensor*> parameter_values() const;
  // Non-tensor settings (saved in the model file).
  virtual nlohmann::json attributes() const { return nlohmann::json::object(); }
  // A trainable layer (Dense, later Conv): counted L1, L2, ... in neuron names.
  virtual bool is_layer() const { return false; }
  // An elementwise activation (its output is the layer's post-activation value).
  virtual bool is_activation() const { return false; }
  // One-line description for the layer table ("Dense 19 -> 128").
  virtual std::string describe(const std::vector<Shape>& inputs) const;

  // --- derivative hooks (Taylor mode, relevance propagation) -------------------
  // How the op acts on derivatives of its inputs:
  //  Affine: its derivative is its linear part (Dense, Conv, BatchNorm in inference,
  //    Standardize, Concat, Add, average pooling, reshapes): tangents map linearly.
  //  PiecewiseLinear: linear at the primal point (max pooling routes by the winner).
  //  Elementwise: an Activation; its derivatives to third order come from Activation.
  //  Other: needs its own higher-order terms (Softmax, products of two tensors).
  enum class DerivativeKind { Affine, PiecewiseLinear, Elementwise, Other };
  virtual DerivativeKind derivative_kind() const { return DerivativeKind::Other; }
  // For Affine and PiecewiseLinear ops: apply the op's derivative at the primal point to
  // `components` tangent vectors per event. tangent_in[k] is [B * components, ...shape of
  // input k], event-major (row e * components + c belongs to event e); tangent_out is
  // sized [B * components, ...output shape] by the caller. Affine ops ignore the primal
  // values (they run forward without their bias/offset); the default throws.
  virtual void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                             const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out, Index components) const;
};

// Build an op from its type name and attributes (model files, ONNX); parameters are
// sized from the attributes and filled afterwards. Unknown type: Error.
std::unique_ptr<Op> make_op(const std::string& type, const nlohmann::json& attributes);

struct Node {
  std::string name;
  std::unique_ptr<Op> op;   // null for an input node
  std::vector<int> inputs;  // ids of the nodes feeding this one
  Shape shape;              // per-event output shape
  bool is_input() const { return op == nullptr; }
};

// A neuron: element `index` (flattened per event) of node `node`'s output.
struct NeuronRef {
  int node = -1;
  Index index = 0;
  bool operator==(const NeuronRef&) const = default;
};

// A numbered layer of a plain stack: L0 is the raw input, Lk the k-th trainable layer.
struct LayerInfo {
  int number = 0;          // k in Lk
  int pre_node = -1;       // the layer's own output ("pre-transfer")
  int post_node = -1;      // after its activation (== pre_node when it has none)
  std::string activation;  // "LeakyReLU(0.1)", "" when none
  Index width = 0;
  Index parameters = 0;
};

// Buffers for one batch: node values and gradients. Reused across batches so no
// allocation happens per batch once the largest batch has been seen. One per thread.
struct Workspace {
  std::vector<Tensor> values;
  std::vector<Tensor> grads;
};

class Network {
 public:
  Network() = default;
  Network(const Network& other);
  Network& operator=(const Network& other);
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  // --- building ---------------------------------------------------------------
  // A named input with per-event shape; for a flat input ([n]) the names of its n
  // features (the data columns it reads).
  int add_input(const std::string& name, const Shape& shape, std::vector<std::string> feature_names = {});
  // A node fed by `inputs` (node ids); checks shapes. Returns its id.
  int add_node(const std::string& name, std::unique_ptr<Op> op, const std::vector<int>& inputs);
  void set_output(int node);

  // --- structure --------------------------------------------------------------
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(int id) const { return nodes_.at(static_cast<size_t>(id)); }
  Op& op(int id) { return *nodes_.at(static_cast<size_t>(id)).op; }
  int find_node(const std::string& name) const;  // -1 when absent
  const std::vector<int>& input_nodes() const { return inputs_; }
  const std::vector<std::string>& feature_names(int input_position) const {
    return feature_names_.at(static_cast<size_t>(input_position));
  }
  int output_node() const { return output_; }
  Index parameter_count() const;  // trainable values

  // True when the graph is a chain: one input, every node feeding exactly the next.
  bool is_plain_stack() const;
  // L0..Lm of a plain stack (empty otherwise; then only NODE[j] names exist).
  std::vector<LayerInfo> layers() const;

  // --- neuron names -----------------------------------------------------------
  // "L2N12", "L12N0:pre", "L0N3" (raw input 3), "output", "output:pre", "NODE[j]".
  // Unknown or out-of-range: Error saying what exists.
  NeuronRef resolve(const std::string& name) const;
  // The L-name of a neuron in a plain stack, else NODE[j].
  std::string neuron_name(const NeuronRef& ref) const;
  // The neuron that `output` names: the final node's single value, or for a two-wide
  // softmax the signal neuron 1.
  NeuronRef output_neuron() const;

  // --- evaluation (one batch) -------------------------------------------------
  // Values of every node for one batch. inputs[k] is [B, ...] for input_nodes()[k].
  // With `upto` >= 0 only the ancestors of that node are computed.
  void forward(const std::vector<const Tensor*>& inputs, Workspace& ws, int upto = -1) const;
  // Reverse pass after forward(): seed = dL/d(node `target`) ([B, per-event of target]).
  // Fills ws.grads[id] for every input node id (raw units) and, with pgrad, adds the
  // parameter gradients (pgrad[node][p] sized like node's parameters()).
  void backward(Workspace& ws, int target, const Tensor& seed, std::vector<std::vector<Tensor>>* pgrad = nullptr) const;
  // The nodes whose values `target` depends on (bitmask by node id).
  std::vector<bool> ancestors(int target) const;

  // --- parameters -------------------------------------------------------------
  // Zero-sized gradient buffers shaped like every node's parameters.
  std::vector<std::vector<Tensor>> make_parameter_buffers() const;

  // Training and provenance information saved with the model (free-form JSON).
  nlohmann::json metadata = nlohmann::json::object();

 private:
  std::vector<Node> nodes_;
  std::vector<int> inputs_;
  std::vector<std::vector<std::string>> feature_names_;
  int output_ = -1;
};

// --- data binding and batched evaluation over many events ---------------------

// The model's input tensors for a dataset, by the one binding rule of Events
// (events.hpp): `columns` when given, else by name, else the data's columns in order for
// a single flat input without column names; tensors by input name.
std::vector<Tensor> gather_inputs(const Network& net, const Dataset& data,
                                  const std::vector<std::string>& columns = {});

struct EvalOptions {
  Index batch = 4096;
};

// Values of the given neurons for all events ([N, neurons.size()]), batched and
// parallel over batches (OpenMP); the result does not depend on the thread count.
Tensor evaluate(const Network& net, const std::vector<Tensor>& inputs, const std::vector<NeuronRef>& neurons,
                const EvalOptions& options = {});

// Exact gradient of one neuron with respect to every raw input, for all events: one
// tensor per input node, shaped like the input.
std::vector<Tensor> input_gradient(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                                   const EvalOptions& options = {});

// --- the native model file ----------------------------------------------------
// One file: architecture, weights, input names, standardization, metadata. Bit-exact.
void save_network(const Network& net, const std::string& path);
Network load_network(const std::string& path);

}  // namespace unbox
