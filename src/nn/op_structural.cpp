// Standardize, Concat, and the op factory used by model files and ONNX.
#include <fmt/format.h>

#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

std::vector<const Tensor*> Op::parameter_values() const {
  std::vector<const Tensor*> out;
  for (auto& p : const_cast<Op*>(this)->parameters()) out.push_back(p.value);
  return out;
}

std::string Op::describe(const std::vector<Shape>&) const { return type(); }

void Op::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>&, Tensor&,
                       Index) const {
  throw Error(fmt::format("operation {} has no linear tangent map", type()));
}

// ---------------------------------------------------------------- Standardize

Standardize::Standardize(Tensor mean, Tensor stddev) : mean_(std::move(mean)), std_(std::move(stddev)) {
  if (mean_.shape() != std_.shape()) throw Error("Standardize: mean and std shapes differ");
  for (double s : std_.values())
    if (!(s > 0)) throw Error("Standardize: every standard deviation must be positive");
}

Standardize::Standardize(const Shape& event_shape) {
  Shape s{1};
  s.insert(s.end(), event_shape.begin(), event_shape.end());
  mean_ = Tensor(s, 0.0);
  std_ = Tensor(s, 1.0);
}

Shape Standardize::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Standardize takes one input");
  if (shape_size(in[0]) != mean_.per_event())
    throw Error(fmt::format("Standardize for {} values per event fed per-event shape {}", mean_.per_event(),
                            shape_string(in[0])));
  return in[0];
}

void Standardize::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index batch = in[0]->events(), n = mean_.per_event();
  Eigen::Map<const Eigen::RowVectorXd> mu(mean_.data(), n), sd(std_.data(), n);
  Eigen::RowVectorXd inv = sd.cwiseInverse();
  MatrixMap y(out.data(), batch, n);
  y = (ConstMatrixMap(in[0]->data(), batch, n).rowwise() - mu).array().rowwise() * inv.array();
}

void Standardize::backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor& gout,
                           const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Index batch = gout.events(), n = mean_.per_event();
  Eigen::RowVectorXd inv = Eigen::Map<const Eigen::RowVectorXd>(std_.data(), n).cwiseInverse();
  MatrixMap(gin[0]->data(), batch, n).array() += ConstMatrixMap(gout.data(), batch, n).array().rowwise() * inv.array();
}

void Standardize::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                                Tensor& tout, Index) const {
  const Index rows = tin[0]->events(), n = mean_.per_event();
  Eigen::RowVectorXd inv = Eigen::Map<const Eigen::RowVectorXd>(std_.data(), n).cwiseInverse();
  MatrixMap(tout.data(), rows, n) = ConstMatrixMap(tin[0]->data(), rows, n).array().rowwise() * inv.array();
}

std::vector<Parameter> Standardize::parameters() {
  return {{"mean", &mean_, false, false}, {"std", &std_, false, false}};
}

nlohmann::json Standardize::attributes() const { return {{"shape", mean_.event_shape()}}; }

void Standardize::fit(const Tensor& data) {
  const Index n = mean_.per_event(), events = data.events();
  if (data.per_event() != n) throw Error("Standardize::fit: data has the wrong width");
  for (Index j = 0; j < n; ++j) {
    // Two passes for accuracy; a fixed order keeps it reproducible.
    double sum = 0;
    for (Index e = 0; e < events; ++e) sum += data.at(e, j);
    double mu = events ? sum / static_cast<double>(events) : 0.0;
    double ss = 0;
    for (Index e = 0; e < events; ++e) ss += (data.at(e, j) - mu) * (data.at(e, j) - mu);
    double sd = events > 1 ? std::sqrt(ss / static_cast<double>(events)) : 0.0;
    mean_[j] = mu;
    std_[j] = sd > 0 && std::isfinite(sd) ? sd : 1.0;
  }
}

// --------------------------------------------------------------------- Concat

Shape Concat::infer_shape(const std::vector<Shape>& in) const {
  if (in.empty()) throw Error("Concat needs at least one input");
  Shape out = in[0];
  if (axis_ < 0 || axis_ >= static_cast<Index>(out.size()))
    throw Error(fmt::format("Concat axis {} outside per-event shape {}", axis_, shape_string(out)));
  for (size_t k = 1; k < in.size(); ++k) {
    if (in[k].size() != out.size()) throw Error("Concat inputs differ in rank");
    for (size_t d = 0; d < out.size(); ++d)
      if (static_cast<Index>(d) != axis_ && in[k][d] != out[d])
        throw Error(fmt::format("Concat inputs {} and {} differ outside axis {}", shape_string(in[0]),
                                shape_string(in[k]), axis_));
    out[static_cast<size_t>(axis_)] += in[k][static_cast<size_t>(axis_)];
  }
  return out;
}

namespace {
// Row-major: each input is [outer, block] with outer = batch x dims before the axis.
Index outer_size(const Tensor& t, Index axis) {  // batch times dims before axis
  Index n = t.events();
  for (Index d = 1; d <= axis; ++d) n *= t.dim(d);
  return n;
}
}  // namespace

void Concat::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index outer = outer_size(*in[0], axis_);
  const Index out_block = out.size() / outer;
  Index offset = 0;
  for (const Tensor* t : in) {
    const Index block = t->size() / outer;
    for (Index o = 0; o < outer; ++o) std::copy_n(t->data() + o * block, block, out.data() + o * out_block + offset);
    offset += block;
  }
}

void Concat::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                      const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  const Index outer = outer_size(*in[0], axis_);
  const Index out_block = out.size() / outer;
  Index offset = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    const Index block = in[k]->size() / outer;
    if (gin[k])
      for (Index o = 0; o < outer; ++o) {
        const double* g = gout.data() + o * out_block + offset;
        double* d = gin[k]->data() + o * block;
        for (Index j = 0; j < block; ++j) d[j] += g[j];
      }
    offset += block;
  }
}

void Concat::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                           Tensor& tout, Index) const {
  forward(tin, tout);  // concatenation is linear
}

// ---------------------------------------------------------------- the factory

std::unique_ptr<Op> make_op(const std::string& type, const nlohmann::json& a) {
  auto shape_of = [&](const char* key) { return a.at(key).get<Shape>(); };
  if (type == "Dense") return std::make_unique<Dense>(a.at("in").get<Index>(), a.at("out").get<Index>());
  if (type == "Standardize") return std::make_unique<Standardize>(shape_of("shape"));
  if (type == "Concat") return std::make_unique<Concat>(a.value("axis", Index{0}));
  static const std::pair<const char*, ActivationKind> acts[] = {
      {"Identity", ActivationKind::Identity},   {"ReLU", ActivationKind::ReLU},
      {"LeakyReLU", ActivationKind::LeakyReLU}, {"Tanh", ActivationKind::Tanh},
      {"Sigmoid", ActivationKind::Sigmoid},     {"ELU", ActivationKind::ELU},
      {"SELU", ActivationKind::SELU},           {"Softplus", ActivationKind::Softplus}};
  for (auto& [name, kind] : acts)
    if (type == name) return std::make_unique<Activation>(kind, a.value("alpha", 0.0));
  // Convolution, pooling, BatchNorm, broadcasting arithmetic, shape ops (ops/*.hpp).
  std::unique_ptr<Op> make_op_more(const std::string&, const nlohmann::json&);
  if (auto op = make_op_more(type, a)) return op;
  std::unique_ptr<Op> make_op_preprocess(const std::string&, const nlohmann::json&);  // ops/preprocess.hpp
  if (auto op = make_op_preprocess(type, a)) return op;
  throw Error(fmt::format("unknown operation '{}' in model file", type));
}

}  // namespace unbox
