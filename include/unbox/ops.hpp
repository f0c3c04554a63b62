// The operations of the engine: Standardize, Dense, Concat, Add, the elementwise
// activations and Softmax. Each is a small value object holding its parameters.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

// (x - mean) / std, elementwise over the per-event shape. The model's input
// standardization: derivatives taken through it are in physical units.
class Standardize final : public Op {
 public:
  Standardize(Tensor mean, Tensor stddev);  // both shaped [1, per-event...]
  explicit Standardize(const Shape& event_shape);  // mean 0, std 1
  std::string type() const override { return "Standardize"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Standardize>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  const Tensor& mean() const { return mean_; }
  const Tensor& stddev() const { return std_; }
  // Set from data ([N, per-event]); a constant feature gets std 1 (it carries no information).
  void fit(const Tensor& data);

 private:
  Tensor mean_, std_;
};

// y = x W^T + b on flat per-event vectors; W is [out, in] (PyTorch's layout).
class Dense final : public Op {
 public:
  Dense(Index in, Index out);
  std::string type() const override { return "Dense"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Dense>(*this); }
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
  Index in() const { return in_; }
  Index out() const { return out_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Index in_, out_;
  Tensor weight_;  // [out, in]
  Tensor bias_;    // [out]
};

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

// Softmax over the last per-event axis.
class Softmax final : public Op {
 public:
  std::string type() const override { return "Softmax"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Softmax>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  bool is_activation() const override { return true; }
};

// Concatenation along a per-event axis (0 = the first axis after the batch).
class Concat final : public Op {
 public:
  explicit Concat(Index axis = 0) : axis_(axis) {}
  std::string type() const override { return "Concat"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Concat>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"axis", axis_}}; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Index axis() const { return axis_; }

 private:
  Index axis_;
};

// Elementwise sum of inputs of one shape.
class Add final : public Op {
 public:
  std::string type() const override { return "Add"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Add>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
};

}  // namespace unbox
