// Activation functions (elementwise, with exact derivatives to third order), PRelu and softmax.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

enum class ActivationKind { Identity, ReLU, LeakyReLU, Tanh, Sigmoid, ELU, SELU, Softplus };

// Elementwise activation f with exact derivatives to third order (for Taylor analysis).
class Activation final : public Op {
 public:
  explicit Activation(ActivationKind kind, double alpha = 0.0);
  std::string type() const override;
  std::unique_ptr<Op> clone() const override { return std::make_unique<Activation>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override;
  bool is_activation() const override { return true; }
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Elementwise; }
  ActivationKind kind() const { return kind_; }
  double alpha() const { return alpha_; }
  // f and its first three derivatives at z.
  double value(double z) const;
  void derivatives(double z, double& d1, double& d2, double& d3) const;
  // True for piecewise-linear activations (second and higher derivatives vanish).
  bool piecewise_linear() const;

 private:
  ActivationKind kind_;
  double alpha_;
};

// Parse "relu", "leakyrelu", "leaky_relu(0.2)", "tanh", "sigmoid", "elu", "selu",
// "softplus", "identity"/"linear" (case-insensitive). Unknown: Error listing them.
Activation parse_activation(const std::string& text);

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

// Softmax (or log-softmax) along one per-event axis, by default the last; with
// `flatten_from_axis` (ONNX before opset 13) over all axes from `axis` on, as one row.
// Model files name it "Softmax" or "LogSoftmax" (attributes axis and flatten, none for the
// last axis); "SoftmaxAxis", the name of the general form in older files, is read as it.
class Softmax final : public Op {
 public:
  static constexpr Index kLastAxis = -1;
  explicit Softmax(Index axis = kLastAxis, bool flatten_from_axis = false, bool log = false);
  std::string type() const override { return log_ ? "LogSoftmax" : "Softmax"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Softmax>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override;
  bool is_activation() const override { return true; }
  Index axis() const { return axis_; }  // a per-event axis, or kLastAxis
  bool last_axis() const { return axis_ == kLastAxis && !flatten_; }
  bool flatten() const { return flatten_; }
  bool log() const { return log_; }

 private:
  void split(const Shape& event_shape, Index batch, Index& outer, Index& n, Index& inner) const;
  Index axis_;
  bool flatten_, log_;
};

}  // namespace unbox
