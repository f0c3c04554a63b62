// GRV94 LO parton densities of the proton (Glück, Reya, Vogt, Z. Phys. C67 (1995) 433) and the
// one-loop strong coupling that goes with them. Implemented from the published functional forms
// and coefficients (see /shared/notes/grv94lo.md, §2-§6): valence "form V", light sea and gluon
// "form W", strange "form S". Charm and bottom are the GRV92 LO parameterizations in their
// original form (GRV92 scale variable, D_c = 3.46 + 1.076 s), which GRV94's authors recommend
// "if needed"; they only enter through the small c c̄ and b b̄ luminosities and g b for tW.
// Everything is x f(x, Q^2), momentum fraction times number density. Q^2 is clamped to the
// fitted range [0.4, 1e6] GeV^2; x >= 1 gives 0.
#pragma once

#include <array>

namespace unbox::physics {

// Parton codes for Grv94Lo::xf_all: PDG-like indices into a 13-slot array, slot 6 + id for
// id = -5..5 (anti-b .. b, 0 = gluon).
constexpr int pdf_slot(int id) { return 6 + id; }

class Grv94Lo {
 public:
  // Parameters for one Q^2 (GeV^2); a fixed factorization scale makes them constants.
  explicit Grv94Lo(double q2);
  double q2() const { return q2_; }
  // x f for PDG id -5..5 (21 or 0 = gluon) at this Q^2.
  double xf(int id, double x) const;
  // All 11 flavours at once (slots pdf_slot(-5) .. pdf_slot(5)); cheaper than 11 calls.
  void xf_all(double x, std::array<double, 13>& out) const;

  // The GRV94 evolution variable s = ln[ln(Q^2/Lambda^2)/ln(mu0^2/Lambda^2)] (mu0^2 = 0.23,
  // Lambda = 0.2322 GeV) and the GRV92 one (mu0^2 = 0.25, Lambda = 0.232 GeV).
  static double s94(double q2);
  static double s92(double q2);

 private:
  double q2_;
  struct V {
    double n, a, b, A, B, C, D;
  };
  struct W {
    double al, be, a, b, A, B, C, D, E, Ep;
    double s;
    double sa = 0, esb = 0;
  };
  struct S {
    double sh, al, be, a, A, B, D, E, Ep;
    double s;
    double pre = 0, esb = 0;
  };
  // Logarithms of x shared by all forms: ln x, ln(1 - x), ln ln(1/x), sqrt x.
  struct Logs {
    double lnx, ln1mx, lx, lnlx, sqx;
  };
  V uv_, dv_, del_;
  W udb_, g_;
  S s_, c_, b_;
  static double form_v(const V& p, double x, const Logs& g);
  static double form_w(const W& p, double x, const Logs& g);
  static double form_s(const S& p, double x, const Logs& g);
};

// One-loop alpha_s with the set's own Lambda_3,4,5 = 0.232, 0.200, 0.153 GeV and thresholds at
// 1.5 and 4.5 GeV (alpha_s(m_Z) = 0.1283).
double alpha_s_grv94(double mu);

}  // namespace unbox::physics
