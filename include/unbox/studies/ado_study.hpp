// The worked study of the decision-ordering method on the XAUG jet toy: a Particle Flow
// Network trained on the particles is the target, a few jet-level expert variables are
// the base, and the energy flow polynomials (efp.hpp) are the pool of the guided search.
// Two independent samples are generated: the PFN trains on the first; the EFPs, the HL
// networks and every AUC/ADO use the second (which ado_search splits again).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "unbox/explain/ado_search.hpp"

namespace unbox {

struct AdoStudyOptions {
  Index events = 6000;  // jets per sample (two samples)
  std::uint64_t seed = 1;
  std::string pfn_arch = "pfn:32,32:32";
  Index pfn_epochs = 15;
  std::string base = "xaug_mass";  // comma list of xaug_* columns
  int dmax = 4;                    // connected EFPs with 1 <= d <= dmax form the pool
  std::string betas = "1,0.5";     // angular exponents; kappa = 1 (IRC safe)
  AdoSearchOptions search;
};

struct AdoStudyResult {
  AdoStudyOptions options;
  double pfn_auc = 0.0;  // on the second sample
  Index pfn_parameters = 0;
  nlohmann::json pool_info;  // column -> {id, n, d, beta, edges}
  AdoSearchResult search;
  double seconds = 0.0;
  nlohmann::json to_json() const;
  std::string table() const;
};

AdoStudyResult ado_study(const AdoStudyOptions& options);

}  // namespace unbox
