// Data views of a finished stop study (see stop_study_views.hpp): histogram views for the
// paper's data figures, ROC and AMS curves, the layer table, from the study's own files.
#include "unbox/studies/stop_study_views.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "unbox/core.hpp"
#include "unbox/data.hpp"
#include "unbox/explain/histogram_view.hpp"
#include "unbox/expressions.hpp"
#include "unbox/metrics.hpp"
#include "unbox/naming.hpp"
#include "unbox/network.hpp"

namespace unbox::studies {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

nlohmann::json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw Error(fmt::format("cannot read '{}'", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}' is not valid JSON: {}", p.string(), e.what()));
  }
}

struct ViewWriter {
  fs::path dir;
  std::vector<std::string> files;
  ojson base_provenance;
  void write(const std::string& name, const ojson& j) {
    fs::create_directories(dir / "views");
    write_text_atomically((dir / "views" / name).string(), j.dump(1) + "\n");
    files.push_back("views/" + name);
  }
};

// Equal-width range over the central [q, 1-q] quantiles of a column: keeps a few far
// outliers (a MET tail, a pre-transfer output spike) from squeezing every bin into one.
Axis robust_axis(const std::string& name, const std::vector<double>& v, Index bins, double q = 0.001) {
  Axis a;
  a.name = name;
  a.bins = bins;
  std::vector<double> f;
  f.reserve(v.size());
  for (double x : v)
    if (std::isfinite(x)) f.push_back(x);
  if (f.size() < 10) return a;
  std::sort(f.begin(), f.end());
  const auto at = [&](double p) { return f[static_cast<size_t>(std::llround(p * static_cast<double>(f.size() - 1)))]; };
  const double lo = at(q), hi = at(1 - q);
  if (hi > lo) {
    a.lo = lo;
    a.hi = hi;
  }
  return a;
}

struct CutFlowLine {
  std::string cut;
  Index events = 0;
};

struct Columns {
  Dataset data;
  std::vector<double> labels, weights;
  std::vector<double> col(const std::string& name) const { return data.get(name).values(); }
};

ojson view_json(const HistogramViewResult& r, const ojson& provenance, const std::string& figure,
                const std::string& note, const std::vector<CutFlowLine>& cuts = {}) {
  HistogramViewResult rr = r;
  rr.provenance = provenance;
  ojson c = ojson::array();
  for (const auto& l : cuts) c.push_back({{"cut", l.cut}, {"events", l.events}});
  rr.provenance["cuts"] = c;
  ojson j = rr.to_json();
  j["paper_figure"] = figure;
  if (!note.empty()) j["note"] = note;
  return j;
}

}  // namespace

std::vector<std::string> write_stop_study_views(const std::string& dir_text, const StopStudyViewsOptions& o) {
  const fs::path dir(dir_text);
  const fs::path events_path = dir / "test_events.csv";
  if (!fs::exists(events_path))
    throw Error(fmt::format("'{}' holds no test_events.csv: not the folder of a finished stop study", dir_text));
  ViewWriter w{dir, {}, ojson::object()};
  nlohmann::json summary = fs::exists(dir / "summary.json") ? read_json_file(dir / "summary.json") : nlohmann::json();
  const double lumi = summary.is_object() ? summary.value("lumi_fb", 35.9) : 35.9;
  const double br = summary.is_object() ? summary.value("br", 10.0) : 10.0;

  Columns c;
  c.data = read_dataset(events_path.string());
  c.data.label_column = "label";
  c.data.weight_column = "weight";
  c.labels = c.data.labels();
  c.weights = c.data.weights();
  const Index n = c.data.events();
  ojson prov = {{"data", "test_events.csv (the study's test split)"}, {"events_read", n}, {"weight", "weight"}};
  if (summary.is_object() && summary.contains("options")) prov["seed"] = summary["options"]["seed"];
  const std::vector<double> none;

  // Neurons: the network's output before its tanh (the study's score column) and, when the
  // model and the activation differences are there, the top neuron of layers 2, 3 and 5.
  c.data.add("output_pre", Tensor({n}, c.col("score")));
  std::vector<std::pair<std::string, std::string>> top;  // layer key, neuron
  const bool have_model = fs::exists(dir / "model.unbox");
  if (have_model && fs::exists(dir / "ad_layers.json")) {
    const auto ad = read_json_file(dir / "ad_layers.json");
    for (const char* key : {"L2", "L3", "L5"})
      if (ad.contains(key) && ad[key].contains("top")) top.emplace_back(key, ad[key]["top"].get<std::string>());
  }
  if (have_model) {
    const Network net = load_network((dir / "model.unbox").string());
    // Layer table (model summary).
    ojson layers = ojson::array();
    Index total = 0;
    for (const LayerInfo& l : net.layers()) {
      std::string op = l.number == 0 ? "input" : net.node(layer_op_node(net, l)).op->describe({});
      layers.push_back({{"layer", fmt::format("L{}", l.number)},
                        {"op", op},
                        {"width", l.width},
                        {"activation", l.activation.empty() ? "-" : l.activation},
                        {"parameters", l.parameters}});
      total += l.parameters;
    }
    w.write("model.json", {{"type", "model_summary"},
                           {"model", "model.unbox"},
                           {"layers", layers},
                           {"parameters", total},
                           {"outputs", output_aliases(net)}});
    if (!top.empty()) {
      std::vector<NeuronRef> refs;
      for (auto& [k, neuron] : top) refs.push_back(net.resolve(neuron));
      const Tensor v = evaluate(net, gather_inputs(net, c.data), refs);
      const auto k = static_cast<Index>(refs.size());
      for (size_t j = 0; j < top.size(); ++j) {
        std::vector<double> col(static_cast<size_t>(n));
        for (Index e = 0; e < n; ++e) col[static_cast<size_t>(e)] = v[e * k + static_cast<Index>(j)];
        c.data.add(top[j].second, Tensor({n}, std::move(col)));
      }
    }
  }
  ojson prov_model = prov;
  if (have_model) prov_model["model"] = "model.unbox";

  auto view_1d = [&](const std::string& x, const std::vector<double>& xv, bool log_y) {
    HistogramViewOptions h;
    h.x = robust_axis(x, xv, o.bins_1d);
    HistogramViewResult r = histogram_view(xv, none, none, c.labels, c.weights, h);
    r.log_y = log_y;
    return r;
  };
  auto view_2d = [&](const Dataset& d, const std::string& x, const std::string& y, const std::vector<double>& labels,
                     const std::vector<double>& weights) {
    HistogramViewOptions h;
    const std::vector<double> xv = d.get(x).values(), yv = d.get(y).values();
    h.x = robust_axis(x, xv, o.bins_2d);
    h.y = robust_axis(y, yv, o.bins_2d);
    return histogram_view(xv, yv, none, labels, weights, h);
  };

  // Figure 8: the output before its transfer function, signal and background, log scale.
  w.write("fig08_output.json",
          view_json(view_1d("output_pre", c.col("output_pre"), true), prov_model, "8",
                    "output_pre is the network's output before its tanh (the paper's pre-transfer L12N0); unbox "
                    "trains signal towards +1, the paper towards -1, so the signal sits on the right here."));

  // Figure 9: each top neuron against mT2ll, MET and the output (with NMI), and its own
  // activation histogram for signal and background (the bottom row).
  for (auto& [key, neuron] : top) {
    for (const char* var : {"mt2ll", "met", "output_pre"}) {
      if (neuron == var) continue;
      w.write(fmt::format("fig09_{}_{}.json", neuron, var),
              view_json(view_2d(c.data, var, neuron, c.labels, c.weights), prov_model, "9",
                        fmt::format("{}: the neuron of layer {} with the largest activation difference "
                                    "(ad_layers.json).",
                                    neuron, key.substr(1))));
    }
    w.write(fmt::format("fig09_{}.json", neuron),
            view_json(view_1d(neuron, c.col(neuron), false), prov_model, "9", ""));
  }

  // Figure 16: the lepton angles to the MET, phi_l1 against phi_l2, below and above
  // MET = 245 GeV (the paper's split at (350, 200)).
  for (const auto& [tag, cut] :
       std::vector<std::pair<std::string, std::string>>{{"low_met", "met < 245"}, {"high_met", "met >= 245"}}) {
    CutResult r = apply_cut(c.data, cut);
    if (r.passed < 10) continue;
    w.write(fmt::format("fig16_{}.json", tag),
            view_json(view_2d(r.data, "l1_dphi", "l2_dphi", r.data.labels(), r.data.weights()), prov, "16", "",
                      {{cut, r.passed}}));
  }

  // Figure 19: the paper's simple variable log(MET) + phi_l1 + phi_l2 against the output.
  {
    Dataset d = c.data;
    add_defined_column(d, "v=log(met)+l1_dphi+l2_dphi");
    ojson p = prov_model;
    p["defines"] = {"v=log(met)+l1_dphi+l2_dphi"};
    w.write("fig19_v_output.json", view_json(view_2d(d, "v", "output_pre", c.labels, c.weights), p, "19",
                                             "v = log(MET/GeV) + phi_l1 + phi_l2, the paper's Figure 19 variable."));
    w.write("fig19_v.json", view_json(view_1d("v", d.get("v").values(), false), p, "19", ""));
  }

  // Figure 26: phi_l1 against phi_l2; Figure 27: eta_l1 against eta_l2, all events and after
  // the paper's cuts.
  w.write("fig26_phi_l1_phi_l2.json",
          view_json(view_2d(c.data, "l1_dphi", "l2_dphi", c.labels, c.weights), prov, "26", ""));
  w.write("fig27_eta_all.json", view_json(view_2d(c.data, "l1_eta", "l2_eta", c.labels, c.weights), prov, "27", ""));
  {
    Dataset d = c.data;
    std::vector<CutFlowLine> flow;
    for (const char* cut : {"cos(l1_dphi) < -0.5", "cos(l2_dphi) < -0.5", "met > 110"}) {
      CutResult r = apply_cut(d, cut);
      d = std::move(r.data);
      flow.push_back({cut, r.passed});
    }
    if (d.events() >= 10)
      w.write("fig27_eta_cuts.json",
              view_json(view_2d(d, "l1_eta", "l2_eta", d.labels(), d.weights()), prov, "27", "", flow));
  }

  // ROC and AMS against the threshold: the network's score and mT2ll on the test split.
  {
    ojson curves = ojson::object();
    for (const auto& [name, xv] : std::vector<std::pair<std::string, std::vector<double>>>{
             {"output_pre", c.col("output_pre")}, {"mt2ll", c.col("mt2ll")}}) {
      const RocCurve roc = roc_curve(xv, c.labels, c.weights);
      const AmsScan scan = ams_scan(xv, c.labels, c.weights, lumi, br);
      const auto keep = [&](size_t size) { return std::max<size_t>(1, size / static_cast<size_t>(o.curve_points)); };
      ojson fpr = ojson::array(), tpr = ojson::array(), th = ojson::array(), av = ojson::array();
      const size_t sr = keep(roc.fpr.size());
      for (size_t i = 0; i < roc.fpr.size(); ++i)
        if (i % sr == 0 || i + 1 == roc.fpr.size()) {
          fpr.push_back(roc.fpr[i]);
          tpr.push_back(roc.tpr[i]);
        }
      const size_t sa = keep(scan.thresholds.size());
      for (size_t i = 0; i < scan.thresholds.size(); ++i)
        if (i % sa == 0 || i + 1 == scan.thresholds.size() || scan.thresholds[i] == scan.threshold) {
          th.push_back(scan.thresholds[i]);
          av.push_back(scan.values[i]);
        }
      curves[name] = {{"auc", auc(xv, c.labels, c.weights)},
                      {"roc", {{"fpr", fpr}, {"tpr", tpr}}},
                      {"ams", {{"threshold", th}, {"value", av}}},
                      {"best", {{"ams", scan.best}, {"threshold", scan.threshold}, {"s", scan.s}, {"b", scan.b}}}};
    }
    w.write("roc_ams.json", {{"type", "roc_ams"},
                             {"events", n},
                             {"lumi_fb", lumi},
                             {"br", br},
                             {"note", "points thinned to about " + std::to_string(o.curve_points) +
                                          " per curve; the best cut is always kept"},
                             {"curves", curves}});
  }
  return w.files;
}

}  // namespace unbox::studies
