// Dirac algebra with explicit 4x4 matrices (Dirac representation) for squared amplitudes as
// numerical traces (internal). gamma5 = i g0 g1 g2 g3; u ubar = (pslash + m)(1 + g5 sslash)/2,
// v vbar = (pslash - m)(1 + g5 sslash)/2 with s the physical spin four-vector.
#pragma once

#include <Eigen/Core>
#include <complex>

#include "lorentz.hpp"

namespace unbox::physics::gen {

using M4 = Eigen::Matrix4cd;

struct Dirac {
  M4 g[4], g5, one;
  Dirac();
  // p_mu gamma^mu for a real four-vector (contravariant components of p).
  M4 slash(const P4& p) const { return g[0] * p.e - g[1] * p.x - g[2] * p.y - g[3] * p.z; }
  // For a complex four-vector (e, x, y, z).
  M4 slash(const std::complex<double> v[4]) const;
  // Dirac adjoint of a matrix: gamma0 A^dagger gamma0.
  M4 bar(const M4& a) const { return g[0] * a.adjoint() * g[0]; }
  static const Dirac& get();
};

// The spin four-vector of a particle with momentum p (mass m > 0) whose spin points along the
// unit 3-vector (ax, ay, az) in its rest frame reached from the current frame by a pure boost.
P4 spin_vector(const P4& p, double m, double ax, double ay, double az);

// The rank-one current J^mu of a massless fermion pair f(p1) fbar(p2) from a left-handed
// vector coupling, J^mu = ubar(p1) gamma^mu P_L v(p2) summed over spins as
// J^mu J^nu* = Tr[p1slash gamma^mu p2slash gamma^nu P_L]
// = 2 [p1^mu p2^nu + p2^mu p1^nu - g^{mu nu} p1.p2 + i eps^{mu nu rho sigma} p1_rho p2_sigma]
// (eps^{0123} = -1, the convention of the trace Tr[g5 ga gb gc gd] = -4i eps^{abcd}); computed
// by building the Hermitian tensor and taking one column.
void lefthanded_current(const P4& p1, const P4& p2, std::complex<double> out[4]);

}  // namespace unbox::physics::gen
