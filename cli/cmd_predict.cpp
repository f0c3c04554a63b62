#include "commands.hpp"

namespace unbox::cli {

void register_predict(CLI::App& app) {
  add_command(app, "predict", "(not yet built)", "unbox predict --help", [] { return 2; });
}

}  // namespace unbox::cli
