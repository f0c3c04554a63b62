// Particle lists from dataset columns (see particles.hpp).
#include "unbox/physics/particles.hpp"

#include <fmt/format.h>

namespace unbox {

namespace {
std::string replace_all(std::string s, const std::string& what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
  return s;
}
}  // namespace

std::string particle_column(const ParticleColumns& cols, Index i, const std::string& var) {
  return replace_all(replace_all(cols.pattern, "{i}", std::to_string(i)), "{var}", var);
}

ParticleArrays particle_arrays(const Dataset& data, const ParticleColumns& cols) {
  if (cols.pattern.find("{var}") == std::string::npos)
    throw Error(
        fmt::format("particle column pattern '{}' has no {{var}} (e.g. p{{i}}_{{var}} or {{var}})", cols.pattern));
  const std::string src = data.source.empty() ? std::string("the data") : data.source;
  const std::vector<std::string> vars{cols.pt, cols.eta, cols.phi};
  ParticleArrays out;
  if (cols.pattern.find("{i}") == std::string::npos) {
    std::vector<Tensor> t;
    for (const auto& v : vars) {
      const std::string name = particle_column(cols, 0, v);
      if (!data.has(name))
        throw Error(fmt::format("no particle array '{}' in {} (pattern '{}' names [events, particles] arrays)", name,
                                src, cols.pattern));
      Tensor x = data.get(name);
      if (x.rank() == 1) x.reshape({x.events(), 1});
      if (x.rank() != 2)
        throw Error(fmt::format("particle array '{}' in {} has shape {}; expected [events, particles]", name, src,
                                shape_string(x.shape())));
      out.columns.push_back(name);
      t.push_back(std::move(x));
    }
    if (t[1].shape() != t[0].shape() || t[2].shape() != t[0].shape())
      throw Error(fmt::format("particle arrays {}, {}, {} in {} have different shapes", out.columns[0], out.columns[1],
                              out.columns[2], src));
    Index p = t[0].dim(1);
    if (cols.max_particles > 0 && cols.max_particles < p) {
      for (auto& x : t) {
        Tensor y({x.dim(0), cols.max_particles});
        for (Index e = 0; e < x.dim(0); ++e)
          for (Index j = 0; j < cols.max_particles; ++j) y.at(e, j) = x.at(e, j);
        x = std::move(y);
      }
      p = cols.max_particles;
    }
    out.pt = std::move(t[0]), out.eta = std::move(t[1]), out.phi = std::move(t[2]);
    out.particles = p;
    return out;
  }
  Index p = 0;
  while ((cols.max_particles <= 0 || p < cols.max_particles) && data.has(particle_column(cols, p, cols.pt))) ++p;
  if (p == 0) {
    std::string names;
    for (const auto& n : data.names()) names += (names.empty() ? "" : ", ") + n;
    if (names.size() > 300) names = names.substr(0, 300) + ", ...";
    auto generic = [&](const std::string& var) { return replace_all(cols.pattern, "{var}", var); };
    throw Error(fmt::format(
        "no particle column '{}' in {} (expected columns {}, {}, {} for i = 0, 1, ...; "
        "another naming scheme can be chosen); it has: {}",
        particle_column(cols, 0, cols.pt), src, generic(cols.pt), generic(cols.eta), generic(cols.phi), names));
  }
  const Index n = data.events();
  out.pt = Tensor({n, p}), out.eta = Tensor({n, p}), out.phi = Tensor({n, p});
  Tensor* dst[3] = {&out.pt, &out.eta, &out.phi};
  for (Index i = 0; i < p; ++i)
    for (int k = 0; k < 3; ++k) {
      const std::string name = particle_column(cols, i, vars[static_cast<size_t>(k)]);
      if (!data.has(name))
        throw Error(fmt::format("no column '{}' in {}: particle {} has '{}' but no {} column", name, src, i,
                                particle_column(cols, i, cols.pt), vars[static_cast<size_t>(k)]));
      const Tensor& c = data.get(name);
      if (c.rank() != 1)
        throw Error(fmt::format("column '{}' in {} has shape {}; expected one number per event", name, src,
                                shape_string(c.shape())));
      for (Index e = 0; e < n; ++e) dst[k]->at(e, i) = c[e];
      out.columns.push_back(name);
    }
  out.particles = p;
  return out;
}

}  // namespace unbox
