// Gradient attributions: saliency, gradient x input, Integrated Gradients, SmoothGrad.
// Each builds, for a block of events, the points where gradients are needed ([E * S, ...]:
// interpolation steps or noisy copies, event-major) and calls input_gradient once, which
// spreads the work over the threads; sums run in a fixed order, so results do not depend
// on the thread count.
#include "unbox/explain/attribute.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "unbox/explain/lrp.hpp"
#include "unbox/naming.hpp"
#include "unbox/random.hpp"

namespace unbox {

AttributionMethod parse_attribution_method(const std::string& name) {
  if (name == "saliency" || name == "gradient") return AttributionMethod::Saliency;
  if (name == "grad-x-input" || name == "gradxinput") return AttributionMethod::GradXInput;
  if (name == "ig" || name == "integrated-gradients") return AttributionMethod::IntegratedGradients;
  if (name == "smoothgrad") return AttributionMethod::SmoothGrad;
  throw Error(
      fmt::format("unknown attribution method '{}'; known methods: saliency, grad-x-input, ig, smoothgrad", name));
}

std::string attribution_method_name(AttributionMethod m) {
  switch (m) {
    case AttributionMethod::Saliency:
      return "saliency";
    case AttributionMethod::GradXInput:
      return "grad-x-input";
    case AttributionMethod::IntegratedGradients:
      return "ig";
    case AttributionMethod::SmoothGrad:
      return "smoothgrad";
  }
  return "?";
}

namespace {
// P_n(z) by the three-term recurrence; `dp` receives P_n'(z).
double legendre(Index n, double z, double& dp) {
  double p0 = 1, p1 = 0;
  for (Index k = 1; k <= n; ++k) {
    const double p2 = p1;
    p1 = p0;
    p0 = ((2.0 * static_cast<double>(k) - 1.0) * z * p1 - (static_cast<double>(k) - 1.0) * p2) / static_cast<double>(k);
  }
  dp = static_cast<double>(n) * (z * p0 - p1) / (z * z - 1.0);
  return p0;
}
}  // namespace

void gauss_legendre01(Index n, std::vector<double>& x, std::vector<double>& w) {
  if (n < 1) throw Error(fmt::format("the number of quadrature points must be positive, got {}", n));
  constexpr double pi = 3.14159265358979323846;
  x.assign(static_cast<size_t>(n), 0.0);
  w.assign(static_cast<size_t>(n), 0.0);
  const Index m = (n + 1) / 2;
  for (Index i = 0; i < m; ++i) {
    // Newton on P_n from the Tricomi guess; the roots are symmetric about 0.
    double z = std::cos(pi * (static_cast<double>(i) + 0.75) / (static_cast<double>(n) + 0.5)), dp = 0;
    for (int it = 0; it < 100; ++it) {
      const double p = legendre(n, z, dp);
      const double dz = p / dp;
      z -= dz;
      if (std::abs(dz) < 1e-16) break;
    }
    legendre(n, z, dp);  // P_n' at the converged root
    const double wt = 2.0 / ((1.0 - z * z) * dp * dp);
    // Map [-1, 1] to [0, 1]: t = (1 + z) / 2, weight / 2.
    x[static_cast<size_t>(i)] = 0.5 * (1.0 - z);
    x[static_cast<size_t>(n - 1 - i)] = 0.5 * (1.0 + z);
    w[static_cast<size_t>(i)] = w[static_cast<size_t>(n - 1 - i)] = 0.5 * wt;
  }
}

Attribution attribute(const Network& net, const std::vector<Tensor>& inputs, const AttributeOptions& o) {
  if (inputs.empty()) throw Error("attribute: no inputs");
  Attribution a;
  a.method = attribution_method_name(o.method);
  a.target = o.neuron.empty() ? default_target(net) : o.neuron;
  const NeuronRef ref = net.resolve(a.target);
  const Index N = inputs[0].events();
  const size_t K = inputs.size();
  Index F = 0;
  std::vector<Index> pe(K), off(K);
  for (size_t k = 0; k < K; ++k) off[k] = F, pe[k] = inputs[k].per_event(), F += pe[k];
  // Feature names as LRP gives them (flat inputs: the columns; tensors NAME[i,j,...]).
  a.features = input_element_names(net);
  if (static_cast<Index>(a.features.size()) != F)
    throw Error(
        fmt::format("attribute: the inputs hold {} values per event, the network's inputs {}", F, a.features.size()));
  a.scores = Tensor({N, F}, 0.0);
  a.inputs = Tensor({N, F}, 0.0);
  for (size_t k = 0; k < K; ++k)
    for (Index e = 0; e < N; ++e)
      for (Index j = 0; j < pe[k]; ++j) a.inputs[e * F + off[k] + j] = inputs[k][e * pe[k] + j];

  if (o.method == AttributionMethod::Saliency || o.method == AttributionMethod::GradXInput) {
    auto g = input_gradient(net, inputs, ref);
    for (size_t k = 0; k < K; ++k)
      for (Index e = 0; e < N; ++e)
        for (Index j = 0; j < pe[k]; ++j) {
          const double v = g[k][e * pe[k] + j];
          a.scores[e * F + off[k] + j] = o.method == AttributionMethod::Saliency ? v : v * inputs[k][e * pe[k] + j];
        }
    return a;
  }

  // Points per event and their weights.
  std::vector<double> nodes, weights;
  std::vector<Tensor> base(K);  // IG baseline [1, ...] per input
  std::vector<std::vector<double>> sigma(K);
  Index S = 0;
  if (o.method == AttributionMethod::IntegratedGradients) {
    gauss_legendre01(o.steps, nodes, weights);
    S = o.steps;
    a.baseline = o.baseline;
    for (size_t k = 0; k < K; ++k) {
      Shape s1 = inputs[k].shape();
      s1[0] = 1;
      base[k] = Tensor(s1, 0.0);
      if (o.baseline == "zero") continue;
      if (o.baseline == "mean" && !o.baseline_values.empty()) {  // the whole sample's, given
        if (o.baseline_values.size() != K || static_cast<Index>(o.baseline_values[k].size()) != pe[k])
          throw Error("attribute: the given baseline does not fit the inputs");
        base[k] = Tensor(s1, o.baseline_values[k]);
        continue;
      }
      if (o.baseline == "mean") {
        for (Index e = 0; e < N; ++e)
          for (Index j = 0; j < pe[k]; ++j) base[k][j] += inputs[k][e * pe[k] + j] / static_cast<double>(N);
        continue;
      }
      Index ev = -1;
      if (o.baseline.rfind("event:", 0) == 0) {
        const std::string t = o.baseline.substr(6);
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), ev);
        if (ec != std::errc() || p != t.data() + t.size()) ev = -1;
      }
      if (ev < 0 || ev >= N)
        throw Error(fmt::format("bad baseline '{}': expected zero, mean or event:K with 0 <= K < {}", o.baseline, N));
      for (Index j = 0; j < pe[k]; ++j) base[k][j] = inputs[k][ev * pe[k] + j];
    }
  } else {
    if (o.samples < 1) throw Error(fmt::format("the number of SmoothGrad samples must be positive, got {}", o.samples));
    if (!(o.noise >= 0)) throw Error(fmt::format("the SmoothGrad noise must be >= 0, got {}", o.noise));
    S = o.samples;
    for (size_t k = 0; k < K && !o.noise_sigma.empty(); ++k) {  // the whole sample's, given
      if (o.noise_sigma.size() != K || static_cast<Index>(o.noise_sigma[k].size()) != pe[k])
        throw Error("attribute: the given noise does not fit the inputs");
      sigma[k] = o.noise_sigma[k];
    }
    for (size_t k = 0; k < K && o.noise_sigma.empty(); ++k) {
      sigma[k].assign(static_cast<size_t>(pe[k]), 0.0);
      for (Index j = 0; j < pe[k]; ++j) {
        double m = 0, m2 = 0;
        for (Index e = 0; e < N; ++e) m += inputs[k][e * pe[k] + j];
        m /= static_cast<double>(N);
        for (Index e = 0; e < N; ++e) m2 += (inputs[k][e * pe[k] + j] - m) * (inputs[k][e * pe[k] + j] - m);
        sigma[k][static_cast<size_t>(j)] = o.noise * std::sqrt(m2 / static_cast<double>(std::max<Index>(N, 1)));
      }
    }
  }
  if (o.method == AttributionMethod::IntegratedGradients && o.baseline != "zero")
    for (size_t k = 0; k < K; ++k) a.baseline_values.push_back(base[k].values());
  if (o.method == AttributionMethod::SmoothGrad) a.noise_sigma = sigma;
  const Index block = std::max<Index>(1, o.batch);
  std::vector<Tensor> pts(K);
  ProgressCounter progress(o.progress, N);
  for (Index b0 = 0; b0 < N; b0 += block) {
    const Index E = std::min(block, N - b0);
    for (size_t k = 0; k < K; ++k) {
      Shape s = inputs[k].shape();
      s[0] = E * S;
      pts[k].resize(s);
      for (Index e = 0; e < E; ++e) {
        const double* x = inputs[k].data() + (b0 + e) * pe[k];
        Rng rng(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(o.first_event + b0 + e) * 1315423911ULL +
                k);
        for (Index t = 0; t < S; ++t) {
          double* p = pts[k].data() + (e * S + t) * pe[k];
          if (o.method == AttributionMethod::IntegratedGradients) {
            const double al = nodes[static_cast<size_t>(t)];
            for (Index j = 0; j < pe[k]; ++j) p[j] = base[k][j] + al * (x[j] - base[k][j]);
          } else {
            for (Index j = 0; j < pe[k]; ++j) p[j] = x[j] + sigma[k][static_cast<size_t>(j)] * rng.normal_box_muller();
          }
        }
      }
    }
    auto g = input_gradient(net, pts, ref);
    for (size_t k = 0; k < K; ++k)
      for (Index e = 0; e < E; ++e)
        for (Index j = 0; j < pe[k]; ++j) {
          double acc = 0;
          for (Index t = 0; t < S; ++t) {
            const double v = g[k][(e * S + t) * pe[k] + j];
            acc += o.method == AttributionMethod::IntegratedGradients ? weights[static_cast<size_t>(t)] * v
                                                                      : v / static_cast<double>(S);
          }
          if (o.method == AttributionMethod::IntegratedGradients) acc *= inputs[k][(b0 + e) * pe[k] + j] - base[k][j];
          a.scores[(b0 + e) * F + off[k] + j] = acc;
        }
    progress.add(E);
  }
  progress.finish();
  if (o.method == AttributionMethod::IntegratedGradients) {
    Tensor fx = evaluate(net, inputs, {ref});
    std::vector<Tensor> b1(K);
    for (size_t k = 0; k < K; ++k) b1[k] = base[k];
    Tensor fb = evaluate(net, b1, {ref});
    a.f_x.assign(static_cast<size_t>(N), 0.0);
    a.f_baseline.assign(static_cast<size_t>(N), fb[0]);
    a.completeness_error.assign(static_cast<size_t>(N), 0.0);
    for (Index e = 0; e < N; ++e) {
      double sum = 0;
      for (Index j = 0; j < F; ++j) sum += a.scores[e * F + j];
      a.f_x[static_cast<size_t>(e)] = fx[e];
      a.completeness_error[static_cast<size_t>(e)] = sum - (fx[e] - fb[0]);
    }
  }
  return a;
}

void InputMoments::add(const std::vector<Tensor>& inputs) {
  if (inputs.empty() || inputs[0].events() == 0) return;
  // This part's own mean and squared deviations (two passes), then merged in.
  InputMoments part;
  const Index N = inputs[0].events();
  part.n = static_cast<double>(N);
  for (const Tensor& t : inputs) {
    const Index pe = t.per_event();
    std::vector<double> m(static_cast<size_t>(pe), 0.0), q(static_cast<size_t>(pe), 0.0);
    for (Index e = 0; e < N; ++e)
      for (Index j = 0; j < pe; ++j) m[static_cast<size_t>(j)] += t[e * pe + j];
    for (auto& v : m) v /= part.n;
    for (Index e = 0; e < N; ++e)
      for (Index j = 0; j < pe; ++j) {
        const double d = t[e * pe + j] - m[static_cast<size_t>(j)];
        q[static_cast<size_t>(j)] += d * d;
      }
    part.mean.push_back(std::move(m));
    part.m2.push_back(std::move(q));
  }
  merge(part);
}

void InputMoments::merge(const InputMoments& o) {
  if (o.n == 0) return;
  if (n == 0) {
    *this = o;
    return;
  }
  if (o.mean.size() != mean.size()) throw Error("attribute: merging input moments of different inputs");
  const double total = n + o.n;
  for (size_t k = 0; k < mean.size(); ++k) {
    if (o.mean[k].size() != mean[k].size()) throw Error("attribute: merging input moments of different inputs");
    for (size_t j = 0; j < mean[k].size(); ++j) {
      const double d = o.mean[k][j] - mean[k][j];
      mean[k][j] += d * o.n / total;
      m2[k][j] += o.m2[k][j] + d * d * n * o.n / total;
    }
  }
  n = total;
}

void InputMoments::apply(AttributeOptions& o) const {
  if (n == 0) throw Error("attribute: no events");
  o.baseline_values.clear();
  o.noise_sigma.clear();
  if (o.method == AttributionMethod::IntegratedGradients && o.baseline == "mean") o.baseline_values = mean;
  if (o.method == AttributionMethod::SmoothGrad) {
    o.noise_sigma = m2;
    for (auto& v : o.noise_sigma)
      for (auto& x : v) x = o.noise * std::sqrt(x / n);
  }
}

nlohmann::json InputMoments::to_json() const { return {{"n", n}, {"mean", mean}, {"m2", m2}}; }

InputMoments InputMoments::from_json(const nlohmann::json& j) {
  InputMoments m;
  m.n = j.at("n").get<double>();
  m.mean = j.at("mean").get<std::vector<std::vector<double>>>();
  m.m2 = j.at("m2").get<std::vector<std::vector<double>>>();
  return m;
}

}  // namespace unbox
