// unbox physics features: placeholder so parallel work touches only this file; replaced by the real command.
#include "commands.hpp"

namespace unbox::cli {

void register_physics_features(CLI::App& physics) { (void)physics; }

}  // namespace unbox::cli
