// mT2 by Lester-Nachman bisection (arXiv:1411.4312) with our own conic intersection test.
//
// Side a, visible (pa, ma, Ea = sqrt(ma^2 + pa^2)), invisible q with mass chi: mT(a, q) <= M iff
//   Ea sqrt(chi^2 + q^2) <= K + pa . q,   K = (M^2 - ma^2 - chi^2) / 2.
// For M > ma + chi the right side is positive on the whole region, and squaring gives the conic
//   Q(q) = (ma^2 + pay^2) x^2 + (ma^2 + pax^2) y^2 - 2 pax pay x y - 2 K (pax x + pay y)
//          + Ea^2 chi^2 - K^2 <= 0,
// an ellipse (ma > 0) or a parabola (ma = 0) with 3x3 matrix A. Side b is the same conic in
// qb = pmiss - q, i.e. B = T^t B' T with T the affine map q -> pmiss - q.
//
// Test (S-lemma; both regions have interior points for M above the lower bound): the regions are
// disjoint iff there is mu >= 0 with Qb + mu Qa >= 0 everywhere, i.e. mu A + B positive
// semi-definite. g(mu) = det(mu A + B) is a cubic with g(0) = det B < 0 and g(inf) ~ det A < 0;
// the 2x2 quadratic part of mu A + B is positive definite for mu > 0 unless both visibles are
// massless and parallel, so mu A + B is positive definite exactly where g > 0. We therefore
// evaluate mu A + B at the positive critical points of g and test positive definiteness by its
// LDL^t pivots. Parallel (or antiparallel) massless visibles are solved in closed form.
#include "unbox/physics/mt2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "unbox/core.hpp"
#include "unbox/physics/kinematics.hpp"

namespace unbox::physics {

namespace {

using Mat3 = std::array<double, 9>;  // row-major symmetric

double det3(const Mat3& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

// Determinant with column c taken from `b` for every c set in mask (bit c), else from `a`.
double det_mix(const Mat3& a, const Mat3& b, int mask) {
  Mat3 m;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) m[3 * r + c] = (mask >> c & 1) ? b[3 * r + c] : a[3 * r + c];
  return det3(m);
}

struct Side {
  double px, py, m, chi, e2;  // e2 = m^2 + p^2
};

// Conic of side s at trial mass M, in coordinates of its own invisible momentum.
Mat3 conic(const Side& s, double M) {
  const double k = 0.5 * (M * M - s.m * s.m - s.chi * s.chi);
  Mat3 c;
  c[0] = s.m * s.m + s.py * s.py;
  c[4] = s.m * s.m + s.px * s.px;
  c[1] = c[3] = -s.px * s.py;
  c[2] = c[6] = -k * s.px;
  c[5] = c[7] = -k * s.py;
  c[8] = s.e2 * s.chi * s.chi - k * k;
  return c;
}

// B(q) = B'(pmiss - q): T = [[-1, 0, mx], [0, -1, my], [0, 0, 1]], B = T^t B' T.
Mat3 shifted(const Mat3& b, double mx, double my) {
  const double t[9] = {-1, 0, mx, 0, -1, my, 0, 0, 1};
  double bt[9];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += b[3 * r + k] * t[3 * k + c];
      bt[3 * r + c] = s;
    }
  Mat3 out;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += t[3 * k + r] * bt[3 * k + c];
      out[3 * r + c] = s;
    }
  return out;
}

void normalise(Mat3& m) {
  double s = 0;
  for (double v : m) s = std::max(s, std::fabs(v));
  if (s > 0)
    for (double& v : m) v /= s;
}

bool positive_definite(const Mat3& c) {
  const double d0 = c[0];
  if (!(d0 > 0)) return false;
  const double l10 = c[3] / d0, l20 = c[6] / d0;
  const double d1 = c[4] - l10 * c[1];
  if (!(d1 > 0)) return false;
  const double c21 = c[7] - l20 * c[1];
  const double l21 = c21 / d1;
  const double d2 = c[8] - l20 * c[2] - l21 * c21;
  return d2 > 0;
}

// True when the two conic regions intersect (touching counts).
bool regions_intersect(Mat3 a, Mat3 b) {
  normalise(a);
  normalise(b);
  const double c3 = det3(a), c0 = det3(b);
  const double c2 = det_mix(a, b, 1) + det_mix(a, b, 2) + det_mix(a, b, 4);
  const double c1 = det_mix(a, b, 6) + det_mix(a, b, 5) + det_mix(a, b, 3);
  (void)c0;
  // Critical points of g: 3 c3 mu^2 + 2 c2 mu + c1 = 0.
  const double qa = 3 * c3, qb = 2 * c2, qc = c1;
  double roots[2];
  int n = 0;
  if (qa == 0) {
    if (qb != 0) roots[n++] = -qc / qb;
  } else {
    const double disc = qb * qb - 4 * qa * qc;
    if (disc >= 0) {
      const double q = -0.5 * (qb + std::copysign(std::sqrt(disc), qb));
      if (q != 0) {
        roots[n++] = q / qa;
        roots[n++] = qc / q;
      } else {
        roots[n++] = 0;
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    const double mu = roots[i];
    if (!(mu > 0) || !std::isfinite(mu)) continue;
    Mat3 c;
    for (int k = 0; k < 9; ++k) c[k] = mu * a[k] + b[k];
    if (positive_definite(c)) return false;
  }
  return true;
}

// Ill-conditioned pairs (both visibles nearly massless and nearly parallel, so that the quadratic
// part S(mu) = mu Ma + Mb is nearly singular): the cubic's coefficients lose everything to
// cancellation. There we maximise the Schur complement of mu A + B directly,
//   s(mu) = min_q [Qb(q) + mu Qa(q)] = c(mu) - b(mu)^t adj(S) b(mu) / det S(mu),
// concave in mu (a minimum of affine functions), written without cancellation:
//   det S = mu^2 ma^2 Ea^2 + mu D + mb^2 Eb^2, D = 2 ma^2 mb^2 + ma^2 pb^2 + mb^2 pa^2 + (pa x pb)^2,
//   b^t adj(S) b = mu (ma^2 |b|^2 + (pa.b)^2) + mb^2 |b|^2 + (pb.b)^2   (adj(Ma) = ma^2 I + pa pa^t).
// The regions are disjoint iff s(mu) > 0 for some mu > 0; s is unimodal in log mu, so a
// golden-section search over log mu finds its maximum.
struct Dual {
  double ma2, mb2, ea2, eb2, d;         // masses^2, energies^2, D
  double pax, pay, pbx, pby;            // visible momenta
  double bax, bay, bbx, bby, ca, cb;    // linear parts and constants of A and of the shifted B
  double s(double mu) const {
    const double bx = mu * bax + bbx, by = mu * bay + bby;
    const double b2 = bx * bx + by * by, pab = pax * bx + pay * by, pbb = pbx * bx + pby * by;
    const double num = mu * (ma2 * b2 + pab * pab) + mb2 * b2 + pbb * pbb;
    const double det = mu * mu * ma2 * ea2 + mu * d + mb2 * eb2;
    return mu * ca + cb - num / det;
  }
};

Dual make_dual(const Side& a, const Side& b, double qx, double qy, double M) {
  const Mat3 A = conic(a, M), Bp = conic(b, M), B = shifted(Bp, qx, qy);
  Dual u;
  u.ma2 = a.m * a.m;
  u.mb2 = b.m * b.m;
  u.ea2 = a.e2;
  u.eb2 = b.e2;
  const double cross = a.px * b.py - a.py * b.px;
  u.d = 2 * u.ma2 * u.mb2 + u.ma2 * (b.px * b.px + b.py * b.py) + u.mb2 * (a.px * a.px + a.py * a.py) + cross * cross;
  u.pax = a.px;
  u.pay = a.py;
  u.pbx = b.px;
  u.pby = b.py;
  u.bax = A[2];
  u.bay = A[5];
  u.bbx = B[2];
  u.bby = B[5];
  u.ca = A[8];
  u.cb = B[8];
  return u;
}

bool dual_regions_intersect(const Dual& u) {
  const double r = 0.5 * (std::sqrt(5.0) - 1.0);
  double lo = -90, hi = 90;  // log mu
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  double f1 = u.s(std::exp(x1)), f2 = u.s(std::exp(x2));
  for (int i = 0; i < 160; ++i) {
    if (f1 > 0 || f2 > 0) return false;
    if (f1 > f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - r * (hi - lo);
      f1 = u.s(std::exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + r * (hi - lo);
      f2 = u.s(std::exp(x2));
    }
  }
  return !(f1 > 0 || f2 > 0);
}

// Both visibles massless and parallel (same direction u, magnitudes pa, pb): the regions are
// parabolas u.q >= alpha_a v^2 + beta_a and u.(pmiss - q) >= alpha_b (v_miss - v)^2 + beta_b
// (v = the component perpendicular to u); they meet iff
//   alpha_a alpha_b / (alpha_a + alpha_b) v_miss^2 + beta_a + beta_b <= u.pmiss,
// with alpha = p / (2K), beta = (p^2 chi^2 - K^2) / (2 K p), K = (M^2 - chi^2) / 2.
bool parallel_parabolas_intersect(double pa, double pb, double chia, double chib, double upar, double uperp,
                                  double M) {
  const double ka = 0.5 * (M * M - chia * chia), kb = 0.5 * (M * M - chib * chib);
  if (!(ka > 0) || !(kb > 0)) return false;
  const double aa = pa / (2 * ka), ab = pb / (2 * kb);
  const double ba = (pa * pa * chia * chia - ka * ka) / (2 * ka * pa);
  const double bb = (pb * pb * chib * chib - kb * kb) / (2 * kb * pb);
  return aa * ab / (aa + ab) * uperp * uperp + ba + bb <= upar;
}

double mt_side(const Side& s, double qx, double qy) { return transverse_mass(s.px, s.py, s.m, qx, qy, s.chi); }

}  // namespace

double mt2(double ma, double pax, double pay, double mb, double pbx, double pby, double mx, double my,
           const Mt2Options& o) {
  if (ma < 0 || mb < 0 || o.mchi_a < 0 || o.mchi_b < 0)
    throw Error(fmt::format("mt2: masses must be >= 0 (visible {}, {}; invisible {}, {})", ma, mb, o.mchi_a, o.mchi_b));
  for (double v : {ma, pax, pay, mb, pbx, pby, mx, my})
    if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  // Work in units of a common scale (mT2 is homogeneous of degree 1).
  const double scale = std::max({std::sqrt(ma * ma + pax * pax + pay * pay), std::sqrt(mb * mb + pbx * pbx + pby * pby),
                                 std::sqrt(mx * mx + my * my), o.mchi_a, o.mchi_b});
  const double lower = std::max(ma + o.mchi_a, mb + o.mchi_b);
  if (!(scale > 0)) return lower;
  if (!std::isfinite(scale)) return std::numeric_limits<double>::infinity();
  const double s = 1.0 / scale;
  Side a{pax * s, pay * s, ma * s, o.mchi_a * s, 0}, b{pbx * s, pby * s, mb * s, o.mchi_b * s, 0};
  a.e2 = a.m * a.m + a.px * a.px + a.py * a.py;
  b.e2 = b.m * b.m + b.px * b.px + b.py * b.py;
  const double qx = mx * s, qy = my * s;

  // Upper bound: the best of a few trial splittings (any splitting bounds mT2 from above).
  const double ea = std::sqrt(a.e2), eb = std::sqrt(b.e2);
  double hi = std::numeric_limits<double>::infinity();
  const double fa = ea + eb > 0 ? ea / (ea + eb) : 0.5;
  for (double f : {0.5, fa, 0.0, 1.0}) {
    const double m = std::max(mt_side(a, f * qx, f * qy), mt_side(b, (1 - f) * qx, (1 - f) * qy));
    hi = std::min(hi, m);
  }
  double lo = lower * s;
  if (hi <= lo) return lower;

  // Massless visibles parallel or antiparallel in the transverse plane: the general test is
  // degenerate (parallel parabola axes).
  const double pa = std::sqrt(a.px * a.px + a.py * a.py), pb = std::sqrt(b.px * b.px + b.py * b.py);
  const bool massless = a.m == 0 && b.m == 0 && pa > 0 && pb > 0;
  const double cross = a.px * b.py - a.py * b.px, dot = a.px * b.px + a.py * b.py;
  const bool parallel = massless && std::fabs(cross) <= 3e-8 * pa * pb;
  if (parallel && dot < 0) return lower;  // parabolas open the same way: they meet for every M > lower
  // Massless visibles and invisibles with the missing momentum inside the cone of pa and pb:
  // qa = alpha pa, qb = beta pb (alpha, beta >= 0) makes both transverse masses 0.
  if (massless && !parallel && a.chi == 0 && b.chi == 0) {
    const double alpha = (qx * b.py - qy * b.px) / cross, beta = (a.px * qy - a.py * qx) / cross;
    if (alpha >= 0 && beta >= 0) return 0.0;
  }
  // Nearly singular mu Ma + Mb (see Dual): D / (Ea^2 Eb^2) is sin^2 of the angle between the
  // visibles plus their (m/E)^2 terms; below 1e-9 the cubic is unreliable.
  const double dterm = 2 * a.m * a.m * b.m * b.m + a.m * a.m * pb * pb + b.m * b.m * pa * pa + cross * cross;
  const bool ill_conditioned = dterm < 1e-9 * a.e2 * b.e2;
  const double ux = pa > 0 ? a.px / pa : 1.0, uy = pa > 0 ? a.py / pa : 0.0;
  const double upar = parallel ? ux * qx + uy * qy : 0, uperp = parallel ? -uy * qx + ux * qy : 0;

  // Relative precision, or 1e-15 of the event's scale for an mT2 of (almost) zero.
  for (int it = 0; it < 200 && hi - lo > o.precision * hi && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    bool meet;
    if (parallel)
      meet = parallel_parabolas_intersect(pa, pb, a.chi, b.chi, upar, uperp, mid);
    else if (ill_conditioned)
      meet = dual_regions_intersect(make_dual(a, b, qx, qy, mid));
    else
      meet = regions_intersect(conic(a, mid), shifted(conic(b, mid), qx, qy));
    (meet ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi) * scale;
}

void mt2_batch(std::size_t n, const double* a_pt, const double* a_phi, const double* a_m, const double* b_pt,
               const double* b_phi, const double* b_m, const double* met, const double* met_phi, double* out,
               const Mt2Options& o) {
  if (o.mchi_a < 0 || o.mchi_b < 0)
    throw Error(fmt::format("mt2: invisible masses must be >= 0 (got {}, {})", o.mchi_a, o.mchi_b));
  for (std::size_t i = 0; i < n; ++i)
    if (a_m[i] < 0 || b_m[i] < 0)
      throw Error(fmt::format("mt2: event {}: visible masses must be >= 0 (got {}, {})", i, a_m[i], b_m[i]));
  const auto count = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) {
    out[i] = mt2(a_m[i], a_pt[i] * std::cos(a_phi[i]), a_pt[i] * std::sin(a_phi[i]), b_m[i],
                 b_pt[i] * std::cos(b_phi[i]), b_pt[i] * std::sin(b_phi[i]), met[i] * std::cos(met_phi[i]),
                 met[i] * std::sin(met_phi[i]), o);
  }
}

}  // namespace unbox::physics
