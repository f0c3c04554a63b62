// unbox isolation: isolation-cone observables I(R0) = sum_{veto <= DeltaR < R0} pT / pT(ref)
// of particle lists around a reference direction (the talk's muon study).
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/physics/isolation.hpp"
#include "unbox/physics/particles.hpp"

namespace unbox::cli {

namespace {

struct IsoArgs {
  std::string data, out, keep, ref_pt, ref_eta, ref_phi, r0 = "0.1,0.2,0.3,0.4";
  bool json = false;
  IsolationOptions opt;
  ParticleColumns cols;
  DataTransforms transforms;
};

int run_isolation(IsoArgs& a) {
  a.opt.r0.clear();
  for (const auto& s : split_list(a.r0)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty())
      throw Error(fmt::format("--r0: '{}' is not a number (expected e.g. 0.1,0.2,0.3)", s));
    a.opt.r0.push_back(v);
  }
  Dataset data = load_data({a.data, "", "", false}, a.transforms);
  if (data.source.empty()) data.source = a.data;
  const ParticleArrays p = particle_arrays(data, a.cols);
  const Tensor v = isolation(data.get(a.ref_pt), data.get(a.ref_eta), data.get(a.ref_phi), p.pt, p.eta, p.phi, a.opt);
  Dataset out;
  for (const auto& k : split_list(a.keep)) out.add(k, data.get(k));
  const Index n = data.events(), nr = static_cast<Index>(a.opt.r0.size());
  std::vector<std::string> names;
  for (Index r = 0; r < nr; ++r) {
    Tensor col({n});
    double mean = 0;
    for (Index e = 0; e < n; ++e) col[e] = v.at(e, r), mean += v.at(e, r);
    names.push_back(isolation_column_name(a.opt.r0[static_cast<size_t>(r)]));
    out.add(names.back(), std::move(col));
  }
  write_dataset(out, a.out);
  if (a.json) {
    nlohmann::json j{{"out", a.out},       {"events", n},    {"particles", p.particles},
                     {"veto", a.opt.veto}, {"r0", a.opt.r0}, {"columns", names}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s: %lld events, %lld particles each, columns", a.out.c_str(), static_cast<long long>(n),
                static_cast<long long>(p.particles));
    for (const auto& s : names) std::printf(" %s", s.c_str());
    std::printf("\n  I(R0) = sum of pT with %g <= DeltaR < R0 around (%s, %s, %s), divided by %s\n", a.opt.veto,
                a.ref_pt.c_str(), a.ref_eta.c_str(), a.ref_phi.c_str(), a.ref_pt.c_str());
  }
  return 0;
}

}  // namespace

void register_isolation(CLI::App& app) {
  auto a = std::make_shared<IsoArgs>();
  auto* c = add_command(app, "isolation",
                        "Isolation-cone observables I(R0) = sum of particle pT within DeltaR < R0 of a reference "
                        "direction, divided by the reference pT, for a list of R0",
                        "unbox isolation --data muons.csv --ref-pt mu_pt --ref-eta mu_eta --ref-phi mu_phi "
                        "--r0 0.1,0.2,0.3,0.4 --keep label --out iso.csv",
                        [a] { return run_isolation(*a); });
  c->add_option("--data,-d", a->data, "Events with the reference and the particle columns")->required();
  add_data_transforms(c, a->transforms);
  c->add_option("--out,-o", a->out, "Output table: columns iso_<R0> (e.g. iso_0.1)")->required();
  c->add_option("--ref-pt", a->ref_pt, "Reference pT column (> 0)")->required();
  c->add_option("--ref-eta", a->ref_eta, "Reference eta column")->required();
  c->add_option("--ref-phi", a->ref_phi, "Reference phi column")->required();
  c->add_option("--r0", a->r0, "Cone radii, comma-separated; the boundary is strict (DeltaR < R0)")
      ->capture_default_str();
  c->add_option("--veto", a->opt.veto,
                "Particles closer than this to the reference do not count (excludes the reference itself when "
                "it is in the list; 0 counts all)")
      ->capture_default_str();
  c->add_option("--keep", a->keep, "Data columns copied to the output (e.g. label)");
  c->add_option("--particles", a->cols.pattern, "Particle column pattern ({i} index, {var} pt/eta/phi name)")
      ->capture_default_str();
  c->add_option("--pt", a->cols.pt, "Name of the pT variable in the pattern")->capture_default_str();
  c->add_option("--eta", a->cols.eta, "Name of the eta variable in the pattern")->capture_default_str();
  c->add_option("--phi", a->cols.phi, "Name of the phi variable in the pattern")->capture_default_str();
  c->add_flag("--json", a->json, "Print a JSON summary");
}

}  // namespace unbox::cli
