// Operations on particle lists (ops/preprocess.hpp, ops/linear.hpp, ops/pooling.hpp): per-feature standardization
// shared by all particles, a dense layer on the last axis, the masked particle sum/mean, and the ONNX reductions; and
// the Particle Flow Network builder.
#include "unbox/ops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace unbox {

// ------------------------------------------------------- ParticleStandardize

ParticleStandardize::ParticleStandardize(Index particles, Index features, Index mask_feature)
    : particles_(particles),
      features_(features),
      mask_feature_(mask_feature),
      mean_({features}, 0.0),
      std_({features}, 1.0) {
  if (particles <= 0 || features <= 0)
    throw Error(
        fmt::format("ParticleStandardize needs positive sizes, got {} particles x {} features", particles, features));
  if (mask_feature >= features)
    throw Error(fmt::format("mask feature {} outside the {} features per particle", mask_feature, features));
}

Shape ParticleStandardize::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("ParticleStandardize takes one input");
  if (shape_size(in[0]) != particles_ * features_)
    throw Error(fmt::format("ParticleStandardize of {} particles x {} features fed per-event shape {}", particles_,
                            features_, shape_string(in[0])));
  return {particles_, features_};
}

void ParticleStandardize::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index rows = in[0]->size() / features_;
  const double* x = in[0]->data();
  double* y = out.data();
  for (Index r = 0; r < rows; ++r)
    for (Index f = 0; f < features_; ++f) y[r * features_ + f] = (x[r * features_ + f] - mean_[f]) / std_[f];
}

void ParticleStandardize::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                                   const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Index rows = in[0]->size() / features_;
  const double* g = gout.data();
  double* d = gin[0]->data();
  for (Index r = 0; r < rows; ++r)
    for (Index f = 0; f < features_; ++f) d[r * features_ + f] += g[r * features_ + f] / std_[f];
}

void ParticleStandardize::apply_tangent(const std::vector<const Tensor*>&, const Tensor&,
                                        const std::vector<const Tensor*>& tin, Tensor& tout, Index) const {
  const Index rows = tin[0]->size() / features_;
  const double* x = tin[0]->data();
  double* y = tout.data();
  for (Index r = 0; r < rows; ++r)
    for (Index f = 0; f < features_; ++f) y[r * features_ + f] = x[r * features_ + f] / std_[f];
}

std::vector<Parameter> ParticleStandardize::parameters() {
  return {{"mean", &mean_, false, false}, {"std", &std_, false, false}};
}

nlohmann::json ParticleStandardize::attributes() const {
  return {{"particles", particles_}, {"features", features_}, {"mask_feature", mask_feature_}};
}

std::string ParticleStandardize::describe(const std::vector<Shape>&) const {
  return fmt::format("ParticleStandardize -> [{}, {}]", particles_, features_);
}

void ParticleStandardize::fit(const Tensor& data) {
  if (data.per_event() != particles_ * features_)
    throw Error(fmt::format("ParticleStandardize: data has {} values per event, expected {} particles x {} features",
                            data.per_event(), particles_, features_));
  std::vector<double> sum(static_cast<size_t>(features_), 0.0), sq(static_cast<size_t>(features_), 0.0);
  double count = 0;
  const Index rows = data.size() / features_;
  auto real = [&](Index r) { return mask_feature_ < 0 || data[r * features_ + mask_feature_] != 0.0; };
  for (Index r = 0; r < rows; ++r)
    if (real(r)) {
      ++count;
      for (Index f = 0; f < features_; ++f) sum[static_cast<size_t>(f)] += data[r * features_ + f];
    }
  for (Index f = 0; f < features_; ++f) mean_[f] = count > 0 ? sum[static_cast<size_t>(f)] / count : 0.0;
  for (Index r = 0; r < rows; ++r)
    if (real(r))
      for (Index f = 0; f < features_; ++f) {
        const double d = data[r * features_ + f] - mean_[f];
        sq[static_cast<size_t>(f)] += d * d;
      }
  for (Index f = 0; f < features_; ++f) {
    const double s = count > 0 ? std::sqrt(sq[static_cast<size_t>(f)] / count) : 0.0;
    std_[f] = s > 0 && std::isfinite(s) ? s : 1.0;  // a constant feature carries no information
  }
}

// -------------------------------------------------------------- ParticleDense

ParticleDense::ParticleDense(Index in, Index out) : in_(in), out_(out), weight_({out, in}), bias_({out}) {
  if (in <= 0 || out <= 0) throw Error(fmt::format("ParticleDense needs positive sizes, got {} -> {}", in, out));
}

Shape ParticleDense::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("ParticleDense takes one input");
  if (in[0].empty() || in[0].back() != in_)
    throw Error(fmt::format("ParticleDense {} -> {} needs a last axis of {}; got per-event shape {}", in_, out_, in_,
                            shape_string(in[0])));
  Shape s = in[0];
  s.back() = out_;
  return s;
}

void ParticleDense::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index rows = in[0]->size() / in_;
  MatrixMap y(out.data(), rows, out_);
  y.noalias() = ConstMatrixMap(in[0]->data(), rows, in_) * ConstMatrixMap(weight_.data(), out_, in_).transpose();
  y.rowwise() += Eigen::Map<const Eigen::RowVectorXd>(bias_.data(), out_);
}

void ParticleDense::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                             const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const {
  const Index rows = in[0]->size() / in_;
  ConstMatrixMap g(gout.data(), rows, out_);
  ConstMatrixMap w(weight_.data(), out_, in_);
  if (gin[0]) MatrixMap(gin[0]->data(), rows, in_).noalias() += g * w;
  if (pgrad) {
    MatrixMap((*pgrad)[0].data(), out_, in_).noalias() += g.transpose() * ConstMatrixMap(in[0]->data(), rows, in_);
    // In row order (not Eigen's alignment-dependent reduction): training stays independent of threads.
    double* gb = (*pgrad)[1].data();
    const double* gp = gout.data();
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < out_; ++j) gb[j] += gp[r * out_ + j];
  }
}

void ParticleDense::apply_tangent(const std::vector<const Tensor*>&, const Tensor&,
                                  const std::vector<const Tensor*>& tin, Tensor& tout, Index) const {
  const Index rows = tin[0]->size() / in_;
  MatrixMap(tout.data(), rows, out_).noalias() =
      ConstMatrixMap(tin[0]->data(), rows, in_) * ConstMatrixMap(weight_.data(), out_, in_).transpose();
}

std::vector<Parameter> ParticleDense::parameters() {
  return {{"weight", &weight_, true, true}, {"bias", &bias_, true, false}};
}

std::string ParticleDense::describe(const std::vector<Shape>&) const {
  return fmt::format("ParticleDense {} -> {} (per particle)", in_, out_);
}

// --------------------------------------------------------------- ParticlePool

ParticlePool::ParticlePool(Index particles, Index features, Index mask_feature, bool mean)
    : particles_(particles), features_(features), mask_feature_(mask_feature), mean_(mean) {
  if (particles <= 0 || features <= 0)
    throw Error(fmt::format("ParticlePool needs positive sizes, got {} particles x {} features", particles, features));
  if (mask_feature >= features)
    throw Error(fmt::format("mask feature {} outside the {} features per particle", mask_feature, features));
}

Shape ParticlePool::infer_shape(const std::vector<Shape>& in) const {
  const size_t want = mask_feature_ >= 0 ? 2 : 1;
  if (in.size() != want)
    throw Error(fmt::format("ParticlePool takes {} input(s): the per-particle values{}", want,
                            want == 2 ? " and the raw particle columns (for the mask)" : ""));
  if (in[0].size() != 2 || in[0][0] != particles_)
    throw Error(fmt::format("ParticlePool over {} particles fed per-event shape {}; expected [{}, L]", particles_,
                            shape_string(in[0]), particles_));
  if (want == 2 && shape_size(in[1]) != particles_ * features_)
    throw Error(fmt::format("ParticlePool mask source has per-event shape {}; expected {} particles x {} features",
                            shape_string(in[1]), particles_, features_));
  return {in[0][1]};
}

void ParticlePool::weights(const Tensor* source, Index e, std::vector<double>& w) const {
  w.assign(static_cast<size_t>(particles_), 1.0);
  double count = static_cast<double>(particles_);
  if (mask_feature_ >= 0) {
    const double* s = source->data() + e * particles_ * features_;
    count = 0;
    for (Index p = 0; p < particles_; ++p) {
      const bool real = s[p * features_ + mask_feature_] != 0.0;
      w[static_cast<size_t>(p)] = real ? 1.0 : 0.0;
      count += real;
    }
  }
  if (mean_)
    for (double& v : w) v = count > 0 ? v / count : 0.0;
}

void ParticlePool::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index batch = in[0]->events(), L = in[0]->per_event() / particles_;
  std::vector<double> w;
  for (Index e = 0; e < batch; ++e) {
    weights(mask_feature_ >= 0 ? in[1] : nullptr, e, w);
    const double* x = in[0]->data() + e * particles_ * L;
    double* y = out.data() + e * L;
    std::fill_n(y, L, 0.0);
    for (Index p = 0; p < particles_; ++p) {
      const double wp = w[static_cast<size_t>(p)];
      if (wp == 0.0) continue;
      for (Index l = 0; l < L; ++l) y[l] += wp * x[p * L + l];
    }
  }
}

void ParticlePool::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                            const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  // The mask source gets no gradient: the mask is piecewise constant in it.
  if (!gin[0]) return;
  const Index batch = in[0]->events(), L = in[0]->per_event() / particles_;
  std::vector<double> w;
  for (Index e = 0; e < batch; ++e) {
    weights(mask_feature_ >= 0 ? in[1] : nullptr, e, w);
    const double* g = gout.data() + e * L;
    double* d = gin[0]->data() + e * particles_ * L;
    for (Index p = 0; p < particles_; ++p) {
      const double wp = w[static_cast<size_t>(p)];
      if (wp == 0.0) continue;
      for (Index l = 0; l < L; ++l) d[p * L + l] += wp * g[l];
    }
  }
}

void ParticlePool::apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor&,
                                 const std::vector<const Tensor*>& tin, Tensor& tout, Index components) const {
  const Index batch = primal_in[0]->events(), L = primal_in[0]->per_event() / particles_;
  std::vector<double> w;
  for (Index e = 0; e < batch; ++e) {
    weights(mask_feature_ >= 0 ? primal_in[1] : nullptr, e, w);
    for (Index c = 0; c < components; ++c) {
      const Index row = e * components + c;
      const double* x = tin[0]->data() + row * particles_ * L;
      double* y = tout.data() + row * L;
      std::fill_n(y, L, 0.0);
      for (Index p = 0; p < particles_; ++p) {
        const double wp = w[static_cast<size_t>(p)];
        if (wp == 0.0) continue;
        for (Index l = 0; l < L; ++l) y[l] += wp * x[p * L + l];
      }
    }
  }
}

nlohmann::json ParticlePool::attributes() const {
  return {{"particles", particles_}, {"features", features_}, {"mask_feature", mask_feature_}, {"mean", mean_}};
}

std::string ParticlePool::describe(const std::vector<Shape>&) const {
  return fmt::format("ParticlePool {} over {} particles{}", mean_ ? "mean" : "sum", particles_,
                     mask_feature_ >= 0 ? fmt::format(" (padding: feature {} == 0)", mask_feature_) : "");
}

// --------------------------------------------------------------------- Reduce

Reduce::Reduce(ReduceKind kind, std::vector<Index> axes, bool keepdims)
    : kind_(kind), axes_(std::move(axes)), keepdims_(keepdims) {
  std::sort(axes_.begin(), axes_.end());
  axes_.erase(std::unique(axes_.begin(), axes_.end()), axes_.end());
}

Shape Reduce::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error(fmt::format("{} takes one input", type()));
  const auto r = static_cast<Index>(in[0].size());
  Shape out;
  for (Index d = 0; d < r; ++d) {
    const bool reduced = axes_.empty() || std::binary_search(axes_.begin(), axes_.end(), d);
    if (!reduced)
      out.push_back(in[0][static_cast<size_t>(d)]);
    else if (keepdims_)
      out.push_back(1);
  }
  for (Index a : axes_)
    if (a < 0 || a >= r)
      throw Error(fmt::format("{} over axis {} of per-event shape {}", type(), a, shape_string(in[0])));
  return out;
}

std::vector<Index> Reduce::target_map(const Shape& in_event) const {
  const size_t r = in_event.size();
  std::vector<Index> stride(r, 0);  // output stride of each input axis, 0 when reduced
  Index s = 1;
  for (size_t d = r; d-- > 0;) {
    const bool reduced = axes_.empty() || std::binary_search(axes_.begin(), axes_.end(), static_cast<Index>(d));
    if (!reduced) {
      stride[d] = s;
      s *= in_event[d];
    }
  }
  std::vector<Index> map(static_cast<size_t>(shape_size(in_event)));
  std::vector<Index> idx(r, 0);
  Index off = 0;
  for (auto& m : map) {
    m = off;
    for (size_t d = r; d-- > 0;) {  // odometer
      off += stride[d];
      if (++idx[d] < in_event[d]) break;
      off -= stride[d] * in_event[d];
      idx[d] = 0;
    }
  }
  return map;
}

void Reduce::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Index batch = in[0]->events(), n = in[0]->per_event(), m = out.per_event();
  const std::vector<Index> map = target_map(in[0]->event_shape());
  const double scale = kind_ == ReduceKind::Mean ? static_cast<double>(m) / static_cast<double>(n) : 1.0;
  out.fill(0.0);
  for (Index e = 0; e < batch; ++e) {
    const double* x = in[0]->data() + e * n;
    double* y = out.data() + e * m;
    for (Index j = 0; j < n; ++j) y[map[static_cast<size_t>(j)]] += x[j];
    if (scale != 1.0)
      for (Index k = 0; k < m; ++k) y[k] *= scale;
  }
}

void Reduce::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                      const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Index batch = in[0]->events(), n = in[0]->per_event(), m = out.per_event();
  const std::vector<Index> map = target_map(in[0]->event_shape());
  const double scale = kind_ == ReduceKind::Mean ? static_cast<double>(m) / static_cast<double>(n) : 1.0;
  for (Index e = 0; e < batch; ++e) {
    const double* g = gout.data() + e * m;
    double* d = gin[0]->data() + e * n;
    for (Index j = 0; j < n; ++j) d[j] += scale * g[map[static_cast<size_t>(j)]];
  }
}

void Reduce::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                           Tensor& tout, Index) const {
  forward(tin, tout);  // linear
}

// -------------------------------------------------------------------- factory

std::unique_ptr<Op> make_op_particles(const std::string& type, const nlohmann::json& a) {
  if (type == "ParticleStandardize")
    return std::make_unique<ParticleStandardize>(a.at("particles").get<Index>(), a.at("features").get<Index>(),
                                                 a.at("mask_feature").get<Index>());
  if (type == "ParticleDense")
    return std::make_unique<ParticleDense>(a.at("in").get<Index>(), a.at("out").get<Index>());
  if (type == "ParticlePool")
    return std::make_unique<ParticlePool>(a.at("particles").get<Index>(), a.at("features").get<Index>(),
                                          a.at("mask_feature").get<Index>(), a.at("mean").get<bool>());
  if (type == "ReduceSum" || type == "ReduceMean")
    return std::make_unique<Reduce>(type == "ReduceSum" ? ReduceKind::Sum : ReduceKind::Mean,
                                    a.at("axes").get<std::vector<Index>>(), a.at("keepdims").get<bool>());
  return nullptr;
}

// ------------------------------------------------------ Particle Flow Network

void particle_grid(const std::vector<std::string>& features, Index& particles, Index& per_particle,
                   Index& mask_feature) {
  auto split = [&](const std::string& name, std::string& particle, std::string& feature) {
    const auto u = name.find('_');
    if (u == std::string::npos || u == 0 || u + 1 == name.size())
      throw Error(fmt::format("particle column '{}' is not named <particle>_<feature> (like p0_pt)", name));
    particle = name.substr(0, u);
    feature = name.substr(u + 1);
  };
  if (features.empty()) throw Error("a particle flow network needs particle columns like p0_pt, p0_eta, ...");
  std::string p0, f;
  split(features[0], p0, f);
  std::vector<std::string> names;
  for (const auto& c : features) {
    std::string p, q;
    split(c, p, q);
    if (p != p0) break;
    names.push_back(q);
  }
  per_particle = static_cast<Index>(names.size());
  if (features.size() % names.size() != 0)
    throw Error(fmt::format("{} particle columns do not split into particles of {} features ({})", features.size(),
                            names.size(), fmt::join(names, ", ")));
  particles = static_cast<Index>(features.size() / names.size());
  std::map<std::string, bool> seen;
  for (Index p = 0; p < particles; ++p) {
    std::string prefix;
    for (Index k = 0; k < per_particle; ++k) {
      std::string pp, q;
      const std::string& c = features[static_cast<size_t>(p * per_particle + k)];
      split(c, pp, q);
      if (k == 0) prefix = pp;
      if (pp != prefix || q != names[static_cast<size_t>(k)])
        throw Error(
            fmt::format("particle column '{}' breaks the particle-major order: expected {}_{} (columns "
                        "must be p0_a, p0_b, ..., p1_a, p1_b, ...)",
                        c, prefix, names[static_cast<size_t>(k)]));
    }
    if (seen[prefix]) throw Error(fmt::format("particle '{}' appears twice among the particle columns", prefix));
    seen[prefix] = true;
  }
  mask_feature = 0;
  for (Index k = 0; k < per_particle; ++k)
    if (names[static_cast<size_t>(k)] == "pt") mask_feature = k;
}

Network build_particle_flow_network(const std::vector<std::string>& features, const std::vector<Index>& phi,
                                    const std::vector<Index>& hidden, const Activation& activation, bool tanh_output,
                                    bool mean) {
  Index P, F, mask;
  particle_grid(features, P, F, mask);
  if (phi.empty()) throw Error("a particle flow network needs at least one per-particle layer");
  Network net;
  const int x = net.add_input("x", {P * F}, features);
  int last = net.add_node("particles", std::make_unique<ParticleStandardize>(P, F, mask), {x});
  Index width = F;
  int k = 0;
  for (Index w : phi) {
    ++k;
    last = net.add_node(fmt::format("phi{}", k), std::make_unique<ParticleDense>(width, w), {last});
    last = net.add_node(fmt::format("phi{}_act", k), std::make_unique<Activation>(activation), {last});
    width = w;
  }
  last = net.add_node("pool", std::make_unique<ParticlePool>(P, F, mask, mean), {last, x});
  k = 0;
  for (Index w : hidden) {
    ++k;
    last = net.add_node(fmt::format("dense{}", k), std::make_unique<Dense>(width, w), {last});
    last = net.add_node(fmt::format("act{}", k), std::make_unique<Activation>(activation), {last});
    width = w;
  }
  last = net.add_node("dense_out", std::make_unique<Dense>(width, 1), {last});
  last = net.add_node(
      "output", std::make_unique<Activation>(tanh_output ? ActivationKind::Tanh : ActivationKind::Sigmoid), {last});
  net.set_output(last);
  return net;
}

}  // namespace unbox
