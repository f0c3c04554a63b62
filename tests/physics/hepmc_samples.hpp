// Hand-built generator events with known four-vectors, written with HepMC3's own writer
// (and as LHE text), for the physics tests, the bench and tests/tools/make_hepmc_sample.
// No event generator exists on these machines; these events imitate ttbar -> b l nu b l nu
// with a shower-like record: each b quark fragments into a b-hadron (which decays into a few
// hadrons) and some fragmentation pions; an optional initial-state-radiation jet balances
// the transverse momentum, and soft forward particles stand for the underlying event.
#pragma once

#include <HepMC3/GenEvent.h>
#include <HepMC3/GenParticle.h>
#include <HepMC3/GenVertex.h>
#include <HepMC3/WriterAscii.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace unbox::test_samples {

struct P4 {
  double px = 0, py = 0, pz = 0, e = 0;
  static P4 from(double pt, double eta, double phi, double m) {
    P4 p;
    p.px = pt * std::cos(phi);
    p.py = pt * std::sin(phi);
    p.pz = pt * std::sinh(eta);
    p.e = std::sqrt(p.px * p.px + p.py * p.py + p.pz * p.pz + m * m);
    return p;
  }
  P4& operator+=(const P4& o) {
    px += o.px, py += o.py, pz += o.pz, e += o.e;
    return *this;
  }
  double pt() const { return std::hypot(px, py); }
  double eta() const { return std::asinh(pz / pt()); }
  double phi() const { return std::atan2(py, px); }
  double m() const {
    double m2 = e * e - px * px - py * py - pz * pz;
    return m2 > 0 ? std::sqrt(m2) : 0.0;
  }
};

constexpr double kPionMass = 0.13957, kBMass = 5.27966;

// Builds one event: final-state particles on a hard vertex, jets with their own decay
// chains. Momenta are given in GeV and written in `unit`.
class HandEvent {
 public:
  explicit HandEvent(HepMC3::Units::MomentumUnit unit = HepMC3::Units::GEV) : unit_(unit) {
    scale_ = unit == HepMC3::Units::MEV ? 1000.0 : 1.0;
    evt_ = std::make_shared<HepMC3::GenEvent>(unit, HepMC3::Units::MM);
    hard_ = std::make_shared<HepMC3::GenVertex>();
    hard_->add_particle_in(make(P4{0, 0, 6500, 6500}, 2212, 4));
    hard_->add_particle_in(make(P4{0, 0, -6500, 6500}, 2212, 4));
    evt_->add_vertex(hard_);
  }

  // A final-state particle attached to the hard vertex.
  P4 particle(int pdg, double pt, double eta, double phi, double m = 0) {
    P4 p = P4::from(pt, eta, phi, m);
    hard_->add_particle_out(make(p, pdg, 1));
    return p;
  }
  P4 lepton(int pdg, double pt, double eta, double phi) {
    return particle(pdg, pt, eta, phi, std::abs(pdg) == 11 ? 0.000511 : 0.10566);
  }

  // A jet of n >= 3 particles around (eta, phi) within Delta-R 0.12 carrying about `pt`.
  // hadron = 0: light-quark jet of pions. Otherwise a b- (or c-) hadron of that PDG id takes
  // 60% of the momentum and decays into 3 pions; with `excited` the hadron first comes
  // from an excited state (e.g. B* -> B gamma: pass the excited id in `excited`).
  // Returns the exact sum of the final-state constituents.
  P4 jet(double pt, double eta, double phi, int n, int hadron = 0, int excited = 0, int quark = 0) {
    P4 sum;
    auto frag = std::make_shared<HepMC3::GenVertex>();
    P4 parton = P4::from(pt, eta, phi, 4.8);
    frag->add_particle_in(make(parton, quark != 0 ? quark : (hadron != 0 ? 5 : 1), 23));
    hard_->add_particle_out(frag->particles_in()[0]);
    evt_->add_vertex(frag);
    int n_frag = hadron != 0 ? n - 3 : n;
    double frac_frag = hadron != 0 ? 0.4 : 1.0;
    for (int i = 0; i < n_frag; ++i) {
      double f = frac_frag / n_frag * (1.0 + 0.3 * ((i % 3) - 1));
      double a = 2 * M_PI * (i + 0.5) / std::max(n_frag, 1);
      P4 p = P4::from(pt * f, eta + 0.08 * std::cos(a), phi + 0.08 * std::sin(a), kPionMass);
      frag->add_particle_out(make(p, i % 2 ? 211 : -211, 1));
      sum += p;
    }
    if (hadron != 0) {
      P4 h = P4::from(0.6 * pt, eta + 0.01, phi - 0.01, kBMass);
      auto hp = make(h, hadron, 2);
      if (excited != 0) {
        // excited -> hadron + soft photon: the excited state is not the last b-hadron.
        P4 gamma = P4::from(0.004 * pt, eta + 0.01, phi - 0.01, 0);
        P4 hx = h;
        hx += gamma;
        auto xp = make(hx, excited, 2);
        frag->add_particle_out(xp);
        auto vx = std::make_shared<HepMC3::GenVertex>();
        vx->add_particle_in(xp);
        vx->add_particle_out(hp);
        vx->add_particle_out(make(gamma, 22, 1));
        evt_->add_vertex(vx);
        sum += gamma;
      } else {
        frag->add_particle_out(hp);
      }
      auto decay = std::make_shared<HepMC3::GenVertex>();
      decay->add_particle_in(hp);
      const double fr[3] = {0.5, 0.3, 0.2};
      const double de[3] = {0.05, -0.04, 0.0}, dp[3] = {0.0, 0.04, -0.06};
      for (int i = 0; i < 3; ++i) {
        P4 p = P4::from(0.6 * pt * fr[i], eta + de[i], phi + dp[i], kPionMass);
        decay->add_particle_out(make(p, i == 1 ? -211 : 211, 1));
        sum += p;
      }
      evt_->add_vertex(decay);
    }
    return sum;
  }

  HepMC3::GenEvent& build(int number, double weight) {
    evt_->set_event_number(number);
    evt_->weights() = {weight};
    return *evt_;
  }

 private:
  HepMC3::GenParticlePtr make(const P4& p, int pdg, int status) {
    return std::make_shared<HepMC3::GenParticle>(
        HepMC3::FourVector(p.px * scale_, p.py * scale_, p.pz * scale_, p.e * scale_), pdg, status);
  }
  HepMC3::Units::MomentumUnit unit_;
  double scale_ = 1;
  std::shared_ptr<HepMC3::GenEvent> evt_;
  HepMC3::GenVertexPtr hard_;
};

// The parton-level content of a ttbar-like dilepton event.
struct TtbarEvent {
  double b_pt[2], b_eta[2], b_phi[2];
  int l_pdg[2];  // l+ (from t) and l- (from tbar)
  double l_pt[2], l_eta[2], l_phi[2];
  double nu_pt[2], nu_eta[2], nu_phi[2];
  double soft_pt[6], soft_eta[6], soft_phi[6];
  bool isr = false;
  double isr_pt = 0, isr_eta = 0, isr_phi = 0;
};

inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

inline TtbarEvent random_ttbar(std::mt19937_64& rng) {
  auto u = [&](double a, double b) { return a + (b - a) * uniform01(rng); };
  auto dr = [](double e1, double p1, double e2, double p2) {
    double d = std::remainder(p1 - p2, 2 * M_PI);
    return std::hypot(e1 - e2, d);
  };
  TtbarEvent t;
  for (int i = 0; i < 2; ++i) {
    t.b_pt[i] = u(35, 150), t.b_eta[i] = u(-2.0, 2.0), t.b_phi[i] = u(-M_PI, M_PI);
  }
  for (int i = 0; i < 2; ++i) {
    int flavour = uniform01(rng) < 0.5 ? 11 : 13;
    t.l_pdg[i] = i == 0 ? -flavour : flavour;
    t.l_pt[i] = u(30, 120), t.l_eta[i] = u(-2.0, 2.0);
    for (int tries = 0; tries < 100; ++tries) {
      t.l_phi[i] = u(-M_PI, M_PI);
      if (dr(t.l_eta[i], t.l_phi[i], t.b_eta[0], t.b_phi[0]) > 1.0 &&
          dr(t.l_eta[i], t.l_phi[i], t.b_eta[1], t.b_phi[1]) > 1.0)
        break;
    }
  }
  // Neutrinos roughly aligned (as when the ttbar system recoils against ISR), so that most
  // events pass the MET requirements.
  double nu_phi0 = u(-M_PI, M_PI);
  for (int i = 0; i < 2; ++i) {
    t.nu_pt[i] = u(50, 150), t.nu_eta[i] = u(-2.5, 2.5), t.nu_phi[i] = nu_phi0 + u(-0.7, 0.7);
  }
  for (int i = 0; i < 6; ++i) {
    t.soft_pt[i] = u(0.5, 2.0), t.soft_eta[i] = (i % 2 ? 1 : -1) * u(3.0, 4.5), t.soft_phi[i] = u(-M_PI, M_PI);
  }
  // Balance the transverse momentum with an ISR jet (when large enough to be a jet).
  double sx = 0, sy = 0;
  auto add = [&](double pt, double phi) { sx += pt * std::cos(phi), sy += pt * std::sin(phi); };
  for (int i = 0; i < 2; ++i) add(t.b_pt[i], t.b_phi[i]), add(t.l_pt[i], t.l_phi[i]), add(t.nu_pt[i], t.nu_phi[i]);
  for (int i = 0; i < 6; ++i) add(t.soft_pt[i], t.soft_phi[i]);
  t.isr_pt = std::hypot(sx, sy);
  t.isr_phi = std::atan2(-sy, -sx);
  t.isr_eta = u(-2.5, 2.5);
  t.isr = true;
  return t;
}

// As a HepMC3 event: b jets with B+ / anti-B0 hadrons, leptons, neutrinos, soft particles,
// the ISR jet.
inline HepMC3::GenEvent ttbar_hepmc(const TtbarEvent& t, int number, double weight,
                                    HepMC3::Units::MomentumUnit unit = HepMC3::Units::GEV) {
  HandEvent h(unit);
  h.jet(t.b_pt[0], t.b_eta[0], t.b_phi[0], 7, 521, 0, 5);
  h.jet(t.b_pt[1], t.b_eta[1], t.b_phi[1], 6, -511, 0, -5);
  for (int i = 0; i < 2; ++i) {
    h.lepton(t.l_pdg[i], t.l_pt[i], t.l_eta[i], t.l_phi[i]);
    int nu = (t.l_pdg[i] < 0 ? 1 : -1) * (std::abs(t.l_pdg[i]) + 1);
    h.particle(nu, t.nu_pt[i], t.nu_eta[i], t.nu_phi[i]);
  }
  for (int i = 0; i < 6; ++i)
    h.particle(i % 2 ? 211 : 22, t.soft_pt[i], t.soft_eta[i], t.soft_phi[i], i % 2 ? kPionMass : 0);
  if (t.isr) h.jet(t.isr_pt, t.isr_eta, t.isr_phi, 5, 0, 0, 21);
  return h.build(number, weight);
}

// The same event at parton level, as one LHE <event> block (GeV): g g -> t tbar (+ g),
// t -> W+ b, W+ -> l+ nu, and the tbar likewise; final partons with status 1.
inline std::string ttbar_lhe_event(const TtbarEvent& t, double weight) {
  struct Line {
    int id, status, m1, m2;
    P4 p;
    double m;
  };
  std::vector<Line> lines;
  P4 b[2], l[2], n[2], isr = P4::from(t.isr_pt, t.isr_eta, t.isr_phi, 0);
  for (int i = 0; i < 2; ++i) {
    b[i] = P4::from(t.b_pt[i], t.b_eta[i], t.b_phi[i], 4.7);
    l[i] = P4::from(t.l_pt[i], t.l_eta[i], t.l_phi[i], 0);
    n[i] = P4::from(t.nu_pt[i], t.nu_eta[i], t.nu_phi[i], 0);
  }
  P4 total = isr;
  for (int i = 0; i < 2; ++i) total += b[i], total += l[i], total += n[i];
  double ep = 0.5 * (total.e + total.pz), em = 0.5 * (total.e - total.pz);
  lines.push_back({21, -1, 0, 0, P4{0, 0, ep, ep}, 0});
  lines.push_back({21, -1, 0, 0, P4{0, 0, -em, em}, 0});
  for (int i = 0; i < 2; ++i) {
    P4 w = l[i];
    w += n[i];
    P4 top = w;
    top += b[i];
    int sign = i == 0 ? 1 : -1;
    int top_index = static_cast<int>(lines.size()) + 1;
    lines.push_back({6 * sign, 2, 1, 2, top, top.m()});
    lines.push_back({24 * sign, 2, top_index, top_index, w, w.m()});
    lines.push_back({5 * sign, 1, top_index, top_index, b[i], 4.7});
    int nu = (t.l_pdg[i] < 0 ? 1 : -1) * (std::abs(t.l_pdg[i]) + 1);
    lines.push_back({t.l_pdg[i], 1, top_index + 1, top_index + 1, l[i], 0});
    lines.push_back({nu, 1, top_index + 1, top_index + 1, n[i], 0});
  }
  if (t.isr) lines.push_back({21, 1, 1, 2, isr, 0});
  char buf[256];
  std::string out = "<event>\n";
  std::snprintf(buf, sizeof buf, " %zu 1 %.10e 1.7e+02 7.8e-03 1.1e-01\n", lines.size(), weight);
  out += buf;
  for (const auto& x : lines) {
    std::snprintf(buf, sizeof buf, " %d %d %d %d 0 0 %.12e %.12e %.12e %.12e %.8e 0 9\n", x.id, x.status, x.m1, x.m2,
                  x.p.px, x.p.py, x.p.pz, x.p.e, x.m);
    out += buf;
  }
  out += "</event>\n";
  return out;
}

// n ttbar-like events (weights 0.5 + event index / n, deterministic for a seed).
inline void write_ttbar_hepmc(const std::string& path, int n, std::uint64_t seed,
                              HepMC3::Units::MomentumUnit unit = HepMC3::Units::GEV) {
  std::mt19937_64 rng(seed);
  HepMC3::WriterAscii w(path);
  for (int i = 0; i < n; ++i) {
    TtbarEvent t = random_ttbar(rng);
    w.write_event(ttbar_hepmc(t, i + 1, 0.5 + static_cast<double>(i) / n, unit));
  }
  w.close();
}

inline std::string lhe_header() {
  return "<LesHouchesEvents version=\"3.0\">\n<header>\n<!-- unbox test sample -->\n</header>\n"
         "<init>\n 2212 2212 6.5e+03 6.5e+03 0 0 10042 10042 3 1\n 5.0e+02 1.0e+00 5.0e+02 1\n</init>\n";
}

inline void write_ttbar_lhe(const std::string& path, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path);
  out << lhe_header();
  for (int i = 0; i < n; ++i) out << ttbar_lhe_event(random_ttbar(rng), 0.5 + static_cast<double>(i) / n);
  out << "</LesHouchesEvents>\n";
}

}  // namespace unbox::test_samples
