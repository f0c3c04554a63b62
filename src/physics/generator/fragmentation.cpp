// A simple, documented fragmentation for the built-in generator (no parton shower):
// - a b quark gives a B hadron (B0 40 %, B+ 40 %, Bs 10 %, Lambda_b 10 %) carrying a fraction z
//   of its momentum from the Peterson function f(z) ~ 1 / (z (1 - 1/z - eps/(1-z))^2) with
//   eps = 0.035, chosen for <z> = 0.71 (without a shower z carries the perturbative losses too),
//   plus light hadrons for the rest;
// - gluons and light quarks give light hadrons only;
// - light hadrons: N = 1 + Poisson(1 + 1.5 ln(1 + E/2 GeV)), momentum fractions by uniform
//   stick breaking along the parton, Gaussian transverse kicks of 0.3 GeV; species pi+- 60 %,
//   pi0 30 % (-> gamma gamma), K_L 5 %, neutrons 5 %;
// - B hadrons decay semileptonically, B -> D l nu, with the measured inclusive rates
//   BR(B -> X e nu) = BR(B -> X mu nu) = 10.65 %, else B -> D + 2-4 pions; D mesons (D0, D+)
//   decay to K l nu with 9 % per lepton flavour (the D0/D+ average), else K + 1-3 pions. Decays
//   are isotropic with momenta from sequential two-body splittings (approximate phase space).
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "generator_internal.hpp"

namespace unbox::physics::gen {

namespace {

constexpr double kMpi = 0.13957, kMpi0 = 0.13498, kMk = 0.49368, kMkl = 0.49761, kMn = 0.93957;
constexpr double kMB = 5.2795, kMD = 1.867;
constexpr double kPetersonEps = 0.035;

// Inverse cumulative of the Peterson function on a fixed grid (built once).
struct Peterson {
  static constexpr int N = 4096;
  std::array<double, N + 1> z;
  Peterson() {
    std::vector<double> cdf(N + 1, 0.0), zz(N + 1);
    const int M = N;
    for (int i = 0; i <= M; ++i) zz[i] = static_cast<double>(i) / M;
    auto f = [](double x) {
      if (x <= 0 || x >= 1) return 0.0;
      const double d = 1 - 1 / x - kPetersonEps / (1 - x);
      return 1.0 / (x * d * d);
    };
    for (int i = 1; i <= M; ++i) {  // Simpson on each cell
      const double a = zz[i - 1], b = zz[i];
      cdf[i] = cdf[i - 1] + (b - a) / 6 * (f(a) + 4 * f(0.5 * (a + b)) + f(b));
    }
    for (auto& c : cdf) c /= cdf[M];
    int j = 0;
    for (int i = 0; i <= N; ++i) {
      const double u = static_cast<double>(i) / N;
      while (j < M - 1 && cdf[j + 1] < u) ++j;
      const double t = cdf[j + 1] > cdf[j] ? (u - cdf[j]) / (cdf[j + 1] - cdf[j]) : 0.0;
      z[i] = zz[j] + t * (zz[j + 1] - zz[j]);
    }
  }
  double sample(double u) const {
    const double x = u * N;
    const int i = std::min(static_cast<int>(x), N - 1);
    return z[i] + (x - i) * (z[i + 1] - z[i]);
  }
};

const Peterson& peterson() {
  static const Peterson p;
  return p;
}

int poisson(Rng& rng, double mean) {
  const double l = std::exp(-mean);
  int k = 0;
  double p = rng.uniform_pos();
  while (p > l) {
    ++k;
    p *= rng.uniform_pos();
  }
  return k;
}

void iso(Rng& rng, double& x, double& y, double& z) {
  unit_vector(rng.uniform(-1.0, 1.0), rng.uniform(0.0, 2.0 * M_PI), x, y, z);
}

// Two-body decay in the parent's rest frame, isotropic.
void two_body(Rng& rng, const P4& parent, double M, double m1, double m2, P4& a, P4& b) {
  const double p = two_body_p(M, m1, m2);
  double x, y, z;
  iso(rng, x, y, z);
  a = boost_from_rest(P4(std::sqrt(p * p + m1 * m1), p * x, p * y, p * z), parent);
  b = boost_from_rest(P4(std::sqrt(p * p + m2 * m2), -p * x, -p * y, -p * z), parent);
}

// n-body decay by sequential two-body splittings with intermediate masses drawn uniformly
// between their kinematic limits (approximate phase space).
void n_body(Rng& rng, const P4& parent, double M, const std::vector<double>& masses, std::vector<P4>& out) {
  const size_t n = masses.size();
  out.resize(n);
  P4 cur = parent;
  double mcur = M;
  for (size_t i = 0; i + 1 < n; ++i) {
    double rest_min = 0;
    for (size_t j = i + 1; j < n; ++j) rest_min += masses[j];
    const double hi = mcur - masses[i];
    double mrest = (i + 2 == n) ? masses[n - 1] : rest_min + rng.uniform() * std::max(0.0, hi - rest_min);
    if (i + 2 < n && hi - rest_min > 0) {
      // bias towards larger remaining masses like phase space does: sqrt of a uniform
      mrest = rest_min + std::sqrt(rng.uniform()) * (hi - rest_min);
    }
    P4 a, rest;
    two_body(rng, cur, mcur, masses[i], mrest, a, rest);
    out[i] = a;
    cur = rest;
    mcur = mrest;
  }
  out[n - 1] = cur;
}

void add_pion(Rng& rng, Record& rec, const P4& p, int id, int mother) {
  if (id != 111) {
    rec.add(p, std::abs(id) == 211 ? kMpi : (id == 130 ? kMkl : (std::abs(id) == 321 ? kMk : kMn)), id, 1, mother);
    return;
  }
  const int i = rec.add(p, kMpi0, 111, 2, mother);
  P4 g1, g2;
  two_body(rng, p, kMpi0, 0.0, 0.0, g1, g2);
  rec.add(g1, 0.0, 22, 1, i);
  rec.add(g2, 0.0, 22, 1, i);
}

int light_species(Rng& rng) {
  const double u = rng.uniform();
  if (u < 0.30) return 211;
  if (u < 0.60) return -211;
  if (u < 0.90) return 111;
  if (u < 0.95) return 130;
  return rng.uniform() < 0.5 ? 2112 : -2112;
}
double light_mass(int id) {
  switch (std::abs(id)) {
    case 211:
      return kMpi;
    case 111:
      return kMpi0;
    case 130:
      return kMkl;
    default:
      return kMn;
  }
}

// Light hadrons sharing momentum `p` (a three-vector direction with energy scale) collinearly.
void light_hadrons(Rng& rng, Record& rec, const P4& p, int mother) {
  const double pm = p.p();
  if (pm < 0.3) return;
  const int n = 1 + poisson(rng, 1.0 + 1.5 * std::log(1.0 + p.e / 2.0));
  // Axis and two transverse unit vectors.
  const double ax = p.x / pm, ay = p.y / pm, az = p.z / pm;
  double ux, uy, uz;
  if (std::abs(az) < 0.9)
    ux = -ay, uy = ax, uz = 0;
  else
    ux = 0, uy = -az, uz = ay;
  const double un = std::sqrt(ux * ux + uy * uy + uz * uz);
  ux /= un, uy /= un, uz /= un;
  const double vx = ay * uz - az * uy, vy = az * ux - ax * uz, vz = ax * uy - ay * ux;
  // Stick breaking: fractions from sorted uniforms.
  std::vector<double> cuts(n + 1);
  cuts[0] = 0, cuts[n] = 1;
  for (int i = 1; i < n; ++i) cuts[i] = rng.uniform();
  std::sort(cuts.begin() + 1, cuts.begin() + n);
  for (int i = 0; i < n; ++i) {
    const double f = cuts[i + 1] - cuts[i];
    const int id = light_species(rng);
    const double m = light_mass(id);
    const double kt1 = 0.3 * rng.normal(), kt2 = 0.3 * rng.normal();
    const double pl = f * pm;
    const double px = pl * ax + kt1 * ux + kt2 * vx, py = pl * ay + kt1 * uy + kt2 * vy,
                 pz = pl * az + kt1 * uz + kt2 * vz;
    const P4 h(std::sqrt(px * px + py * py + pz * pz + m * m), px, py, pz);
    add_pion(rng, rec, h, id, mother);
  }
}

// D meson decay: c -> s l+ nu (c quark in the D: sign > 0 means D0/D+ with a c quark).
void decay_d(Rng& rng, Record& rec, int di) {
  const Part d = rec.parts[static_cast<size_t>(di)];
  rec.parts[static_cast<size_t>(di)].status = 2;
  const bool charm = d.id > 0;
  const double u = rng.uniform();
  std::vector<P4> out;
  if (u < 0.18) {
    const bool e = u < 0.09;
    n_body(rng, d.p, d.m, {kMk, e ? 0.000511 : 0.10566, 0.0}, out);
    rec.add(out[0], kMk, charm ? -321 : 321, 1, di);
    rec.add(out[1], e ? 0.000511 : 0.10566, (e ? -kE : -kMu) * (charm ? 1 : -1), 1, di);
    rec.add(out[2], 0.0, (e ? kNuE : kNuMu) * (charm ? 1 : -1), 1, di);
    return;
  }
  const int npi = 1 + static_cast<int>(rng.uniform() * 3);
  std::vector<double> masses{kMk};
  std::vector<int> ids{charm ? -321 : 321};
  for (int i = 0; i < npi; ++i) {
    const int id = rng.uniform() < 0.4 ? 111 : (rng.uniform() < 0.5 ? 211 : -211);
    ids.push_back(id);
    masses.push_back(light_mass(id));
  }
  n_body(rng, d.p, d.m, masses, out);
  for (size_t i = 0; i < out.size(); ++i) add_pion(rng, rec, out[i], ids[i], di);
}

// B hadron decay: b -> c l- nubar (bquark: the hadron contains a b quark, not an anti-b).
void decay_b(Rng& rng, Record& rec, int bi, bool bquark) {
  const Part B = rec.parts[static_cast<size_t>(bi)];
  rec.parts[static_cast<size_t>(bi)].status = 2;
  const int dsign = bquark ? 1 : -1;  // b -> c: D0/D+ ; bbar -> cbar
  const int did = (rng.uniform() < 0.6 ? 421 : 411) * dsign;
  const double u = rng.uniform();
  std::vector<P4> out;
  int dindex;
  if (u < 2 * 0.1065) {
    const bool e = u < 0.1065;
    const double ml = e ? 0.000511 : 0.10566;
    n_body(rng, B.p, B.m, {kMD, ml, 0.0}, out);
    dindex = rec.add(out[0], kMD, did, 1, bi);
    rec.add(out[1], ml, (e ? kE : kMu) * dsign, 1, bi);
    rec.add(out[2], 0.0, -(e ? kNuE : kNuMu) * dsign, 1, bi);
  } else {
    const int npi = 2 + static_cast<int>(rng.uniform() * 3);
    std::vector<double> masses{kMD};
    std::vector<int> ids{did};
    for (int i = 0; i < npi; ++i) {
      const int id = rng.uniform() < 0.4 ? 111 : (rng.uniform() < 0.5 ? 211 : -211);
      ids.push_back(id);
      masses.push_back(light_mass(id));
    }
    n_body(rng, B.p, B.m, masses, out);
    dindex = rec.add(out[0], kMD, did, 1, bi);
    for (size_t i = 1; i < out.size(); ++i) add_pion(rng, rec, out[i], ids[i], bi);
  }
  decay_d(rng, rec, dindex);
}

}  // namespace

double peterson_mean_for_tests() {
  double s = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) s += peterson().sample((i + 0.5) / n);
  return s / n;
}

void fragment(Rng& rng, Record& rec) {
  const size_t n0 = rec.parts.size();
  for (size_t i = 0; i < n0; ++i) {
    const Part q = rec.parts[i];
    const int a = std::abs(q.id);
    if (q.status != 1 || !(a <= 5 || a == kGluon)) continue;
    rec.parts[i].status = 2;
    const int qi = static_cast<int>(i);
    if (a == kBottom) {
      const double z = peterson().sample(rng.uniform());
      const double pm = q.p.p();
      const double kt1 = 0.3 * rng.normal(), kt2 = 0.3 * rng.normal();
      const double f = z;
      P4 bp(0, f * q.p.x + kt1 * (pm > 0 ? -q.p.y / pm : 0), f * q.p.y + kt1 * (pm > 0 ? q.p.x / pm : 0),
            f * q.p.z + kt2 * (pm > 0 ? q.p.pt() / pm : 0));
      bp.e = std::sqrt(bp.x * bp.x + bp.y * bp.y + bp.z * bp.z + kMB * kMB);
      const double u = rng.uniform();
      const bool bquark = q.id > 0;
      int id = u < 0.4 ? 511 : (u < 0.8 ? 521 : (u < 0.9 ? 531 : 5122));
      // b quark -> Bbar0 (-511), B- (-521), Bbar_s (-531), Lambda_b (5122)
      if (id == 5122)
        id = bquark ? 5122 : -5122;
      else
        id = bquark ? -id : id;
      const int bi = rec.add(bp, kMB, id, 1, qi);
      const P4 rest(std::max(0.0, q.p.e - bp.e), q.p.x - bp.x, q.p.y - bp.y, q.p.z - bp.z);
      light_hadrons(rng, rec, rest, qi);
      decay_b(rng, rec, bi, bquark);
    } else {
      light_hadrons(rng, rec, q.p, qi);
    }
  }
}

}  // namespace unbox::physics::gen
