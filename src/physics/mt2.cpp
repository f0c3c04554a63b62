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
// LDL^t pivots. Parallel (or antiparallel) massless visibles are solved in closed form, and
// massless visibles with massless invisibles by the support-function closed form
// (massless_mt2).
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

// Adjugate (transposed cofactor matrix) of a symmetric 3x3 matrix; symmetric itself.
Mat3 adjugate(const Mat3& m) {
  Mat3 c;
  c[0] = m[4] * m[8] - m[5] * m[7];
  c[1] = c[3] = m[5] * m[6] - m[3] * m[8];
  c[2] = c[6] = m[3] * m[7] - m[4] * m[6];
  c[4] = m[0] * m[8] - m[2] * m[6];
  c[5] = c[7] = m[2] * m[3] - m[0] * m[5];
  c[8] = m[0] * m[4] - m[1] * m[3];
  return c;
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

// A conic as a polynomial in K = (M^2 - m^2 - chi^2) / 2: C(K) = P + K L + K^2 Q, formed once per
// event so that each trial mass costs a few multiply-adds per entry.
struct ConicPoly {
  Mat3 p, l, q;
  Mat3 at(double k) const {
    Mat3 c;
    for (int i = 0; i < 9; ++i) c[i] = p[i] + k * (l[i] + k * q[i]);
    return c;
  }
};

ConicPoly conic_poly(const Side& s) {
  ConicPoly c;
  const double m2 = s.m * s.m;
  c.p = Mat3{m2 + s.py * s.py, -s.px * s.py, 0, -s.px * s.py, m2 + s.px * s.px, 0, 0, 0, s.e2 * s.chi * s.chi};
  c.l = Mat3{0, 0, -s.px, 0, 0, -s.py, -s.px, -s.py, 0};
  c.q = Mat3{0, 0, 0, 0, 0, 0, 0, 0, -1};
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

// The intersection test at one trial mass. `meet` is true when the two conic regions intersect
// (touching counts). `value` is g = det(mu A + B) at its positive local maximum (the event is in
// units of its momentum scale, so the entries are of order 1 and need no normalisation)
// when that exists: positive when the regions are disjoint, otherwise <= 0, and continuous in
// M near mT2, where g touches zero; the root finder interpolates on it.
struct Test {
  bool meet;
  bool has_value;
  double value;
};

Test regions_test(const Mat3& a, const Mat3& b) {
  // det(mu A + B) = det(A) mu^3 + tr(adj(A) B) mu^2 + tr(A adj(B)) mu + det(B) for symmetric A, B.
  const Mat3 ca = adjugate(a), cb = adjugate(b);
  const double c3 = a[0] * ca[0] + a[1] * ca[3] + a[2] * ca[6], c0 = b[0] * cb[0] + b[1] * cb[3] + b[2] * cb[6];
  double c2 = 0, c1 = 0;
  for (int k = 0; k < 9; ++k) {
    c2 += ca[k] * b[k];
    c1 += a[k] * cb[k];
  }
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
  Test t{true, false, 0.0};
  for (int i = 0; i < n; ++i) {
    const double mu = roots[i];
    if (!(mu > 0) || !std::isfinite(mu)) continue;
    if (!(6 * c3 * mu + 2 * c2 < 0)) continue;  // a local minimum of g
    Mat3 c;
    for (int k = 0; k < 9; ++k) c[k] = mu * a[k] + b[k];
    const bool pd = positive_definite(c);
    const double g = ((c3 * mu + c2) * mu + c1) * mu + c0;
    if (pd) t.meet = false;
    if (pd == (g > 0) && (!t.has_value || g > t.value)) {
      t.has_value = true;
      t.value = g;
    }
  }
  if (!t.meet && !(t.has_value && t.value > 0)) t.has_value = false;
  return t;
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
  double ma2, mb2, ea2, eb2, d;       // masses^2, energies^2, D
  double pax, pay, pbx, pby;          // visible momenta
  double bax, bay, bbx, bby, ca, cb;  // linear parts and constants of A and of the shifted B
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
bool parallel_parabolas_intersect(double pa, double pb, double chia, double chib, double upar, double uperp, double M) {
  const double ka = 0.5 * (M * M - chia * chia), kb = 0.5 * (M * M - chib * chib);
  if (!(ka > 0) || !(kb > 0)) return false;
  const double aa = pa / (2 * ka), ab = pb / (2 * kb);
  const double ba = (pa * pa * chia * chia - ka * ka) / (2 * ka * pa);
  const double bb = (pb * pb * chib * chib - kb * kb) / (2 * kb * pb);
  return aa * ab / (aa + ab) * uperp * uperp + ba + bb <= upar;
}

double mt_side(const Side& s, double qx, double qy) { return transverse_mass(s.px, s.py, s.m, qx, qy, s.chi); }

// a b + c d with one rounding error of the result (Kahan's algorithm with fused multiply-adds):
// dot and cross products of nearly perpendicular or nearly parallel vectors keep their relative
// precision, which the massless closed form below needs near back-to-back visibles.
double sum_of_products(double a, double b, double c, double d) {
  const double w = c * d;
  const double e = std::fma(c, d, -w);
  const double f = std::fma(a, b, w);
  return f + e;
}
double dot2(double ax, double ay, double bx, double by) { return sum_of_products(ax, bx, ay, by); }
double cross2(double ax, double ay, double bx, double by) { return sum_of_products(ax, by, -ay, bx); }

// Massless visibles p, r and massless invisibles, missing momentum m (our derivation; the
// existence of a closed form for this case is Lally & Lester, arXiv:1509.01831).
// With t = M^2 / 2 the region {q : mT(a, q) <= M} is the parabola |q| - p^.q <= t / |p| (focus 0,
// opening along p), whose support function is h_A(n) = t / (2 (-n.p)) for n.p < 0; side b is the
// parabola with focus m opening along -r, h_B(w) = w.m + t / (2 w.r) for w.r > 0. The regions are
// disjoint iff a line separates them, h_A(n) + h_B(-n) < 0 for some unit n; with n -> -n that is
//   t < 2 f(n),  f(n) = (-n.m) (n.p) (n.r) / (n.(p + r))  on the cone n.p > 0, n.r > 0, n.m < 0,
// so mT2^2 = 4 max f over unit n in that cone (0 if the cone is empty, i.e. m lies in the cone of
// p and r, or p and r are exactly back to back). Each superlevel set of f is the set of
// separating directions at one t, a convex cone, so f is unimodal on the cone's arc: a
// safeguarded Newton iteration on d log f / d theta finds its maximum. The arc's edges and every
// projection are formed from the input vectors with exactly rounded dot and cross products, so
// visibles 1e-8 rad from back to back (an arc 1e-8 rad wide) keep full relative precision.
double massless_mt2(double px, double py, double rx, double ry, double mx, double my) {
  if ((px == 0 && py == 0) || (rx == 0 && ry == 0)) return 0.0;  // a visible at rest: mT = 0 on its side
  // The arc between rays L (clockwise edge) and H (counterclockwise edge), as unnormalised vectors.
  double lx, ly, hx, hy;
  const double c = cross2(px, py, rx, ry);
  if (c > 0) {  // r counterclockwise from p: from r rotated by -90 degrees to p rotated by +90
    lx = ry, ly = -rx, hx = -py, hy = px;
  } else if (c < 0) {
    lx = py, ly = -px, hx = -ry, hy = rx;
  } else {
    if (dot2(px, py, rx, ry) <= 0) return 0.0;  // back to back: the parabolas open the same way
    lx = py, ly = -px, hx = -py, hy = px;       // parallel: the half plane n.p > 0
  }
  // Cut with n.m < 0.
  const double sl = dot2(lx, ly, mx, my), sh = dot2(hx, hy, mx, my);
  if (sl >= 0 && sh >= 0) return 0.0;  // m in the cone of p and r
  if (sl >= 0 || sh >= 0) {
    double xx = -my, xy = mx;  // the ray of the boundary n.m = 0 inside the arc
    if (cross2(lx, ly, xx, xy) < 0) xx = -xx, xy = -xy;
    if (sl >= 0)
      lx = xx, ly = xy;
    else
      hx = xx, hy = xy;
  }
  const double ln = std::hypot(lx, ly);
  const double width = std::atan2(cross2(lx, ly, hx, hy), dot2(lx, ly, hx, hy));
  if (!(width > 0)) return 0.0;
  // n(theta) = cos(theta) L^ + sin(theta) L^perp; each projection n.x = a cos + b sin.
  const double vx[3] = {-mx, px, rx}, vy[3] = {-my, py, ry};
  double a[3], b[3];
  for (int i = 0; i < 3; ++i) {
    a[i] = dot2(lx, ly, vx[i], vy[i]) / ln;
    b[i] = cross2(lx, ly, vx[i], vy[i]) / ln;
  }
  double lo = 0, hi = width, th = 0.5 * width;
  for (int it = 0; it < 100; ++it) {
    const double cs = std::cos(th), sn = std::sin(th);
    double h = 0, dh = -2;
    double v[3], d[3];
    for (int i = 0; i < 3; ++i) {
      v[i] = a[i] * cs + b[i] * sn;
      d[i] = b[i] * cs - a[i] * sn;
      const double q = d[i] / v[i];
      h += q;
      dh -= q * q;
    }
    const double qs = (d[1] + d[2]) / (v[1] + v[2]);
    h -= qs;
    dh += qs * qs;
    if (h > 0)
      lo = th;
    else
      hi = th;
    double next = th - h / dh;
    if (!(dh < 0) || !(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const bool done = std::fabs(next - th) <= 1e-10 * width || hi - lo <= 1e-14 * width;
    th = next;
    if (done) break;
  }
  const double cs = std::cos(th), sn = std::sin(th);
  const double vm = a[0] * cs + b[0] * sn, vp = a[1] * cs + b[1] * sn, vr = a[2] * cs + b[2] * sn;
  const double f = vm * vp * vr / (vp + vr);
  return f > 0 ? 2.0 * std::sqrt(f) : 0.0;
}

}  // namespace

double mt2(double ma, double pax, double pay, double mb, double pbx, double pby, double mx, double my,
           const Mt2Options& o) {
  if (ma < 0 || mb < 0 || o.mchi_a < 0 || o.mchi_b < 0)
    throw Error(fmt::format("mt2: masses must be >= 0 (visible {}, {}; invisible {}, {})", ma, mb, o.mchi_a, o.mchi_b));
  for (double v : {ma, pax, pay, mb, pbx, pby, mx, my})
    if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  // Massless visibles and invisibles: the closed form, on the inputs as given (scaling them
  // would move exactly back-to-back visibles off that line by a rounding error).
  if (ma == 0 && mb == 0 && o.mchi_a == 0 && o.mchi_b == 0 && std::isfinite(pax + pay + pbx + pby + mx + my))
    return massless_mt2(pax, pay, pbx, pby, mx, my);
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

  // Relative precision, or 1e-15 of the event's scale for an mT2 of (almost) zero. Where the
  // test has a value (the general conic case), the value at trial masses below mT2 (regions
  // disjoint) is a smooth function of M that crosses zero at mT2 (above mT2 it has another
  // slope): inverse quadratic interpolation through the last three such points (the secant
  // through two at first) estimates mT2 superlinearly, and the next trial mass sits a little
  // below the estimate (by the estimate's own error, judged from the secant's), or just above it
  // once the lower end is that close, so that a good estimate closes the bracket in two tests. An estimate outside the
  // bracket, fewer than two values, or four tests in a row that neither halve the bracket nor
  // halve the value at its lower end mean a bisection step; the bracket always closes.
  ConicPoly pa_conic{}, pb_conic{};
  if (!parallel && !ill_conditioned) {
    pa_conic = conic_poly(a);
    const ConicPoly bp = conic_poly(b);
    pb_conic = ConicPoly{shifted(bp.p, qx, qy), shifted(bp.l, qx, qy), shifted(bp.q, qx, qy)};
  }
  double x0 = 0, f0 = 0, x1 = 0, f1 = 0, x2 = 0, f2 = 0;
  int below = 0, slow = 0;
  for (int it = 0; it < 200 && hi - lo > o.precision * hi && hi - lo > 1e-15; ++it) {
    double mid = 0.5 * (lo + hi);
    if (below >= 2 && slow < 4 && f1 > f2) {
      const double secant = x2 + f2 * (x2 - x1) / (f1 - f2);
      double est = secant, margin = 0.02 * (secant - lo);
      if (below >= 3 && f0 > f1) {
        // Inverse quadratic interpolation through the last three; its distance from the secant
        // estimates the secant's error, an upper bound on its own.
        est = x0 * f1 * f2 / ((f0 - f1) * (f0 - f2)) + x1 * f0 * f2 / ((f1 - f0) * (f1 - f2)) +
              x2 * f0 * f1 / ((f2 - f0) * (f2 - f1));
        margin = std::fabs(est - secant);
      }
      const double step = 0.3 * std::max(o.precision * hi, 1e-15);
      const double probe = est - lo > 2 * step ? est - std::max(step, margin) : est + step;
      if (probe > lo && probe < hi) mid = probe;
    }
    const double width = hi - lo, f_before = f2;
    if (parallel || ill_conditioned) {
      const bool meet = parallel ? parallel_parabolas_intersect(pa, pb, a.chi, b.chi, upar, uperp, mid)
                                 : dual_regions_intersect(make_dual(a, b, qx, qy, mid));
      (meet ? hi : lo) = mid;
      continue;
    }
    const Test t = regions_test(pa_conic.at(0.5 * (mid * mid - a.m * a.m - a.chi * a.chi)),
                                pb_conic.at(0.5 * (mid * mid - b.m * b.m - b.chi * b.chi)));
    if (t.meet) {
      hi = mid;
    } else {
      lo = mid;
      if (t.has_value) {
        x0 = x1, f0 = f1;
        x1 = x2, f1 = f2;
        x2 = mid, f2 = t.value;
        ++below;
      } else {
        below = 0;
      }
    }
    slow = hi - lo > 0.5 * width && !(below >= 2 && f2 <= 0.5 * f_before) ? slow + 1 : 0;
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
      throw Error(fmt::format("mt2: event {}: visible masses must be >= 0 (got {}, {})", i + 1, a_m[i], b_m[i]));
  const auto count = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) {
    out[i] =
        mt2(a_m[i], a_pt[i] * std::cos(a_phi[i]), a_pt[i] * std::sin(a_phi[i]), b_m[i], b_pt[i] * std::cos(b_phi[i]),
            b_pt[i] * std::sin(b_phi[i]), met[i] * std::cos(met_phi[i]), met[i] * std::sin(met_phi[i]), o);
  }
}

}  // namespace unbox::physics
