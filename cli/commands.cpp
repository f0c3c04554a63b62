#include "commands.hpp"

#include <map>

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
  register_demo(app);
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
