// The worked decision-ordering study on the XAUG jet toy (ado_study.hpp).
#include "unbox/studies/ado_study.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

#include "unbox/metrics.hpp"
#include "unbox/network.hpp"
#include "unbox/physics/efp.hpp"
#include "unbox/toys.hpp"
#include "unbox/train.hpp"

namespace unbox {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

// The [N, P] tensor of feature `f` (pt, eta, phi) of the particle columns p{i}_f.
Tensor particle_matrix(const Dataset& d, const std::string& f, Index particles) {
  Tensor t({d.events(), particles});
  for (Index p = 0; p < particles; ++p) {
    const Tensor& c = d.get(fmt::format("p{}_{}", p, f));
    for (Index e = 0; e < d.events(); ++e) t[e * particles + p] = c[e];
  }
  return t;
}

}  // namespace

AdoStudyResult ado_study(const AdoStudyOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.events < 200) throw Error("ado study: at least 200 events per sample");
  if (o.dmax < 1 || o.dmax > 7) throw Error("ado study: the largest EFP degree must be between 1 and 7");
  std::vector<double> betas;
  for (const auto& b : split_commas(o.betas)) {
    double v = 0;
    auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), v);
    if (ec != std::errc() || p != b.data() + b.size() || !(v > 0))
      throw Error(fmt::format("ado study: bad beta '{}' in '{}': expected positive numbers like 1,0.5", b, o.betas));
    betas.push_back(v);
  }
  if (betas.empty()) throw Error("ado study: give at least one beta");
  AdoStudyResult r;
  r.options = o;

  // 1. The target: a PFN trained on the particles of the first sample.
  Dataset a = generate_toy("xaug-jets", o.events, o.seed);
  Dataset second = generate_toy("xaug-jets", o.events, o.seed + 1);
  a.label_column = second.label_column = "label";
  const std::vector<std::string> particles = xaug_particle_columns();
  Architecture arch = parse_architecture(o.pfn_arch, "relu", "sigmoid");
  if (arch.pfn_phi.empty())
    throw Error(fmt::format("ado study: the target architecture '{}' is not a pfn:PHI:F architecture", o.pfn_arch));
  Network pfn = build_network(particles, arch);
  TrainOptions t;
  t.epochs = o.pfn_epochs;
  t.patience = 4;
  t.learning_rate = 2e-3;
  t.seed = o.seed;
  t.quiet = o.search.quiet;
  train(pfn, a.columns_matrix(particles), a.labels(), {}, t);
  r.pfn_parameters = pfn.parameter_count();
  const std::vector<double> target =
      evaluate(pfn, {second.columns_matrix(particles)}, {pfn.resolve("output:pre")}).values();
  r.pfn_auc = auc(target, second.labels());

  // 2. The pool: connected EFPs with 1 <= d <= dmax, kappa = 1, for each beta.
  Index P = 0;
  while (second.has(fmt::format("p{}_pt", P))) ++P;
  const Tensor pt = particle_matrix(second, "pt", P), eta = particle_matrix(second, "eta", P),
               phi = particle_matrix(second, "phi", P);
  std::vector<EfpGraph> graphs;
  for (const auto& g : efp_graphs(o.dmax, true))
    if (g.d >= 1) graphs.push_back(g);
  std::vector<std::string> pool;
  for (double beta : betas) {
    EfpOptions eo;
    eo.kappa = 1.0;
    eo.beta = beta;
    const Tensor v = efp_values(pt, eta, phi, graphs, eo);
    for (size_t k = 0; k < graphs.size(); ++k) {
      const std::string name =
          betas.size() == 1 ? efp_column_name(graphs[k]) : fmt::format("{}_b{}", efp_column_name(graphs[k]), beta);
      Tensor col({second.events()});
      for (Index e = 0; e < second.events(); ++e)
        col[e] = v[e * static_cast<Index>(graphs.size()) + static_cast<Index>(k)];
      second.add(name, std::move(col));
      pool.push_back(name);
      nlohmann::json info = efp_graph_json(graphs[k]);
      info["kappa"] = 1.0;
      info["beta"] = beta;
      r.pool_info[name] = info;
    }
  }

  // 3. The guided search from the base HL variables.
  r.search = ado_search(second, target, "PFN", split_commas(o.base), pool, o.search);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::json AdoStudyResult::to_json() const {
  nlohmann::json j = search.to_json();
  j["study"] = {{"toy", "xaug-jets"},
                {"events_per_sample", options.events},
                {"seed", options.seed},
                {"pfn_arch", options.pfn_arch},
                {"pfn_epochs", options.pfn_epochs},
                {"pfn_parameters", pfn_parameters},
                {"pfn_auc", pfn_auc},
                {"dmax", options.dmax},
                {"betas", options.betas},
                {"seconds", seconds}};
  j["pool"] = pool_info;
  return j;
}

std::string AdoStudyResult::table() const {
  std::string s = fmt::format(
      "ADO study on the XAUG jet toy: target a Particle Flow Network {} ({} parameters) trained on {} jets;\n"
      "pool: {} connected EFPs (kappa 1, beta {}, d <= {}); everything below measured on {} other jets\n\n",
      options.pfn_arch, pfn_parameters, options.events, pool_info.size(), options.betas, options.dmax, options.events);
  s += search.table();
  for (size_t i = 1; i < search.steps.size(); ++i) {
    const auto& name = search.steps[i].added;
    if (!pool_info.contains(name)) continue;
    const auto& g = pool_info.at(name);
    std::string edges;
    for (const auto& e : g.at("edges")) edges += fmt::format("({},{})", e[0].get<int>(), e[1].get<int>());
    s += fmt::format("  {}: n={} d={} beta={} edges {}\n", name, g.at("n").get<int>(), g.at("d").get<int>(),
                     g.at("beta").get<double>(), edges);
  }
  s += fmt::format("  ({:.1f} s)\n", seconds);
  return s;
}

}  // namespace unbox
