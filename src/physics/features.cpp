// The features pipeline: read -> reconstruct -> detector -> selection -> features.
#include "unbox/physics/features.hpp"

#include <fmt/format.h>

#include <iterator>

#include "unbox/core.hpp"
#include "unbox/physics/reader.hpp"
#include "unbox/physics/stop_dilepton.hpp"

namespace unbox::physics {

const std::vector<std::string>& stop_dilepton_object_columns() {
  static const std::vector<std::string> names = {
      "obj_l1_pt", "obj_l1_eta", "obj_l1_phi", "obj_l1_m", "obj_l2_pt", "obj_l2_eta", "obj_l2_phi", "obj_l2_m",
      "obj_j1_pt", "obj_j1_eta", "obj_j1_phi", "obj_j1_m", "obj_j2_pt", "obj_j2_eta", "obj_j2_phi", "obj_j2_m",
      "obj_met_phi"};
  return names;
}

FeatureResult build_features(const std::string& path, const FeatureOptions& o) {
  if (o.channel != "stop-dilepton")
    throw Error(fmt::format("unknown channel '{}': the available channel is stop-dilepton", o.channel));
  FeatureResult r;
  r.source = path;
  auto reader = open_events(path);
  r.format = detect_event_format(path) == EventFormat::HepMC3 ? "HepMC3" : "LHE";
  CmsPreselectionOptions cms = o.cms_cuts;
  cms.resolution = o.detector;
  std::vector<Cut> cuts = named_selection(o.selection, o.generator_cuts, cms);
  r.cutflow = CutFlow(cuts);
  size_t object_step = cuts.size();
  r.cutflow.add_step("objects", ">= 2 leptons and >= 2 jets for the features");

  const auto& names = stop_dilepton_columns();
  std::vector<std::vector<double>> cols(names.size());
  std::vector<double> weights;
  double row[kStopDileptonColumns];
  const auto& object_names = stop_dilepton_object_columns();
  std::vector<std::vector<double>> object_cols(o.objects ? object_names.size() : 0);
  StopDileptonObjects obj;

  Progress progress("features", reader->size(), o.quiet);
  GenEvent gen;
  std::int64_t index = 0;
  while ((o.max_events < 0 || index < o.max_events) && reader->next(gen)) {
    double w = o.weight ? *o.weight : gen.weight;
    RecoEvent truth = reconstruct(gen, o.reconstruction);
    RecoEvent reco = apply_detector(truth, index, o.detector);
    ++index;
    if ((index & 255) == 0) progress.update(reader->position(), fmt::format("{} events", index));
    if (!r.cutflow.apply(cuts, truth, reco, w)) continue;
    if (!stop_dilepton_features(reco, row)) continue;
    r.cutflow.count(object_step, w);
    for (size_t c = 0; c < names.size(); ++c) cols[c].push_back(row[c]);
    if (o.objects) {
      stop_dilepton_objects(reco, obj);  // the same objects stop_dilepton_features just used
      const double v[] = {obj.l1.pt, obj.l1.eta, obj.l1.phi, obj.l1.m, obj.l2.pt, obj.l2.eta,
                          obj.l2.phi, obj.l2.m, obj.j1.pt, obj.j1.eta, obj.j1.phi, obj.j1.m,
                          obj.j2.pt, obj.j2.eta, obj.j2.phi, obj.j2.m, obj.met.phi};
      static_assert(std::size(v) == 17);
      for (size_t c = 0; c < object_cols.size(); ++c) object_cols[c].push_back(v[c]);
    }
    weights.push_back(w);
  }
  progress.finish(fmt::format("{} events", index));
  r.events_read = index;
  Index n = static_cast<Index>(weights.size());
  for (size_t c = 0; c < names.size(); ++c) r.data.add(names[c], Tensor({n}, std::move(cols[c])));
  for (size_t c = 0; c < object_cols.size(); ++c) r.data.add(object_names[c], Tensor({n}, std::move(object_cols[c])));
  if (o.label) {
    r.data.add("label", Tensor({n}, std::vector<double>(static_cast<size_t>(n), *o.label)));
    r.data.label_column = "label";
  }
  r.data.add("weight", Tensor({n}, std::move(weights)));
  r.data.weight_column = "weight";
  r.data.source = path;
  return r;
}

std::string FeatureResult::to_table() const {
  std::string t = fmt::format("{} ({}): {} events read, {} selected\ncut-flow:\n", source, format, events_read,
                              data.events());
  t += cutflow.to_table();
  return t;
}

nlohmann::json FeatureResult::to_json() const {
  return {{"source", source},       {"format", format},     {"events_read", events_read},
          {"selected", data.events()}, {"columns", data.names()}, {"cutflow", cutflow.to_json()}};
}

}  // namespace unbox::physics
