// unbox physics mt2: placeholder so parallel work touches only this file; replaced by the real command.
#include "commands.hpp"

namespace unbox::cli {

void register_physics_mt2(CLI::App& physics) { (void)physics; }

}  // namespace unbox::cli
