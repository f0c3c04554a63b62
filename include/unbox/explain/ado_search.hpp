// The guided search of Faucett, Thaler & Whiteson (arXiv:2010.11998): map a deep network
// (the target) into a space of interpretable observables by decision ordering.
//
//   step 0: train a small network on the base HL observables;
//   repeat: (1) find the signal–background pairs it orders differently from the target
//           (strictly discordant pairs; sampled, seeded, when there are more than
//           max_pairs), (2) pick the pool candidate with the highest ADO against the
//           target on those pairs, (3) add it and retrain on the larger set;
//   stop after max_steps additions, when the pool is empty, when no pair is disordered,
//   or when ADO[target] improves by less than `margin`.
//
// The networks train on a seeded part of the events (train_fraction); AUC, ADO and the
// disordered pairs are measured on the rest. What is ordered is the network's continuous
// output (the logit), never a hard 0/1 prediction.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

struct AdoSearchOptions {
  std::string target;             // the discriminant to explain: a data column, or a neuron of the model
  std::vector<std::string> base;  // the HL columns the first network sees
  std::vector<std::string> pool;  // candidate columns (empty: every other data column)
  std::string arch = "32,32";     // the small network's hidden widths
  std::string activation = "relu";
  Index epochs = 30;
  Index patience = 4;
  Index batch = 128;
  double learning_rate = 2e-3;
  double train_fraction = 0.5;  // events for training; the rest measure AUC, ADO, pairs
  Index max_pairs = 100000;     // disordered pairs kept (sampled beyond this)
  Index max_steps = 5;          // additions at most
  double margin = 0.001;        // stop when ADO[target] improves by less than this
  std::uint64_t seed = 1;
  bool quiet = true;          // no training progress output
  ProgressCallback progress;  // not used by the computation: events (or steps) done, for a bar
};

struct AdoCandidate {
  std::string name;
  double ado_on_pairs = 0.0;  // ADO against the target on the disordered pairs
};

struct AdoSearchStep {
  std::string added;                  // "" for the base row
  std::vector<std::string> features;  // the HL set the network of this row was trained on
  double auc = 0.0;                   // of that network, on the measuring events
  double ado = 0.0;                   // ADO[target] of that network, on the measuring events
  double ado_on_pairs = 0.0;          // the added candidate's ADO on the pairs that chose it
  Index disordered_pairs = 0;         // pairs this row's network orders against the target
  Index pairs_used = 0;               // of those, used to choose the next addition
  bool sampled = false;               // pairs_used is a seeded sample
  std::vector<AdoCandidate> ranking;  // the candidates for the next addition, best first
};

struct AdoSearchResult {
  std::string target;
  double target_auc = 0.0;
  std::vector<std::string> base;
  std::vector<AdoSearchStep> steps;  // steps[0] is the base
  std::string stop_reason;
  std::vector<std::string> constant_candidates;  // pool columns constant on the measuring events: skipped
  Index train_events = 0, test_events = 0;
  AdoSearchOptions options;
  nlohmann::json to_json() const;
  std::string table() const;
};

// data: the events (label column set, weight column optional), holding the base and pool
// columns; target: the target discriminant for every event. Errors name missing columns.
AdoSearchResult ado_search(const Dataset& data, const std::vector<double>& target, const std::string& target_name,
                           const std::vector<std::string>& base, const std::vector<std::string>& pool,
                           const AdoSearchOptions& options);

// The method on events: the target by column_or_neuron (a neuron needs the model), the
// base and pool from the options.
AdoSearchResult ado_search(const Network& model, const Events& events, const AdoSearchOptions& options);
AdoSearchResult ado_search(const Events& events, const AdoSearchOptions& options);

}  // namespace unbox
