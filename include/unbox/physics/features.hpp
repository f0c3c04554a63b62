// From generator events to a feature table: read (HepMC3 or LHE), reconstruct (truth
// objects), apply the detector response, select (cut-flow), and compute the channel's
// features (for "stop-dilepton": the 19 inputs and 7 extras of stop_dilepton.hpp) on the
// detector-level objects. One row per selected event.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "unbox/data.hpp"
#include "unbox/physics/detector.hpp"
#include "unbox/physics/reconstruct.hpp"
#include "unbox/physics/selection.hpp"

namespace unbox::physics {

struct FeatureOptions {
  std::string channel = "stop-dilepton";
  ReconstructionOptions reconstruction;
  DetectorOptions detector;  // DetectorOptions::truth() for no detector effects
  std::string detector_name = "cms";
  std::string selection = "paper";  // paper, cms, generator, none (see named_selection)
  GeneratorCutOptions generator_cuts;
  CmsPreselectionOptions cms_cuts;  // its resolution model is set from `detector`
  std::optional<double> label;      // adds a constant "label" column
  std::optional<double> weight;     // constant weight; otherwise the generator's event weight
  std::int64_t max_events = -1;     // stop after this many events (-1: all)
  bool quiet = false;               // no progress bar
};

struct FeatureResult {
  Dataset data;  // feature columns, then label (if given) and weight
  CutFlow cutflow;
  std::string source, format;
  std::int64_t events_read = 0;
  std::string to_table() const;
  nlohmann::json to_json() const;
};

FeatureResult build_features(const std::string& path, const FeatureOptions& options);

}  // namespace unbox::physics
