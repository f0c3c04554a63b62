#include "commands.hpp"

namespace unbox::cli {

void register_caveman(CLI::App& app) {
  add_command(app, "caveman", "(not yet built)", "unbox caveman --help", [] { return 2; });
}

}  // namespace unbox::cli
