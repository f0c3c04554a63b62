#include "commands.hpp"

namespace unbox::cli {

void register_eval(CLI::App& app) {
  add_command(app, "eval", "(not yet built)", "unbox eval --help", [] { return 2; });
}

}  // namespace unbox::cli
