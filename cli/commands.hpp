// Subcommand registry: each cli/cmd_NAME.cpp defines register_NAME(app), which adds the
// subcommand with its options and stores a runner; run_selected runs the parsed one.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace unbox::cli {

// Add a subcommand; `run` is called after parsing when it was selected; its return is the exit code.
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description,
                      const std::string& example, std::function<int()> run);

void register_all(CLI::App& app);
int run_selected(CLI::App& app);

void register_generate(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
void register_predict(CLI::App& app);
void register_info(CLI::App& app);
void register_demo(CLI::App& app);

}  // namespace unbox::cli
