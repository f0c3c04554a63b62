// Shape operations: concatenation, slicing, reshaping, transposition and padding.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

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

}  // namespace unbox
