#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

namespace {
// SELU constants (Klambauer et al. 2017), as in PyTorch.
constexpr double kSeluLambda = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  double e = std::exp(z);
  return e / (1.0 + e);
}
}  // namespace

Activation::Activation(ActivationKind kind, double alpha) : kind_(kind), alpha_(alpha) {
  if (kind == ActivationKind::ELU && alpha == 0.0) alpha_ = 1.0;
}

std::string Activation::type() const {
  switch (kind_) {
    case ActivationKind::Identity:
      return "Identity";
    case ActivationKind::ReLU:
      return "ReLU";
    case ActivationKind::LeakyReLU:
      return "LeakyReLU";
    case ActivationKind::Tanh:
      return "Tanh";
    case ActivationKind::Sigmoid:
      return "Sigmoid";
    case ActivationKind::ELU:
      return "ELU";
    case ActivationKind::SELU:
      return "SELU";
    case ActivationKind::Softplus:
      return "Softplus";
  }
  return "?";
}

std::string Activation::describe(const std::vector<Shape>&) const {
  if (kind_ == ActivationKind::LeakyReLU || kind_ == ActivationKind::ELU) return fmt::format("{}({})", type(), alpha_);
  return type();
}

nlohmann::json Activation::attributes() const {
  if (kind_ == ActivationKind::LeakyReLU || kind_ == ActivationKind::ELU) return {{"alpha", alpha_}};
  return nlohmann::json::object();
}

bool Activation::piecewise_linear() const {
  return kind_ == ActivationKind::Identity || kind_ == ActivationKind::ReLU || kind_ == ActivationKind::LeakyReLU;
}

Shape Activation::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error(type() + " takes one input");
  return in[0];
}

double Activation::value(double z) const {
  switch (kind_) {
    case ActivationKind::Identity:
      return z;
    case ActivationKind::ReLU:
      return z > 0 ? z : 0.0;
    case ActivationKind::LeakyReLU:
      return z > 0 ? z : alpha_ * z;
    case ActivationKind::Tanh:
      return std::tanh(z);
    case ActivationKind::Sigmoid:
      return sigmoid(z);
    case ActivationKind::ELU:
      return z > 0 ? z : alpha_ * std::expm1(z);
    case ActivationKind::SELU:
      return kSeluLambda * (z > 0 ? z : kSeluAlpha * std::expm1(z));
    case ActivationKind::Softplus:
      return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
  }
  return z;
}

// At the kinks of the piecewise-linear functions (z == 0) the derivative is taken from
// the left for ReLU (0) and LeakyReLU (alpha), as PyTorch's autograd does.
void Activation::derivatives(double z, double& d1, double& d2, double& d3) const {
  d2 = d3 = 0.0;
  switch (kind_) {
    case ActivationKind::Identity:
      d1 = 1.0;
      return;
    case ActivationKind::ReLU:
      d1 = z > 0 ? 1.0 : 0.0;
      return;
    case ActivationKind::LeakyReLU:
      d1 = z > 0 ? 1.0 : alpha_;
      return;
    case ActivationKind::Tanh: {
      double t = std::tanh(z), s = 1.0 - t * t;
      d1 = s;
      d2 = -2.0 * t * s;
      d3 = -2.0 * s * (1.0 - 3.0 * t * t);
      return;
    }
    case ActivationKind::Sigmoid:
    case ActivationKind::Softplus: {
      // Softplus' derivatives are the sigmoid's shifted by one order.
      double s = sigmoid(z), q = s * (1.0 - s);
      double q1 = q * (1.0 - 2.0 * s), q2 = q * (1.0 - 6.0 * s + 6.0 * s * s);
      if (kind_ == ActivationKind::Sigmoid) {
        d1 = q, d2 = q1, d3 = q2;
      } else {
        d1 = s, d2 = q, d3 = q1;
      }
      return;
    }
    case ActivationKind::ELU:
      if (z > 0) {
        d1 = 1.0;
      } else {
        d1 = d2 = d3 = alpha_ * std::exp(z);
      }
      return;
    case ActivationKind::SELU:
      if (z > 0) {
        d1 = kSeluLambda;
      } else {
        d1 = d2 = d3 = kSeluLambda * kSeluAlpha * std::exp(z);
      }
      return;
  }
}

void Activation::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const double* x = in[0]->data();
  double* y = out.data();
  const Index n = in[0]->size();
  switch (kind_) {
    case ActivationKind::Identity:
      std::copy_n(x, n, y);
      return;
    case ActivationKind::ReLU:
      Eigen::Map<Eigen::ArrayXd>(y, n) = Eigen::Map<const Eigen::ArrayXd>(x, n).max(0.0);
      return;
    case ActivationKind::LeakyReLU: {
      // Branch-free: for 0 <= alpha <= 1, max(z, alpha z) is z for z > 0 and alpha z otherwise.
      auto z = Eigen::Map<const Eigen::ArrayXd>(x, n);
      if (alpha_ >= 0 && alpha_ <= 1) {
        Eigen::Map<Eigen::ArrayXd>(y, n) = z.max(alpha_ * z);
      } else {
        Eigen::Map<Eigen::ArrayXd>(y, n) = (z > 0).select(z, alpha_ * z);
      }
      return;
    }
    case ActivationKind::Tanh:
      Eigen::Map<Eigen::ArrayXd>(y, n) = Eigen::Map<const Eigen::ArrayXd>(x, n).tanh();
      return;
    default:
      for (Index i = 0; i < n; ++i) y[i] = value(x[i]);
  }
}

void Activation::backward(const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& gout,
                          const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const double* x = in[0]->data();
  const double* y = out.data();
  const double* g = gout.data();
  double* gx = gin[0]->data();
  const Index n = in[0]->size();
  switch (kind_) {
    case ActivationKind::Identity:
      for (Index i = 0; i < n; ++i) gx[i] += g[i];
      return;
    case ActivationKind::ReLU: {
      auto z = Eigen::Map<const Eigen::ArrayXd>(x, n);
      auto gy = Eigen::Map<const Eigen::ArrayXd>(g, n);
      Eigen::Map<Eigen::ArrayXd>(gx, n) += (z > 0).select(gy, 0.0);
      return;
    }
    case ActivationKind::LeakyReLU: {
      auto z = Eigen::Map<const Eigen::ArrayXd>(x, n);
      auto gy = Eigen::Map<const Eigen::ArrayXd>(g, n);
      Eigen::Map<Eigen::ArrayXd>(gx, n) += (z > 0).select(gy, alpha_ * gy);
      return;
    }
    case ActivationKind::Tanh:
      for (Index i = 0; i < n; ++i) gx[i] += g[i] * (1.0 - y[i] * y[i]);
      return;
    case ActivationKind::Sigmoid:
      for (Index i = 0; i < n; ++i) gx[i] += g[i] * y[i] * (1.0 - y[i]);
      return;
    default: {
      double d1, d2, d3;
      for (Index i = 0; i < n; ++i) {
        derivatives(x[i], d1, d2, d3);
        gx[i] += g[i] * d1;
      }
    }
  }
}

Activation parse_activation(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double alpha = -1.0;
  if (auto p = t.find('('); p != std::string::npos && t.back() == ')') {
    try {
      alpha = std::stod(t.substr(p + 1, t.size() - p - 2));
    } catch (...) {
      throw Error(fmt::format("bad activation '{}': expected a number in parentheses", text));
    }
    t = t.substr(0, p);
  }
  std::erase(t, '_');
  if (t == "identity" || t == "linear") return Activation(ActivationKind::Identity);
  if (t == "relu") return Activation(ActivationKind::ReLU);
  if (t == "leakyrelu") return Activation(ActivationKind::LeakyReLU, alpha >= 0 ? alpha : 0.1);
  if (t == "tanh") return Activation(ActivationKind::Tanh);
  if (t == "sigmoid") return Activation(ActivationKind::Sigmoid);
  if (t == "elu") return Activation(ActivationKind::ELU, alpha >= 0 ? alpha : 1.0);
  if (t == "selu") return Activation(ActivationKind::SELU);
  if (t == "softplus") return Activation(ActivationKind::Softplus);
  throw Error(
      fmt::format("unknown activation '{}'; known: relu, leakyrelu(alpha), tanh, sigmoid, elu(alpha), selu, "
                  "softplus, identity",
                  text));
}

}  // namespace unbox
