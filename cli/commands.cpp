#include "commands.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "unbox/dist.hpp"

namespace unbox::cli {

namespace {
std::map<const CLI::App*, std::function<int()>>& runners() {
  static std::map<const CLI::App*, std::function<int()>> r;
  return r;
}
}  // namespace

CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description,
                      const std::string& example, std::function<int()> run) {
  CLI::App* sub = app.add_subcommand(name, description);
  sub->footer("Example:\n  " + example);
  runners()[sub] = std::move(run);
  return sub;
}

void register_all(CLI::App& app) {
  register_generate(app);
  register_train(app);
  register_eval(app);
  register_predict(app);
  register_info(app);
  register_export(app);
  register_conformance(app);
  register_mi(app);
  register_ad(app);
  register_maximize(app);
  register_caveman(app);
  register_taylor(app);
  register_lrp(app);
  register_attribute(app);
  register_ado(app);
  register_efp(app);
  register_isolation(app);
  register_physics(app);
  register_study(app);
  register_hist(app);
  register_report(app);
  register_merge(app);
  register_demo(app);
  // Methods that need every value at once say so (issue 20: --chunk, mpirun, unbox merge).
  const std::map<std::string, std::string> whole = {
      {"ado", "the decision ordering compares every pair of events"},
      {"hist", "equal-frequency bins need every value"},
  };
  for (const auto& [name, why] : whole) {
    CLI::App* sub = app.get_subcommand(name);  // throws for an unknown name: a typo here
    sub->footer(sub->get_footer() + "\nReads its events whole (" + why +
                "): no --chunk, no mpirun; --data lists and globs work (docs/distributed.md).");
  }
}

void check_runs_across_ranks(CLI::App& app) {
  if (unbox::dist::size() == 1) return;
  std::string path;
  for (CLI::App* at = &app;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
  static const std::set<std::string> across = {
      "taylor", "predict", "generate physics", "eval", "lrp", "attribute", "physics features", "efp", "train",
      "ad",     "mi",      "study stop"};
  if (!across.count(path))
    throw Error(
        fmt::format("'unbox {}' does not run across MPI ranks (it would repeat the whole run on each of "
                    "the {}); ranks: taylor, predict, generate physics, eval, lrp, attribute, physics features, efp, "
                    "train, ad, mi, study stop; or run one process per file and unbox merge",
                    path, unbox::dist::size()));
}

// The deepest selected subcommand with a runner wins, so `unbox physics mt2` runs mt2's.
int run_selected(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands()) {
    bool nested = false;
    for (CLI::App* child : sub->get_subcommands())
      if (runners().count(child)) nested = true;
    if (nested) return run_selected(*sub);
    if (auto it = runners().find(sub); it != runners().end()) return it->second();
  }
  return 2;
}

}  // namespace unbox::cli
