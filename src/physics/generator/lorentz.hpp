// Four-vectors and boosts for the built-in generator (internal). Metric (+, -, -, -), GeV.
#pragma once

#include <cmath>

namespace unbox::physics::gen {

struct P4 {
  double e = 0, x = 0, y = 0, z = 0;
  P4() = default;
  P4(double e_, double x_, double y_, double z_) : e(e_), x(x_), y(y_), z(z_) {}
  P4 operator+(const P4& o) const { return {e + o.e, x + o.x, y + o.y, z + o.z}; }
  P4 operator-(const P4& o) const { return {e - o.e, x - o.x, y - o.y, z - o.z}; }
  P4 operator*(double f) const { return {e * f, x * f, y * f, z * f}; }
  P4& operator+=(const P4& o) {
    e += o.e, x += o.x, y += o.y, z += o.z;
    return *this;
  }
  double m2() const { return e * e - x * x - y * y - z * z; }
  double m() const {
    const double v = m2();
    return v > 0 ? std::sqrt(v) : 0.0;
  }
  double p() const { return std::sqrt(x * x + y * y + z * z); }
  double pt() const { return std::hypot(x, y); }
  double phi() const { return std::atan2(y, x); }
  double eta() const {
    const double pp = p();
    if (pp == std::abs(z)) return z >= 0 ? 1e10 : -1e10;
    return 0.5 * std::log((pp + z) / (pp - z));
  }
};

inline double dot(const P4& a, const P4& b) { return a.e * b.e - a.x * b.x - a.y * b.y - a.z * b.z; }
inline double dot3(const P4& a, const P4& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

// Boost `v` by velocity (bx, by, bz) (pure boost: a particle at rest gets velocity b).
inline P4 boost(const P4& v, double bx, double by, double bz) {
  const double b2 = bx * bx + by * by + bz * bz;
  if (b2 <= 0) return v;
  const double g = 1.0 / std::sqrt(1.0 - b2);
  const double bp = bx * v.x + by * v.y + bz * v.z;
  const double g2 = (g - 1.0) / b2;
  return {g * (v.e + bp), v.x + g2 * bp * bx + g * bx * v.e, v.y + g2 * bp * by + g * by * v.e,
          v.z + g2 * bp * bz + g * bz * v.e};
}
// From the rest frame of `frame` to the frame where `frame` has its momentum.
inline P4 boost_from_rest(const P4& v, const P4& frame) {
  return boost(v, frame.x / frame.e, frame.y / frame.e, frame.z / frame.e);
}
// Into the rest frame of `frame`.
inline P4 boost_to_rest(const P4& v, const P4& frame) {
  return boost(v, -frame.x / frame.e, -frame.y / frame.e, -frame.z / frame.e);
}

// Momentum of each daughter in a two-body decay M -> m1 m2 (0 if closed).
inline double two_body_p(double M, double m1, double m2) {
  const double a = (M * M - (m1 + m2) * (m1 + m2)) * (M * M - (m1 - m2) * (m1 - m2));
  return a > 0 ? std::sqrt(a) / (2.0 * M) : 0.0;
}

// Unit 3-vector in (cos theta, phi).
inline void unit_vector(double c, double phi, double& x, double& y, double& z) {
  const double s = std::sqrt(std::max(0.0, 1.0 - c * c));
  x = s * std::cos(phi), y = s * std::sin(phi), z = c;
}

}  // namespace unbox::physics::gen
