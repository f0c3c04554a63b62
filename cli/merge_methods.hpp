// The merges of eval, lrp and attribute results (their result files' "state"), called by
// merge_results (stream.hpp) for unbox merge and for the gathering of MPI ranks.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace unbox::cli {

// The results (one method, keys checked) merged in order; nullopt for a method not handled here.
std::optional<nlohmann::json> merge_method_results(const std::string& method,
                                                   const std::vector<nlohmann::json>& results);
// The terminal table of a merged result; nullopt for a method not handled here.
std::optional<std::string> method_result_table(const nlohmann::json& result);

}  // namespace unbox::cli
