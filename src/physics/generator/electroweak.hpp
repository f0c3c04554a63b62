// Squared amplitudes with W decays attached through their lepton currents (internal):
// g b -> t W- (-> l- nubar) and q qbar -> W- W+ (-> l- nubar nu l+), and the stop three-body
// decay stop -> b W+ (-> l+ nu) chi through an off-shell top. Dirac traces with explicit
// matrices (dirac.hpp); the W propagators are left out (the W masses are sampled from their
// Breit-Wigner), everything else is in.
#pragma once

#include <Eigen/Core>

#include "lorentz.hpp"

namespace unbox::physics::gen {

struct EwParameters {
  double mw, mz, gz, sw2, g2, gs2;  // g2 = 4 sqrt2 G_F m_W^2; sw2 = 1 - mW^2/mZ^2
};
EwParameters ew_parameters(double alpha_s);

// g(pg) b(pb) -> t(pt) W-(l-(pl) nubar(pn)): |M|^2 averaged over the initial state, summed
// over the rest, with the top spin along +-axis: returns the unpolarized value and fills the
// top's polarization vector P (rest-frame axes, pure boost from the current frame) so that
// the top decay density with the l+ direction a is 1 + P.a.
double me2_gb_tw(const EwParameters& ew, const P4& pg, const P4& pb, const P4& pt, double mt, const P4& pl,
                 const P4& pn, Eigen::Vector3d& P);

// q(p1) qbar(p2) -> W-(l-(k1) nubar(k2)) W+(nu(k3) l+(k4)) for an up-type (up = true) or
// down-type quark; kappa: the relative sign of the s-channel (fixed by unitarity, see tests).
double me2_qq_ww(const EwParameters& ew, bool up, const P4& p1, const P4& p2, const P4& k1, const P4& k2, const P4& k3,
                 const P4& k4, double kappa = 1.0);
// The four values the hard-process sampler needs, sharing the lepton currents and the gauge
// vertex: {down-type quark along pa, down-type along pb, up-type along pa, up-type along pb}
// (kappa = 1); each equal to me2_qq_ww of the same arguments, bit for bit.
void me2_qq_ww_all(const EwParameters& ew, const P4& pa, const P4& pb, const P4& k1, const P4& k2, const P4& k3,
                   const P4& k4, double out[4]);

// stop(P) -> b(pb) chi(pc) W+(nu(pn) l+(pl)) via an off-shell top of width gt, coupling
// ubar_t (A P_R + B P_L) v_chi; spin-summed |M|^2 (arbitrary normalization).
double me2_stop_3body(const P4& pb, const P4& pc, double mchi, const P4& pn, const P4& pl, double mt, double gt,
                      double A, double B);

}  // namespace unbox::physics::gen
