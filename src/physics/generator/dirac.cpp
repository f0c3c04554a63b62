// Explicit gamma matrices and helpers for the generator's numerical traces.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "dirac.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace unbox::physics::gen {

Dirac::Dirac() {
  using C = std::complex<double>;
  const C I(0, 1);
  for (auto& m : g) m.setZero();
  g[0].diagonal() << 1, 1, -1, -1;
  // gamma^i = [[0, sigma_i], [-sigma_i, 0]]
  Eigen::Matrix2cd s[3];
  s[0] << 0, 1, 1, 0;
  s[1] << 0, -I, I, 0;
  s[2] << 1, 0, 0, -1;
  for (int i = 0; i < 3; ++i) {
    g[i + 1].block<2, 2>(0, 2) = s[i];
    g[i + 1].block<2, 2>(2, 0) = -s[i];
  }
  g5 = I * g[0] * g[1] * g[2] * g[3];
  one = M4::Identity();
}

// Element by element (GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics
// for Eigen's vectorized complex scalar products here).
M4 Dirac::slash(const std::complex<double> v[4]) const {
  M4 r;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) r(i, j) = g[0](i, j) * v[0] - g[1](i, j) * v[1] - g[2](i, j) * v[2] - g[3](i, j) * v[3];
  return r;
}

const Dirac& Dirac::get() {
  static const Dirac d;
  return d;
}

P4 spin_vector(const P4& p, double m, double ax, double ay, double az) {
  const double pa = p.x * ax + p.y * ay + p.z * az;
  const double f = pa / (m * (p.e + m));
  return {pa / m, ax + f * p.x, ay + f * p.y, az + f * p.z};
}

void lefthanded_current(const P4& p1, const P4& p2, std::complex<double> out[4]) {
  using C = std::complex<double>;
  const double a[4] = {p1.e, p1.x, p1.y, p1.z}, b[4] = {p2.e, p2.x, p2.y, p2.z};
  const double metric[4] = {1, -1, -1, -1};
  double al[4], bl[4];  // lower-index components
  for (int i = 0; i < 4; ++i) al[i] = metric[i] * a[i], bl[i] = metric[i] * b[i];
  const double ab = dot(p1, p2);
  // L^{mu nu} = 2[a^mu b^nu + b^mu a^nu - g^{mu nu} a.b + i eps^{mu nu rho sigma} a_rho b_sigma]
  // The 24 permutations of (0123) with their signs, eps^{0123} = -1.
  struct Perm {
    int i[4];
    double sign;
  };
  static const std::vector<Perm> perms = [] {
    std::vector<Perm> out;
    int p[4] = {0, 1, 2, 3};
    do {
      int inv = 0;
      for (int x = 0; x < 4; ++x)
        for (int y = x + 1; y < 4; ++y)
          if (p[x] > p[y]) ++inv;
      out.push_back({{p[0], p[1], p[2], p[3]}, inv % 2 == 0 ? -1.0 : 1.0});
    } while (std::next_permutation(p, p + 4));
    return out;
  }();
  double im[4][4] = {};
  for (const Perm& q : perms) im[q.i[0]][q.i[1]] += q.sign * al[q.i[2]] * bl[q.i[3]];
  C L[4][4];
  for (int mu = 0; mu < 4; ++mu)
    for (int nu = 0; nu < 4; ++nu) {
      const double re = a[mu] * b[nu] + b[mu] * a[nu] - (mu == nu ? metric[mu] : 0.0) * ab;
      L[mu][nu] = 2.0 * C(re, im[mu][nu]);
    }
  int k = 0;
  for (int i = 1; i < 4; ++i)
    if (L[i][i].real() > L[k][k].real()) k = i;
  const double norm = std::sqrt(std::max(L[k][k].real(), 1e-300));
  for (int mu = 0; mu < 4; ++mu) out[mu] = L[mu][k] / norm;
}

}  // namespace unbox::physics::gen
