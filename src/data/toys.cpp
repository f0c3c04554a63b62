// Built-in toy data sets (Roxlo & Reece section 2.5; Wunsch et al., Taylor-expansion poster).
//
// Reproducibility: a seed must give the same events on every machine and compiler, so
// we use std::mt19937_64 (its output sequence is fixed by the standard) with our own
// transforms. std::uniform_real_distribution, std::normal_distribution and std::shuffle
// are implementation-defined and differ between libstdc++, libc++ and MSVC. The normal
// sampler (Marsaglia polar) needs only log and sqrt; the islands map needs no libm at all.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <random>

#include "unbox/toys.hpp"

namespace unbox {

namespace {

class ToyRng {
 public:
  explicit ToyRng(std::uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) on the 53-bit grid: every value is exactly representable.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Unbiased integer in [0, n) by rejection (Fisher-Yates needs exact uniformity).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = -n % n;  // 2^64 mod n: reject the incomplete last block
    for (;;) {
      const std::uint64_t r = engine_();
      if (r >= limit) return r % n;
    }
  }

  // Standard normal, Marsaglia polar method; the second variate of each pair is kept.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = uniform(-1.0, 1.0);
      v = uniform(-1.0, 1.0);
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// ---- islands ---------------------------------------------------------------------------
// Six islands, loosely a Hawaiian chain. Each is star-shaped around its centre with radius
// r(theta) = r0 (1 + sum_{k=2..5} A_k cos(k theta) + B_k sin(k theta)). cos(k theta) and
// sin(k theta) come from cos(theta), sin(theta) by the angle-addition recurrence, so the
// map uses only + * / sqrt (exactly rounded in IEEE 754) and is identical everywhere.
// Land fraction of the unit square: about 0.31 (checked by tests/data/test_toys.cpp).
struct Island {
  double cx, cy, r0;
  std::array<double, 4> a;  // A_2..A_5
  std::array<double, 4> b;  // B_2..B_5
  double r_max;             // r0 (1 + sum |A_k| + |B_k|): a cheap bounding circle
};

constexpr Island make_island(double cx, double cy, double r0, std::array<double, 4> a, std::array<double, 4> b) {
  double m = 1.0;
  for (int k = 0; k < 4; ++k) m += (a[k] < 0 ? -a[k] : a[k]) + (b[k] < 0 ? -b[k] : b[k]);
  return Island{cx, cy, r0, a, b, r0 * m};
}

constexpr std::array<Island, 6> kIslands = {
    make_island(0.17, 0.80, 0.1284, {0.10, 0.06, 0.03, -0.02}, {0.05, -0.08, 0.04, 0.02}),   // Kauai
    make_island(0.08, 0.50, 0.0589, {0.25, 0.04, 0.00, 0.02}, {-0.05, 0.02, -0.03, 0.00}),   // Niihau
    make_island(0.47, 0.80, 0.1338, {-0.08, 0.07, -0.05, 0.02}, {0.18, 0.05, 0.03, -0.03}),  // Oahu
    make_island(0.80, 0.70, 0.0910, {0.45, 0.05, 0.08, 0.00}, {0.10, -0.06, 0.02, 0.03}),    // Molokai (long)
    make_island(0.35, 0.42, 0.1284, {0.12, 0.15, -0.04, 0.03}, {-0.15, 0.06, 0.06, 0.02}),   // Maui
    make_island(0.73, 0.27, 0.1873, {0.08, 0.12, 0.05, -0.03}, {0.12, -0.05, 0.05, 0.02}),   // Big Island
};

bool on_island(const Island& is, double x, double y) {
  const double dx = x - is.cx, dy = y - is.cy;
  const double rho2 = dx * dx + dy * dy;
  if (rho2 >= is.r_max * is.r_max) return false;
  if (rho2 == 0.0) return true;
  const double rho = std::sqrt(rho2);
  const double c1 = dx / rho, s1 = dy / rho;
  // k = 2..5 by repeated rotation by theta.
  double ck = c1 * c1 - s1 * s1, sk = 2.0 * c1 * s1;
  double r = 1.0;
  for (int k = 0; k < 4; ++k) {
    r += is.a[k] * ck + is.b[k] * sk;
    const double cn = ck * c1 - sk * s1;
    sk = sk * c1 + ck * s1;
    ck = cn;
  }
  return rho < is.r0 * r;
}

// ---- the toys ----------------------------------------------------------------------------

enum class Toy { product, islands, gauss_marginal, gauss_correlation, gauss_width, gauss_mixed };

// Two-dimensional Gaussian per class: means, widths and correlation.
struct Gauss2 {
  double m1, m2, s1, s2, rho;
};

void draw_gauss(ToyRng& rng, const Gauss2& g, double& x1, double& x2) {
  const double z1 = rng.normal(), z2 = rng.normal();
  x1 = g.m1 + g.s1 * z1;
  x2 = g.m2 + g.s2 * (g.rho * z1 + std::sqrt(1.0 - g.rho * g.rho) * z2);
}

std::string known_names() {
  std::string out;
  for (const auto& n : toy_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> toy_names() {
  return {"product", "islands", "gauss-marginal", "gauss-correlation", "gauss-width", "gauss-mixed"};
}

bool islands_land(double x, double y) {
  if (!(x >= 0.0 && x <= 1.0 && y >= 0.0 && y <= 1.0)) return false;
  for (const auto& is : kIslands)
    if (on_island(is, x, y)) return true;
  return false;
}

Dataset generate_toy(const std::string& name, Index events, std::uint64_t seed) {
  Toy toy;
  if (name == "product") toy = Toy::product;
  else if (name == "islands") toy = Toy::islands;
  else if (name == "gauss-marginal") toy = Toy::gauss_marginal;
  else if (name == "gauss-correlation") toy = Toy::gauss_correlation;
  else if (name == "gauss-width") toy = Toy::gauss_width;
  else if (name == "gauss-mixed") toy = Toy::gauss_mixed;
  else throw Error(fmt::format("unknown toy '{}'; known toys: {}", name, known_names()));
  if (events <= 0) throw Error(fmt::format("number of events must be positive, got {}", events));

  ToyRng rng(seed);
  const Index n_sig = events / 2;

  // Shuffle the labels first (Fisher-Yates), then draw each event for its label:
  // the classes come interleaved at random with exactly n_sig signal events.
  std::vector<double> label(static_cast<size_t>(events), 0.0);
  for (Index i = 0; i < n_sig; ++i) label[static_cast<size_t>(i)] = 1.0;
  for (Index i = events - 1; i > 0; --i) {
    const auto j = static_cast<size_t>(rng.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(label[static_cast<size_t>(i)], label[j]);
  }

  std::vector<double> xs(static_cast<size_t>(events)), ys(static_cast<size_t>(events));
  Gauss2 sig{}, bkg{};
  switch (toy) {
    case Toy::gauss_marginal: sig = {0.5, 0.5, 1, 1, 0}, bkg = {-0.5, -0.5, 1, 1, 0}; break;
    case Toy::gauss_correlation: sig = {0, 0, 1, 1, 0.7}, bkg = {0, 0, 1, 1, -0.7}; break;
    case Toy::gauss_width: sig = {0, 0, 1, 1, 0}, bkg = {0, 0, 2, 2, 0}; break;
    case Toy::gauss_mixed: sig = {0.5, 0.5, 1, 1, 0.5}, bkg = {-0.5, -0.5, 1, 1, -0.5}; break;
    default: break;
  }

  for (size_t e = 0; e < xs.size(); ++e) {
    const bool is_sig = label[e] == 1.0;
    double x = 0.0, y = 0.0;
    switch (toy) {
      case Toy::product: {
        // By construction: |x|, |y| uniform, sign of x uniform, sign of y set by the class.
        // Each class is then uniform on its two quadrants. Signal needs x*y < 0 strictly,
        // so the (probability ~2^-52) zeros are redrawn; background keeps the axes (x*y = 0).
        double a;
        do {
          x = rng.uniform(-1.0, 1.0);
          a = rng.uniform();
        } while (is_sig && (x == 0.0 || a == 0.0));
        y = ((x < 0.0) == is_sig) ? a : -a;
        break;
      }
      case Toy::islands:
        // Rejection in the unit square: uniform on land (signal) or on sea (background).
        do {
          x = rng.uniform();
          y = rng.uniform();
        } while (islands_land(x, y) != is_sig);
        break;
      default:
        draw_gauss(rng, is_sig ? sig : bkg, x, y);
        break;
    }
    xs[e] = x;
    ys[e] = y;
  }

  const bool gauss = toy != Toy::product && toy != Toy::islands;
  Dataset d;
  d.source = "toy '" + name + "'";
  d.add(gauss ? "x1" : "x", Tensor({events}, std::move(xs)));
  d.add(gauss ? "x2" : "y", Tensor({events}, std::move(ys)));
  d.add("label", Tensor({events}, std::move(label)));
  d.label_column = "label";
  return d;
}

}  // namespace unbox
