// From generator events to a feature table: read (HepMC3 or LHE), the detector (by default
// the energy-flow emulation of energy_flow.hpp; truth objects from reconstruct() for
// `truth`, the objects model and the generator-level cuts), select (cut-flow), and compute
// the channel's features (for "stop-dilepton": the 19 inputs and 7 extras of
// stop_dilepton.hpp) on the preselected detector-level objects: leptons with |eta| < 2.4 and
// pT > 20 GeV, jets with |eta| < 2.4 and pT > 30 GeV (CmsPreselectionOptions). One row per
// selected event.
#pragma once

#include <memory>
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
  DetectorOptions detector;  // energy flow; DetectorOptions::truth() for no detector effects
  std::string detector_name = "cms";
  std::string selection = "sus-17-001";  // sus-17-001, sus-19-011, paper, generator, none (named_selection)
  GeneratorCutOptions generator_cuts;
  CmsPreselectionOptions cms_cuts;  // its resolution model is set from `detector`; its lepton and jet
                                    // thresholds also choose the features' objects
  std::optional<double> label;      // adds a constant "label" column
  std::optional<double> weight;     // constant weight; otherwise the generator's event weight
  std::int64_t max_events = -1;     // stop after this many events (-1: all)
  bool quiet = false;               // no progress bar
  // Also write the raw detector-level objects the features were computed from (the objects of
  // stop_dilepton_objects: l1, l2, j1 = the jet paired with l1, j2; pt, eta, phi, m in GeV and
  // radians, without the eta-sign flip), and the MET azimuth: stop_dilepton_object_columns(),
  // after the 26 feature columns and before label/weight.
  bool objects = false;
  // Write a row for every event: features of events that fail the selection or lack the
  // objects are NaN, and a "selected" column (1/0) says which passed (the generator's
  // --no-cuts --features). Off: only selected events, no "selected" column.
  bool keep_all = false;
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

// The same pipeline one event at a time, for callers that make events themselves (the
// built-in generator): add() runs the detector (the energy flow by default; seeded by the
// event's index), the truth reconstruction when needed -> selection -> features and appends
// a row. One builder per thread; append() joins them in
// order (rows and cut-flow counts), so the table does not depend on the thread count.
class EnergyFlow;

class FeatureBuilder {
 public:
  explicit FeatureBuilder(const FeatureOptions& options);
  ~FeatureBuilder();
  // Copies take the rows, counts and options; each copy has its own detector buffers.
  FeatureBuilder(const FeatureBuilder& other);
  FeatureBuilder& operator=(const FeatureBuilder& other);
  FeatureBuilder(FeatureBuilder&&) noexcept;
  FeatureBuilder& operator=(FeatureBuilder&&) noexcept;
  // True when the event passed the selection and has the objects the features need.
  bool add(const GenEvent& event, std::int64_t index);
  // Moves the rows and cut-flow counts of `other` (built with the same options) after ours.
  void append(FeatureBuilder&& other);
  std::int64_t events_seen() const { return seen_; }
  // The table (features, objects, label, weight, and "selected" with keep_all) and cut-flow.
  FeatureResult finish(const std::string& source, const std::string& format);

 private:
  FeatureOptions options_;
  std::vector<Cut> cuts_;
  size_t object_step_ = 0;
  CutFlow cutflow_;
  std::vector<std::vector<double>> cols_, object_cols_;
  std::vector<double> weights_, selected_;
  std::int64_t seen_ = 0;
  bool needs_truth_ = false;
  std::unique_ptr<EnergyFlow> flow_;  // buffers of the energy-flow detector, reused per event
  RecoEvent truth_, reco_, chosen_;
};

}  // namespace unbox::physics
