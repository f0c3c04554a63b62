#include "commands.hpp"

namespace unbox::cli {

void register_maximize(CLI::App& app) {
  add_command(app, "maximize", "(not yet built)", "unbox maximize --help", [] { return 2; });
}

}  // namespace unbox::cli
