// GCC 12 reports -Wmaybe-uninitialized false positives inside its own AVX-512 intrinsics
// (avx512fintrin.h) when Eigen's packet code is inlined here with -march=native.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "nn/dense_kernel.hpp"
#include "unbox/ops.hpp"

namespace unbox {

Dense::Dense(Index in, Index out) : in_(in), out_(out), weight_({out, in}), bias_({out}) {
  if (in <= 0 || out <= 0) throw Error(fmt::format("Dense layer needs positive sizes, got {} -> {}", in, out));
}

Shape Dense::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Dense takes one input");
  if (shape_size(in[0]) != in_)
    throw Error(fmt::format("Dense {} -> {} fed a tensor of per-event shape {}", in_, out_, shape_string(in[0])));
  return {out_};
}

using detail::packed_weights;  // dense_kernel.cpp

void Dense::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index batch = in[0]->events();
  if (!detail::use_reference_dense) {
    const double* p = packed_weights(this, weight_, out_, in_, true);
    detail::dense_product(batch, in_, out_, in[0]->data(), in_, p, bias_.data(), out.data(), out_, false);
    return;
  }
  ConstMatrixMap x(in[0]->data(), batch, in_);
  ConstMatrixMap w(weight_.data(), out_, in_);
  MatrixMap y(out.data(), batch, out_);
  Eigen::Map<const Eigen::RowVectorXd> b(bias_.data(), out_);
  // Plain GEMM, then the bias. (Starting from a replicated bias and accumulating with
  // `+=` measured 2-5x slower per event in Eigen 3.4: see bench/bench_nn.cpp.)
  y.noalias() = x * w.transpose();
  y.rowwise() += b;
}

void Dense::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                     const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const {
  const Index batch = in[0]->events();
  ConstMatrixMap g(gout.data(), batch, out_);
  ConstMatrixMap w(weight_.data(), out_, in_);
  if (gin[0] && !detail::use_reference_dense) {
    const double* p = packed_weights(this, weight_, out_, in_, false);
    detail::dense_product(batch, out_, in_, gout.data(), out_, p, nullptr, gin[0]->data(), in_, true);
  } else if (gin[0]) {
    MatrixMap gx(gin[0]->data(), batch, in_);
    gx.noalias() += g * w;
  }
  if (pgrad) {
    ConstMatrixMap x(in[0]->data(), batch, in_);
    MatrixMap gw((*pgrad)[0].data(), out_, in_);
    gw.noalias() += g.transpose() * x;
    // Plain loop over events in order: Eigen's vectorized reductions sum in an order that
    // depends on the buffer's alignment, which would make training depend on the thread count.
    double* gb = (*pgrad)[1].data();
    const double* gp = gout.data();
    for (Index e = 0; e < batch; ++e)
      for (Index j = 0; j < out_; ++j) gb[j] += gp[e * out_ + j];
  }
}

void Dense::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                          Tensor& tout, Index) const {
  const Index rows = tin[0]->events();
  if (!detail::use_reference_dense) {
    const double* p = packed_weights(this, weight_, out_, in_, true);
    detail::dense_product(rows, in_, out_, tin[0]->data(), in_, p, nullptr, tout.data(), out_, false);
    return;
  }
  MatrixMap(tout.data(), rows, out_).noalias() =
      ConstMatrixMap(tin[0]->data(), rows, in_) * ConstMatrixMap(weight_.data(), out_, in_).transpose();
}

std::vector<Parameter> Dense::parameters() { return {{"weight", &weight_, true, true}, {"bias", &bias_, true, false}}; }

nlohmann::json Dense::attributes() const { return {{"in", in_}, {"out", out_}}; }

std::string Dense::describe(const std::vector<Shape>&) const { return fmt::format("Dense {} -> {}", in_, out_); }

}  // namespace unbox
