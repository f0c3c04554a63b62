// Particle lists stored in a Dataset: per-particle columns such as p0_pt, p0_eta, p0_phi,
// p1_pt, ... (the XAUG jet toy's names), or [events, particles] arrays. Used by the EFP
// and isolation commands.
#pragma once

#include <string>
#include <vector>

#include "unbox/data.hpp"

namespace unbox {

struct ParticleColumns {
  // "{i}" is the particle index (0, 1, ... while the pT column exists), "{var}" the
  // variable name below. Without "{i}", the name is an [events, particles] array.
  std::string pattern = "p{i}_{var}";
  std::string pt = "pt", eta = "eta", phi = "phi";
  Index max_particles = 0;  // 0: all that exist
};

struct ParticleArrays {
  Tensor pt, eta, phi;  // [events, particles]
  Index particles = 0;
  std::vector<std::string> columns;  // the data columns used
};

// The name of one column: column_name(cols, 3, "pt") = "p3_pt".
std::string particle_column(const ParticleColumns& cols, Index i, const std::string& var);
// Gathers the arrays; an Error names the missing column (and the file) when the pT,
// eta or phi column of a particle is absent.
ParticleArrays particle_arrays(const Dataset& data, const ParticleColumns& cols);

}  // namespace unbox
