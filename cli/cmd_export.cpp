#include "commands.hpp"

namespace unbox::cli {

void register_export(CLI::App& app) {
  add_command(app, "export", "(not yet built)", "unbox export --help", [] { return 2; });
}

}  // namespace unbox::cli
