// `unbox merge RESULTS... --out merged.json`: the result of several runs on disjoint events
// (one per file, e.g. HTCondor jobs) from their result files, merged in the given order by
// the same code that merges MPI ranks at rank 0.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"

namespace unbox::cli {

namespace {
struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out;
  bool json = false, quiet = false;
} a;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("'{}' is not JSON: {}", path, e.what()));
  }
}

int run() {
  std::vector<nlohmann::json> results;
  std::vector<std::string> names;
  for (const auto& f : a.inputs) {
    results.push_back(read_json(f));
    names.push_back("'" + f + "'");
  }
  nlohmann::json merged = merge_results(results, names);
  if (!a.out.empty()) write_text_atomically(a.out, merged.dump(2) + "\n");
  if (a.json)
    std::cout << merged.dump(2) << "\n";
  else if (!a.quiet)
    std::cout << result_table(merged);
  return 0;
}
}  // namespace

void register_merge(CLI::App& app) {
  auto* c = add_command(app, "merge",
                        "Merge result files of one method over disjoint events (one run per file) into the result "
                        "over all of them, in the given order",
                        "unbox merge part-*.json --out merged.json", [] { return run(); });
  c->add_option("results", a.inputs, "Result JSON files (--out of taylor, eval, lrp or attribute), in order")
      ->required();
  c->add_option("--out,-o", a.out, "Write the merged result as JSON");
  c->add_flag("--json", a.json, "Print JSON instead of the table");
  c->add_flag("--quiet,-q", a.quiet, "Print nothing");
}

}  // namespace unbox::cli
