// build/unbox: the command line. Each subcommand lives in its own cli/cmd_*.cpp.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.hpp"
#include "unbox/core.hpp"
#include "unbox/dist.hpp"

int main(int argc, char** argv) {
  try {
    unbox::dist::init(&argc, &argv);  // ranks under mpirun/srun; nothing otherwise
  } catch (const unbox::Error& e) {
    std::fprintf(stderr, "unbox: error: %s\n", e.what());
    return 2;
  }
  CLI::App app{"unbox: open the black box of neural-network classifiers in particle physics"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "unbox 0.1.0");
  unbox::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "unbox: %s (see --help)\n", e.what());
    return 2;
  }
  // Under mpirun only rank 0 speaks: the other ranks' errors reach it (cli/stream.hpp).
  const bool speak = unbox::dist::rank() == 0;
  try {
    unbox::cli::check_runs_across_ranks(app);
    return unbox::cli::run_selected(app);
  } catch (const unbox::Error& e) {
    if (speak) std::fprintf(stderr, "unbox: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "unbox: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unbox: internal error: %s\n", e.what());
    return 3;
  }
}
