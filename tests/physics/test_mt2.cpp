// mT2 (Lester-Nachman bisection) against closed forms, a brute-force minimisation over the
// splitting of the missing momentum, invariances, and truth-level W pairs; kinematics helpers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "unbox/core.hpp"
#include "unbox/physics/kinematics.hpp"
#include "unbox/physics/mt2.hpp"

namespace {

using namespace unbox::physics;

struct Rng {
  std::mt19937_64 g;
  explicit Rng(unsigned long long seed) : g(seed) {}
  double uniform() { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
};

// Textbook mT^2 = mv^2 + mi^2 + 2 (ET_v ET_i - pv . pi), written independently of the library.
double naive_mt2_sq(double vx, double vy, double mv, double ix, double iy, double mi) {
  const double ev = std::sqrt(mv * mv + vx * vx + vy * vy), ei = std::sqrt(mi * mi + ix * ix + iy * iy);
  return mv * mv + mi * mi + 2.0 * (ev * ei - vx * ix - vy * iy);
}

// Golden-section minimum of a convex function on [lo, hi].
template <class T = double>
T golden_min(const std::function<T(T)>& f, T lo, T hi, int iters, T* argmin = nullptr) {
  const T r = (std::sqrt(T(5)) - 1) / 2;
  T x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  T f1 = f(x1), f2 = f(x2);
  for (int i = 0; i < iters; ++i) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - r * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + r * (hi - lo);
      f2 = f(x2);
    }
  }
  if (argmin) *argmin = f1 < f2 ? x1 : x2;
  return std::min(f1, f2);
}

// mT^2 for the brute force, where |q| can be 1e10 times the visible momenta (nearly massless
// visibles have very long ellipses): ET_v ET_i - pv pi cos(dphi) split as
// (mv^2 pi^2 + mi^2 pv^2 + mv^2 mi^2) / (ET_v ET_i + pv pi) + pv pi (1 - cos(dphi)), with
// 1 - cos = cross^2 / (pv pi (pv pi + dot)) for dot > 0 (the library uses unit vectors instead).
template <class T = double>
T stable_mt2_sq(T vx, T vy, T mv, T ix, T iy, T mi) {
  const T pv = std::sqrt(vx * vx + vy * vy), pi = std::sqrt(ix * ix + iy * iy);
  const T ev = std::sqrt(mv * mv + pv * pv), ei = std::sqrt(mi * mi + pi * pi);
  const T pp = pv * pi, dot = vx * ix + vy * iy, cross = vx * iy - vy * ix;
  const T one_minus_cos = pp == 0 ? T(0) : (dot > 0 ? cross * cross / (pp * (pp + dot)) : 1 - dot / pp);
  // (0/0 when the invisible has neither mass nor momentum: that term is 0.)
  const T den = ev * ei + pp;
  const T massive = den > 0 ? (mv * mv * pi * pi + mi * mi * pv * pv + mv * mv * mi * mi) / den : T(0);
  return mv * mv + mi * mi + 2 * (massive + pp * one_minus_cos);
}

// Brute force: F(q) = max(mT_a^2(q), mT_b^2(pmiss - q)) is jointly convex in q (each term is an
// affine function plus a positive multiple of sqrt(m^2 + |q|^2)); min over y of F is convex in x,
// so nested golden-section searches find the global minimum. The box is 1e12 times the event's
// momentum scale (the optimum of nearly massless events lies far out) and 160 golden steps
// shrink it below round-off.
// T = long double for the tests at 1e-9: in double the nested searches' round-off reaches
// a few 1e-9 of mT2 on some events.
template <class T = double>
double brute_mt2(T ma, T ax, T ay, T mb, T bx, T by, T mx, T my, T ca, T cb) {
  const T R = T(1e12) * (std::hypot(ax, ay) + std::hypot(bx, by) + std::hypot(mx, my) + ma + mb + ca + cb) + 1;
  auto F = [&](T x, T y) {
    return std::max(stable_mt2_sq<T>(ax, ay, ma, x, y, ca), stable_mt2_sq<T>(bx, by, mb, mx - x, my - y, cb));
  };
  std::function<T(T)> inner = [&](T x) { return golden_min<T>([&](T y) { return F(x, y); }, -R, R, 160); };
  T xs = 0;
  golden_min<T>(inner, -R, R, 160, &xs);
  T ys = 0;
  golden_min<T>([&](T y) { return F(xs, y); }, -R, R, 160, &ys);
  const T f = F(xs, ys);
  return static_cast<double>(std::sqrt(std::max(f, T(0))));
}

struct Ev {
  double ma, ax, ay, mb, bx, by, mx, my, ca, cb;
};

Ev random_event(Rng& r) {
  Ev e;
  auto mass = [&](double top) { return r.uniform() < 0.3 ? 0.0 : r.uniform(0, top); };
  const double pa = r.uniform(1, 200), fa = r.uniform(-kPi, kPi);
  const double pb = r.uniform(1, 200), fb = r.uniform(-kPi, kPi);
  const double pm = r.uniform(0, 300), fm = r.uniform(-kPi, kPi);
  e.ma = mass(60);
  e.mb = mass(60);
  e.ax = pa * std::cos(fa);
  e.ay = pa * std::sin(fa);
  e.bx = pb * std::cos(fb);
  e.by = pb * std::sin(fb);
  e.mx = pm * std::cos(fm);
  e.my = pm * std::sin(fm);
  e.ca = mass(150);
  e.cb = r.uniform() < 0.5 ? e.ca : mass(150);
  return e;
}

double run(const Ev& e) {
  Mt2Options o;
  o.mchi_a = e.ca;
  o.mchi_b = e.cb;
  return mt2(e.ma, e.ax, e.ay, e.mb, e.bx, e.by, e.mx, e.my, o);
}

double run_brute(const Ev& e) { return brute_mt2(e.ma, e.ax, e.ay, e.mb, e.bx, e.by, e.mx, e.my, e.ca, e.cb); }
double run_brute_ld(const Ev& e) {
  using L = long double;
  return brute_mt2<L>(e.ma, e.ax, e.ay, e.mb, e.bx, e.by, e.mx, e.my, e.ca, e.cb);
}

TEST(PhysicsKinematics, VectorAccessorsAndMasses) {
  const auto v = LorentzVector::from_pt_eta_phi_m(30.0, -1.2, 2.5, 4.0);
  EXPECT_NEAR(v.pt(), 30.0, 1e-12);
  EXPECT_NEAR(v.eta(), -1.2, 1e-12);
  EXPECT_NEAR(v.phi(), 2.5, 1e-12);
  EXPECT_NEAR(v.mass(), 4.0, 1e-12);
  EXPECT_NEAR(v.pz(), 30.0 * std::sinh(-1.2), 1e-12);
  EXPECT_NEAR(v.energy(), std::sqrt(16.0 + std::pow(30.0 * std::cosh(1.2), 2)), 1e-11);
  const auto w = LorentzVector::from_px_py_pz_e(v.px(), v.py(), v.pz(), v.energy());
  EXPECT_NEAR(w.mass(), 4.0, 1e-9);
  EXPECT_NEAR(w.eta(), -1.2, 1e-12);
  // Space-like by round-off: mass 0, not NaN.
  EXPECT_EQ(LorentzVector::from_px_py_pz_e(3, 4, 0, 5.0 - 1e-15).mass(), 0.0);
  // pt = 0: eta is +-inf (or 0 for the zero vector), phi 0.
  EXPECT_EQ(LorentzVector::from_px_py_pz_e(0, 0, 5, 5).eta(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(LorentzVector::from_px_py_pz_e(0, 0, -5, 5).eta(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(LorentzVector().eta(), 0.0);
  EXPECT_EQ(LorentzVector().phi(), 0.0);
  EXPECT_EQ(LorentzVector::from_px_py_pz_e(-1, -0.0, 0, 1).phi(), kPi);  // (-pi, pi]
}

TEST(PhysicsKinematics, InvariantMassNoCancellation) {
  // Two massless particles: m^2 = 2 pt1 pt2 (cosh(deta) - cos(dphi)), also at tiny angles where
  // E1 E2 - p1.p2 cancels catastrophically.
  for (double d : {1.0, 1e-3, 1e-6}) {
    const auto a = LorentzVector::from_pt_eta_phi_m(100, 0.3, 0.2, 0);
    const auto b = LorentzVector::from_pt_eta_phi_m(50, 0.3 + d, 0.2 - d, 0);
    const double exact =
        std::sqrt(2 * 100 * 50 * (2 * std::pow(std::sinh(d / 2), 2) + 2 * std::pow(std::sin(d / 2), 2)));
    EXPECT_NEAR(invariant_mass(a, b) / exact, 1.0, 1e-9) << d;
    EXPECT_NEAR((a + b).mass() / exact, 1.0, 1e-9) << d;
  }
  // Massive pair at rest-ish: Z -> mu mu back to back in its rest frame.
  const auto m1 = LorentzVector::from_px_py_pz_e(0, 0, 45, std::hypot(45.0, 0.105));
  const auto m2 = LorentzVector::from_px_py_pz_e(0, 0, -45, std::hypot(45.0, 0.105));
  EXPECT_NEAR(invariant_mass(m1, m2), 2 * std::hypot(45.0, 0.105), 1e-11);
  // Identical collinear muons: m = 2 m_mu exactly.
  const auto mu = LorentzVector::from_pt_eta_phi_m(500, 1.0, 0.5, 0.105);
  EXPECT_NEAR(invariant_mass(mu, mu), 0.21, 1e-12);
}

TEST(PhysicsKinematics, DeltaPhiWrapsIntoHalfOpenInterval) {
  EXPECT_NEAR(delta_phi(0.1, -0.1), 0.2, 1e-15);
  EXPECT_NEAR(delta_phi(3.0, -3.0), 6.0 - 2 * kPi, 1e-14);  // across the branch cut
  EXPECT_NEAR(delta_phi(-3.0, 3.0), 2 * kPi - 6.0, 1e-14);
  EXPECT_EQ(delta_phi(kPi, 0.0), kPi);  // +pi stays
  EXPECT_EQ(delta_phi(0.0, kPi), kPi);  // -pi becomes +pi
  EXPECT_NEAR(delta_phi(7 * kPi + 0.3, 0.0), -kPi + 0.3, 1e-12);
  EXPECT_NEAR(delta_r(1.0, 3.1, 0.0, -3.1), std::hypot(1.0, 2 * kPi - 6.2), 1e-12);
}

TEST(PhysicsKinematics, DeltaPhiIsTheWrapTheSelectionDetectorAndEfpCopiesUsed) {
  // selection.cpp, reconstruct.cpp and energy_flow.cpp had remainder(a - b, 2 pi) with -pi
  // moved to +pi; isolation.cpp and efp.cpp squared remainder(a - b, 2 pi).
  std::mt19937_64 g(3);
  for (int i = 0; i < 10000; ++i) {
    const double a = (static_cast<double>(g() >> 11) * 0x1.0p-53 - 0.5) * 40, b = i % 7 == 0 ? a + kPi : -a * 0.7;
    double old = std::remainder(a - b, 2 * M_PI);
    const double squared = old * old;
    old = old <= -M_PI ? old + 2 * M_PI : old;
    EXPECT_EQ(delta_phi(a, b), old);
    EXPECT_EQ(delta_phi(a, b) * delta_phi(a, b), squared);
  }
}

TEST(PhysicsKinematics, TransverseMassMatchesEquation3AndMassiveForm) {
  // Eq. (3): massless.
  const double pl = 40, pn = 35, fl = 0.4, fn = 2.9;
  const double eq3 = std::sqrt(2 * pl * pn * (1 - std::cos(fl - fn)));
  EXPECT_NEAR(transverse_mass(pl * std::cos(fl), pl * std::sin(fl), 0, pn * std::cos(fn), pn * std::sin(fn)), eq3,
              1e-12);
  const auto lep = LorentzVector::from_pt_eta_phi_m(pl, 1.7, fl, 0);
  EXPECT_NEAR(transverse_mass(lep, pn, fn), eq3, 1e-12);
  // Massive: compare with the naive formula where it does not cancel.
  EXPECT_NEAR(transverse_mass(30, -10, 5, -20, 7, 3), std::sqrt(naive_mt2_sq(30, -10, 5, -20, 7, 3)), 1e-11);
  // Collinear: mT = mv + mi when velocities match (q = mi pv / mv), never below, never NaN.
  EXPECT_NEAR(transverse_mass(30, 40, 10, 15, 20, 5), 15.0, 1e-12);
  EXPECT_NEAR(transverse_mass(1e3, 0, 0, 1e3, 0, 0), 0.0, 0.0);
}

TEST(PhysicsMt2, ZeroMissingMomentumGivesLargerVisibleMass) {
  // q = 0 gives mT(a) = ma, mT(b) = mb, and mT >= m: mT2 = max(ma, mb) for mchi = 0.
  EXPECT_NEAR(mt2(10, 30, 5, 4, -20, 7, 0, 0), 10.0, 1e-8 * 10);
  EXPECT_NEAR(mt2(0, 30, 5, 0, -20, 7, 0, 0), 0.0, 1e-12);
  // Visibles at rest in the transverse plane: q = 0 minimises both: max(ma, mb) + mchi.
  Mt2Options o;
  o.mchi_a = o.mchi_b = 50;
  EXPECT_NEAR(mt2(10, 0, 0, 4, 0, 0, 0, 0, o), 60.0, 1e-8 * 60);
}

TEST(PhysicsMt2, SymmetricBalancedMasslessEvent) {
  // pa = p (cos t, sin t), pb = p (cos t, -sin t), pmiss = -(pa + pb), mchi = 0. The optimum is
  // mirror-symmetric (quasi-convexity plus the y -> -y symmetry); qa = (-p cos t, y) and
  // minimising 2p (sqrt(p^2 cos^2 t + y^2) + p cos^2 t - y sin t) over y gives y = p sin t and
  // mT2 = 2 p cos t.
  for (double t : {0.1, 0.7, 1.2, 1.5}) {
    const double p = 45.0;
    const double ax = p * std::cos(t), ay = p * std::sin(t);
    const double v = mt2(0, ax, ay, 0, ax, -ay, -2 * ax, 0);
    EXPECT_NEAR(v / (2 * p * std::cos(t)), 1.0, 1e-9) << t;
  }
}

TEST(PhysicsMt2, NoUpstreamMomentumClosedForm) {
  // Massless visibles, pmiss = -(pa + pb): mT2^2 = chi^2 + A_T + sqrt(A_T (A_T + 2 chi^2)),
  // A_T = |pa||pb| + pa.pb (Cho, Choi, Kim, Park, arXiv:0709.0288; for chi = 0 it is 2 A_T, the
  // symmetric case above).
  Rng r(11);
  for (int i = 0; i < 50; ++i) {
    const double pa = r.uniform(5, 200), fa = r.uniform(-kPi, kPi), pb = r.uniform(5, 200), fb = r.uniform(-kPi, kPi);
    const double chi = i % 2 ? 0.0 : r.uniform(0, 200);
    const double ax = pa * std::cos(fa), ay = pa * std::sin(fa), bx = pb * std::cos(fb), by = pb * std::sin(fb);
    const double at = pa * pb + ax * bx + ay * by;
    const double expect = std::sqrt(chi * chi + at + std::sqrt(at * (at + 2 * chi * chi)));
    Mt2Options o;
    o.mchi_a = o.mchi_b = chi;
    EXPECT_NEAR(mt2(0, ax, ay, 0, bx, by, -ax - bx, -ay - by, o), expect, 1e-8 * expect + 1e-9) << i;
  }
}

TEST(PhysicsMt2, LowerBoundAttainedWhenBothSidesCanBeMatched) {
  // pmiss = chi_a pa / ma + chi_b pb / mb puts each invisible at its side's minimum, mT = m + chi:
  // mT2 = max(ma + chi_a, mb + chi_b), the lower bound.
  Mt2Options o;
  o.mchi_a = 30;
  o.mchi_b = 70;
  const double ma = 12, ax = 40, ay = -25, mb = 5, bx = -10, by = 60;
  const double mx = o.mchi_a * ax / ma + o.mchi_b * bx / mb, my = o.mchi_a * ay / ma + o.mchi_b * by / mb;
  EXPECT_NEAR(mt2(ma, ax, ay, mb, bx, by, mx, my, o), 75.0, 1e-8 * 75);
  // With equal bounds (ma + chi_a = mb + chi_b = 42) the optimum is unique: perturbing pmiss
  // raises mT2 above the bound.
  o.mchi_b = 37;
  const double nx = o.mchi_a * ax / ma + o.mchi_b * bx / mb, ny = o.mchi_a * ay / ma + o.mchi_b * by / mb;
  EXPECT_NEAR(mt2(ma, ax, ay, mb, bx, by, nx, ny, o), 42.0, 1e-8 * 42);
  EXPECT_GT(mt2(ma, ax, ay, mb, bx, by, nx + 3, ny - 2, o), 42.0 * (1 + 1e-6));
  // Massless visibles, mchi = 0, pmiss inside the cone of pa and pb: mT2 = 0 exactly.
  EXPECT_EQ(mt2(0, 40, -25, 0, -10, 60, 2 * 40 + 0.5 * -10, 2 * -25 + 0.5 * 60), 0.0);
}

TEST(PhysicsMt2, AgreesWithBruteForceOnRandomEvents) {
  Rng r(2026);
  int checked = 0;
  for (int i = 0; i < 300; ++i) {
    const Ev e = random_event(r);
    const double fast = run(e), slow = run_brute(e);
    // The brute force evaluates F at one point, so it can only be above the true minimum.
    EXPECT_LE(fast, slow * (1 + 1e-9) + 1e-9) << i;
    EXPECT_NEAR(fast / slow, 1.0, 1e-6) << "event " << i << ": ma " << e.ma << " mb " << e.mb << " chi " << e.ca << ","
                                        << e.cb;
    const double bound = std::max(e.ma + e.ca, e.mb + e.cb);
    EXPECT_GE(fast, bound * (1 - 1e-12));
    // Any splitting bounds mT2 from above (here: all missing momentum to one side).
    EXPECT_LE(fast, std::sqrt(std::max(naive_mt2_sq(e.ax, e.ay, e.ma, e.mx, e.my, e.ca),
                                       naive_mt2_sq(e.bx, e.by, e.mb, 0, 0, e.cb))) *
                        (1 + 1e-12));
    ++checked;
  }
  EXPECT_EQ(checked, 300);
}

TEST(PhysicsMt2, DegenerateConfigurationsAgreeWithBruteForce) {
  std::vector<Ev> evs = {
      // Collinear (parallel) massless visibles: parallel parabolas, the closed-form branch.
      {0, 30, 40, 0, 60, 80, 10, -70, 0, 0},
      {0, 30, 40, 0, 60, 80, -50, 20, 40, 40},
      {0, 30, 40, 0, 60, 80, -50, 20, 10, 90},
      // Nearly collinear massless visibles: the cubic test (6e-4 rad), the Schur-complement search
      // (6e-6 and 6e-8 rad), and the parallel closed form (2e-9 rad).
      {0, 30, 40, 0, 60, 80.1, -50, 20, 40, 40},
      {0, 30, 40, 0, 60, 80.001, 10, -70, 0, 0},
      {0, 30, 40, 0, 60, 80.00001, -50, 20, 40, 40},
      {0, 30, 40, 0, 60, 80.0000003, -50, 20, 10, 90},
      // Electrons 6e-8 rad apart.
      {0.000511, 30, 40, 0.000511, 60, 80.00001, 10, -70, 0, 0},
      // Collinear massive visibles.
      {5, 30, 40, 10, 60, 80, 10, -70, 0, 0},
      {0.105, 30, 40, 0.000511, 60, 80, 10, -70, 0, 0},
      // Massless with massive invisibles, antiparallel massive visibles.
      {0, -30, 40, 0, 3, 80, 10, -7, 100, 100},
      {20, 30, 40, 20, -30, -40, 10, -70, 50, 0},
      // Tiny missing momentum, huge momentum ratio.
      {1, 1000, 0, 1, 0, 1, 1e-3, 1e-3, 0, 0},
      {0.2, 3000, 100, 0.1, -2000, 50, 20, 10, 0, 0},
  };
  for (std::size_t i = 0; i < evs.size(); ++i) {
    const double fast = run(evs[i]), slow = run_brute(evs[i]);
    EXPECT_NEAR(fast / slow, 1.0, 1e-6) << "case " << i << " fast " << fast << " brute " << slow;
  }
  // Antiparallel massless visibles: the parabolas open the same way, mT2 is the lower bound.
  Mt2Options o;
  EXPECT_EQ(mt2(0, 30, 40, 0, -3, -4, 10, -70, o), 0.0);
  o.mchi_a = 20;
  o.mchi_b = 35;
  EXPECT_EQ(mt2(0, 30, 40, 0, -3, -4, 10, -70, o), 35.0);
}

TEST(PhysicsMt2, MassiveCasesAgreeWithLongDoubleBruteForceTo1e9) {
  // The bisection with secant steps (massive visibles or invisibles) to the header's 1e-9.
  Rng r(77);
  for (int i = 0; i < 80; ++i) {
    Ev e = random_event(r);
    if (e.ma == 0 && e.mb == 0 && e.ca == 0 && e.cb == 0) e.ca = e.cb = 50;
    const double fast = run(e), slow = run_brute_ld(e);
    EXPECT_NEAR(fast / slow, 1.0, 1e-9) << i << " fast " << fast << " brute " << slow;
  }
}

TEST(PhysicsMt2, MasslessClosedFormAgreesWithBruteForce) {
  // Massless visibles and invisibles take the closed form (support functions of the two
  // parabolas); random events over all directions, including missing momentum inside the cone of
  // the visibles (mT2 = 0), against the brute-force minimisation.
  Rng r(404);
  int zero = 0;
  for (int i = 0; i < 200; ++i) {
    const double pa = r.uniform(1, 500), fa = r.uniform(-kPi, kPi), pb = r.uniform(1, 500), fb = r.uniform(-kPi, kPi);
    const double pm = r.uniform(0, 600), fm = r.uniform(-kPi, kPi);
    const Ev e{0,
               pa * std::cos(fa),
               pa * std::sin(fa),
               0,
               pb * std::cos(fb),
               pb * std::sin(fb),
               pm * std::cos(fm),
               pm * std::sin(fm),
               0,
               0};
    const double fast = run(e), slow = run_brute_ld(e);
    if (fast == 0) {
      ++zero;
      EXPECT_LE(slow, 1e-6 * (pa + pb + pm)) << i;
    } else {
      EXPECT_NEAR(fast / slow, 1.0, 1e-9) << i << " fast " << fast << " brute " << slow;
    }
  }
  EXPECT_GT(zero, 10);
  EXPECT_LT(zero, 190);
}

TEST(PhysicsMt2, NearlyBackToBackMasslessVisiblesAreNotZero) {
  // Issue 15: massless visibles within ~3e-8 rad of back to back with a massless invisible used to
  // return exactly 0 (the antiparallel shortcut), where the true value is of order
  // sqrt(angle) x the momentum scale. Against the brute force, on a 2.5 TeV scale.
  // On each side of the line only one of +-pmiss lies outside the thin cone of the visibles
  // (outside it mT2 > 0, inside it is 0).
  int nonzero = 0;
  for (double delta : {1e-4, 1e-6, 3e-8, 1e-8, 1e-9}) {
    for (int side : {1, -1}) {
      for (double sign : {1.0, -1.0}) {
        const double pa = 2500, pb = 1700, fa = 0.3, fb = fa + kPi - side * delta;
        const Ev e{0,          pa * std::cos(fa), pa * std::sin(fa),
                   0,          pb * std::cos(fb), pb * std::sin(fb),
                   sign * 300, sign * -800,       0,
                   0};
        const double fast = run(e), slow = run_brute_ld(e);
        if (slow > 1e-6) {
          ++nonzero;
          EXPECT_NEAR(fast / slow, 1.0, 1e-9) << delta << " side " << side << " fast " << fast << " brute " << slow;
        } else {
          EXPECT_LE(fast, 1e-6) << delta << " side " << side;
        }
      }
    }
  }
  EXPECT_EQ(nonzero, 10);
  // Exactly back to back: the parabolas open the same way and mT2 is 0.
  EXPECT_EQ(mt2(0, 30, 40, 0, -3, -4, 10, -70), 0.0);
}

TEST(PhysicsMt2, InvariantUnderRotationSwapAndScaling) {
  Rng r(7);
  for (int i = 0; i < 100; ++i) {
    const Ev e = random_event(r);
    const double v = run(e);
    const double t = r.uniform(-kPi, kPi), c = std::cos(t), s = std::sin(t);
    auto rot = [&](double x, double y, double& ox, double& oy) {
      ox = c * x - s * y;
      oy = s * x + c * y;
    };
    Ev g = e;
    rot(e.ax, e.ay, g.ax, g.ay);
    rot(e.bx, e.by, g.bx, g.by);
    rot(e.mx, e.my, g.mx, g.my);
    EXPECT_NEAR(run(g), v, 1e-8 * v + 1e-12) << i;
    Ev w{e.mb, e.bx, e.by, e.ma, e.ax, e.ay, e.mx, e.my, e.cb, e.ca};
    EXPECT_NEAR(run(w), v, 1e-8 * v + 1e-12) << i;
    const double k = 1e3;
    Ev h{e.ma * k, e.ax * k, e.ay * k, e.mb * k, e.bx * k, e.by * k, e.mx * k, e.my * k, e.ca * k, e.cb * k};
    EXPECT_NEAR(run(h), k * v, 1e-8 * k * v + 1e-9) << i;
  }
}

// Boost a four-vector (e, px, py, pz) by velocity beta.
void boost(double b[3], double& e, double& px, double& py, double& pz) {
  const double b2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2];
  if (b2 == 0) return;
  const double g = 1.0 / std::sqrt(1.0 - b2);
  const double bp = b[0] * px + b[1] * py + b[2] * pz;
  const double g2 = (g - 1.0) / b2;
  px += g2 * bp * b[0] + g * b[0] * e;
  py += g2 * bp * b[1] + g * b[1] * e;
  pz += g2 * bp * b[2] + g * b[2] * e;
  e = g * (e + bp);
}

TEST(PhysicsMt2, TruthWPairsNeverExceedTheWMass) {
  // W+ W- -> l nu l nu: each W gets a mass (on shell, or Breit-Wigner truncated to [60, 100]),
  // a random momentum, and decays isotropically in its rest frame. With the true neutrinos as
  // the missing momentum and mchi = 0, mT2(ll) <= max(m_W1, m_W2); on shell the maximum over
  // events approaches m_W.
  const double mw = 80.379, gw = 2.085;
  Rng r(99);
  for (bool on_shell : {true, false}) {
    double worst = -1, highest = 0;
    for (int i = 0; i < 5000; ++i) {
      double lep[2][4], nu[2][4], mass[2];
      for (int w = 0; w < 2; ++w) {
        double m = mw;
        if (!on_shell) {
          do m = mw + 0.5 * gw * std::tan(kPi * (r.uniform() - 0.5));
          while (m < 60 || m > 100);
        }
        mass[w] = m;
        const double p = r.uniform(0, 400), ct = r.uniform(-1, 1), f = r.uniform(-kPi, kPi);
        const double st = std::sqrt(1 - ct * ct), ew = std::sqrt(m * m + p * p);
        double beta[3] = {p * st * std::cos(f) / ew, p * st * std::sin(f) / ew, p * ct / ew};
        const double dc = r.uniform(-1, 1), df = r.uniform(-kPi, kPi), ds = std::sqrt(1 - dc * dc);
        const double k = m / 2;  // massless lepton and neutrino
        double le = k, lx = k * ds * std::cos(df), ly = k * ds * std::sin(df), lz = k * dc;
        double ne = k, nx = -lx, ny = -ly, nz = -lz;
        boost(beta, le, lx, ly, lz);
        boost(beta, ne, nx, ny, nz);
        lep[w][0] = le;
        lep[w][1] = lx;
        lep[w][2] = ly;
        lep[w][3] = lz;
        nu[w][0] = ne;
        nu[w][1] = nx;
        nu[w][2] = ny;
        nu[w][3] = nz;
      }
      const double v = mt2(0, lep[0][1], lep[0][2], 0, lep[1][1], lep[1][2], nu[0][1] + nu[1][1], nu[0][2] + nu[1][2]);
      const double bound = std::max(mass[0], mass[1]);
      worst = std::max(worst, v / bound - 1);
      if (on_shell) highest = std::max(highest, v);
    }
    EXPECT_LE(worst, 1e-9) << (on_shell ? "on shell" : "Breit-Wigner");
    if (on_shell) {
      EXPECT_GT(highest, 0.98 * mw);
      EXPECT_LE(highest, mw * (1 + 1e-9));
    }
  }
}

TEST(PhysicsMt2, NanInNanOutAndNegativeMassIsAnError) {
  EXPECT_TRUE(std::isnan(mt2(0, std::nan(""), 1, 0, 1, 1, 1, 1)));
  EXPECT_THROW(mt2(-1, 1, 1, 0, 1, 1, 1, 1), unbox::Error);
  Mt2Options o;
  o.mchi_b = -2;
  EXPECT_THROW(mt2(0, 1, 1, 0, 1, 1, 1, 1, o), unbox::Error);
}

TEST(PhysicsMt2, BatchMatchesScalarOnAnyThreadCount) {
  Rng r(5);
  const std::size_t n = 503;
  std::vector<double> apt(n), aphi(n), am(n), bpt(n), bphi(n), bm(n), met(n), mphi(n), one(n), two(n);
  for (std::size_t i = 0; i < n; ++i) {
    apt[i] = r.uniform(0, 200);
    aphi[i] = r.uniform(-kPi, kPi);
    am[i] = r.uniform(0, 10);
    bpt[i] = r.uniform(0, 200);
    bphi[i] = r.uniform(-kPi, kPi);
    bm[i] = i % 3 ? 0.0 : r.uniform(0, 10);
    met[i] = r.uniform(0, 300);
    mphi[i] = r.uniform(-kPi, kPi);
  }
  Mt2Options o;
  o.mchi_a = o.mchi_b = 10;
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  mt2_batch(n, apt.data(), aphi.data(), am.data(), bpt.data(), bphi.data(), bm.data(), met.data(), mphi.data(),
            one.data(), o);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  mt2_batch(n, apt.data(), aphi.data(), am.data(), bpt.data(), bphi.data(), bm.data(), met.data(), mphi.data(),
            two.data(), o);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(one[i], two[i]);
    const double v =
        mt2(am[i], apt[i] * std::cos(aphi[i]), apt[i] * std::sin(aphi[i]), bm[i], bpt[i] * std::cos(bphi[i]),
            bpt[i] * std::sin(bphi[i]), met[i] * std::cos(mphi[i]), met[i] * std::sin(mphi[i]), o);
    EXPECT_EQ(one[i], v);
  }
  am[7] = -1;
  EXPECT_THROW(mt2_batch(n, apt.data(), aphi.data(), am.data(), bpt.data(), bphi.data(), bm.data(), met.data(),
                         mphi.data(), one.data(), o),
               unbox::Error);
}

}  // namespace
