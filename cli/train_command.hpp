// `unbox train` as a function, so that `unbox demo` runs exactly the same training.
#pragma once

#include <string>

#include "common.hpp"
#include "unbox/train.hpp"

namespace unbox::cli {

struct TrainArgs {
  DataArgs data{"", "label", "", false};
  std::string columns;  // comma list; "" = every column but label and weight
  std::string arch;
  std::string activation = "relu";
  std::string output;                      // "" = the architecture's default (sigmoid; tanh for paper)
  std::string loss = "auto";               // parse_loss
  std::string preprocess = "standardize";  // or clip3-minmax
  std::string out;
  double l1 = -1, l2 = 0;  // -1: the architecture's default (1e-5 for paper, else 0)
  bool json = false;
  int threads = 0;
  // Learning progress (Taylor coefficients during training): features as `unbox taylor`
  // names them ("x1", "x1 x x2"), comma-separated, or "all" (every feature to order 2).
  std::string track_taylor;
  Index track_every = 0;  // record after every N optimizer steps; 0: after each epoch
  std::string track_out;  // table file; "" = the model path with ".taylor.csv"
  TrainOptions options;
  DataTransforms transforms;  // --define, --cut
};

// Trains, saves the model, prints the summary. Returns the trained network.
Network run_train(const TrainArgs& args, TrainResult* result = nullptr);

}  // namespace unbox::cli
