#include "commands.hpp"

namespace unbox::cli {

void register_conformance(CLI::App& app) {
  add_command(app, "conformance", "(not yet built)", "unbox conformance --help", [] { return 2; });
}

}  // namespace unbox::cli
