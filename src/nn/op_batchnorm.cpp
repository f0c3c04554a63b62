// Batch normalization in inference mode: a per-channel affine map.
#include <fmt/format.h>

#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

BatchNorm::BatchNorm(Index channels, double epsilon)
    : channels_(channels),
      epsilon_(epsilon),
      scale_({channels}, 1.0),
      bias_({channels}, 0.0),
      mean_({channels}, 0.0),
      var_({channels}, 1.0) {
  if (channels <= 0) throw Error("BatchNorm needs a positive number of channels");
  if (!(epsilon >= 0)) throw Error("BatchNorm: epsilon must be non-negative");
}

Shape BatchNorm::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("BatchNorm takes one input");
  if (in[0].empty() || in[0][0] != channels_)
    throw Error(fmt::format("BatchNorm over {} channels fed per-event shape {}", channels_, shape_string(in[0])));
  return in[0];
}

namespace {
// y = x * a[c] + b[c] with a = scale / sqrt(var + eps), b = bias - mean * a.
void coefficients(const BatchNorm& bn, Eigen::ArrayXd& a, Eigen::ArrayXd& b) {
  const Index n = bn.scale().size();
  auto var = Eigen::Map<const Eigen::ArrayXd>(bn.var().data(), n);
  a = Eigen::Map<const Eigen::ArrayXd>(bn.scale().data(), n) / (var + bn.epsilon()).sqrt();
  b = Eigen::Map<const Eigen::ArrayXd>(bn.bias().data(), n) - Eigen::Map<const Eigen::ArrayXd>(bn.mean().data(), n) * a;
}

void apply(const Tensor& x, Tensor& y, const Eigen::ArrayXd& a, const Eigen::ArrayXd* b) {
  const Index C = a.size(), inner = x.per_event() / C, planes = x.events() * C;
  for (Index p = 0; p < planes; ++p) {
    const Index c = p % C;
    auto yp = Eigen::Map<Eigen::ArrayXd>(y.data() + p * inner, inner);
    yp = Eigen::Map<const Eigen::ArrayXd>(x.data() + p * inner, inner) * a[c];
    if (b) yp += (*b)[c];
  }
}
}  // namespace

void BatchNorm::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  Eigen::ArrayXd a, b;
  coefficients(*this, a, b);
  apply(*in[0], out, a, &b);
}

void BatchNorm::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                              Tensor& tout, Index) const {
  Eigen::ArrayXd a, b;
  coefficients(*this, a, b);
  apply(*tin[0], tout, a, nullptr);
}

void BatchNorm::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                         const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const {
  Eigen::ArrayXd a, b;
  coefficients(*this, a, b);
  const Tensor& x = *in[0];
  const Index C = channels_, inner = x.per_event() / C, planes = x.events() * C;
  for (Index p = 0; p < planes; ++p) {
    const Index c = p % C;
    const double* g = gout.data() + p * inner;
    if (gin[0]) {
      double* gx = gin[0]->data() + p * inner;
      for (Index i = 0; i < inner; ++i) gx[i] += g[i] * a[c];
    }
    if (pgrad) {
      // d y / d scale = (x - mean) / sqrt(var + eps); d y / d bias = 1. Fixed-order sums.
      const double inv = 1.0 / std::sqrt(var_[c] + epsilon_);
      const double* xp = x.data() + p * inner;
      double gs = 0, gb = 0;
      for (Index i = 0; i < inner; ++i) {
        gs += g[i] * (xp[i] - mean_[c]) * inv;
        gb += g[i];
      }
      (*pgrad)[0][c] += gs;
      (*pgrad)[1][c] += gb;
    }
  }
}

std::vector<Parameter> BatchNorm::parameters() {
  return {{"scale", &scale_, true, false},
          {"bias", &bias_, true, false},
          {"mean", &mean_, false, false},
          {"var", &var_, false, false}};
}

std::string BatchNorm::describe(const std::vector<Shape>&) const { return fmt::format("BatchNorm {}", channels_); }

}  // namespace unbox
