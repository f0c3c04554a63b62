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
// Under mpirun (more than one rank): Error unless the selected subcommand splits its work
// across ranks (taylor, predict, generate physics); the others would repeat the whole run per rank.
void check_runs_across_ranks(CLI::App& app);
int run_selected(CLI::App& app);

void register_generate(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
void register_predict(CLI::App& app);
void register_info(CLI::App& app);
void register_demo(CLI::App& app);
void register_study(CLI::App& app);        // worked studies: study stop
void register_export(CLI::App& app);       // ONNX export
void register_conformance(CLI::App& app);  // ONNX backend test data
void register_mi(CLI::App& app);           // Roxlo & Reece: mutual information
void register_ad(CLI::App& app);           // activation difference
void register_maximize(CLI::App& app);     // activation maximization
void register_caveman(CLI::App& app);      // caveman variables
void register_taylor(CLI::App& app);       // Taylor-expansion analysis
void register_lrp(CLI::App& app);          // layer-wise relevance propagation
void register_attribute(CLI::App& app);    // gradient attributions (saliency, IG, SmoothGrad)
void register_ado(CLI::App& app);          // decision ordering and the guided search
void register_efp(CLI::App& app);          // energy flow polynomials
void register_isolation(CLI::App& app);    // isolation-cone observables of particle lists
void register_physics(CLI::App& app);      // kinematics, mT2, event features
void register_hist(CLI::App& app);         // data views: histograms by class, slices, NMI
void register_report(CLI::App& app);
void register_merge(
    CLI::App& app);  // merge result files (runs per file, MPI ranks)       // the HTML report of result files
// Children of `unbox physics` (called by register_physics with the parent).
void register_physics_mt2(CLI::App& physics);
void register_physics_features(CLI::App& physics);

}  // namespace unbox::cli
