// Top, W and tau decays of the built-in generator.
// Top: t -> b W+ -> b l+ nu with the V-A matrix element |M|^2 ~ (p_t.p_l)(p_b.p_nu) (and the
// CP conjugate for tbar), W mass from a Breit-Wigner times the decay's phase space and |M|^2
// integrated over the lepton angles. Lepton flavours from the PDG W branching fractions.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>

#include "generator_internal.hpp"

namespace unbox::physics::gen {

namespace {
constexpr double kMw = SmParameters::m_w, kGw = SmParameters::w_width, kMb = SmParameters::m_b;
constexpr double kMtau = 1.77686;
constexpr double kBrE = 0.1071, kBrMu = 0.1063, kBrTau = 0.1138, kBrTauE = 0.1782, kBrTauMu = 0.1739;

// Isotropic unit vector.
void iso(Rng& rng, double& x, double& y, double& z) {
  unit_vector(rng.uniform(-1.0, 1.0), rng.uniform(0.0, 2.0 * M_PI), x, y, z);
}

// W-frame energies of t and b in t -> b W* and the momentum p (both along the same axis there).
void w_frame(double mt, double mw, double& et, double& eb, double& p) {
  const double sum = (mt * mt - kMb * kMb) / mw;
  et = 0.5 * (sum + mw);
  eb = 0.5 * (sum - mw);
  p = std::sqrt(std::max(0.0, eb * eb - kMb * kMb));
}

// Phase space x |M|^2 integrated over the lepton angles, as a function of the W mass.
double w_mass_factor(double mt, double mw) {
  double et, eb, p;
  w_frame(mt, mw, et, eb, p);
  return two_body_p(mt, kMb, mw) / mt * mw * mw * (et * eb - p * p / 3.0);
}
}  // namespace

double breit_wigner(Rng& rng, double m0, double width, double lo, double hi) {
  const double mg = m0 * width;
  const double a = std::atan((lo * lo - m0 * m0) / mg), b = std::atan((hi * hi - m0 * m0) / mg);
  const double m2 = m0 * m0 + mg * std::tan(a + (b - a) * rng.uniform());
  return std::sqrt(std::max(m2, 0.0));
}

double w_leptonic_fraction(bool taus) { return kBrE + kBrMu + (taus ? kBrTau * (kBrTauE + kBrTauMu) : 0.0); }

void pick_w_leptons(Rng& rng, bool positive, bool taus, int& lepton, int& neutrino) {
  const double u = rng.uniform() * w_leptonic_fraction(taus);
  int flav = u < kBrE ? kE : (u < kBrE + kBrMu ? kMu : kTau);
  lepton = positive ? -flav : flav;
  neutrino = positive ? flav + 1 : -(flav + 1);
}

void decay_w_isotropic(Rng& rng, const P4& w, P4& l, P4& nu) {
  const double m = w.m();
  double x, y, z;
  iso(rng, x, y, z);
  const double e = 0.5 * m;
  l = boost_from_rest(P4(e, e * x, e * y, e * z), w);
  nu = boost_from_rest(P4(e, -e * x, -e * y, -e * z), w);
}

double w_line_shape(double mt, double mw) {
  if (!(mw > 0) || mw >= mt - kMb) return 0.0;
  const double d = mw * mw - kMw * kMw, mg = kMw * kGw;
  return w_mass_factor(mt, mw) / (d * d + mg * mg);
}

double w_mass_upper(double mt) { return mt - kMb - 1e-3; }

namespace {

// Gauss-Legendre, 16 nodes on [-1, 1] (computed once).
struct Gl16 {
  double x[16], w[16];
  Gl16() {
    const int n = 16;
    for (int i = 0; i < n; ++i) {
      double z = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
      for (int it = 0; it < 100; ++it) {
        double p0 = 1, p1 = z;
        for (int k = 2; k <= n; ++k) {
          const double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
          p0 = p1, p1 = p2;
        }
        dp = n * (z * p1 - p0) / (z * z - 1);
        const double dz = p1 / dp;
        z -= dz;
        if (std::abs(dz) < 1e-15) break;
      }
      x[i] = z;
      w[i] = 2 / ((1 - z * z) * dp * dp);
    }
  }
};
const Gl16& gl16() {
  static const Gl16 g;
  return g;
}

// Integral of f(m) dm over [a, b] by 16-point Gauss-Legendre after m = b - (b - a) t^2 (t in
// [0, 1]), which removes the square-root edge of the decay phase space at b.
template <class F>
double integrate_to_edge(F f, double a, double b) {
  const Gl16& g = gl16();
  double s = 0;
  for (int i = 0; i < 16; ++i) {
    const double t = 0.5 * (g.x[i] + 1);
    s += 0.5 * g.w[i] * f(b - (b - a) * t * t) * 2 * (b - a) * t;
  }
  return s;
}
template <class F>
double integrate(F f, double a, double b) {
  const Gl16& g = gl16();
  double s = 0;
  for (int i = 0; i < 16; ++i) s += 0.5 * (b - a) * g.w[i] * f(a + 0.5 * (b - a) * (g.x[i] + 1));
  return s;
}

}  // namespace

double decay_top(Rng& rng, const P4& top, double mt, bool anti, bool taus, TopDecay& out, double tail_fraction) {
  (void)anti;  // |M|^2 has the same form for t and tbar with l+ <-> l-
  // The W* mass over its whole physical range (0, m_t - m_b): the fixed-width relativistic
  // Breit-Wigner |1/(m^2 - M^2 + i M G)|^2 (MadGraph's default) times F(m), the decay's phase
  // space and |M|^2 integrated over the lepton angles. Proposal for m^2: (1 - f) x the
  // Breit-Wigner (by its arctan map) + f x flat in m^2 above M + 5 G (the tail), then
  // accept-reject on F. Weight: target / accepted density = (BW / g) x (N_g / N), with
  // N = int BW F dm^2 and N_g = int g F dm^2 by quadrature at this top mass; f = 0: weight 1.
  const double lo = kWMassLow, hi = w_mass_upper(mt);
  const double tlo = kMw + 5 * kGw;
  const double f = (tail_fraction > 0 && hi > tlo + 1.0) ? tail_fraction : 0.0;
  double fmax = 0;
  for (int i = 0; i <= 64; ++i) fmax = std::max(fmax, w_mass_factor(mt, lo + (hi - lo) * i / 64.0));
  fmax *= 1.05;
  const double mg = kMw * kGw;
  const double a = std::atan((lo * lo - kMw * kMw) / mg), b = std::atan((hi * hi - kMw * kMw) / mg);
  const double s_t = tlo * tlo, s_hi = hi * hi;
  double mw;
  for (;;) {
    if (f > 0 && rng.uniform() < f)
      mw = std::sqrt(s_t + (s_hi - s_t) * rng.uniform());
    else
      mw = std::sqrt(std::max(kMw * kMw + mg * std::tan(a + (b - a) * rng.uniform()), lo * lo));
    if (rng.uniform() * fmax <= w_mass_factor(mt, mw)) break;
  }
  out.weight = 1.0;
  if (f > 0) {
    // Densities in s = m^2 on [lo^2, hi^2]: the normalized Breit-Wigner and the flat tail.
    auto bw = [&](double s) {
      const double d = s - kMw * kMw;
      return mg / (d * d + mg * mg) / (b - a);
    };
    const double flat = 1.0 / (s_hi - s_t);
    // N = int BW(s) F ds over panels in m (the peak resolved, the edge by its own map).
    auto bwf = [&](double m) { return bw(m * m) * w_mass_factor(mt, m) * 2 * m; };
    const double edges[7] = {lo, kMw - 10 * kGw, kMw - 2 * kGw, kMw, kMw + 2 * kGw, kMw + 10 * kGw, kMw + 30 * kGw};
    double n = 0, prev = lo;
    for (double e : edges) {
      if (e <= prev) continue;
      if (e >= hi) break;
      n += integrate(bwf, prev, e);
      prev = e;
    }
    n += integrate_to_edge(bwf, prev, hi);
    const double nt = flat * integrate_to_edge([&](double m) { return w_mass_factor(mt, m) * 2 * m; }, tlo, hi);
    const double s = mw * mw;
    const double g = (1 - f) * bw(s) + (s >= s_t ? f * flat : 0.0);
    out.weight = bw(s) / g * ((1 - f) * n + f * nt) / n;
  }
  // W direction isotropic in the top frame (unpolarized top; correlations by the caller).
  const double pw = two_body_p(mt, kMb, mw);
  double x, y, z;
  iso(rng, x, y, z);
  const P4 w_top(std::sqrt(pw * pw + mw * mw), pw * x, pw * y, pw * z);
  const P4 b_top(std::sqrt(pw * pw + kMb * kMb), -pw * x, -pw * y, -pw * z);
  // Lepton in the W frame: g(c) = (Et - p c)(Eb + p c), c = cos(angle to the b direction = -W).
  double et, eb, p;
  w_frame(mt, mw, et, eb, p);
  const double cstar = std::clamp(mw / (2 * p), -1.0, 1.0);
  auto g = [&](double c) { return (et - p * c) * (eb + p * c); };
  const double gmax = std::max({g(-1.0), g(1.0), g(cstar)}) * 1.000001;
  double lx, ly, lz, c;
  do {
    iso(rng, lx, ly, lz);
    c = -(lx * x + ly * y + lz * z);
  } while (rng.uniform() * gmax > g(c));
  const double e = 0.5 * mw;
  const P4 l_w(e, e * lx, e * ly, e * lz), nu_w(e, -e * lx, -e * ly, -e * lz);
  out.w = boost_from_rest(w_top, top);
  out.b = boost_from_rest(b_top, top);
  out.l = boost_from_rest(boost_from_rest(l_w, w_top), top);
  out.nu = boost_from_rest(boost_from_rest(nu_w, w_top), top);
  pick_w_leptons(rng, !anti, taus, out.lepton, out.neutrino);
  return out.weight;
}

void decay_tau(Rng& rng, const P4& tau, P4& l, P4& nu1, P4& nu2, int& lepton_id, bool anti) {
  double xe;
  do xe = rng.uniform();
  while (rng.uniform() > xe * xe * (3 - 2 * xe));
  const double el = 0.5 * kMtau * xe;
  double x, y, z;
  iso(rng, x, y, z);
  const P4 lr(el, el * x, el * y, el * z);
  const P4 q = P4(kMtau, 0, 0, 0) - lr;
  const double mq = q.m(), e = 0.5 * mq;
  iso(rng, x, y, z);
  const P4 n1 = boost_from_rest(P4(e, e * x, e * y, e * z), q), n2 = boost_from_rest(P4(e, -e * x, -e * y, -e * z), q);
  l = boost_from_rest(lr, tau);
  nu1 = boost_from_rest(n1, tau);
  nu2 = boost_from_rest(n2, tau);
  const bool electron = rng.uniform() * (kBrTauE + kBrTauMu) < kBrTauE;
  lepton_id = (electron ? kE : kMu) * (anti ? -1 : 1);
}

int add_w_leptons(Rng& rng, Record& rec, int w_index, const P4& l, const P4& nu, int lepton, int neutrino) {
  rec.add(nu, 0.0, neutrino, 1, w_index);
  if (std::abs(lepton) != kTau) return rec.add(l, std::abs(lepton) == kE ? 0.000511 : 0.10566, lepton, 1, w_index);
  // Massive tau with the same three-momentum.
  const P4 t(std::sqrt(l.x * l.x + l.y * l.y + l.z * l.z + kMtau * kMtau), l.x, l.y, l.z);
  const int ti = rec.add(t, kMtau, lepton, 2, w_index);
  P4 ll, n1, n2;
  int lid;
  const bool anti = lepton < 0;  // tau+ -> l+ nu nubar
  decay_tau(rng, t, ll, n1, n2, lid, anti);
  const int flav = std::abs(lid);
  // tau- -> l- nubar_l nu_tau; tau+ -> l+ nu_l nubar_tau
  rec.add(n1, 0.0, anti ? flav + 1 : -(flav + 1), 1, ti);
  rec.add(n2, 0.0, anti ? -kNuTau : kNuTau, 1, ti);
  return rec.add(ll, flav == kE ? 0.000511 : 0.10566, lid, 1, ti);
}

}  // namespace unbox::physics::gen
