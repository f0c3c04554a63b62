// ClipMinMax (the XAUG poster's preprocessing) and Slice. See include/unbox/ops/preprocess.hpp and ops/shape.hpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

ClipMinMax::ClipMinMax(const Shape& event_shape, double k) : k_(k) {
  if (!(k > 0)) throw Error(fmt::format("ClipMinMax: the clip must be a positive number of std, got {}", k));
  Shape s{1};
  s.insert(s.end(), event_shape.begin(), event_shape.end());
  lo_ = Tensor(s, -INFINITY);
  hi_ = Tensor(s, INFINITY);
  a_ = Tensor(s, 0.0);
  b_ = Tensor(s, 1.0);
}

Shape ClipMinMax::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("ClipMinMax takes one input");
  if (shape_size(in[0]) != a_.per_event())
    throw Error(
        fmt::format("ClipMinMax for {} values per event fed per-event shape {}", a_.per_event(), shape_string(in[0])));
  return in[0];
}

void ClipMinMax::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index B = in[0]->events(), n = a_.per_event();
  const double* x = in[0]->data();
  double* y = out.data();
  for (Index e = 0; e < B; ++e)
    for (Index j = 0; j < n; ++j) y[e * n + j] = (std::clamp(x[e * n + j], lo_[j], hi_[j]) - a_[j]) / (b_[j] - a_[j]);
}

// Derivative 1 / (b - a) strictly inside the clip, 0 at and beyond it.
void ClipMinMax::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                          const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Index B = gout.events(), n = a_.per_event();
  const double* x = in[0]->data();
  for (Index e = 0; e < B; ++e)
    for (Index j = 0; j < n; ++j) {
      const double v = x[e * n + j];
      if (v > lo_[j] && v < hi_[j]) (*gin[0])[e * n + j] += gout[e * n + j] / (b_[j] - a_[j]);
    }
}

void ClipMinMax::apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor&,
                               const std::vector<const Tensor*>& tin, Tensor& tout, Index components) const {
  const Index B = primal_in[0]->events(), n = a_.per_event();
  const double* x = primal_in[0]->data();
  for (Index e = 0; e < B; ++e)
    for (Index c = 0; c < components; ++c)
      for (Index j = 0; j < n; ++j) {
        const double v = x[e * n + j];
        const Index r = (e * components + c) * n + j;
        tout[r] = v > lo_[j] && v < hi_[j] ? (*tin[0])[r] / (b_[j] - a_[j]) : 0.0;
      }
}

std::vector<Parameter> ClipMinMax::parameters() {
  return {
      {"lo", &lo_, false, false}, {"hi", &hi_, false, false}, {"min", &a_, false, false}, {"max", &b_, false, false}};
}

nlohmann::json ClipMinMax::attributes() const { return {{"shape", a_.event_shape()}, {"k", k_}}; }

void ClipMinMax::fit(const Tensor& data) {
  const Index n = a_.per_event(), N = data.events();
  if (data.per_event() != n) throw Error("ClipMinMax::fit: data has the wrong width");
  for (Index j = 0; j < n; ++j) {
    double sum = 0;
    for (Index e = 0; e < N; ++e) sum += data.at(e, j);
    const double mu = N ? sum / static_cast<double>(N) : 0.0;
    double ss = 0;
    for (Index e = 0; e < N; ++e) ss += (data.at(e, j) - mu) * (data.at(e, j) - mu);
    const double sd = N > 1 ? std::sqrt(ss / static_cast<double>(N)) : 0.0;
    lo_[j] = mu - k_ * sd;
    hi_[j] = mu + k_ * sd;
    double mn = INFINITY, mx = -INFINITY;
    for (Index e = 0; e < N; ++e) {
      const double v = std::clamp(data.at(e, j), lo_[j], hi_[j]);
      mn = std::min(mn, v), mx = std::max(mx, v);
    }
    if (!(mx > mn) || !std::isfinite(mx - mn)) {
      // A constant feature: map it to 0 and keep the gradient finite.
      mn = N ? mu : 0.0, mx = mn + 1.0;
      lo_[j] = -INFINITY, hi_[j] = INFINITY;
    }
    a_[j] = mn;
    b_[j] = mx;
  }
}

// -------------------------------------------------------------------- Slice

Shape Slice::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() != 1) throw Error("Slice takes one flat input");
  if (begin_ < 0 || count_ <= 0 || begin_ + count_ > in[0][0])
    throw Error(fmt::format("Slice [{}, {}) does not fit an input of {} values", begin_, begin_ + count_, in[0][0]));
  return {count_};
}

void Slice::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index B = in[0]->events(), n = in[0]->per_event();
  for (Index e = 0; e < B; ++e) std::copy_n(in[0]->data() + e * n + begin_, count_, out.data() + e * count_);
}

void Slice::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                     const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Index B = gout.events(), n = in[0]->per_event();
  for (Index e = 0; e < B; ++e)
    for (Index j = 0; j < count_; ++j) (*gin[0])[e * n + begin_ + j] += gout[e * count_ + j];
}

void Slice::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                          Tensor& tout, Index) const {
  const Index R = tin[0]->events(), n = tin[0]->per_event();
  for (Index r = 0; r < R; ++r) std::copy_n(tin[0]->data() + r * n + begin_, count_, tout.data() + r * count_);
}

std::unique_ptr<Op> make_op_preprocess(const std::string& type, const nlohmann::json& a) {
  if (type == "ClipMinMax") return std::make_unique<ClipMinMax>(a.at("shape").get<Shape>(), a.value("k", 3.0));
  if (type == "Slice") return std::make_unique<Slice>(a.at("begin").get<Index>(), a.at("count").get<Index>());
  return nullptr;
}

}  // namespace unbox
