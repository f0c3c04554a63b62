#include "commands.hpp"

namespace unbox::cli {

void register_taylor(CLI::App& app) {
  add_command(app, "taylor", "(not yet built)", "unbox taylor --help", [] { return 2; });
}

}  // namespace unbox::cli
