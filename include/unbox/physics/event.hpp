// Reconstructed event objects shared by the physics layer: what the event readers and the
// detector model produce (src/physics/), and what feature builders such as the stop-dilepton
// inputs consume. Momenta in GeV, angles in radians.
#pragma once

#include <vector>

namespace unbox::physics {

struct Lepton {
  double pt = 0, eta = 0, phi = 0, m = 0;
  int pdg_id = 0;  // +-11 electron, +-13 muon (PDG sign: 11 is e-, so charge = -sign(pdg_id))
  int charge = 0;  // +1 or -1
};

struct Jet {
  double pt = 0, eta = 0, phi = 0, m = 0;
  bool btag = false;  // after the detector's b-tag efficiency and mistag rates
  int flavour = 0;    // truth flavour from ghost association: 5 b, 4 c, 0 light
};

struct MissingMomentum {
  double pt = 0, phi = 0;
  double sumet = 0;  // scalar sum of visible transverse momenta (for the significance)
};

struct RecoEvent {
  std::vector<Lepton> leptons;  // sorted by pt, descending
  std::vector<Jet> jets;        // sorted by pt, descending
  MissingMomentum met;
  double weight = 1.0;
};

}  // namespace unbox::physics
