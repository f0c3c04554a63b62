// tW, WW and stop three-body squared amplitudes as numerical Dirac traces.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "electroweak.hpp"

#include <cmath>
#include <complex>

#include "dirac.hpp"
#include "unbox/physics/generator.hpp"

namespace unbox::physics::gen {

using Cx = std::complex<double>;

EwParameters ew_parameters(double alpha_s) {
  EwParameters e;
  e.mw = SmParameters::m_w;
  e.mz = SmParameters::m_z;
  e.gz = 2.4952;
  e.sw2 = 1.0 - e.mw * e.mw / (e.mz * e.mz);
  e.g2 = 4.0 * std::sqrt(2.0) * SmParameters::g_fermi * e.mw * e.mw;
  e.gs2 = 4.0 * M_PI * alpha_s;
  return e;
}

namespace {
M4 proj_l(const Dirac& D) { return 0.5 * (D.one - D.g5); }
Cx dotc(const Cx a[4], const Cx b[4]) { return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]; }
Cx dotp(const Cx a[4], const P4& b) { return a[0] * b.e - a[1] * b.x - a[2] * b.y - a[3] * b.z; }
}  // namespace

double me2_gb_tw(const EwParameters& ew, const P4& pg, const P4& pb, const P4& pt, double mt, const P4& pl,
                 const P4& pn, Eigen::Vector3d& P) {
  const Dirac& D = Dirac::get();
  Cx J[4];
  lefthanded_current(pl, pn, J);  // W- -> l- nubar: ubar(l) gamma P_L v(nubar)
  const M4 PL = proj_l(D), Js = D.slash(J) * PL;
  const double shat = dot(pg + pb, pg + pb), tt = dot(pt - pg, pt - pg) - mt * mt;
  const M4 X = D.slash(pt) + D.one * mt, Bm = D.slash(pb);
  // Transverse gluon polarizations in the frame where the gluon moves along its direction.
  const double gp = pg.p();
  const double nx = pg.x / gp, ny = pg.y / gp, nz = pg.z / gp;
  double ux, uy, uz;
  if (std::abs(nz) < 0.9)
    ux = -ny, uy = nx, uz = 0;
  else
    ux = 0, uy = -nz, uz = ny;
  const double un = std::sqrt(ux * ux + uy * uy + uz * uz);
  ux /= un, uy /= un, uz /= un;
  const P4 e1(0, ux, uy, uz), e2(0, ny * uz - nz * uy, nz * ux - nx * uz, nx * uy - ny * ux);
  M4 Sa[3];
  for (int i = 0; i < 3; ++i) {
    double a[3] = {0, 0, 0};
    a[i] = 1;
    Sa[i] = D.g5 * D.slash(spin_vector(pt, mt, a[0], a[1], a[2]));
  }
  double T0 = 0;
  Eigen::Vector3d Ta = Eigen::Vector3d::Zero();
  for (const P4& e : {e1, e2}) {
    const M4 es = D.slash(e);
    const M4 G = Js * D.slash(pb + pg) * es / shat + es * (D.slash(pt - pg) + D.one * mt) * Js / tt;
    const M4 GB = G * Bm * D.bar(G);
    T0 += (X * GB).trace().real();
    for (int i = 0; i < 3; ++i) Ta(i) += (X * Sa[i] * GB).trace().real();
  }
  P = Ta / T0;
  // couplings: gs^2 (g^2/2)^2; colour Tr(T^a T^a) = 4 over 8 * 3, spins 1/4
  return T0 * ew.gs2 * 0.25 * ew.g2 * ew.g2 * 4.0 / 24.0 / 4.0;
}

namespace {
// The parts of q qbar -> W- W+ -> 4 leptons shared by every quark flavour and orientation:
// the two lepton currents and the triple-gauge vertex contracted with them.
struct WwCurrents {
  Cx Jm[4], Jp[4];
  P4 qm, qp;
  M4 Jms, Jps, Vs;
  WwCurrents(const Dirac& D, const P4& k1, const P4& k2, const P4& k3, const P4& k4) {
    lefthanded_current(k1, k2, Jm);  // W-: l-(k1) nubar(k2)
    lefthanded_current(k3, k4, Jp);  // W+: nu(k3) l+(k4)
    qm = k1 + k2, qp = k3 + k4;
    Jms = D.slash(Jm), Jps = D.slash(Jp);
    // Triple gauge vertex contracted with the currents (conserved: q.J = 0).
    const Cx a = 2.0 * dotp(Jp, qm), b = dotc(Jm, Jp), c = 2.0 * dotp(Jm, qp);
    Cx V[4];
    const double dq[4] = {qp.e - qm.e, qp.x - qm.x, qp.y - qm.y, qp.z - qm.z};
    for (int mu = 0; mu < 4; ++mu) V[mu] = Jm[mu] * a + b * dq[mu] - Jp[mu] * c;
    Vs = D.slash(V);
  }
};

double me2_qq_ww_from(const EwParameters& ew, const Dirac& D, const M4& PL, const WwCurrents& w, bool up, const P4& p1,
                      const P4& p2, double kappa) {
  M4 Gt;
  if (!up) {  // d -> u W-: the W- attaches next to u(p1)
    const P4 q = p1 - w.qm;
    Gt = w.Jps * D.slash(q) * w.Jms * PL / dot(q, q);
  } else {  // u -> d W+
    const P4 q = p1 - w.qp;
    Gt = w.Jms * D.slash(q) * w.Jps * PL / dot(q, q);
  }
  const double shat = dot(p1 + p2, p1 + p2);
  const double Q = up ? 2.0 / 3.0 : -1.0 / 3.0, T3 = up ? 0.5 : -0.5;
  const double e2 = ew.g2 * ew.sw2;
  const Cx zprop = 1.0 / Cx(shat - ew.mz * ew.mz, ew.mz * ew.gz);
  const M4 Gs = w.Vs * (e2 * Q / shat - ew.g2 * Q * ew.sw2 * zprop) + w.Vs * PL * (ew.g2 * T3 * zprop);
  const M4 G = 0.5 * ew.g2 * Gt + kappa * Gs;
  // Sum over quark helicities: Tr[p2 G p1 Gbar]; couplings of the W decays (g^2/2)^2;
  // colour 1/3, spins 1/4.
  const double tr = (D.slash(p2) * G * D.slash(p1) * D.bar(G)).trace().real();
  return tr * 0.25 * ew.g2 * ew.g2 / 3.0 / 4.0;
}
}  // namespace

double me2_qq_ww(const EwParameters& ew, bool up, const P4& p1, const P4& p2, const P4& k1, const P4& k2, const P4& k3,
                 const P4& k4, double kappa) {
  const Dirac& D = Dirac::get();
  const WwCurrents w(D, k1, k2, k3, k4);
  return me2_qq_ww_from(ew, D, proj_l(D), w, up, p1, p2, kappa);
}

void me2_qq_ww_all(const EwParameters& ew, const P4& pa, const P4& pb, const P4& k1, const P4& k2, const P4& k3,
                   const P4& k4, double out[4]) {
  const Dirac& D = Dirac::get();
  const WwCurrents w(D, k1, k2, k3, k4);
  const M4 PL = proj_l(D);
  out[0] = me2_qq_ww_from(ew, D, PL, w, false, pa, pb, 1.0);
  out[1] = me2_qq_ww_from(ew, D, PL, w, false, pb, pa, 1.0);
  out[2] = me2_qq_ww_from(ew, D, PL, w, true, pa, pb, 1.0);
  out[3] = me2_qq_ww_from(ew, D, PL, w, true, pb, pa, 1.0);
}

double me2_stop_3body(const P4& pb, const P4& pc, double mchi, const P4& pn, const P4& pl, double mt, double gt,
                      double A, double B) {
  const Dirac& D = Dirac::get();
  Cx J[4];
  lefthanded_current(pn, pl, J);  // W+ -> nu(pn) l+(pl)
  const M4 PL = proj_l(D), PR = 0.5 * (D.one + D.g5);
  const P4 t = pb + pn + pl;
  const M4 G = D.slash(J) * PL * (D.slash(t) + D.one * mt) * (A * PR + B * PL);
  const double tr = (D.slash(pb) * G * (D.slash(pc) - D.one * mchi) * D.bar(G)).trace().real();
  const double d = dot(t, t) - mt * mt;
  return tr / (d * d + mt * mt * gt * gt);
}

}  // namespace unbox::physics::gen
