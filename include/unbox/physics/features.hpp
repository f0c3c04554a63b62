// From generator events to a feature table: read (HepMC3 or LHE), reconstruct (truth
// objects), apply the detector response, select (cut-flow), and compute the channel's
// features (for "stop-dilepton": the 19 inputs and 7 extras of stop_dilepton.hpp) on the
// detector-level objects. One row per selected event.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
  // Also write the raw detector-level objects the features were computed from (the objects of
  // stop_dilepton_objects: l1, l2, j1 = the jet paired with l1, j2; pt, eta, phi, m in GeV and
  // radians, without the eta-sign flip), and the MET azimuth: stop_dilepton_object_columns(),
  // after the 26 feature columns and before label/weight.
  bool objects = false;
};

// The 17 raw-object column names written with FeatureOptions::objects: obj_l1_pt, obj_l1_eta,
// obj_l1_phi, obj_l1_m, the same for obj_l2, obj_j1, obj_j2, then obj_met_phi (the MET itself
// is the feature column "met"). The obj_ prefix keeps them apart from the features' l1_eta etc.
const std::vector<std::string>& stop_dilepton_object_columns();

struct FeatureResult {
  Dataset data;  // feature columns, then the object columns (if asked), label (if given) and weight
  CutFlow cutflow;
  std::string source, format;
  std::int64_t events_read = 0;
  std::string to_table() const;
  nlohmann::json to_json() const;
};

FeatureResult build_features(const std::string& path, const FeatureOptions& options);

}  // namespace unbox::physics
