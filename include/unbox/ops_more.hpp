// More operations of the engine, needed by convolutional networks and by ONNX models:
// Conv (1-D, 2-D), MaxPool / AveragePool, BatchNorm (inference), elementwise arithmetic
// with broadcasting, PRelu, softmax along any axis and log-softmax, and the shape ops
// Reshape and Transpose. Tensors are events-first row-major: [B, C, L] or [B, C, H, W].
// Axes given to these ops are per-event axes (0 = the first axis after the batch).
#pragma once

#include "unbox/ops.hpp"

namespace unbox {

// The sliding window of a convolution or pooling over 1 or 2 spatial axes. Pads are
// explicit (auto_pad is resolved by the caller, who knows the input shape).
struct Window {
  std::vector<Index> kernel, strides, pads /* begin..., end... */, dilations;
  bool ceil_mode = false;  // pooling only
  Index spatial() const { return static_cast<Index>(kernel.size()); }
  // Output length along spatial axis d for input length n; Error when the window does not fit.
  Index out_size(Index d, Index n) const;
  nlohmann::json to_json() const;
  static Window from_json(const nlohmann::json& a, Index spatial);
  void check(const std::string& what) const;  // sizes positive, 1 or 2 axes
};

// Convolution (ONNX Conv / PyTorch Conv1d, Conv2d): weight [out, in/groups, k...], bias [out].
// Computed per event as im2col + one GEMM per group.
class Conv final : public Op {
 public:
  Conv(Index in_channels, Index out_channels, Window window, Index groups = 1);
  std::string type() const override { return "Conv"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Conv>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override;
  bool is_layer() const override { return true; }
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Window& window() const { return window_; }
  Index groups() const { return groups_; }
  Index in_channels() const { return in_; }
  Index out_channels() const { return out_; }

 private:
  void run(const Tensor& x, Tensor& y, bool with_bias) const;
  Index in_, out_, groups_;
  Window window_;
  Tensor weight_, bias_;
};

enum class PoolKind { Max, Average };

// Max or average pooling over 1 or 2 spatial axes of [C, L] / [C, H, W] events.
// Padding is never a candidate for the maximum; for the average it counts when
// count_include_pad (PyTorch's rule: the window clipped to the padded input).
class Pool final : public Op {
 public:
  Pool(PoolKind kind, Window window, bool count_include_pad = false);
  std::string type() const override { return kind_ == PoolKind::Max ? "MaxPool" : "AveragePool"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Pool>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override;
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override {
    return kind_ == PoolKind::Max ? DerivativeKind::PiecewiseLinear : DerivativeKind::Affine;
  }
  // Max pooling routes each tangent by the primal winner; average pooling is linear.
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  PoolKind kind() const { return kind_; }
  const Window& window() const { return window_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  PoolKind kind_;
  Window window_;
  bool count_include_pad_;
};

// Batch normalization in inference: y = (x - mean) / sqrt(var + eps) * scale + bias per
// channel (per-event axis 0). scale and bias are trainable; mean and var are state.
class BatchNorm final : public Op {
 public:
  BatchNorm(Index channels, double epsilon = 1e-5);
  std::string type() const override { return "BatchNorm"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<BatchNorm>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override { return {{"channels", channels_}, {"epsilon", epsilon_}}; }
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Tensor& scale() { return scale_; }
  Tensor& bias() { return bias_; }
  Tensor& mean() { return mean_; }
  Tensor& var() { return var_; }
  const Tensor& scale() const { return scale_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& mean() const { return mean_; }
  const Tensor& var() const { return var_; }
  double epsilon() const { return epsilon_; }

 private:
  Index channels_;
  double epsilon_;
  Tensor scale_, bias_, mean_, var_;  // each [channels]
};

enum class BinaryKind { Add, Sub, Mul, Div };

// a (op) b elementwise with NumPy broadcasting of the per-event shapes. Either both
// operands are graph inputs, or one is a constant the op owns (per-event shape, no batch
// axis), on the left (c - x, c / x) or on the right (x - c, x / c).
class Binary final : public Op {
 public:
  enum class ConstSide { None, Left, Right };
  explicit Binary(BinaryKind kind);                                // two tensors
  Binary(BinaryKind kind, Tensor constant, ConstSide side);        // constant [1, shape...]
  std::string type() const override { return "Binary"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Binary>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override;
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override;
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  BinaryKind kind() const { return kind_; }
  ConstSide side() const { return side_; }
  const Tensor& constant() const { return constant_; }

 private:
  // Per-event shapes of operand a and b (the constant's when it is one of them).
  void operand_shapes(const std::vector<const Tensor*>& in, Shape& a, Shape& b) const;
  BinaryKind kind_;
  ConstSide side_ = ConstSide::None;
  Tensor constant_;  // [1, shape...] when side_ != None
};

// max(x, 0) + slope * min(x, 0), slope broadcast to the per-event shape (PyTorch PReLU).
class PRelu final : public Op {
 public:
  explicit PRelu(Tensor slope);  // [1, shape...]
  std::string type() const override { return "PRelu"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<PRelu>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override { return {{"slope", &slope_, true, false}}; }
  nlohmann::json attributes() const override { return {{"shape", slope_.event_shape()}}; }
  bool is_activation() const override { return true; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::PiecewiseLinear; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  const Tensor& slope() const { return slope_; }

 private:
  Tensor slope_;
};

// Softmax or log-softmax along per-event axis `axis`; with `flatten_from_axis` (ONNX
// before opset 13) over all axes from `axis` on, as one row.
class SoftmaxAxis final : public Op {
 public:
  SoftmaxAxis(Index axis, bool flatten_from_axis, bool log);
  std::string type() const override { return log_ ? "LogSoftmax" : "SoftmaxAxis"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<SoftmaxAxis>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"axis", axis_}, {"flatten", flatten_}}; }
  bool is_activation() const override { return true; }
  Index axis() const { return axis_; }
  bool flatten() const { return flatten_; }
  bool log() const { return log_; }

 private:
  void split(const Shape& event_shape, Index batch, Index& outer, Index& n, Index& inner) const;
  Index axis_;
  bool flatten_, log_;
};

// The same values with a new per-event shape (Flatten, Reshape, Squeeze, Unsqueeze).
class Reshape final : public Op {
 public:
  explicit Reshape(Shape event_shape) : shape_(std::move(event_shape)) {}
  std::string type() const override { return "Reshape"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Reshape>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"shape", shape_}}; }
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;

 private:
  Shape shape_;
};

// Permutation of the per-event axes: output axis i is input axis perm[i].
class Transpose final : public Op {
 public:
  explicit Transpose(std::vector<Index> perm) : perm_(std::move(perm)) {}
  std::string type() const override { return "Transpose"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Transpose>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"perm", perm_}}; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  const std::vector<Index>& perm() const { return perm_; }

 private:
  // Offsets into one input event for each output element, in output order.
  std::vector<Index> gather_map(const Shape& in_event) const;
  std::vector<Index> perm_;
};

// Zero padding of the per-event axes: pads = [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}]
// (ONNX Pad in constant mode with value 0; PyTorch exports padded average pooling this way).
class Pad final : public Op {
 public:
  explicit Pad(std::vector<Index> pads) : pads_(std::move(pads)) {}
  std::string type() const override { return "Pad"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Pad>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"pads", pads_}}; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  const std::vector<Index>& pads() const { return pads_; }

 private:
  // For each input element of one event, its offset in the padded output event.
  std::vector<Index> scatter_map(const Shape& in_event) const;
  std::vector<Index> pads_;
};

// The factory for the ops above (called by make_op); nullptr for an unknown type.
std::unique_ptr<Op> make_op_more(const std::string& type, const nlohmann::json& attributes);

// Broadcast per-event shapes the NumPy way (right-aligned); Error when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// For each element of `out` (row-major), the offset of the element of a tensor of
// shape `in` (broadcast to `out`) it reads.
std::vector<Index> broadcast_offsets(const Shape& in, const Shape& out);

}  // namespace unbox
