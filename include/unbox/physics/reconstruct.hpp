// Truth-level reconstruction of generator events: isolated electrons and muons, anti-kT
// jets (FastJet) with their flavour, and the missing transverse momentum. The result is a
// RecoEvent before any detector effect (see detector.hpp). The same options drive the
// energy-flow emulation (energy_flow.hpp), where the isolation and the jets are built from
// energy-flow objects instead of particles.
#pragma once

#include <vector>

#include "unbox/physics/event.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::physics {

struct ReconstructionOptions {
  // Leptons: final-state e and mu with pT above lepton_pt_min and |eta| below lepton_eta_max,
  // isolated when the scalar pT sum of the other visible final-state particles (each above
  // isolation_particle_pt_min) within Delta-R < isolation_cone, divided by the lepton's pT,
  // is below the threshold. Defaults: Delphes' CMS card (cone 0.5, 0.12 for electrons,
  // 0.25 for muons, 0.5 GeV particles).
  double lepton_pt_min = 10.0;
  double lepton_eta_max = 2.5;
  double isolation_cone = 0.5;
  double electron_isolation = 0.12;
  double muon_isolation = 0.25;
  double isolation_particle_pt_min = 0.5;
  // Jets: anti-kT with radius jet_r (the card's 0.5) on every visible final-state particle
  // except the isolated leptons; jets above jet_pt_min and below jet_eta_max are kept.
  double jet_r = 0.5;
  double jet_pt_min = 20.0;
  double jet_eta_max = 5.0;
  // Jet flavour. Parton (Delphes' JetFlavourAssociation, the card's rule): the highest
  // |PDG id| among the quarks of GenEvent::partons (pT > 1 GeV, |eta| <= 2.5) within
  // Delta-R < flavour_dr of the jet axis (gluons count as light): 5 b, 4 c, else 0.
  // Ghost: 5 when a last b-hadron (b quark at parton level) is ghost-associated to the jet,
  // else 4 for a c tag, else 0.
  enum class Flavour { Parton, Ghost };
  Flavour flavour = Flavour::Parton;
  double flavour_dr = 0.5;
  // Particles treated as invisible besides is_invisible() (PDG ids, sign ignored).
  std::vector<int> extra_invisible;
};

// Truth reconstruction. Jet flavour by options.flavour; btag = (flavour == 5) at this level. MET: minus the vector sum
// of all visible final-state particles (including those outside the acceptance); sumet: their scalar pT sum. Weight:
// the event's.
RecoEvent reconstruct(const GenEvent& event, const ReconstructionOptions& options = {});

// The parton flavour rule above for a jet axis (5, 4 or 0).
int parton_flavour(const std::vector<GenParticle>& partons, double eta, double phi, double dr);

}  // namespace unbox::physics
