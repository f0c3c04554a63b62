// unbox isolation: placeholder registered so parallel work touches only this file; replaced by the real command.
#include "commands.hpp"

namespace unbox::cli {

void register_isolation(CLI::App& app) { (void)app; }

}  // namespace unbox::cli
