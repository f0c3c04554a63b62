#include "commands.hpp"

namespace unbox::cli {

void register_train(CLI::App& app) {
  add_command(app, "train", "(not yet built)", "unbox train --help", [] { return 2; });
}

}  // namespace unbox::cli
