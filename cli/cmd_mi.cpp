#include "commands.hpp"

namespace unbox::cli {

void register_mi(CLI::App& app) {
  add_command(app, "mi", "(not yet built)", "unbox mi --help", [] { return 2; });
}

}  // namespace unbox::cli
