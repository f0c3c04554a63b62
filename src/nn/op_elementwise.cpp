// Elementwise arithmetic with broadcasting (Add, Sub, Mul, Div of two tensors or of a
// tensor and a constant; Add of any number of same-shaped tensors), PRelu, and softmax /
// log-softmax along any per-event axis.
#include <fmt/format.h>

#include <Eigen/Core>
#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

// ---------------------------------------------------------------------- Binary

namespace {
const char* binary_name(BinaryKind k) {
  switch (k) {
    case BinaryKind::Add:
      return "Add";
    case BinaryKind::Sub:
      return "Sub";
    case BinaryKind::Mul:
      return "Mul";
    case BinaryKind::Div:
      return "Div";
  }
  return "?";
}

// y[r, j] = f(A[r * sa + offa[j]], B[r * sb + offb[j]]) for rows r and output elements j;
// a constant operand has row stride 0.
template <class F>
void binary_loop(const double* A, Index sa, const std::vector<Index>& offa, const double* B, Index sb,
                 const std::vector<Index>& offb, double* y, Index rows, F f) {
  const Index n = static_cast<Index>(offa.size());
  for (Index r = 0; r < rows; ++r) {
    const double* a = A + r * sa;
    const double* b = B + r * sb;
    double* yr = y + r * n;
    for (Index j = 0; j < n; ++j) yr[j] = f(a[offa[static_cast<size_t>(j)]], b[offb[static_cast<size_t>(j)]]);
  }
}

template <class F>
void dispatch(BinaryKind k, F&& run) {
  switch (k) {
    case BinaryKind::Add:
      run([](double a, double b) { return a + b; });
      return;
    case BinaryKind::Sub:
      run([](double a, double b) { return a - b; });
      return;
    case BinaryKind::Mul:
      run([](double a, double b) { return a * b; });
      return;
    case BinaryKind::Div:
      run([](double a, double b) { return a / b; });
      return;
  }
}
}  // namespace

Binary::Binary(BinaryKind kind) : kind_(kind) {}

Binary::Binary(BinaryKind kind, Tensor constant, ConstSide side)
    : kind_(kind), side_(side), constant_(std::move(constant)) {
  if (side_ == ConstSide::None) throw Error("Binary: a constant operand needs a side");
  if (constant_.rank() < 1 || constant_.dim(0) != 1) throw Error("Binary: the constant must be shaped [1, ...]");
}

void Binary::operand_shapes(const std::vector<const Tensor*>& in, Shape& a, Shape& b) const {
  switch (side_) {
    case ConstSide::None:
      a = in[0]->event_shape(), b = in[1]->event_shape();
      return;
    case ConstSide::Left:
      a = constant_.event_shape(), b = in[0]->event_shape();
      return;
    case ConstSide::Right:
      a = in[0]->event_shape(), b = constant_.event_shape();
      return;
  }
}

// The sum of same-shaped tensors (the old n-ary Add): Eigen, in input order.
bool Binary::plain_sum(const std::vector<const Tensor*>& in) const {
  if (kind_ != BinaryKind::Add || side_ != ConstSide::None) return false;
  for (const Tensor* t : in)
    if (t->shape() != in[0]->shape()) return false;
  return true;
}

Shape Binary::infer_shape(const std::vector<Shape>& in) const {
  if (kind_ == BinaryKind::Add && side_ == ConstSide::None && in.size() != 2) {
    if (in.empty()) throw Error("Add needs at least one input");
    for (auto& s : in)
      if (s != in[0])
        throw Error(fmt::format("Add of more than two inputs needs one shape; they are {} and {}", shape_string(in[0]),
                                shape_string(s)));
    return in[0];
  }
  const size_t want = side_ == ConstSide::None ? 2 : 1;
  if (in.size() != want)
    throw Error(fmt::format("{} takes {} tensor input{}", binary_name(kind_), want, want > 1 ? "s" : ""));
  if (side_ == ConstSide::None) return broadcast_shapes(in[0], in[1]);
  return broadcast_shapes(in[0], constant_.event_shape());
}

void Binary::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  if (plain_sum(in)) {
    auto y = Eigen::Map<Eigen::ArrayXd>(out.data(), out.size());
    y = Eigen::Map<const Eigen::ArrayXd>(in[0]->data(), out.size());
    for (size_t k = 1; k < in.size(); ++k) y += Eigen::Map<const Eigen::ArrayXd>(in[k]->data(), out.size());
    return;
  }
  Shape sa, sb;
  operand_shapes(in, sa, sb);
  const Shape os = out.event_shape();
  auto offa = broadcast_offsets(sa, os), offb = broadcast_offsets(sb, os);
  const double *A, *B;
  Index stride_a = shape_size(sa), stride_b = shape_size(sb);
  switch (side_) {
    case ConstSide::None:
      A = in[0]->data(), B = in[1]->data();
      break;
    case ConstSide::Left:
      A = constant_.data(), stride_a = 0, B = in[0]->data();
      break;
    default:
      A = in[0]->data(), B = constant_.data(), stride_b = 0;
      break;
  }
  dispatch(kind_, [&](auto f) { binary_loop(A, stride_a, offa, B, stride_b, offb, out.data(), out.events(), f); });
}

void Binary::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                      const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (plain_sum(in)) {
    for (Tensor* g : gin)
      if (g)
        Eigen::Map<Eigen::ArrayXd>(g->data(), g->size()) += Eigen::Map<const Eigen::ArrayXd>(gout.data(), gout.size());
    return;
  }
  Shape sa, sb;
  operand_shapes(in, sa, sb);
  const Shape os = out.event_shape();
  auto offa = broadcast_offsets(sa, os), offb = broadcast_offsets(sb, os);
  const Index pa = shape_size(sa), pb = shape_size(sb), n = shape_size(os), rows = out.events();
  // Operand values (constant: stride 0) and gradient targets (null for the constant).
  const double* A = side_ == ConstSide::Left ? constant_.data() : in[0]->data();
  const double* B = side_ == ConstSide::None    ? in[1]->data()
                    : side_ == ConstSide::Right ? constant_.data()
                                                : in[0]->data();
  const Index sa_ = side_ == ConstSide::Left ? 0 : pa, sb_ = side_ == ConstSide::Right ? 0 : pb;
  double* ga = side_ == ConstSide::Left ? nullptr : gin[0] ? gin[0]->data() : nullptr;
  double* gb = side_ == ConstSide::None   ? (gin[1] ? gin[1]->data() : nullptr)
               : side_ == ConstSide::Left ? (gin[0] ? gin[0]->data() : nullptr)
                                          : nullptr;
  for (Index r = 0; r < rows; ++r) {
    const double* g = gout.data() + r * n;
    for (Index j = 0; j < n; ++j) {
      const Index ia = offa[static_cast<size_t>(j)], ib = offb[static_cast<size_t>(j)];
      const double a = A[r * sa_ + ia], b = B[r * sb_ + ib];
      double da = 0, db = 0;
      switch (kind_) {
        case BinaryKind::Add:
          da = 1, db = 1;
          break;
        case BinaryKind::Sub:
          da = 1, db = -1;
          break;
        case BinaryKind::Mul:
          da = b, db = a;
          break;
        case BinaryKind::Div:
          da = 1 / b, db = -a / (b * b);
          break;
      }
      if (ga) ga[r * pa + ia] += g[j] * da;
      if (gb) gb[r * pb + ib] += g[j] * db;
    }
  }
}

Op::DerivativeKind Binary::derivative_kind() const {
  if (kind_ == BinaryKind::Add || kind_ == BinaryKind::Sub) return DerivativeKind::Affine;
  if (kind_ == BinaryKind::Mul && side_ != ConstSide::None) return DerivativeKind::Affine;
  if (kind_ == BinaryKind::Div && side_ == ConstSide::Right) return DerivativeKind::Affine;
  return DerivativeKind::Other;
}

void Binary::apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor& primal_out,
                           const std::vector<const Tensor*>& tin, Tensor& tout, Index components) const {
  if (derivative_kind() != DerivativeKind::Affine) Op::apply_tangent(primal_in, primal_out, tin, tout, components);
  if (side_ == ConstSide::None || kind_ == BinaryKind::Mul || kind_ == BinaryKind::Div) {
    forward(tin, tout);  // linear in the tensor operands: the same formula on tangents
    return;
  }
  // x + c, x - c, c - x, c + x: the constant is an offset; its tangent is zero.
  Binary linear(kind_, Tensor(constant_.shape(), 0.0), side_);
  linear.forward(tin, tout);
}

std::vector<Parameter> Binary::parameters() {
  if (side_ == ConstSide::None) return {};
  return {{"constant", &constant_, false, false}};
}

nlohmann::json Binary::attributes() const {
  nlohmann::json j = {{"op", binary_name(kind_)},
                      {"side", side_ == ConstSide::None   ? "none"
                               : side_ == ConstSide::Left ? "left"
                                                          : "right"}};
  if (side_ != ConstSide::None) j["shape"] = constant_.event_shape();
  return j;
}

std::string Binary::describe(const std::vector<Shape>&) const {
  if (side_ == ConstSide::None) return binary_name(kind_);
  return fmt::format("{} {} {}", binary_name(kind_), side_ == ConstSide::Left ? "const," : "const",
                     shape_string(constant_.event_shape()));
}

// ----------------------------------------------------------------------- PRelu

PRelu::PRelu(Tensor slope) : slope_(std::move(slope)) {
  if (slope_.rank() < 1 || slope_.dim(0) != 1) throw Error("PRelu: the slope must be shaped [1, ...]");
}

Shape PRelu::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("PRelu takes one input");
  if (broadcast_shapes(in[0], slope_.event_shape()) != in[0])
    throw Error(fmt::format("PRelu slope of shape {} does not broadcast to {}", shape_string(slope_.event_shape()),
                            shape_string(in[0])));
  return in[0];
}

void PRelu::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  auto off = broadcast_offsets(slope_.event_shape(), in[0]->event_shape());
  const Index n = in[0]->per_event();
  for (Index r = 0; r < in[0]->events(); ++r)
    for (Index j = 0; j < n; ++j) {
      const double x = in[0]->data()[r * n + j];
      out.data()[r * n + j] = x < 0 ? slope_.data()[off[static_cast<size_t>(j)]] * x : x;
    }
}

void PRelu::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                     const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const {
  auto off = broadcast_offsets(slope_.event_shape(), in[0]->event_shape());
  const Index n = in[0]->per_event();
  for (Index r = 0; r < in[0]->events(); ++r)
    for (Index j = 0; j < n; ++j) {
      const double x = in[0]->data()[r * n + j], g = gout.data()[r * n + j];
      const Index s = off[static_cast<size_t>(j)];
      if (gin[0]) gin[0]->data()[r * n + j] += x < 0 ? g * slope_.data()[s] : g;
      if (pgrad && x < 0) (*pgrad)[0].data()[s] += g * x;
    }
}

void PRelu::apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor&,
                          const std::vector<const Tensor*>& tin, Tensor& tout, Index components) const {
  auto off = broadcast_offsets(slope_.event_shape(), primal_in[0]->event_shape());
  const Index n = primal_in[0]->per_event();
  for (Index row = 0; row < tin[0]->events(); ++row) {
    const double* x = primal_in[0]->data() + (row / components) * n;
    const double* t = tin[0]->data() + row * n;
    double* y = tout.data() + row * n;
    for (Index j = 0; j < n; ++j) y[j] = x[j] < 0 ? slope_.data()[off[static_cast<size_t>(j)]] * t[j] : t[j];
  }
}

// --------------------------------------------------------------------- Softmax

Softmax::Softmax(Index axis, bool flatten_from_axis, bool log) : axis_(axis), flatten_(flatten_from_axis), log_(log) {}

Shape Softmax::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].empty()) throw Error(type() + " takes one input with at least one axis");
  if (axis_ != kLastAxis && (axis_ < 0 || axis_ >= static_cast<Index>(in[0].size())))
    throw Error(fmt::format("{} axis {} outside per-event shape {}", type(), axis_, shape_string(in[0])));
  return in[0];
}

nlohmann::json Softmax::attributes() const {
  if (axis_ == kLastAxis && !flatten_) return nlohmann::json::object();
  return {{"axis", axis_}, {"flatten", flatten_}};
}

void Softmax::split(const Shape& es, Index batch, Index& outer, Index& n, Index& inner) const {
  const Index axis = axis_ == kLastAxis ? static_cast<Index>(es.size()) - 1 : axis_;
  outer = batch, n = 1, inner = 1;
  for (Index d = 0; d < static_cast<Index>(es.size()); ++d) {
    const Index v = es[static_cast<size_t>(d)];
    if (d < axis)
      outer *= v;
    else if (d == axis || flatten_)
      n *= v;
    else
      inner *= v;
  }
}

void Softmax::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  Index outer, n, inner;
  split(in[0]->event_shape(), in[0]->events(), outer, n, inner);
  for (Index o = 0; o < outer; ++o)
    for (Index i = 0; i < inner; ++i) {
      const double* x = in[0]->data() + o * n * inner + i;
      double* y = out.data() + o * n * inner + i;
      double m = x[0];
      for (Index j = 1; j < n; ++j) m = std::max(m, x[j * inner]);
      if (log_) {
        double s = 0;
        for (Index j = 0; j < n; ++j) s += std::exp(x[j * inner] - m);
        const double ls = std::log(s);
        for (Index j = 0; j < n; ++j) y[j * inner] = x[j * inner] - m - ls;
      } else {
        double s = 0;
        for (Index j = 0; j < n; ++j) s += (y[j * inner] = std::exp(x[j * inner] - m));
        for (Index j = 0; j < n; ++j) y[j * inner] /= s;
      }
    }
}

void Softmax::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                       const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  Index outer, n, inner;
  split(in[0]->event_shape(), in[0]->events(), outer, n, inner);
  for (Index o = 0; o < outer; ++o)
    for (Index i = 0; i < inner; ++i) {
      const Index base = o * n * inner + i;
      const double* y = out.data() + base;
      const double* g = gout.data() + base;
      double* gx = gin[0]->data() + base;
      double s = 0;
      if (log_) {
        // y = x - logsumexp(x): dx = g - softmax * sum(g).
        for (Index j = 0; j < n; ++j) s += g[j * inner];
        for (Index j = 0; j < n; ++j) gx[j * inner] += g[j * inner] - std::exp(y[j * inner]) * s;
      } else {
        for (Index j = 0; j < n; ++j) s += g[j * inner] * y[j * inner];
        for (Index j = 0; j < n; ++j) gx[j * inner] += y[j * inner] * (g[j * inner] - s);
      }
    }
}

}  // namespace unbox
