#include "commands.hpp"

namespace unbox::cli {

void register_generate(CLI::App& app) {
  add_command(app, "generate", "(not yet built)", "unbox generate --help", [] { return 2; });
}

}  // namespace unbox::cli
