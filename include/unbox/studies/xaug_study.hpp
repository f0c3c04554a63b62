// The XAUG study of Agarwal et al. (arXiv:2011.13466) on the built-in xaug-jets toy:
// train a dense network and a 1-D CNN on the 20 particles alone and with the expert (XAUG)
// variables concatenated in, print each network's AUC, and show with LRP how relevance
// moves to the XAUG variables (mean normalized relevance, XAUG share).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/explain/lrp.hpp"
#include "unbox/network.hpp"

namespace unbox {

// The 1-D CNN on the 20 particles (5 quantities each): flat input -> Standardize ->
// Slice (the 100 particle columns) -> Reshape [20, 5] -> Transpose [5, 20] -> Conv1D(5->16,
// k=3, pad 1) -> ReLU -> Conv1D(16->8, k=3, pad 1) -> ReLU -> Flatten [160] (-> Concat with
// the standardized XAUG columns) -> Dense 32 -> ReLU -> Dense 1 -> Sigmoid. Conv weights
// are drawn (He-uniform) from `seed`; train() draws the Dense ones.
Network build_particle_cnn(const std::vector<std::string>& features, Index particles, Index quantities,
                           std::uint64_t seed);

struct XaugStudyOptions {
  Index events = 20000;         // training events (20% of them validate)
  Index test_events = 10000;    // independent test sample (AUC, LRP)
  Index explain_events = 2000;  // test events explained by LRP
  std::uint64_t seed = 1;
  Index epochs = 15;
  Index models = 1;  // trainings with different seeds per network (mean +- std)
  bool cnn = true;
  LrpComposite composite = lrp_single_rule(parse_lrp_rule("epsilon"));
  bool quiet = true;
};

struct XaugNetworkResult {
  std::string name;  // "dense particles", "dense particles+XAUG", "cnn ..."
  bool xaug = false;
  std::vector<double> auc;  // per training
  double auc_mean = 0, auc_std = 0;
  double xaug_share = 0;  // share of the total MNR held by the xaug_ features
  AggregateSummary relevance;
  ConservationSummary conservation;
};

struct XaugStudyResult {
  std::vector<XaugNetworkResult> networks;
  std::string composite, target;
  std::string table(Index rows = 8) const;
  nlohmann::json to_json() const;
};

XaugStudyResult xaug_study(const XaugStudyOptions& options);

}  // namespace unbox
