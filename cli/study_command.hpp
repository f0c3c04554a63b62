// `unbox study stop` options and runner, shared with `unbox demo` (which runs the same study at
// its default size).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "unbox/studies/stop_study.hpp"

namespace unbox::cli {

struct StudyArgs {
  std::string point = "750,1";
  studies::StopStudyOptions options;
  std::string source = "builtin";          // builtin (the generator) or toy (synthetic, machinery only)
  std::string train_weights = "physical";  // studies::parse_train_weights
  std::string loss = "bce";                // parse_loss
  bool json = false;
  bool no_spin = false;
  bool no_explain = false;
  int threads = 0;
  bool demo = false;       // print the demo's heading and hints
  bool no_report = false;  // skip views/ and report.html after the study
};

// Adds --point, --events, --out, --seeds, --json, --seed, --epochs, --no-spin-correlation,
// --quiet and the rest to `c`, reading into `a`.
void add_study_options(CLI::App* c, StudyArgs& a);
// Runs the study and prints its table (or JSON); returns the exit code.
int run_study(StudyArgs& a);

}  // namespace unbox::cli
