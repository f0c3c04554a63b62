// Built-in toy data sets (Roxlo & Reece section 2.5; Wunsch et al., Taylor-expansion poster).
//
// Reproducibility: a seed must give the same events on every machine and compiler, so
// we use std::mt19937_64 (its output sequence is fixed by the standard) with our own
// transforms. std::uniform_real_distribution, std::normal_distribution and std::shuffle
// are implementation-defined and differ between libstdc++, libc++ and MSVC. The normal
// sampler (Marsaglia polar) needs only log and sqrt; the islands map needs no libm at all.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "unbox/random.hpp"
#include "unbox/toys.hpp"

namespace unbox {

namespace {

using ToyRng = Rng;  // the core's portable seeded draws (unbox/random.hpp)

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

enum class Toy { product, islands, gauss_marginal, gauss_correlation, gauss_width, gauss_mixed, xaug_jets };

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
  for (const auto& n : jet_toy_names()) out += ", " + n;
  return out;
}

// ---- xaug-jets ---------------------------------------------------------------------------
// The XAUG toy of Agarwal et al. (arXiv:2011.13466): one jet of 20 massless particles,
// 10 in each of 2 subjets. Per jet:
//   jet pT uniform in [300, 500] GeV, eta uniform in [-2, 2], phi uniform in [-pi, pi);
//   softer-subjet momentum share s: signal 0.5 - |N(0, 0.12)| (balanced, two-prong decay),
//     background 0.08 + Exp(mean 0.12) (soft splitting); both capped to [0.05, 0.5];
//   subjet separation dR: signal m / (pT sqrt(s (1 - s))) with m ~ N(90, 6) GeV (a
//     boosted heavy particle), background 0.12 + Exp(mean 0.22); both capped to [0.05, 1.0];
//   per particle: raw share w and distance theta to the subjet axis; signal draws them from
//     normal distributions (w ~ |N(1, 0.55)|, theta ~ |N(0.06, 0.035)|), background from
//     exponential ones (w ~ Exp(1), theta ~ Exp(mean 0.05)); z_i = subjet share * w_i /
//     sum of w in the subjet, so the 20 z sum to 1; particles at angle alpha uniform around
//     the subjet axis, which sit at the pT-weighted jet axis -+ (the other share) * dR.
// Particles are sorted by pT inside each subjet (harder subjet first: particles 0-9).
// The XAUG variables are computed from the particles as a physicist would: pT balance of
// the subjets (softer / harder pT), their separation dR (pT-weighted axes), the jet mass.
struct JetColumns {
  std::vector<std::vector<double>> cols;  // 100 particle columns then the XAUG ones
};

double exp_draw(ToyRng& rng, double mean) {
  double u;
  do u = rng.uniform();
  while (u == 0.0);
  return -mean * std::log(u);
}

double wrap_phi(double phi) {
  constexpr double pi = 3.14159265358979323846;
  while (phi >= pi) phi -= 2 * pi;
  while (phi < -pi) phi += 2 * pi;
  return phi;
}

constexpr int kJetParticles = 20;
const char* const kXaugNames[] = {"xaug_subjet_balance", "xaug_subjet_dr", "xaug_mass"};
constexpr int kXaug = 3;

void draw_jet(ToyRng& rng, bool sig, double* out /* 5*20 + kXaug */) {
  constexpr double pi = 3.14159265358979323846;
  const double pt = rng.uniform(300.0, 500.0);
  const double eta0 = rng.uniform(-2.0, 2.0);
  const double phi0 = rng.uniform(-pi, pi);
  double s = sig ? 0.5 - std::abs(0.2 * rng.normal()) : 0.05 + exp_draw(rng, 0.2);
  s = std::clamp(s, 0.05, 0.5);
  double dr = sig ? (90.0 + 12.0 * rng.normal()) / (pt * std::sqrt(s * (1 - s))) : 0.1 + exp_draw(rng, 0.3);
  dr = std::clamp(dr, 0.05, 1.0);
  const double beta = rng.uniform(-pi, pi);
  const double ux = std::cos(beta), uy = std::sin(beta);
  const double share[2] = {1 - s, s};
  // Harder subjet at axis + s * dR * u, softer at axis - (1 - s) * dR * u.
  const double ax_eta[2] = {eta0 + s * dr * ux, eta0 - (1 - s) * dr * ux};
  const double ax_phi[2] = {phi0 + s * dr * uy, phi0 - (1 - s) * dr * uy};
  for (int sj = 0; sj < 2; ++sj) {
    double w[10], th[10], sum = 0;
    for (int i = 0; i < 10; ++i) {
      w[i] = sig ? std::abs(1.0 + 0.9 * rng.normal()) : exp_draw(rng, 1.0);
      w[i] = std::max(w[i], 1e-3);
      th[i] = sig ? std::abs(0.05 + 0.04 * rng.normal()) : exp_draw(rng, 0.05);
      th[i] = std::min(th[i], 0.4);
      sum += w[i];
    }
    // Sort by w descending (insertion sort: 10 elements, deterministic).
    for (int i = 1; i < 10; ++i)
      for (int j = i; j > 0 && w[j] > w[j - 1]; --j) std::swap(w[j], w[j - 1]), std::swap(th[j], th[j - 1]);
    for (int i = 0; i < 10; ++i) {
      const int p = sj * 10 + i;
      const double z = share[sj] * w[i] / sum;
      const double alpha = rng.uniform(-pi, pi);
      out[5 * p + 0] = z * pt;
      out[5 * p + 1] = ax_eta[sj] + th[i] * std::cos(alpha);
      out[5 * p + 2] = wrap_phi(ax_phi[sj] + th[i] * std::sin(alpha));
      out[5 * p + 3] = z;
      out[5 * p + 4] = th[i];
    }
  }
  // XAUG variables from the particles: subjet axes as pT-weighted means (phi relative to
  // the first particle, so wrapping does not matter), balance, separation, massless jet mass.
  double spt[2] = {0, 0}, se[2] = {0, 0}, sp[2] = {0, 0};
  double px = 0, py = 0, pz = 0, e = 0;
  const double phi_ref = out[2];
  for (int p = 0; p < kJetParticles; ++p) {
    const double ppt = out[5 * p], peta = out[5 * p + 1], pphi = out[5 * p + 2];
    const int sj = p / 10;
    spt[sj] += ppt;
    se[sj] += ppt * peta;
    sp[sj] += ppt * wrap_phi(pphi - phi_ref);
    px += ppt * std::cos(pphi);
    py += ppt * std::sin(pphi);
    pz += ppt * std::sinh(peta);
    e += ppt * std::cosh(peta);
  }
  const double de = se[0] / spt[0] - se[1] / spt[1];
  const double dp = wrap_phi(sp[0] / spt[0] - sp[1] / spt[1]);
  const double m2 = e * e - px * px - py * py - pz * pz;
  double* x = out + 5 * kJetParticles;
  x[0] = std::min(spt[0], spt[1]) / std::max(spt[0], spt[1]);
  x[1] = std::sqrt(de * de + dp * dp);
  x[2] = std::sqrt(std::max(m2, 0.0));
}

}  // namespace

std::vector<std::string> toy_names() {
  return {"product", "islands", "gauss-marginal", "gauss-correlation", "gauss-width", "gauss-mixed"};
}

std::vector<std::string> jet_toy_names() { return {"xaug-jets"}; }

std::vector<std::string> xaug_particle_columns() {
  std::vector<std::string> out;
  for (int i = 0; i < kJetParticles; ++i)
    for (const char* q : {"pt", "eta", "phi", "z", "theta"}) out.push_back(fmt::format("p{}_{}", i, q));
  return out;
}

std::vector<std::string> xaug_expert_columns() { return {kXaugNames, kXaugNames + kXaug}; }

bool islands_land(double x, double y) {
  if (!(x >= 0.0 && x <= 1.0 && y >= 0.0 && y <= 1.0)) return false;
  for (const auto& is : kIslands)
    if (on_island(is, x, y)) return true;
  return false;
}

Dataset generate_toy(const std::string& name, Index events, std::uint64_t seed) {
  Toy toy;
  if (name == "product")
    toy = Toy::product;
  else if (name == "islands")
    toy = Toy::islands;
  else if (name == "gauss-marginal")
    toy = Toy::gauss_marginal;
  else if (name == "gauss-correlation")
    toy = Toy::gauss_correlation;
  else if (name == "gauss-width")
    toy = Toy::gauss_width;
  else if (name == "gauss-mixed")
    toy = Toy::gauss_mixed;
  else if (name == "xaug-jets")
    toy = Toy::xaug_jets;
  else
    throw Error(fmt::format("unknown toy '{}'; known toys: {}", name, known_names()));
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

  if (toy == Toy::xaug_jets) {
    const auto names = xaug_particle_columns();
    const auto expert = xaug_expert_columns();
    const size_t nc = names.size() + expert.size();
    std::vector<std::vector<double>> cols(nc, std::vector<double>(static_cast<size_t>(events)));
    std::vector<double> row(nc);
    for (size_t e = 0; e < label.size(); ++e) {
      draw_jet(rng, label[e] == 1.0, row.data());
      for (size_t c = 0; c < nc; ++c) cols[c][e] = row[c];
    }
    Dataset d;
    d.source = "toy '" + name + "'";
    for (size_t c = 0; c < nc; ++c)
      d.add(c < names.size() ? names[c] : expert[c - names.size()], Tensor({events}, std::move(cols[c])));
    d.add("label", Tensor({events}, std::move(label)));
    d.label_column = "label";
    return d;
  }

  std::vector<double> xs(static_cast<size_t>(events)), ys(static_cast<size_t>(events));
  Gauss2 sig{}, bkg{};
  switch (toy) {
    case Toy::gauss_marginal:
      sig = {0.5, 0.5, 1, 1, 0}, bkg = {-0.5, -0.5, 1, 1, 0};
      break;
    case Toy::gauss_correlation:
      sig = {0, 0, 1, 1, 0.7}, bkg = {0, 0, 1, 1, -0.7};
      break;
    case Toy::gauss_width:
      sig = {0, 0, 1, 1, 0}, bkg = {0, 0, 2, 2, 0};
      break;
    case Toy::gauss_mixed:
      sig = {0.5, 0.5, 1, 1, 0.5}, bkg = {-0.5, -0.5, 1, 1, -0.5};
      break;
    default:
      break;
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
