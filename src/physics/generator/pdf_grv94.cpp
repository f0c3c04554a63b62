// GRV94 LO parton densities (Glück, Reya, Vogt 1995) with GRV92 LO charm and bottom, written
// from the published forms; coefficients from the tables in notes/grv94lo.md §4.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "unbox/physics/pdf.hpp"

#include <algorithm>
#include <cmath>

namespace unbox::physics {

namespace {
constexpr double kMu0sq = 0.23, kLam2 = 0.2322 * 0.2322;
constexpr double kMu0sq92 = 0.25, kLam2_92 = 0.232 * 0.232;
double clamp_q2(double q2) { return std::clamp(q2, 0.4, 1e6); }
}  // namespace

double Grv94Lo::s94(double q2) {
  q2 = clamp_q2(q2);
  return std::log(std::log(q2 / kLam2) / std::log(kMu0sq / kLam2));
}
double Grv94Lo::s92(double q2) {
  q2 = clamp_q2(q2);
  return std::log(std::log(q2 / kLam2_92) / std::log(kMu0sq92 / kLam2_92));
}

Grv94Lo::Grv94Lo(double q2) : q2_(clamp_q2(q2)) {
  const double s = s94(q2_), s2 = s * s, s3 = s2 * s, rs = std::sqrt(s);
  uv_ = {2.284 + 0.802 * s + 0.055 * s2,
         0.590 - 0.024 * s,
         0.131 + 0.063 * s,
         -0.449 - 0.138 * s - 0.076 * s2,
         0.213 + 2.669 * s - 0.728 * s2,
         8.854 - 9.135 * s + 1.979 * s2,
         2.997 + 0.753 * s - 0.076 * s2};
  dv_ = {0.371 + 0.083 * s + 0.039 * s2,
         0.376,
         0.486 + 0.062 * s,
         -0.509 + 3.310 * s - 1.248 * s2,
         12.41 - 10.52 * s + 2.267 * s2,
         6.373 - 6.208 * s + 1.418 * s2,
         3.691 + 0.799 * s - 0.071 * s2};
  del_ = {0.082 + 0.014 * s + 0.008 * s2,
          0.409 - 0.005 * s,
          0.799 + 0.071 * s,
          -38.07 + 36.13 * s - 0.656 * s2,
          90.31 - 74.15 * s + 7.645 * s2,
          0.0,
          7.486 + 1.217 * s - 0.159 * s2};
  udb_ = {1.451,
          0.271,
          0.410 - 0.232 * s,
          0.534 - 0.457 * s,
          0.890 - 0.140 * s,
          -0.981,
          0.320 + 0.683 * s,
          4.752 + 1.164 * s + 0.286 * s2,
          4.119 + 1.713 * s,
          0.682 + 2.978 * s,
          s};
  g_ = {0.524,
        1.088,
        1.742 - 0.930 * s,
        -0.399 * s2,
        7.486 - 2.185 * s,
        16.69 - 22.74 * s + 5.779 * s2,
        -25.59 + 29.71 * s - 7.296 * s2,
        2.792 + 2.215 * s + 0.422 * s2 - 0.104 * s3,
        0.807 + 2.005 * s,
        3.841 + 0.316 * s,
        s};
  s_ = {0.0,
        0.914,
        0.577,
        1.798 - 0.596 * s,
        -5.548 + 3.669 * rs - 0.616 * s,
        18.92 - 16.73 * rs + 5.168 * s,
        6.379 - 0.350 * s + 0.142 * s2,
        3.981 + 1.638 * s,
        6.402,
        s};
  const double t = s92(q2_);
  c_ = {0.888, 1.010, 0.370, 0.0, 0.0, 4.24 - 0.804 * t, 3.46 + 1.076 * t, 4.61 + 1.49 * t, 2.555 + 1.961 * t, t};
  b_ = {1.351, 1.000, 0.510, 0.0, 0.0, 1.848, 2.929 + 1.396 * t, 4.71 + 1.514 * t, 4.02 + 1.239 * t, t};
  for (W* w : {&udb_, &g_}) w->sa = std::pow(w->s, w->al), w->esb = w->Ep * std::pow(w->s, w->be);
  for (S* q : {&s_, &c_, &b_}) {
    q->pre = q->s > q->sh ? std::pow(q->s - q->sh, q->al) : 0.0;
    q->esb = q->Ep * std::pow(q->s, q->be);
  }
}

// The forms evaluate every power as one exponential of shared logarithms (the scale-only
// factors s^alpha, E' s^beta are constants of the object).
double Grv94Lo::form_v(const V& p, double x, const Logs& g) {
  return p.n * std::exp(p.a * g.lnx) * (1.0 + p.A * std::exp(p.b * g.lnx) + x * (p.B + p.C * g.sqx)) *
         std::exp(p.D * g.ln1mx);
}

double Grv94Lo::form_w(const W& p, double x, const Logs& g) {
  return (std::exp(p.a * g.lnx + p.b * g.lnlx) * (p.A + x * (p.B + x * p.C)) +
          p.sa * std::exp(-p.E + std::sqrt(p.esb * g.lx))) *
         std::exp(p.D * g.ln1mx);
}

double Grv94Lo::form_s(const S& p, double x, const Logs& g) {
  if (p.s <= p.sh) return 0.0;
  return p.pre * std::exp(-p.a * g.lnlx + p.D * g.ln1mx - p.E + std::sqrt(p.esb * g.lx)) *
         (1.0 + p.A * g.sqx + p.B * x);
}

void Grv94Lo::xf_all(double x, std::array<double, 13>& out) const {
  out.fill(0.0);
  if (!(x > 0.0) || x >= 1.0) return;
  Logs g;
  g.lnx = std::log(x);
  g.ln1mx = std::log1p(-x);
  g.lx = -g.lnx;
  g.lnlx = std::log(g.lx);
  g.sqx = std::sqrt(x);
  const double uv = form_v(uv_, x, g), dv = form_v(dv_, x, g), del = form_v(del_, x, g);
  const double udb = form_w(udb_, x, g), gl = form_w(g_, x, g);
  const double xs = form_s(s_, x, g), xc = form_s(c_, x, g), xb = form_s(b_, x, g);
  const double ub = 0.5 * (udb - del), db = 0.5 * (udb + del);
  auto pos = [](double v) { return v > 0.0 ? v : 0.0; };
  out[pdf_slot(0)] = pos(gl);
  out[pdf_slot(1)] = pos(dv + db);
  out[pdf_slot(-1)] = pos(db);
  out[pdf_slot(2)] = pos(uv + ub);
  out[pdf_slot(-2)] = pos(ub);
  out[pdf_slot(3)] = out[pdf_slot(-3)] = pos(xs);
  out[pdf_slot(4)] = out[pdf_slot(-4)] = pos(xc);
  out[pdf_slot(5)] = out[pdf_slot(-5)] = pos(xb);
}

double Grv94Lo::xf(int id, double x) const {
  if (id == 21) id = 0;
  if (id < -5 || id > 5) return 0.0;
  std::array<double, 13> all;
  xf_all(x, all);
  return all[static_cast<size_t>(pdf_slot(id))];
}

double alpha_s_grv94(double mu) {
  const double q2 = mu * mu;
  int nf;
  double lam;
  if (mu < 1.5) {
    nf = 3, lam = 0.232;
  } else if (mu < 4.5) {
    nf = 4, lam = 0.200;
  } else {
    nf = 5, lam = 0.153;
  }
  const double b0 = 11.0 - 2.0 * nf / 3.0;
  return 4.0 * M_PI / (b0 * std::log(q2 / (lam * lam)));
}

}  // namespace unbox::physics
