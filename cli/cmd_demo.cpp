#include "commands.hpp"

namespace unbox::cli {

void register_demo(CLI::App& app) {
  add_command(app, "demo", "(not yet built)", "unbox demo --help", [] { return 2; });
}

}  // namespace unbox::cli
