// Internal pieces of the built-in generator shared between its source files.
#pragma once

#include <vector>

#include "lorentz.hpp"
#include "rng.hpp"
#include "unbox/physics/generator.hpp"

namespace unbox::physics::gen {

struct Part {
  P4 p;
  double m = 0;
  int id = 0;
  int status = 1;   // 1 final, 2 decayed/fragmented, 4 incoming
  int mother = -2;  // record index; -2 hard process
};

// The record under construction.
struct Record {
  std::vector<Part> parts;
  int add(const P4& p, double m, int id, int status, int mother) {
    parts.push_back({p, m, id, status, mother});
    return static_cast<int>(parts.size()) - 1;
  }
};

// PDG ids
constexpr int kTop = 6, kBottom = 5, kW = 24, kGluon = 21, kStop = 1000006, kLsp = 1000022;
constexpr int kE = 11, kNuE = 12, kMu = 13, kNuMu = 14, kTau = 15, kNuTau = 16;

// Samples a relativistic Breit-Wigner mass in [lo, hi].
double breit_wigner(Rng& rng, double m0, double width, double lo, double hi);

// W -> l nu (from a W+ when positive): picks the lepton flavour (e, mu, and tau -> e/mu when
// `taus`), returns the charged lepton and neutrino ids. Probabilities from the PDG branching
// fractions, normalized to the allowed channels.
void pick_w_leptons(Rng& rng, bool positive, bool taus, int& lepton, int& neutrino);
// Leptonic branching fraction of one W for these channels (e+mu, or e+mu+tau->e/mu).
double w_leptonic_fraction(bool taus);

// Decays a top (anti when id < 0) of mass mt at momentum `top` (current frame) into b W with
// W -> l nu and the V-A matrix element (p_t.p_l)(p_b.p_nu); the W mass over its whole physical
// range [kWMassLow, mt - m_b] from the fixed-width Breit-Wigner times the decay's phase space
// and |M|^2 (w_line_shape). tail_fraction f > 0 samples a share f of the W masses flat in m^2
// above m_W + 5 Gamma_W (the high-virtuality tail) and returns the compensating weight (the
// target density over the sampled one, exactly normalized at this top mass); f = 0: weight 1.
struct TopDecay {
  P4 b, w, l, nu;
  int lepton = 0, neutrino = 0;
  double weight = 1.0;
};
constexpr double kWMassLow = 2.0;  // GeV: above the tau mass
double decay_top(Rng& rng, const P4& top, double mt, bool anti, bool taus, TopDecay& out, double tail_fraction = 0.0);
// The W* mass density of a top of mass mt (unnormalized, per unit m^2): the fixed-width
// Breit-Wigner 1/((m^2 - M^2)^2 + M^2 G^2) times the angle-integrated phase space and |M|^2.
double w_line_shape(double mt, double mw);
// The largest W* mass decay_top samples: mt - m_b (less 1 MeV).
double w_mass_upper(double mt);
// W -> l nu isotropic in the W frame (the caller applies any correlation).
void decay_w_isotropic(Rng& rng, const P4& w, P4& l, P4& nu);
// tau -> l nu nu: lepton energy from the Michel spectrum x^2 (3 - 2x) in the tau frame,
// isotropic (tau polarization neglected); the two neutrinos share the rest isotropically.
void decay_tau(Rng& rng, const P4& tau, P4& l, P4& nu1, P4& nu2, int& lepton_id, bool anti);

// Adds a charged lepton from a W (tau -> l nu nu when the id is a tau) and its neutrino to
// the record; returns the record index of the final e/mu.
int add_w_leptons(Rng& rng, Record& rec, int w_index, const P4& l, const P4& nu, int lepton, int neutrino);

// Fragmentation of the coloured final partons (b quarks, gluons, light quarks) into hadrons
// and the decays of B and D hadrons (fragmentation.cpp).
void fragment(Rng& rng, Record& rec);
// Mean of the Peterson function as sampled (for the tests).
double peterson_mean_for_tests();

// ISR: the transverse momentum of the produced system, from dsigma/dpT ~ pT / (pT^2 + p0^2)^n
// with p0 = kIsrP0 sqrt(M / 531 GeV) (x 0.8 for quark-antiquark initial states), n = kIsrN.
constexpr double kIsrP0 = 31.95, kIsrN = 1.576;
double isr_pt(Rng& rng, double system_mass, bool gluons, double pt_max);

}  // namespace unbox::physics::gen
