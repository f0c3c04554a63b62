// unbox physics: the physics layer's subcommands (mt2, features). Each lives in its own
// file (cmd_physics_mt2.cpp, cmd_physics_features.cpp) and is attached here.
#include "commands.hpp"

namespace unbox::cli {

void register_physics(CLI::App& app) {
  CLI::App* physics = app.add_subcommand("physics", "Physics layer: kinematics, mT2 and event features");
  physics->require_subcommand(1);
  register_physics_mt2(*physics);
  register_physics_features(*physics);
}

}  // namespace unbox::cli
