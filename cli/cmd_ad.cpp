#include "commands.hpp"

namespace unbox::cli {

void register_ad(CLI::App& app) {
  add_command(app, "ad", "(not yet built)", "unbox ad --help", [] { return 2; });
}

}  // namespace unbox::cli
