// Elementwise arithmetic: broadcasting Add/Sub/Mul/Div, the one Add of the library.
#pragma once

#include <random>

#include "unbox/network.hpp"

namespace unbox {

enum class BinaryKind { Add, Sub, Mul, Div };

// a (op) b elementwise with NumPy broadcasting of the per-event shapes. Either both
// operands are graph inputs, or one is a constant the op owns (per-event shape, no batch
// axis), on the left (c - x, c / x) or on the right (x - c, x / c). Add without a
// constant also sums any number of inputs of one shape (x1 + x2 + ... in input order):
// model files name that op "Binary"; the type "Add" of older files is read as it.
class Binary final : public Op {
 public:
  enum class ConstSide { None, Left, Right };
  explicit Binary(BinaryKind kind);                          // two tensors
  Binary(BinaryKind kind, Tensor constant, ConstSide side);  // constant [1, shape...]
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
  bool plain_sum(const std::vector<const Tensor*>& in) const;
  // Per-event shapes of operand a and b (the constant's when it is one of them).
  void operand_shapes(const std::vector<const Tensor*>& in, Shape& a, Shape& b) const;
  BinaryKind kind_;
  ConstSide side_ = ConstSide::None;
  Tensor constant_;  // [1, shape...] when side_ != None
};

// Broadcast per-event shapes the NumPy way (right-aligned); Error when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// For each element of `out` (row-major), the offset of the element of a tensor of
// shape `in` (broadcast to `out`) it reads.
std::vector<Index> broadcast_offsets(const Shape& in, const Shape& out);

}  // namespace unbox
