// Input preprocessing kept with the model: the standardization (derivatives through it are in
// physical units), the XAUG clip/min-max layer, and the per-feature standardization of particle lists.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

// (x - mean) / std, elementwise over the per-event shape. The model's input
// standardization: derivatives taken through it are in physical units.
class Standardize final : public Op {
 public:
  Standardize(Tensor mean, Tensor stddev);         // both shaped [1, per-event...]
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

// Flat per-event particle columns [P*F] (particle-major: p0_f0, p0_f1, ..., p1_f0, ...)
// to [P, F], standardized per feature with one mean and std shared by all particles (so
// the network stays symmetric under permutations of the particles). fit() takes them over
// the real (unmasked) particles only.
class ParticleStandardize final : public Op {
 public:
  ParticleStandardize(Index particles, Index features, Index mask_feature);
  std::string type() const override { return "ParticleStandardize"; }
  std::unique_ptr<Op> clone() const override { return std::make_unique<ParticleStandardize>(*this); }
  Shape infer_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<const Tensor*>& in, Tensor& out) const override;
  void backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const override;
  std::vector<Parameter> parameters() override;
  nlohmann::json attributes() const override;
  std::string describe(const std::vector<Shape>& in) const override;
  DerivativeKind derivative_kind() const override { return DerivativeKind::Affine; }
  void apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                     const std::vector<const Tensor*>& tangent_in, Tensor& tangent_out,
                     Index components) const override;
  // data: [N, P*F] raw particle columns.
  void fit(const Tensor& data);
  Index particles() const { return particles_; }
  Index features() const { return features_; }
  Index mask_feature() const { return mask_feature_; }
  Tensor& mean() { return mean_; }
  Tensor& stddev() { return std_; }

 private:
  Index particles_, features_, mask_feature_;
  Tensor mean_, std_;  // [F]
};

}  // namespace unbox
