// The merges of eval, lrp and attribute results (merge_methods.hpp).
#include "merge_methods.hpp"

#include "unbox/explain/attribute.hpp"
#include "unbox/explain/eval.hpp"
#include "unbox/explain/lrp.hpp"

namespace unbox::cli {

std::optional<nlohmann::json> merge_method_results(const std::string& method,
                                                   const std::vector<nlohmann::json>& results) {
  if (method == "eval") {
    std::vector<EvalResult> parts;
    for (const auto& j : results) parts.push_back(EvalResult::from_json(j));
    EvalResult r = merge(std::move(parts));
    finish(r);
    return r.to_json(true);
  }
  if (method == "lrp") {
    LrpResult r = LrpResult::from_json(results[0]);
    for (size_t i = 1; i < results.size(); ++i) merge(r, LrpResult::from_json(results[i]));
    return r.to_json();
  }
  if (method == "attribute") {
    AttributionResult r = AttributionResult::from_json(results[0]);
    for (size_t i = 1; i < results.size(); ++i) merge(r, AttributionResult::from_json(results[i]));
    return r.to_json();
  }
  return std::nullopt;
}

std::optional<std::string> method_result_table(const nlohmann::json& result) {
  const std::string method = result["state"]["method"].get<std::string>();
  if (method == "eval") return EvalResult::from_json(result).table();
  if (method == "lrp") return LrpResult::from_json(result).table();
  if (method == "attribute") return AttributionResult::from_json(result).table();
  return std::nullopt;
}

}  // namespace unbox::cli
