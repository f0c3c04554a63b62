// Leading-order partonic cross sections and squared matrix elements for the built-in generator
// (internal; exposed to the tests through this header). Conventions: rho = 4 m^2 / shat,
// beta = sqrt(1 - rho), c = cos Theta of the (s)top to parton 1 in the pair's rest frame.
// Squared matrix elements are averaged over initial and summed over final spins and colours;
// cross sections in GeV^-2 (multiply by kGeV2toPb).
#pragma once

#include <Eigen/Core>

#include "lorentz.hpp"

namespace unbox::physics::gen {

constexpr double kGeV2toPb = 0.3893793721e9;

// Closed forms (notes/generator-physics.md; Nason-Dawson-Ellis; Beenakker et al.).
double sigma_qq_ttbar(double shat, double m, double alpha_s);
double sigma_gg_ttbar(double shat, double m, double alpha_s);
double sigma_qq_stops(double shat, double m, double alpha_s);
double sigma_gg_stops(double shat, double m, double alpha_s);

// |M|^2 as functions of (shat, c): dsigma/dc = beta / (32 pi shat) |M|^2.
double me2_qq_ttbar(double shat, double m, double alpha_s, double c);  // g^4 (2/9)(2 - b^2 s^2)
double me2_gg_ttbar(double shat, double m, double alpha_s, double c);  // g^4 (7+9b^2c^2) A~ / (48 (1-b^2c^2)^2)
double me2_qq_stops(double shat, double m, double alpha_s, double c);  // g^4 b^2 s^2 / 9
double me2_gg_stops(double shat, double m, double alpha_s, double c);  // Beenakker et al. dsigma/dt
inline double dsigma_dc(double me2, double shat, double m) {
  const double b2 = 1.0 - 4.0 * m * m / shat;
  return b2 > 0 ? std::sqrt(b2) / (32.0 * M_PI * shat) * me2 : 0.0;
}

// The note's helicity-basis correlation coefficients (t-bar axes = minus the top's), which
// equal the common-axis matrix elements C_kk, C_nn, C_rr below.
double ckk_qq(double beta, double c);
double ckk_gg(double beta, double c);
double cnn_qq(double beta, double c);
double cnn_gg(double beta, double c);
double crr_qq(double beta, double c);
double crr_gg(double beta, double c);

// The full correlation matrix in common global axes from the closed forms above and the
// off-diagonal C_rk = C_kr (derived from the traces: q qbar -2 sqrt(1-b^2) s c / (2 - b^2 s^2),
// g g -2 sqrt(1-b^2) b^2 s^3 c / A~); k = top direction (c, phi), r = (z - c k)/s, n = k x r.
Eigen::Matrix3d ttbar_spin_matrix(bool gg, double beta, double c, double phi);

// Spin density of q qbar -> t tbar (gg = false) or g g -> t tbar (gg = true) from explicit tree
// amplitudes as numerical Dirac traces, for partons along +-z in the pair's rest frame with
// shat and the top direction (c, phi). Returns the spin-summed |M|^2 / g^4 (averaged over the
// initial state) and fills C (3x3, common global axes x, y, z of the top and antitop rest
// frames reached by pure boosts) and the polarizations B1, B2 such that the joint decay density
// of the charged leptons is proportional to 1 + B1.l+ - B2.l- + l+ . C . l- (l+ in the top rest
// frame, l- in the antitop's; analysing powers +1 and -1).
double ttbar_spin_density(bool gg, double shat, double m, double c, double phi, Eigen::Matrix3d& C, Eigen::Vector3d& B1,
                          Eigen::Vector3d& B2, double kappa = 1.0);
// The gauge check of the colour-ordered gg amplitude A1 with gluon 1's polarization replaced by
// its momentum: |A1|^2 summed over the other polarization, relative to the physical value.
double gg_ttbar_gauge_check(double shat, double m, double c, double kappa);

}  // namespace unbox::physics::gen
