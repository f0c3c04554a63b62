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

void decay_top(Rng& rng, const P4& top, double mt, bool anti, bool taus, TopDecay& out) {
  (void)anti;  // |M|^2 has the same form for t and tbar with l+ <-> l-
  const double lo = std::max(kMw - 15 * kGw, 1.0), hi = std::min(kMw + 15 * kGw, mt - kMb - 1e-3);
  double fmax = 0;
  for (int i = 0; i <= 8; ++i) fmax = std::max(fmax, w_mass_factor(mt, lo + (hi - lo) * i / 8.0));
  fmax *= 1.05;
  double mw;
  do mw = breit_wigner(rng, kMw, kGw, lo, hi);
  while (rng.uniform() * fmax > w_mass_factor(mt, mw));
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
