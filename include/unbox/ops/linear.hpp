// The linear operations with a weight and a bias, behind one interface (LinearOp): Dense, Conv
// (1-D, 2-D) and the per-particle Dense of Particle Flow Networks; and BatchNorm (an affine map
// per channel at inference, folded into the layer before it by the LRP canonizer).
#pragma once

#include <random>

#include "unbox/network.hpp"
#include "unbox/ops/window.hpp"

namespace unbox {

// The interface of the linear layers Dense, Conv and ParticleDense: y = A(W) x + b, with a
// weight W (output channel first: [out, ...]) and a bias b (one value per output channel).
// forward() is the map x -> A x + b, backward() applies the transpose A^T to an output
// gradient; A is linear in W as well, so a clone with modified weights and a zero bias is
// the same map with other weights. The LRP rule engine (which modifies the weights) and
// the BatchNorm folding of the canonizer work on this interface, not on the three types.
class LinearOp : public Op {
 public:
  virtual Tensor& weight() = 0;
  virtual const Tensor& weight() const = 0;
  virtual Tensor& bias() = 0;
  virtual const Tensor& bias() const = 0;
  // Output channels (the weight's first axis) and the weights each of them reads.
  Index out_channels() const { return weight().dim(0); }
  Index weights_per_channel() const { return weight().size() / weight().dim(0); }
  bool is_layer() const override { return true; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
};

// y = x W^T + b on flat per-event vectors; W is [out, in] (PyTorch's layout).
class Dense final : public LinearOp {
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
  std::string describe(const std::vector<Shape>& in) const override;
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Index in() const { return in_; }
  Index out() const { return out_; }
  Tensor& weight() override { return weight_; }
  Tensor& bias() override { return bias_; }
  const Tensor& weight() const override { return weight_; }
  const Tensor& bias() const override { return bias_; }

 private:
  Index in_, out_;
  Tensor weight_;  // [out, in]
  Tensor bias_;    // [out]
};

// Convolution (ONNX Conv / PyTorch Conv1d, Conv2d): weight [out, in/groups, k...], bias [out].
// Computed per event as im2col + one GEMM per group.
class Conv final : public LinearOp {
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
  std::string describe(const std::vector<Shape>& in) const override;
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Tensor& weight() override { return weight_; }
  Tensor& bias() override { return bias_; }
  const Tensor& weight() const override { return weight_; }
  const Tensor& bias() const override { return bias_; }
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

// A dense layer applied to the last axis, shared by every position of the axes before it
// (per-particle dense, ONNX MatMul of [events, P, K] by [K, N]): [..., in] -> [..., out].
// W is [out, in] (PyTorch's layout); one GEMM over all events and particles.
class ParticleDense final : public LinearOp {
 public:
  ParticleDense(Index in, Index out);
  std::string type() const override { return "ParticleDense"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<ParticleDense>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override { return {{"in", in_}, {"out", out_}}; }
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
  Tensor weight_, bias_;
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

}  // namespace unbox
