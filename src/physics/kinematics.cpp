// Lorentz vector, Delta-phi, Delta-R, invariant and transverse masses (see kinematics.hpp for the
// conventions and the cancellation-free formulas).
#include "unbox/physics/kinematics.hpp"

#include <cmath>
#include <limits>

namespace unbox::physics {

namespace {

// E1 E2 - p1 . p2 >= 0 for two time-like or light-like vectors, without cancellation:
// (m1^2 p2^2 + m2^2 p1^2 + m1^2 m2^2) / (E1 E2 + p1 p2) + p1 p2 |u1 - u2|^2 / 2.
double dot_minus(double e1, double m1, double x1, double y1, double z1, double e2, double m2, double x2, double y2,
                 double z2) {
  const double p1 = std::sqrt(x1 * x1 + y1 * y1 + z1 * z1);
  const double p2 = std::sqrt(x2 * x2 + y2 * y2 + z2 * z2);
  const double den = e1 * e2 + p1 * p2;
  double r = den > 0 ? (m1 * m1 * p2 * p2 + m2 * m2 * p1 * p1 + m1 * m1 * m2 * m2) / den : 0.0;
  if (p1 > 0 && p2 > 0) {
    const double dx = x1 / p1 - x2 / p2, dy = y1 / p1 - y2 / p2, dz = z1 / p1 - z2 / p2;
    r += 0.5 * p1 * p2 * (dx * dx + dy * dy + dz * dz);
  }
  return r;
}

}  // namespace

LorentzVector LorentzVector::from_pt_eta_phi_m(double pt, double eta, double phi, double m) {
  LorentzVector v;
  v.px_ = pt * std::cos(phi);
  v.py_ = pt * std::sin(phi);
  v.pz_ = pt * std::sinh(eta);
  v.m_ = m > 0 ? m : 0.0;
  const double p = pt * std::cosh(eta);
  v.e_ = std::hypot(p, v.m_);
  return v;
}

LorentzVector LorentzVector::from_px_py_pz_e(double px, double py, double pz, double e) {
  LorentzVector v;
  v.px_ = px;
  v.py_ = py;
  v.pz_ = pz;
  v.e_ = e;
  const double p = std::sqrt(px * px + py * py + pz * pz);
  const double m2 = (e - p) * (e + p);
  v.m_ = m2 > 0 ? std::sqrt(m2) : 0.0;
  return v;
}

double LorentzVector::pt() const { return std::hypot(px_, py_); }
double LorentzVector::p() const { return std::sqrt(px_ * px_ + py_ * py_ + pz_ * pz_); }

double LorentzVector::eta() const {
  const double pt = this->pt();
  if (pt == 0) {
    if (pz_ > 0) return std::numeric_limits<double>::infinity();
    if (pz_ < 0) return -std::numeric_limits<double>::infinity();
    return 0.0;
  }
  return std::asinh(pz_ / pt);
}

double LorentzVector::phi() const {
  if (px_ == 0 && py_ == 0) return 0.0;
  double f = std::atan2(py_, px_);
  return f <= -kPi ? kPi : f;
}

double LorentzVector::rapidity() const {
  const double et = this->et();
  if (et == 0)
    return pz_ > 0 ? std::numeric_limits<double>::infinity()
                   : (pz_ < 0 ? -std::numeric_limits<double>::infinity() : 0.0);
  // y = asinh(pz / ET) with ET = sqrt(m^2 + pt^2): exact identity, no cancellation.
  return std::asinh(pz_ / et);
}

double LorentzVector::et() const { return std::sqrt(m_ * m_ + px_ * px_ + py_ * py_); }

LorentzVector& LorentzVector::operator+=(const LorentzVector& o) {
  const double d = dot_minus(e_, m_, px_, py_, pz_, o.e_, o.m_, o.px_, o.py_, o.pz_);
  const double m2 = m_ * m_ + o.m_ * o.m_ + 2.0 * d;
  px_ += o.px_;
  py_ += o.py_;
  pz_ += o.pz_;
  e_ += o.e_;
  m_ = std::sqrt(m2 > 0 ? m2 : 0.0);
  return *this;
}

double delta_r(double eta1, double phi1, double eta2, double phi2) {
  return std::hypot(eta1 - eta2, delta_phi(phi1, phi2));
}

double delta_r(const LorentzVector& a, const LorentzVector& b) { return delta_r(a.eta(), a.phi(), b.eta(), b.phi()); }

double invariant_mass(const LorentzVector& a, const LorentzVector& b) { return (a + b).mass(); }

double transverse_mass_sq(double vx, double vy, double mv, double ix, double iy, double mi) {
  // 2-D version of dot_minus: ET_v ET_i - pT_v . pT_i without cancellation.
  const double pv2 = vx * vx + vy * vy, pi2 = ix * ix + iy * iy;
  const double ev = std::sqrt(mv * mv + pv2), ei = std::sqrt(mi * mi + pi2);
  const double pv = std::sqrt(pv2), pi = std::sqrt(pi2);
  const double den = ev * ei + pv * pi;
  double d = den > 0 ? (mv * mv * pi2 + mi * mi * pv2 + mv * mv * mi * mi) / den : 0.0;
  if (pv > 0 && pi > 0) {
    const double dx = vx / pv - ix / pi, dy = vy / pv - iy / pi;
    d += 0.5 * pv * pi * (dx * dx + dy * dy);
  }
  return mv * mv + mi * mi + 2.0 * d;
}

double transverse_mass(double vx, double vy, double mv, double ix, double iy, double mi) {
  return std::sqrt(transverse_mass_sq(vx, vy, mv, ix, iy, mi));
}

double transverse_mass(const LorentzVector& visible, double met, double met_phi, double m_invisible) {
  return transverse_mass(visible.px(), visible.py(), visible.mass(), met * std::cos(met_phi), met * std::sin(met_phi),
                         m_invisible);
}

}  // namespace unbox::physics
