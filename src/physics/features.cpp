// The features pipeline: read -> reconstruct -> detector -> selection -> features.
#include "unbox/physics/features.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <limits>

#include "unbox/core.hpp"
#include "unbox/physics/energy_flow.hpp"
#include "unbox/physics/reader.hpp"
#include "unbox/physics/stop_dilepton.hpp"

namespace unbox::physics {

const std::vector<std::string>& stop_dilepton_object_columns() {
  static const std::vector<std::string> names = {"obj_l1_pt",  "obj_l1_eta", "obj_l1_phi", "obj_l1_m",   "obj_l2_pt",
                                                 "obj_l2_eta", "obj_l2_phi", "obj_l2_m",   "obj_j1_pt",  "obj_j1_eta",
                                                 "obj_j1_phi", "obj_j1_m",   "obj_j2_pt",  "obj_j2_eta", "obj_j2_phi",
                                                 "obj_j2_m",   "obj_met_phi"};
  return names;
}

namespace {
void check_channel(const FeatureOptions& o) {
  if (o.channel != "stop-dilepton")
    throw Error(fmt::format("unknown channel '{}': the available channel is stop-dilepton", o.channel));
}
}  // namespace

FeatureBuilder::~FeatureBuilder() = default;
FeatureBuilder::FeatureBuilder(FeatureBuilder&&) noexcept = default;
FeatureBuilder& FeatureBuilder::operator=(FeatureBuilder&&) noexcept = default;
FeatureBuilder::FeatureBuilder(const FeatureBuilder& b)
    : options_(b.options_),
      cuts_(b.cuts_),
      object_step_(b.object_step_),
      cutflow_(b.cutflow_),
      cols_(b.cols_),
      object_cols_(b.object_cols_),
      weights_(b.weights_),
      selected_(b.selected_),
      seen_(b.seen_),
      needs_truth_(b.needs_truth_),
      flow_(std::make_unique<EnergyFlow>()) {}
FeatureBuilder& FeatureBuilder::operator=(const FeatureBuilder& b) {
  if (this != &b) *this = FeatureBuilder(b);
  return *this;
}

FeatureBuilder::FeatureBuilder(const FeatureOptions& o) : options_(o), flow_(std::make_unique<EnergyFlow>()) {
  check_channel(o);
  CmsPreselectionOptions cms = o.cms_cuts;
  cms.resolution = o.detector;
  cuts_ = named_selection(o.selection, o.generator_cuts, cms);
  cutflow_ = CutFlow(cuts_);
  object_step_ = cuts_.size();
  for (const auto& c : cuts_) needs_truth_ |= c.uses_truth;
  cutflow_.add_step("objects", ">= 2 leptons and >= 2 jets for the features");
  cols_.resize(stop_dilepton_columns().size());
  object_cols_.resize(o.objects ? stop_dilepton_object_columns().size() : 0);
}

bool FeatureBuilder::add(const GenEvent& gen, std::int64_t index) {
  const FeatureOptions& o = options_;
  ++seen_;
  double w = o.weight ? *o.weight : gen.weight;
  if (o.detector.model == DetectorModel::EnergyFlow) {
    flow_->run(gen, index, o.reconstruction, o.detector, reco_);
    if (needs_truth_) truth_ = reconstruct(gen, o.reconstruction);
  } else {
    truth_ = reconstruct(gen, o.reconstruction);
    reco_ = apply_detector(truth_, index, o.detector);
  }
  // The features' objects: the preselected leptons and jets.
  const CmsPreselectionOptions& p = o.cms_cuts;
  chosen_.leptons.clear();
  chosen_.jets.clear();
  for (const Lepton& l : reco_.leptons)
    if (std::abs(l.eta) < p.lepton_eta && l.pt > p.lepton2_pt) chosen_.leptons.push_back(l);
  for (const Jet& j : reco_.jets)
    if (std::abs(j.eta) < p.jet_eta && j.pt > p.jet_pt) chosen_.jets.push_back(j);
  chosen_.met = reco_.met;
  chosen_.weight = reco_.weight;
  double row[kStopDileptonColumns];
  bool pass = cutflow_.apply(cuts_, truth_, reco_, w) && stop_dilepton_features(chosen_, row);
  if (pass) cutflow_.count(object_step_, w);
  if (!pass && !o.keep_all) return false;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t c = 0; c < cols_.size(); ++c) cols_[c].push_back(pass ? row[c] : nan);
  if (o.objects) {
    StopDileptonObjects obj;
    if (pass) stop_dilepton_objects(chosen_, obj);  // the same objects stop_dilepton_features just used
    const double v[] = {obj.l1.pt,  obj.l1.eta, obj.l1.phi, obj.l1.m,   obj.l2.pt,  obj.l2.eta,
                        obj.l2.phi, obj.l2.m,   obj.j1.pt,  obj.j1.eta, obj.j1.phi, obj.j1.m,
                        obj.j2.pt,  obj.j2.eta, obj.j2.phi, obj.j2.m,   obj.met.phi};
    static_assert(std::size(v) == 17);
    for (size_t c = 0; c < object_cols_.size(); ++c) object_cols_[c].push_back(pass ? v[c] : nan);
  }
  weights_.push_back(w);
  if (o.keep_all) selected_.push_back(pass ? 1.0 : 0.0);
  return pass;
}

void FeatureBuilder::append(FeatureBuilder&& other) {
  auto join = [](std::vector<double>& a, std::vector<double>& b) { a.insert(a.end(), b.begin(), b.end()); };
  for (size_t c = 0; c < cols_.size(); ++c) join(cols_[c], other.cols_[c]);
  for (size_t c = 0; c < object_cols_.size(); ++c) join(object_cols_[c], other.object_cols_[c]);
  join(weights_, other.weights_);
  join(selected_, other.selected_);
  cutflow_.total_events += other.cutflow_.total_events;
  cutflow_.total_weight += other.cutflow_.total_weight;
  for (size_t i = 0; i < cutflow_.events.size(); ++i) {
    cutflow_.events[i] += other.cutflow_.events[i];
    cutflow_.weights[i] += other.cutflow_.weights[i];
  }
  seen_ += other.seen_;
  other = FeatureBuilder(options_);
}

FeatureResult FeatureBuilder::finish(const std::string& source, const std::string& format) {
  FeatureResult r;
  r.source = source;
  r.format = format;
  r.cutflow = std::move(cutflow_);
  r.events_read = seen_;
  Index n = static_cast<Index>(weights_.size());
  const auto& names = stop_dilepton_columns();
  const auto& object_names = stop_dilepton_object_columns();
  for (size_t c = 0; c < names.size(); ++c) r.data.add(names[c], Tensor({n}, std::move(cols_[c])));
  for (size_t c = 0; c < object_cols_.size(); ++c) r.data.add(object_names[c], Tensor({n}, std::move(object_cols_[c])));
  if (options_.keep_all) r.data.add("selected", Tensor({n}, std::move(selected_)));
  if (options_.label) {
    r.data.add("label", Tensor({n}, std::vector<double>(static_cast<size_t>(n), *options_.label)));
    r.data.label_column = "label";
  }
  r.data.add("weight", Tensor({n}, std::move(weights_)));
  r.data.weight_column = "weight";
  r.data.source = source;
  *this = FeatureBuilder(options_);
  return r;
}

FeatureResult build_features(const std::string& path, const FeatureOptions& o) {
  check_channel(o);
  auto reader = open_events(path);
  std::string format = detect_event_format(path) == EventFormat::HepMC3 ? "HepMC3" : "LHE";
  FeatureBuilder builder(o);
  Progress progress("features", reader->size(), o.quiet);
  GenEvent gen;
  std::int64_t index = 0;
  while ((o.max_events < 0 || index < o.max_events) && reader->next(gen)) {
    builder.add(gen, index);
    ++index;
    if ((index & 255) == 0) progress.update(reader->position(), fmt::format("{} events", index));
  }
  progress.finish(fmt::format("{} events", index));
  return builder.finish(path, format);
}

std::string FeatureResult::to_table() const {
  std::string t =
      fmt::format("{} ({}): {} events read, {} selected\ncut-flow:\n", source, format, events_read, data.events());
  t += cutflow.to_table();
  return t;
}

nlohmann::json FeatureResult::to_json() const {
  return {{"source", source},          {"format", format},        {"events_read", events_read},
          {"selected", data.events()}, {"columns", data.names()}, {"cutflow", cutflow.to_json()}};
}

}  // namespace unbox::physics
