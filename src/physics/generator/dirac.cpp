// Explicit gamma matrices and helpers for the generator's numerical traces.
#include "dirac.hpp"

#include <cmath>

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
  // L^{mu nu} = 4[a^mu b^nu + b^mu a^nu - g^{mu nu} a.b + i eps^{mu nu rho sigma} a_rho b_sigma]
  C L[4][4];
  auto eps = [](int i, int j, int k, int l) -> double {
    if (i == j || i == k || i == l || j == k || j == l || k == l) return 0.0;
    int p[4] = {i, j, k, l}, sign = 1;
    for (int x = 0; x < 4; ++x)
      for (int y = x + 1; y < 4; ++y)
        if (p[x] > p[y]) sign = -sign;
    return -sign;  // eps^{0123} = -1
  };
  for (int mu = 0; mu < 4; ++mu)
    for (int nu = 0; nu < 4; ++nu) {
      double re = a[mu] * b[nu] + b[mu] * a[nu] - (mu == nu ? metric[mu] : 0.0) * ab;
      double im = 0;
      for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 4; ++s) im += eps(mu, nu, r, s) * al[r] * bl[s];
      L[mu][nu] = 4.0 * C(re, im);
    }
  int k = 0;
  for (int i = 1; i < 4; ++i)
    if (L[i][i].real() > L[k][k].real()) k = i;
  const double norm = std::sqrt(std::max(L[k][k].real(), 1e-300));
  for (int mu = 0; mu < 4; ++mu) out[mu] = L[mu][k] / norm;
}

}  // namespace unbox::physics::gen
