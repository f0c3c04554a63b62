// Shape operations (Reshape, Transpose), NumPy broadcasting helpers, and the factory
// for the ops of ops/linear.hpp, ops/pooling.hpp, ops/elementwise.hpp and ops/shape.hpp.
#include <fmt/format.h>

#include "unbox/ops.hpp"

namespace unbox {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const Index da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const Index db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("shapes {} and {} do not broadcast", shape_string(a), shape_string(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<Index> broadcast_offsets(const Shape& in, const Shape& out) {
  const size_t r = out.size(), lead = r - in.size();
  // Strides of `in` aligned to `out`, 0 along broadcast axes.
  std::vector<Index> stride(r, 0);
  Index s = 1;
  for (size_t i = r; i-- > lead;) {
    const Index d = in[i - lead];
    stride[i] = d == 1 ? 0 : s;
    s *= d;
  }
  std::vector<Index> offsets(static_cast<size_t>(shape_size(out)));
  std::vector<Index> idx(r, 0);
  Index off = 0;
  for (auto& o : offsets) {
    o = off;
    for (size_t i = r; i-- > 0;) {  // odometer
      off += stride[i];
      if (++idx[i] < out[i]) break;
      off -= stride[i] * out[i];
      idx[i] = 0;
    }
  }
  return offsets;
}

// --------------------------------------------------------------------- Reshape

Shape Reshape::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Reshape takes one input");
  if (shape_size(in[0]) != shape_size(shape_))
    throw Error(fmt::format("cannot reshape per-event shape {} to {}", shape_string(in[0]), shape_string(shape_)));
  return shape_;
}

void Reshape::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  std::copy_n(in[0]->data(), in[0]->size(), out.data());
}

void Reshape::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& gout,
                       const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (gin[0])
    Eigen::Map<Eigen::ArrayXd>(gin[0]->data(), gout.size()) +=
        Eigen::Map<const Eigen::ArrayXd>(gout.data(), gout.size());
}

void Reshape::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                            Tensor& tout, Index) const {
  forward(tin, tout);
}

std::string Reshape::describe(const std::vector<Shape>&) const { return "Reshape " + shape_string(shape_); }

// ------------------------------------------------------------------- Transpose

Shape Transpose::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Transpose takes one input");
  if (perm_.size() != in[0].size())
    throw Error(
        fmt::format("Transpose permutation of {} axes for per-event shape {}", perm_.size(), shape_string(in[0])));
  Shape out;
  std::vector<bool> seen(perm_.size(), false);
  for (Index p : perm_) {
    if (p < 0 || p >= static_cast<Index>(perm_.size()) || seen[static_cast<size_t>(p)])
      throw Error("Transpose: perm is not a permutation of the per-event axes");
    seen[static_cast<size_t>(p)] = true;
    out.push_back(in[0][static_cast<size_t>(p)]);
  }
  return out;
}

std::vector<Index> Transpose::gather_map(const Shape& in) const {
  const size_t r = in.size();
  std::vector<Index> in_stride(r, 1);
  for (size_t i = r - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * in[i + 1];
  Shape out(r);
  std::vector<Index> stride(r);  // input stride of each output axis
  for (size_t i = 0; i < r; ++i) {
    out[i] = in[static_cast<size_t>(perm_[i])];
    stride[i] = in_stride[static_cast<size_t>(perm_[i])];
  }
  std::vector<Index> map(static_cast<size_t>(shape_size(out)));
  std::vector<Index> idx(r, 0);
  Index off = 0;
  for (auto& m : map) {
    m = off;
    for (size_t i = r; i-- > 0;) {
      off += stride[i];
      if (++idx[i] < out[i]) break;
      off -= stride[i] * out[i];
      idx[i] = 0;
    }
  }
  return map;
}

void Transpose::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  auto map = gather_map(in[0]->event_shape());
  const Index n = static_cast<Index>(map.size());
  for (Index r = 0; r < in[0]->events(); ++r) {
    const double* x = in[0]->data() + r * n;
    double* y = out.data() + r * n;
    for (Index j = 0; j < n; ++j) y[j] = x[map[static_cast<size_t>(j)]];
  }
}

void Transpose::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                         const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  auto map = gather_map(in[0]->event_shape());
  const Index n = static_cast<Index>(map.size());
  for (Index r = 0; r < in[0]->events(); ++r) {
    double* gx = gin[0]->data() + r * n;
    const double* g = gout.data() + r * n;
    for (Index j = 0; j < n; ++j) gx[map[static_cast<size_t>(j)]] += g[j];
  }
}

void Transpose::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                              Tensor& tout, Index) const {
  forward(tin, tout);
}

// ------------------------------------------------------------------------- Pad

Shape Pad::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Pad takes one input");
  const size_t r = in[0].size();
  if (pads_.size() != 2 * r)
    throw Error(fmt::format("Pad with {} pads for per-event shape {}", pads_.size(), shape_string(in[0])));
  Shape out = in[0];
  for (size_t d = 0; d < r; ++d) {
    if (pads_[d] < 0 || pads_[d + r] < 0) throw Error("Pad: negative pads (cropping) are not supported");
    out[d] += pads_[d] + pads_[d + r];
  }
  return out;
}

std::vector<Index> Pad::scatter_map(const Shape& in) const {
  const size_t r = in.size();
  Shape out = infer_shape({in});
  std::vector<Index> out_stride(r, 1);
  for (size_t i = r; i-- > 1;) out_stride[i - 1] = out_stride[i] * out[i];
  std::vector<Index> map(static_cast<size_t>(shape_size(in)));
  std::vector<Index> idx(r, 0);
  for (auto& m : map) {
    Index off = 0;
    for (size_t d = 0; d < r; ++d) off += (idx[d] + pads_[d]) * out_stride[d];
    m = off;
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < in[i]) break;
      idx[i] = 0;
    }
  }
  return map;
}

void Pad::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  auto map = scatter_map(in[0]->event_shape());
  const Index n = static_cast<Index>(map.size()), m = out.per_event();
  out.fill(0.0);
  for (Index r = 0; r < in[0]->events(); ++r)
    for (Index j = 0; j < n; ++j) out.data()[r * m + map[static_cast<size_t>(j)]] = in[0]->data()[r * n + j];
}

void Pad::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                   const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  auto map = scatter_map(in[0]->event_shape());
  const Index n = static_cast<Index>(map.size()), m = out.per_event();
  for (Index r = 0; r < in[0]->events(); ++r)
    for (Index j = 0; j < n; ++j) gin[0]->data()[r * n + j] += gout.data()[r * m + map[static_cast<size_t>(j)]];
}

void Pad::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                        Tensor& tout, Index) const {
  forward(tin, tout);  // zero padding is linear
}

// --------------------------------------------------------------------- factory

std::unique_ptr<Op> make_op_more(const std::string& type, const nlohmann::json& a) {
  auto const_shape = [&] {
    Shape s{1};
    auto e = a.at("shape").get<Shape>();
    s.insert(s.end(), e.begin(), e.end());
    return s;
  };
  if (type == "Conv")
    return std::make_unique<Conv>(a.at("in").get<Index>(), a.at("out").get<Index>(), Window::from_json(a, 0),
                                  a.value("groups", Index{1}));
  if (type == "MaxPool" || type == "AveragePool")
    return std::make_unique<Pool>(type == "MaxPool" ? PoolKind::Max : PoolKind::Average, Window::from_json(a, 0),
                                  a.value("count_include_pad", false));
  if (type == "BatchNorm") return std::make_unique<BatchNorm>(a.at("channels").get<Index>(), a.value("epsilon", 1e-5));
  if (type == "Add") return std::make_unique<Binary>(BinaryKind::Add);  // the n-ary Add of older model files
  if (type == "Binary") {
    static const std::pair<const char*, BinaryKind> kinds[] = {
        {"Add", BinaryKind::Add}, {"Sub", BinaryKind::Sub}, {"Mul", BinaryKind::Mul}, {"Div", BinaryKind::Div}};
    const std::string op = a.at("op").get<std::string>(), side = a.value("side", std::string("none"));
    for (auto& [name, kind] : kinds)
      if (op == name) {
        if (side == "none") return std::make_unique<Binary>(kind);
        return std::make_unique<Binary>(kind, Tensor(const_shape()),
                                        side == "left" ? Binary::ConstSide::Left : Binary::ConstSide::Right);
      }
    throw Error(fmt::format("unknown Binary operation '{}'", op));
  }
  if (type == "PRelu") return std::make_unique<PRelu>(Tensor(const_shape()));
  // "SoftmaxAxis": the general softmax's name in older model files.
  if (type == "Softmax" || type == "SoftmaxAxis" || type == "LogSoftmax") {
    const bool has = a.is_object();
    return std::make_unique<Softmax>(has ? a.value("axis", Softmax::kLastAxis) : Softmax::kLastAxis,
                                     has && a.value("flatten", false), type == "LogSoftmax");
  }
  if (type == "Reshape") return std::make_unique<Reshape>(a.at("shape").get<Shape>());
  if (type == "Transpose") return std::make_unique<Transpose>(a.at("perm").get<std::vector<Index>>());
  if (type == "Pad") return std::make_unique<Pad>(a.at("pads").get<std::vector<Index>>());
  std::unique_ptr<Op> make_op_particles(const std::string&, const nlohmann::json&);  // the particle ops
  return make_op_particles(type, a);
}

}  // namespace unbox
