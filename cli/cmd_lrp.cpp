// unbox lrp: placeholder registered so parallel work touches only this file; replaced by the real command.
#include "commands.hpp"

namespace unbox::cli {

void register_lrp(CLI::App& app) { (void)app; }

}  // namespace unbox::cli
