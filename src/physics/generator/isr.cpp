// Initial-state radiation as a tuned spectrum: the produced system's transverse momentum from
// dsigma/dpT ~ pT / (pT^2 + p0^2)^n, n = 1.576, p0 = 31.95 GeV fitted to the CMS 13 TeV
// parton-level pT(t tbar) shares (TOP-16-008: 38, 32, 16, 6.8, 6.8 % in 0-35, 35-80, 80-140,
// 140-200, 200-500 GeV). p0 scales as sqrt(M / 531 GeV) with the system mass M (heavier systems
// radiate harder, as in a Sudakov model whose starting scale is the system's mass) and by 0.8
// for quark-antiquark initial states (C_F < C_A). Inverse transform of the cumulative
// F(pT) = 1 - (1 + pT^2/p0^2)^(1-n), truncated at pt_max.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>

#include "generator_internal.hpp"

namespace unbox::physics::gen {

double isr_pt(Rng& rng, double system_mass, bool gluons, double pt_max) {
  const double p0 = kIsrP0 * std::sqrt(system_mass / 531.0) * (gluons ? 1.0 : 0.8);
  const double a = 1.0 - kIsrN;
  const double fmax = 1.0 - std::pow(1.0 + pt_max * pt_max / (p0 * p0), a);
  const double u = rng.uniform() * fmax;
  return p0 * std::sqrt(std::max(0.0, std::pow(1.0 - u, 1.0 / a) - 1.0));
}

}  // namespace unbox::physics::gen
