// Operations on particle lists, for Particle Flow Networks (Deep Sets, Komiske, Metodiev &
// Thaler arXiv:1810.05165) and for ONNX models that act on [events, particles, features]:
//
//   flat particle columns [P*F] --ParticleStandardize--> [P, F]
//     --(ParticleDense -> activation)*--> Phi [P, L] --ParticlePool (masked sum)--> [L]
//     --(Dense -> activation)*--> output
//
// Padding convention: a particle whose mask feature (by default its pT) is exactly 0 is
// padding. ParticlePool reads the mask from the raw particle columns (the network's
// input), so padded particles contribute nothing to the sum (or the mean), whatever the
// per-particle network makes of their zeros; their input gradients are exactly 0.
// The mask is piecewise constant in the inputs: its derivative is 0 (PiecewiseLinear).
#pragma once

#include "unbox/ops.hpp"

namespace unbox {

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

// A dense layer applied to the last axis, shared by every position of the axes before it
// (per-particle dense, ONNX MatMul of [events, P, K] by [K, N]): [..., in] -> [..., out].
// W is [out, in] (PyTorch's layout); one GEMM over all events and particles.
class ParticleDense final : public Op {
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

// The factory for these ops (called by make_op); nullptr for another type.
std::unique_ptr<Op> make_op_particles(const std::string& type, const nlohmann::json& attributes);

// A Particle Flow Network on flat particle columns named "<particle>_<feature>"
// (particle-major: p0_pt, p0_eta, ..., p1_pt, ...): the number of particles P and of
// features F are read from the names (Error when they do not form a P x F grid). The mask
// feature is the one named "pt" when present, else the first. phi: the per-particle
// widths (the last is the latent size); hidden: the widths of the dense network after
// the sum; output: a sigmoid (or tanh) neuron.
Network build_particle_flow_network(const std::vector<std::string>& features, const std::vector<Index>& phi,
                                    const std::vector<Index>& hidden, const Activation& activation, bool tanh_output,
                                    bool mean = false);

// P, F and the mask feature of particle columns named as above (Error naming the problem).
void particle_grid(const std::vector<std::string>& features, Index& particles, Index& per_particle,
                   Index& mask_feature);

}  // namespace unbox
