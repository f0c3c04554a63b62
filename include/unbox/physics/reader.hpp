// Event input from real generators: HepMC3 ASCII files (Pythia, Herwig, MadGraph with a
// shower) and Les Houches Event files (parton level). Events are streamed one at a time.
// Momenta are converted to GeV from the unit each event declares (HepMC3: MeV or GeV;
// LHE is always GeV).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace unbox::physics {

// A generator particle, momentum in GeV.
struct GenParticle {
  double px = 0, py = 0, pz = 0, e = 0, m = 0;
  int pdg_id = 0;
  int status = 0;
};

struct GenEvent {
  std::int64_t number = 0;  // the event number written in the file (HepMC3) or its position (LHE, from 1)
  double weight = 1.0;      // the first event weight; 1 when the file has none
  // Final-state particles (status 1), in file order.
  std::vector<GenParticle> final_state;
  // Flavour tags for ghost association: the last b-hadrons in each decay chain (a b-hadron
  // none of whose daughters is a b-hadron) and likewise the last c-hadrons; at parton level
  // (LHE) the outgoing b and c quarks themselves.
  std::vector<GenParticle> b_tags;
  std::vector<GenParticle> c_tags;
  // Quarks (d..b) and gluons of the record with pT > 1 GeV and |eta| <= 2.5, for the
  // Delphes-style jet flavour (the highest |PDG id| parton within Delta R of the jet).
  std::vector<GenParticle> partons;
  bool parton_level = false;
};

// PDG classification helpers.
bool is_b_hadron(int pdg_id);  // a hadron with a b (anti)quark among its constituents
bool is_c_hadron(int pdg_id);  // a hadron with a c but no b quark
bool is_invisible(int pdg_id);
// A parton for jet flavour: a quark d..b or a gluon with pT > 1 GeV and |eta| <= 2.5.
bool is_flavour_parton(
    const GenParticle& p);  // neutrinos and stable BSM neutral particles (neutralino, gravitino, sneutrinos)

enum class EventFormat { HepMC3, LHE };

// Format by extension (.hepmc, .hepmc3, .hepmc.txt -> HepMC3; .lhe -> LHE), otherwise by
// content (an "HepMC::Version" / "HepMC::Asciiv3" header, or "<LesHouchesEvents"). Error
// when neither matches.
EventFormat detect_event_format(const std::string& path);

class EventReader {
 public:
  virtual ~EventReader() = default;
  // Reads the next event into `event`; false at the end of the file. A corrupt or
  // truncated event throws unbox::Error naming the file and the event (number or line).
  virtual bool next(GenEvent& event) = 0;
  // Bytes consumed so far and the file size, for progress reporting.
  virtual std::int64_t position() const = 0;
  std::int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 protected:
  std::string path_;
  std::int64_t size_ = 0;
};

std::unique_ptr<EventReader> open_hepmc3(const std::string& path);
std::unique_ptr<EventReader> open_lhe(const std::string& path);
// By detect_event_format.
std::unique_ptr<EventReader> open_events(const std::string& path);

}  // namespace unbox::physics
