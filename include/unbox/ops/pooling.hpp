// Pooling: max/average pooling over spatial windows, the masked sum/mean over particles of Particle
// Flow Networks, and the ONNX reductions.
#pragma once

#include <random>

#include "unbox/network.hpp"
#include "unbox/ops/window.hpp"

namespace unbox {

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

// Sum (or mean) over the particles of [P, L] values, skipping padded particles. Inputs:
// the values, and (when mask_feature >= 0) the raw particle columns, P*F values per event
// in any shape, whose feature `mask_feature` of particle p is 0 exactly when p is padding.
// The mean divides by the number of real particles (an event with none gives 0).
class ParticlePool final : public Op {
 public:
  ParticlePool(Index particles, Index features, Index mask_feature, bool mean);
  std::string type() const override { return "ParticlePool"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<ParticlePool>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override;
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override {
    return mask_feature_ >= 0 ? DerivativeKind::PiecewiseLinear : DerivativeKind::Affine;
  }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;

 private:
  // Weight of particle p of event e (mask / count); rows of `source` are events.
  void weights(const Tensor* source, Index e, std::vector<double>& w) const;
  Index particles_, features_, mask_feature_;
  bool mean_;
};

enum class ReduceKind { Sum, Mean };

// ONNX ReduceSum / ReduceMean over per-event axes (sorted, 0 = first axis after the
// events), keeping them as length-1 axes when keepdims.
class Reduce final : public Op {
 public:
  Reduce(ReduceKind kind, std::vector<Index> axes, bool keepdims);
  std::string type() const override { return kind_ == ReduceKind::Sum ? "ReduceSum" : "ReduceMean"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Reduce>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"axes", axes_}, {"keepdims", keepdims_}}; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  ReduceKind kind() const { return kind_; }
  const std::vector<Index>& axes() const { return axes_; }
  bool keepdims() const { return keepdims_; }

 private:
  // For each input element of one event, the offset of the output element it adds into.
  std::vector<Index> target_map(const Shape& in_event) const;
  ReduceKind kind_;
  std::vector<Index> axes_;
  bool keepdims_;
};

}  // namespace unbox
