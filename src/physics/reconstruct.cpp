// Truth reconstruction: isolated leptons, anti-kT jets with ghost-associated flavour
// (FastJet), missing transverse momentum. See reconstruct.hpp for the definitions.
#include "unbox/physics/reconstruct.hpp"

#include <fastjet/ClusterSequence.hh>
#include <fastjet/PseudoJet.hh>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "unbox/physics/kinematics.hpp"

namespace unbox::physics {

namespace {

constexpr double kGhostScale = 1e-18;
// user_index of clustered inputs: >= 0 real particles, these for ghosts.
constexpr int kGhostB = -5, kGhostC = -4;

double pt_of(const GenParticle& p) { return std::hypot(p.px, p.py); }
double eta_of(const GenParticle& p) {
  double pt = pt_of(p);
  if (pt == 0) return p.pz > 0 ? INFINITY : (p.pz < 0 ? -INFINITY : 0.0);
  return std::asinh(p.pz / pt);
}
double phi_of(const GenParticle& p) { return (p.px == 0 && p.py == 0) ? 0.0 : std::atan2(p.py, p.px); }

void silence_fastjet_banner() {
  static std::once_flag once;
  std::call_once(once, [] { fastjet::ClusterSequence::set_fastjet_banner_stream(nullptr); });
}

}  // namespace

int parton_flavour(const std::vector<GenParticle>& partons, double eta, double phi, double dr) {
  int best = 0;
  const double dr2 = dr * dr;
  for (const auto& p : partons) {
    int a = std::abs(p.pdg_id);
    if (a > 5 || a <= best) continue;  // gluons (21) and tops do not set a flavour
    double de = eta_of(p) - eta, dp = delta_phi(phi_of(p), phi);
    if (de * de + dp * dp < dr2) best = a;
  }
  return best >= 4 ? best : 0;
}

RecoEvent reconstruct(const GenEvent& event, const ReconstructionOptions& o) {
  silence_fastjet_banner();
  RecoEvent out;
  out.weight = event.weight;
  const auto& fs = event.final_state;
  const size_t n = fs.size();
  auto invisible = [&](int id) {
    if (is_invisible(id)) return true;
    for (int x : o.extra_invisible)
      if (std::abs(x) == std::abs(id)) return true;
    return false;
  };

  // Visible particles: kinematics once; MET over all of them.
  std::vector<char> visible(n, 0), used_as_lepton(n, 0);
  std::vector<double> pt(n), eta(n), phi(n);
  double mex = 0, mey = 0, sumet = 0;
  for (size_t i = 0; i < n; ++i) {
    visible[i] = !invisible(fs[i].pdg_id);
    pt[i] = pt_of(fs[i]);
    eta[i] = eta_of(fs[i]);
    phi[i] = phi_of(fs[i]);
    if (visible[i]) {
      mex -= fs[i].px;
      mey -= fs[i].py;
      sumet += pt[i];
    }
  }
  out.met.pt = std::hypot(mex, mey);
  out.met.phi = (mex == 0 && mey == 0) ? 0.0 : std::atan2(mey, mex);
  out.met.sumet = sumet;

  // Isolated leptons. At parton level (LHE) there is no activity to isolate from; the
  // same rule applies and normally passes.
  const double cone2 = o.isolation_cone * o.isolation_cone;
  for (size_t i = 0; i < n; ++i) {
    int a = std::abs(fs[i].pdg_id);
    if ((a != 11 && a != 13) || pt[i] < o.lepton_pt_min || std::abs(eta[i]) > o.lepton_eta_max) continue;
    double iso = 0;
    for (size_t k = 0; k < n; ++k) {
      if (k == i || !visible[k] || pt[k] < o.isolation_particle_pt_min) continue;
      double de = eta[k] - eta[i], dp = delta_phi(phi[k], phi[i]);
      if (de * de + dp * dp < cone2) iso += pt[k];
    }
    double limit = a == 11 ? o.electron_isolation : o.muon_isolation;
    if (iso / pt[i] >= limit) continue;
    Lepton l;
    l.pt = pt[i];
    l.eta = eta[i];
    l.phi = phi[i];
    l.m = fs[i].m;
    l.pdg_id = fs[i].pdg_id;
    l.charge = fs[i].pdg_id > 0 ? -1 : 1;
    out.leptons.push_back(l);
    used_as_lepton[i] = 1;
  }
  std::sort(out.leptons.begin(), out.leptons.end(), [](const Lepton& a, const Lepton& b) { return a.pt > b.pt; });

  // Jets: visible, non-lepton particles plus the flavour ghosts.
  std::vector<fastjet::PseudoJet> inputs;
  const bool ghosts = o.flavour == ReconstructionOptions::Flavour::Ghost;
  inputs.reserve(n + (ghosts ? event.b_tags.size() + event.c_tags.size() : 0));
  for (size_t i = 0; i < n; ++i) {
    if (!visible[i] || used_as_lepton[i]) continue;
    if (pt[i] == 0) continue;  // beam-collinear particles cannot be clustered (infinite rapidity)
    fastjet::PseudoJet p(fs[i].px, fs[i].py, fs[i].pz, fs[i].e);
    p.set_user_index(static_cast<int>(i));
    inputs.push_back(p);
  }
  auto add_ghosts = [&](const std::vector<GenParticle>& tags, int index) {
    for (const auto& t : tags) {
      if (pt_of(t) == 0) continue;
      fastjet::PseudoJet g(t.px * kGhostScale, t.py * kGhostScale, t.pz * kGhostScale, t.e * kGhostScale);
      g.set_user_index(index);
      inputs.push_back(g);
    }
  };
  if (ghosts) {
    add_ghosts(event.b_tags, kGhostB);
    add_ghosts(event.c_tags, kGhostC);
  }
  if (!inputs.empty()) {
    fastjet::JetDefinition def(fastjet::antikt_algorithm, o.jet_r);
    fastjet::ClusterSequence cs(inputs, def);
    for (const auto& j : fastjet::sorted_by_pt(cs.inclusive_jets(o.jet_pt_min))) {
      if (std::abs(j.eta()) > o.jet_eta_max) continue;
      int flavour = 0;
      bool real = false;
      for (const auto& c : j.constituents()) {
        if (c.user_index() == kGhostB)
          flavour = 5;
        else if (c.user_index() == kGhostC && flavour == 0)
          flavour = 4;
        else if (c.user_index() >= 0)
          real = true;
      }
      if (!real) continue;
      if (!ghosts) flavour = parton_flavour(event.partons, j.eta(), j.phi_std(), o.flavour_dr);
      Jet jet;
      jet.pt = j.pt();
      jet.eta = j.eta();
      jet.phi = j.phi_std();
      jet.m = j.m() > 0 ? j.m() : 0.0;
      jet.flavour = flavour;
      jet.btag = flavour == 5;
      out.jets.push_back(jet);
    }
  }
  return out;
}

}  // namespace unbox::physics
