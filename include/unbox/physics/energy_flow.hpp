// The energy-flow detector: a per-particle emulation of Delphes 3.4.1 with the CMS card
// (numbers and card lines in detector.hpp), from generator particles to reconstructed
// leptons, jets and missing momentum.
//
// 1. Tracks. Charged final-state particles with |eta| <= 2.5 are tracked with the card's
//    efficiency; the track pT is smeared log-normally (mean pT, width sigma pT, as Delphes'
//    MomentumSmearing) and the track is massless (E = |p|). Trajectories are straight lines
//    (no 3.8 T bending): a simplification.
// 2. Calorimeter deposits to |eta| <= 5: electrons, photons (and stable pi0) all in the ECAL,
//    K0S and Lambda 30 % ECAL / 70 % HCAL (the card's EnergyFraction), other hadrons in the
//    HCAL, muons and invisibles nowhere. At parton level (LHE) quarks and gluons deposit in
//    the HCAL as one particle. Deposits are summed per cell; the segmentation is a simplified
//    version of the card's: ECAL 0.0174 x 2pi/360 for |eta| <= 3 and 0.175 x 2pi/36 beyond,
//    HCAL 0.087 x 2pi/72 for |eta| <= 1.74, 0.174 x 2pi/36 for 1.74-3 and 0.175 x 2pi/36
//    beyond.
// 3. Towers (SimpleCalorimeter::FinalizeTower): energy smeared log-normally with the cell's
//    resolution at the deposited energy, zeroed below EnergyMin or EnergySignificanceMin x
//    sigma. Electron tracks join the ECAL cell they hit, charged-hadron tracks the HCAL cell.
//    With track energy T (sigma_T^2 summed over the tracks) and tower energy E: if
//    E - T > EnergyMin and (E - T)/sqrt(sigma_T^2 + sigma^2) > EnergySignificanceMin, a
//    neutral object (photon in the ECAL, neutral hadron in the HCAL) of energy E - T at the
//    tower position, tracks unchanged; otherwise the tracks are rescaled to the inverse-variance
//    mean of T and E (so an electron is measured by track + ECAL).
// 4. Leptons: electron and muon tracks, identified with the card's efficiency (pT > 10 GeV)
//    and isolated against the energy-flow objects (ReconstructionOptions: cone 0.5, objects
//    above 0.5 GeV, 0.12 / 0.25). A lepton failing either stays an energy-flow object.
// 5. Jets: anti-kT (R = 0.5) on all energy-flow objects, raw pT > 20 GeV; a jet containing an
//    isolated lepton is dropped (Delphes' UniqueObjectFinder); the card's jet energy scale;
//    flavour (parton rule or ghosts) and the b-tag efficiency on the scaled pT.
// 6. MET = -(sum of all energy-flow objects' pT); sumet their scalar sum.
//
// Random numbers are drawn in a fixed order (particles in record order, then towers in cell
// order, then leptons, then jets), so an event's result depends only on (seed, index).
#pragma once

#include <cstdint>
#include <vector>

#include <fastjet/PseudoJet.hh>

#include "unbox/physics/detector.hpp"
#include "unbox/physics/event.hpp"
#include "unbox/physics/reader.hpp"
#include "unbox/physics/reconstruct.hpp"

namespace unbox::physics {

struct EnergyFlowObject {
  enum Kind { Track, Photon, NeutralHadron };
  Kind kind = Track;
  double pt = 0, eta = 0, phi = 0, e = 0;  // massless
  int pdg_id = 0;                          // tracks: the particle's; photons 22; neutral hadrons 0
  int particle = -1;                       // tracks: index in GenEvent::final_state
};

// Buffers reused from event to event: one per thread.
class EnergyFlow {
 public:
  // Runs steps 1-6 on `event` (index and options.seed fix the random numbers) into `out`.
  void run(const GenEvent& event, std::int64_t index, const ReconstructionOptions& reco,
           const DetectorOptions& detector, RecoEvent& out);
  // The energy-flow objects of the last run (tracks first, in particle order, then towers).
  const std::vector<EnergyFlowObject>& objects() const { return objects_; }

  struct Hit {
    std::int64_t cell;
    int order;      // position of insertion, for a deterministic order within a cell
    int track;      // index in tracks_, or -1 for an energy deposit
    double energy;  // deposits only
  };
  struct TrackState {
    double pt, eta, phi, e, sigma;  // sigma: relative resolution
    int pdg_id, particle;
  };

 private:
  std::vector<TrackState> tracks_;
  std::vector<Hit> hits_;
  std::vector<EnergyFlowObject> objects_;
  std::vector<char> lepton_object_;
  std::vector<fastjet::PseudoJet> inputs_;
};

// With a thread-local EnergyFlow.
RecoEvent reconstruct_energy_flow(const GenEvent& event, std::int64_t index, const ReconstructionOptions& reco,
                                  const DetectorOptions& detector);

// Three times the electric charge of a PDG id (0 for unknown ids).
int charge3(int pdg_id);

}  // namespace unbox::physics
