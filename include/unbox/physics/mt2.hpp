// The stransverse mass mT2 (Roxlo & Reece eq. 4; Lester & Summers hep-ph/9906349):
//   mT2 = min over qa + qb = pmiss of max[ mT(a, qa; mchi_a), mT(b, qb; mchi_b) ]
// with mT of kinematics.hpp (massive visibles and invisibles allowed).
// Massless visibles and invisibles: a closed form (its existence: Lally & Lester,
// arXiv:1509.01831; the derivation in mt2.cpp is our own): mT2^2 = 4 max f(n) over unit vectors
// n with n.pa > 0, n.pb > 0, n.pmiss < 0, f = (-n.pmiss)(n.pa)(n.pb) / (n.(pa + pb)), the
// support functions of the two parabolic regions; f is unimodal on that arc and a safeguarded
// Newton iteration finds its maximum. Exactly rounded dot and cross products keep visibles
// 1e-9 rad from back to back at full precision (issue 15: they used to give 0).
// Otherwise: the bisection of Lester & Nachman (arXiv:1411.4312): for a trial mass M the sets
// {q : mT(a, q) <= M} and {q : mT(b, pmiss - q) <= M} are convex regions bounded by conics
// (ellipses for massive visibles, parabolas for massless ones); mT2 is the smallest M at which
// they intersect. The intersection test is our own derivation (S-lemma): the regions are
// disjoint iff mu A + B is positive definite for some mu > 0 (A, B the 3x3 conic matrices), i.e.
// iff det(mu A + B), a cubic in mu, is positive at its local maximum on mu > 0. That maximum is
// also a smooth function of M below mT2: interpolating on it (secant, then inverse quadratic)
// brings the bracket to 1e-10 in about 10 tests instead of 35. When both visibles are nearly
// massless and nearly parallel the cubic cancels; there the concave Schur complement of
// mu A + B is maximised over log mu instead, and massless visibles within 3e-8 rad of parallel
// use the closed-form intersection of parallel parabolas.
// Precision: relative 1e-9 or better against a brute-force minimisation (in long double) on
// random events and near back-to-back massless visibles; worst ~7e-8 for massless visibles
// 1e-8..1e-6 rad from parallel with massive invisibles; an mT2 ~1e-6 of the momentum scale
// (electron-mass sized) is good to ~1e-11 of the scale, absolute.
// Speed (1 thread): ~0.2 us per event massless, ~0.9 us with masses (bench/bench_mt2.cpp).
#pragma once

#include <cstddef>

namespace unbox::physics {

struct Mt2Options {
  double mchi_a = 0.0;       // invisible mass hypothesis on side a (GeV)
  double mchi_b = 0.0;       // on side b
  double precision = 1e-10;  // relative width of the final bisection bracket
};

// One event. Visible a: transverse momentum (pax, pay), mass ma; visible b likewise;
// missing transverse momentum (mx, my). Masses < 0 are an unbox::Error; NaN in gives NaN out.
double mt2(double ma, double pax, double pay, double mb, double pbx, double pby, double mx, double my,
           const Mt2Options& options = {});

// Column-wise batch over n events (pt/phi form, as stored in datasets): visibles (pt, phi, m),
// missing momentum (met, met_phi). OpenMP over events with a fixed schedule; every event is
// independent, so the result does not depend on the thread count.
void mt2_batch(std::size_t n, const double* a_pt, const double* a_phi, const double* a_m, const double* b_pt,
               const double* b_phi, const double* b_m, const double* met, const double* met_phi, double* out,
               const Mt2Options& options = {});

}  // namespace unbox::physics
