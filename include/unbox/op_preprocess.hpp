// Preprocessing ops kept with the model: ClipMinMax (the XAUG poster's preprocessing:
// clip at mean +- 3 std of the training data, then min-max scale to [0, 1]) and Slice (a
// contiguous range of a flat per-event vector, to route columns into separate branches).
#pragma once

#include "unbox/ops.hpp"

namespace unbox {

// y = (clamp(x, lo, hi) - a) / (b - a) per feature, with [lo, hi] = mean -+ k std and
// [a, b] the range of the clipped training data. dy/dx = 1 / (b - a) strictly inside
// (lo, hi) and 0 beyond the clip: gradients (Taylor coefficients, maximization,
// Integrated Gradients) vanish for events beyond +-k standard deviations.
class ClipMinMax final : public Op {
 public:
  explicit ClipMinMax(const Shape& event_shape, double k = 3.0);
  std::string type() const override { return "ClipMinMax"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<ClipMinMax>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::PiecewiseLinear; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  // Set lo, hi, a, b from data [N, per-event].
  void fit(const Tensor& data);
  double k() const { return k_; }
  const Tensor& lo() const { return lo_; }
  const Tensor& hi() const { return hi_; }
  const Tensor& min() const { return a_; }
  const Tensor& max() const { return b_; }

 private:
  double k_;
  Tensor lo_, hi_, a_, b_;  // each [1, per-event...]
};

// out = x[begin : begin + count] of a flat per-event vector.
class Slice final : public Op {
 public:
  Slice(Index begin, Index count) : begin_(begin), count_(count) {}
  std::string type() const override { return "Slice"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<Slice>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  nlohmann::json attributes() const override { return {{"begin", begin_}, {"count", count_}}; }
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  Index begin() const { return begin_; }
  Index count() const { return count_; }

 private:
  Index begin_, count_;
};

// The factory for the ops above; nullptr for another type.
std::unique_ptr<Op> make_op_preprocess(const std::string& type, const nlohmann::json& attributes);

}  // namespace unbox
