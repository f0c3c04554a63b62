// Kinematics for the physics layer: a Lorentz vector, azimuthal differences, Delta-R,
// invariant and transverse masses. Momenta and masses in GeV, angles in radians.
//
// Numerics. A LorentzVector keeps its mass next to (px, py, pz, E): built from (pt, eta, phi, m)
// the mass is exact, built from (px, py, pz, E) it is sqrt(max(0, (E - p)(E + p))) (never NaN
// from a slightly negative m^2), and the mass of a sum uses the cancellation-free form
//   m^2 = m1^2 + m2^2 + 2 [ (m1^2 p2^2 + m2^2 p1^2 + m1^2 m2^2) / (E1 E2 + p1 p2) + p1 p2 |u1 - u2|^2 / 2 ]
// (u = unit 3-momentum), so collinear nearly massless pairs keep their small mass.
// eta = asinh(pz / pt); for pt = 0 it is +inf (pz > 0), -inf (pz < 0) or 0 (pz = 0).
// phi = atan2(py, px) in (-pi, pi]; 0 for pt = 0.
#pragma once

#include <cmath>

namespace unbox::physics {

inline constexpr double kPi = 3.14159265358979323846;

class LorentzVector {
 public:
  LorentzVector() = default;
  // m < 0 is treated as 0.
  static LorentzVector from_pt_eta_phi_m(double pt, double eta, double phi, double m);
  static LorentzVector from_px_py_pz_e(double px, double py, double pz, double e);

  double px() const { return px_; }
  double py() const { return py_; }
  double pz() const { return pz_; }
  double energy() const { return e_; }
  double e() const { return e_; }
  double mass() const { return m_; }
  double pt() const;
  double p() const;  // |3-momentum|
  double eta() const;
  double phi() const;
  double rapidity() const;
  // Transverse energy sqrt(m^2 + pt^2) (the "mT" of a single massive object).
  double et() const;

  LorentzVector& operator+=(const LorentzVector& o);
  friend LorentzVector operator+(LorentzVector a, const LorentzVector& b) { return a += b; }

 private:
  double px_ = 0, py_ = 0, pz_ = 0, e_ = 0, m_ = 0;
};

// phi1 - phi2 wrapped into (-pi, pi]: positive when phi1 lies counter-clockwise of phi2.
// The one azimuthal wrap of the physics layer (inline: it sits in the EFP and isolation
// inner loops). std::remainder by 2 pi lands in [-pi, pi]; -pi is moved to +pi.
inline double delta_phi(double phi1, double phi2) {
  const double d = std::remainder(phi1 - phi2, 2.0 * kPi);
  return d <= -kPi ? d + 2.0 * kPi : d;
}
// sqrt(Delta-eta^2 + Delta-phi^2).
double delta_r(double eta1, double phi1, double eta2, double phi2);
double delta_r(const LorentzVector& a, const LorentzVector& b);
// Invariant mass of a + b by the cancellation-free form above (equals (a + b).mass()).
double invariant_mass(const LorentzVector& a, const LorentzVector& b);

// Transverse mass of a visible object (transverse momentum (vx, vy), mass mv) and an invisible
// one (transverse momentum (ix, iy), mass mi):
//   mT^2 = mv^2 + mi^2 + 2 (ET_v ET_i - pT_v . pT_i),  ET = sqrt(m^2 + pT^2),
// the massive generalisation of Roxlo & Reece eq. (3), which is the case mv = mi = 0:
//   mT^2 = 2 pT(l) pT(nu) [1 - cos(phi(l) - phi(nu))].
// Computed without cancellation, so mT >= mv + mi holds to round-off and is never NaN.
double transverse_mass_sq(double vx, double vy, double mv, double ix, double iy, double mi = 0.0);
double transverse_mass(double vx, double vy, double mv, double ix, double iy, double mi = 0.0);
// Visible 4-vector (its mass is used) and a missing transverse momentum (pt, phi).
double transverse_mass(const LorentzVector& visible, double met, double met_phi, double m_invisible = 0.0);

}  // namespace unbox::physics
