// HepMC3 ASCII output of generated events through libHepMC3's WriterAscii, written to a
// temporary file beside the target and renamed into place by close() (a failed or
// interrupted run leaves no partial file under the target name).
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <HepMC3/GenEvent.h>
#include <HepMC3/GenParticle.h>
#include <HepMC3/GenVertex.h>
#include <HepMC3/WriterAscii.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "unbox/core.hpp"
#include "unbox/physics/generator.hpp"

namespace unbox::physics {

struct HepMC3Writer::State {
  std::string path, tmp;
  std::unique_ptr<HepMC3::WriterAscii> writer;
  bool closed = false;
};

HepMC3Writer::HepMC3Writer(const std::string& path) : state_(new State) {
  state_->path = path;
  state_->tmp = fmt::format("{}.tmp{}", path, static_cast<long>(::getpid()));
  state_->writer = std::make_unique<HepMC3::WriterAscii>(state_->tmp);
  if (state_->writer->failed()) {
    delete state_;
    throw Error(fmt::format("cannot write '{}'", path));
  }
}

HepMC3Writer::~HepMC3Writer() {
  if (!state_->closed) {
    state_->writer->close();
    std::remove(state_->tmp.c_str());
  }
  delete state_;
}

void HepMC3Writer::write(const GeneratedEvent& event) {
  using namespace HepMC3;
  HepMC3::GenEvent evt(Units::GEV, Units::MM);
  evt.set_event_number(static_cast<int>(event.index));
  evt.weights() = {event.weight};
  const auto& rec = event.record;
  std::vector<GenParticlePtr> parts(rec.size());
  for (size_t i = 0; i < rec.size(); ++i) {
    const auto& q = rec[i];
    parts[i] = std::make_shared<HepMC3::GenParticle>(FourVector(q.px, q.py, q.pz, q.e), q.pdg_id, q.status);
    parts[i]->set_generated_mass(q.m);
  }
  auto hard = std::make_shared<GenVertex>();
  for (size_t i = 0; i < rec.size(); ++i)
    if (rec[i].mother == -1) hard->add_particle_in(parts[i]);
  std::vector<GenVertexPtr> end(rec.size());
  evt.add_vertex(hard);
  for (size_t i = 0; i < rec.size(); ++i) {
    const int m = rec[i].mother;
    if (m == -1) continue;
    if (m == -2) {
      hard->add_particle_out(parts[i]);
      continue;
    }
    auto& v = end[static_cast<size_t>(m)];
    if (!v) {
      v = std::make_shared<GenVertex>();
      v->add_particle_in(parts[static_cast<size_t>(m)]);
      evt.add_vertex(v);
    }
    v->add_particle_out(parts[i]);
  }
  state_->writer->write_event(evt);
  if (state_->writer->failed()) throw Error(fmt::format("writing '{}' failed", state_->path));
}

void HepMC3Writer::close() {
  if (state_->closed) return;
  state_->writer->close();
  state_->closed = true;
  if (std::rename(state_->tmp.c_str(), state_->path.c_str()) != 0) {
    std::remove(state_->tmp.c_str());
    throw Error(fmt::format("cannot move the output into place as '{}'", state_->path));
  }
}

}  // namespace unbox::physics
