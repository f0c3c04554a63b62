#include "commands.hpp"

namespace unbox::cli {

void register_info(CLI::App& app) {
  add_command(app, "info", "(not yet built)", "unbox info --help", [] { return 2; });
}

}  // namespace unbox::cli
