// unbox report: result files -> one self-contained HTML page with Vega-Lite figures.
#include "unbox/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "report_internal.hpp"
#include "unbox/core.hpp"
#include "unbox/data.hpp"

#ifndef UNBOX_REPORT_JS_DIR
#define UNBOX_REPORT_JS_DIR ""
#endif

namespace unbox {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace report_detail {

const char* const kSchema = "https://vega.github.io/schema/vega-lite/v5.json";
const char* const kSignal = "#d62728";
const char* const kBackground = "#1f77b4";

std::string escape_html(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}'", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// JSON placed inside <script>: "</" would end the element early; "<\\/" is the same JSON string.
std::string script_safe(std::string s) {
  for (size_t p = 0; (p = s.find("</", p)) != std::string::npos; p += 3) s.replace(p, 2, "<\\/");
  return s;
}

// A library inlined in <script>: only "</script" would end the element early, and
// rewriting it could break a regular expression, so refuse such a file instead.
std::string inline_js(const std::string& js, const std::string& path) {
  std::string lower = js;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("</script") != std::string::npos)
    throw Error(fmt::format("'{}' contains \"</script\" and cannot be inlined into the report", path));
  return js;
}

double jnum(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

std::string provenance_text(const nlohmann::json& r) {
  if (!r.contains("provenance")) return "";
  const auto& p = r["provenance"];
  std::string t;
  if (p.contains("data")) t += fmt::format(" Data: {}", p["data"].get<std::string>());
  if (p.contains("events_read")) t += fmt::format(" ({} events read).", p["events_read"].get<long long>());
  if (p.contains("defines"))
    for (const auto& d : p["defines"]) t += fmt::format(" Defined {}.", d.get<std::string>());
  if (p.contains("cuts") && !p["cuts"].empty()) {
    t += " Cuts:";
    for (const auto& c : p["cuts"])
      t += fmt::format(" {} ({} events);", c["cut"].get<std::string>(), c["events"].get<long long>());
  }
  if (p.contains("weight"))
    t += fmt::format(" Weights: column '{}'.", p["weight"].get<std::string>());
  else
    t += " Unweighted.";
  if (p.contains("model")) t += fmt::format(" Model: {}.", p["model"].get<std::string>());
  return t;
}

ojson color_scale(const std::vector<std::string>& domain) {
  std::vector<std::string> range;
  for (const auto& d : domain) range.push_back(d == "signal" ? kSignal : d == "background" ? kBackground : "#555555");
  return {{"domain", domain}, {"range", range}};
}

// Rows {class, lo, hi, value} of a 1-D class histogram.
void add_rows(ojson& rows, const std::string& cls, const nlohmann::json& edges, const nlohmann::json& values) {
  for (size_t i = 0; i < values.size(); ++i)
    rows.push_back({{"class", cls}, {"lo", edges[i]}, {"hi", edges[i + 1]}, {"value", values[i]}});
}

// log_floor > 0: logarithmic y axis, boxes drawn from log_floor (empty bins left out).
ojson rect_layer(const std::string& xtitle, const std::string& ytitle, ojson color, double fill_opacity,
                 double log_floor = 0.0) {
  ojson layer = {{"mark", {{"type", "rect"}, {"fillOpacity", fill_opacity}, {"strokeWidth", 1.5}}},
                 {"encoding",
                  {{"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", xtitle}, {"scale", {{"zero", false}}}}},
                   {"x2", {{"field", "hi"}}},
                   {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", ytitle}}},
                   {"y2", {{"datum", 0}}},
                   {"color", {{"field", "class"}, {"type", "nominal"}, {"title", ""}, {"scale", color}}},
                   {"stroke", {{"field", "class"}, {"type", "nominal"}, {"title", ""}, {"scale", color}}},
                   {"tooltip", ojson::array({ojson{{"field", "class"}}, ojson{{"field", "lo"}}, ojson{{"field", "hi"}},
                                             ojson{{"field", "value"}, {"format", ".4g"}}})}}}};
  if (log_floor > 0) {
    layer["encoding"]["y"]["scale"] = {{"type", "log"}};
    layer["encoding"]["y2"] = {{"datum", log_floor}};
    layer["transform"] = ojson::array({ojson{{"filter", "datum.value > 0"}}});
  }
  return layer;
}

// Half the smallest positive value of the rows: where log-scale boxes start.
double log_floor_of(const ojson& rows) {
  double m = 0.0;
  for (const auto& r : rows) {
    const double v = r["value"].get<double>();
    if (v > 0 && (m == 0.0 || v < m)) m = v;
  }
  return m > 0 ? 0.5 * m : 1e-6;
}

// Step lines over the shaded boxes: a physicist's histogram. `rows` are {class, lo, hi,
// value} in bin order per class; the line goes through (lo, value) of every bin and ends at
// the last bin's hi, drawn "step-after".
ojson step_histogram(const ojson& rows, const std::string& xtitle, const std::string& ytitle, const ojson& color,
                     double log_floor) {
  ojson line_rows = ojson::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    line_rows.push_back({{"class", rows[i]["class"]}, {"x", rows[i]["lo"]}, {"value", rows[i]["value"]}});
    if (i + 1 == rows.size() || rows[i + 1]["class"] != rows[i]["class"])
      line_rows.push_back({{"class", rows[i]["class"]}, {"x", rows[i]["hi"]}, {"value", rows[i]["value"]}});
  }
  ojson boxes = rect_layer(xtitle, ytitle, color, 0.10, log_floor);
  boxes["mark"]["strokeWidth"] = 0;
  boxes["encoding"].erase("stroke");
  ojson line = {{"data", {{"values", line_rows}}},
                {"mark", {{"type", "line"}, {"interpolate", "step-after"}, {"strokeWidth", 1.6}}},
                {"encoding",
                 {{"x", {{"field", "x"}, {"type", "quantitative"}, {"title", xtitle}}},
                  {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", ytitle}}},
                  {"color", {{"field", "class"}, {"type", "nominal"}, {"title", ""}, {"scale", color}}}}}};
  if (log_floor > 0) {
    line["encoding"]["y"]["scale"] = {{"type", "log"}};
    line["transform"] = ojson::array({ojson{{"filter", "datum.value > 0"}}});
  }
  return {{"data", {{"values", rows}}}, {"layer", ojson::array({boxes, line})}};
}

// Axis titles in physics notation with units, for the columns unbox's physics features
// write; other names (neurons, user columns) as they are.
std::string axis_title(const std::string& name) {
  static const std::map<std::string, std::string> t = {{"met", "E_T^miss [GeV]"},
                                                       {"mt2ll", "m_T2(ll) [GeV]"},
                                                       {"isr_pt", "p_T^ISR [GeV]"},
                                                       {"l1_pt", "p_T(l1) [GeV]"},
                                                       {"l2_pt", "p_T(l2) [GeV]"},
                                                       {"j1_pt", "p_T(j1) [GeV]"},
                                                       {"j2_pt", "p_T(j2) [GeV]"},
                                                       {"log_met", "log(E_T^miss / GeV)"},
                                                       {"l1_eta", "η(l1)"},
                                                       {"l2_eta", "η(l2)"},
                                                       {"j1_eta", "η(j1)"},
                                                       {"j2_eta", "η(j2)"},
                                                       {"l1_dphi", "φ_l1 = |Δφ(l1, E_T^miss)| [rad]"},
                                                       {"l2_dphi", "φ_l2 = |Δφ(l2, E_T^miss)| [rad]"},
                                                       {"j1_dphi", "φ_j1 = |Δφ(j1, E_T^miss)| [rad]"},
                                                       {"j2_dphi", "φ_j2 = |Δφ(j2, E_T^miss)| [rad]"},
                                                       {"output_pre", "network output before tanh (L12N0:pre)"},
                                                       {"output:pre", "network output before its activation"},
                                                       {"score", "network score"},
                                                       {"v", "v = log(E_T^miss/GeV) + φ_l1 + φ_l2"}};
  auto it = t.find(name);
  if (it != t.end()) return it->second;
  if (name.size() > 2 && name[0] == 'L' && name.find('N') != std::string::npos) return name + " activation";
  return name;
}

}  // namespace report_detail

using namespace report_detail;

std::vector<ReportFigure> histogram_figures(const nlohmann::json& r, const std::string& source) {
  std::vector<ReportFigure> figs;
  const std::string x = r["x"]["name"].get<std::string>();
  const auto& xe = r["x"]["edges"];
  const bool labelled = r["classes"].contains("signal");
  const std::string prov = provenance_text(r);
  const std::string ylab = "fraction of class weight per bin";
  const bool log_y = r.value("log_y", false);
  if (r["dimensions"].get<int>() == 1) {
    ReportFigure f;
    f.title = labelled ? fmt::format("{}: signal and background", x) : fmt::format("{}", x);
    ojson rows = ojson::array();
    std::vector<std::string> classes =
        labelled ? std::vector<std::string>{"signal", "background"} : std::vector<std::string>{"all"};
    for (const auto& c : classes) add_rows(rows, c, xe, r["classes"][c]["normalized"]);
    ojson top = step_histogram(rows, axis_title(x), ylab, color_scale(classes), log_y ? log_floor_of(rows) : 0.0);
    top["width"] = 520;
    top["height"] = 260;
    if (labelled) {
      ojson rrows = ojson::array();
      const auto& ratio = r["ratio"];
      double rmin = 0, rmax = 0;
      for (size_t i = 0; i < ratio.size(); ++i)
        if (ratio[i].is_number()) {
          rrows.push_back({{"x", 0.5 * (jnum(xe[i]) + jnum(xe[i + 1]))}, {"ratio", ratio[i]}});
          const double v = jnum(ratio[i]);
          if (v > 0 && (rmin == 0 || v < rmin)) rmin = v;
          rmax = std::max(rmax, v);
        }
      // A ratio spanning more than two decades reads better on a log axis (zeros left out).
      const bool log_ratio = rmin > 0 && rmax > 100 * rmin;
      ojson bottom = {
          {"data", {{"values", rrows}}},
          {"width", 520},
          {"height", 110},
          {"layer",
           ojson::array(
               {ojson{{"mark", {{"type", "point"}, {"filled", true}, {"color", "black"}}},
                      {"encoding",
                       {{"x",
                         {{"field", "x"},
                          {"type", "quantitative"},
                          {"title", axis_title(x)},
                          {"scale", {{"domain", {xe.front(), xe.back()}}, {"zero", false}}}}},
                        {"y",
                         log_ratio
                             ? ojson{{"field", "ratio"},
                                     {"type", "quantitative"},
                                     {"title", "signal / background"},
                                     {"scale", {{"type", "log"}}}}
                             : ojson{{"field", "ratio"}, {"type", "quantitative"}, {"title", "signal / background"}}}}},
                      {"transform", log_ratio ? ojson::array({ojson{{"filter", "datum.ratio > 0"}}}) : ojson::array()}},
                ojson{{"mark", {{"type", "rule"}, {"strokeDash", {4, 4}}, {"color", "gray"}}},
                      {"encoding", {{"y", {{"datum", 1}}}}}}})}};
      f.spec = {{"$schema", kSchema}, {"vconcat", ojson::array({top, bottom})}};
      f.caption = fmt::format(
          "{} for signal ({} events) and background ({} events), each class normalized to unit sum over the {} bins "
          "(step lines over shaded boxes); below, their ratio per bin{} (bins without background left out).{}",
          x, r["classes"]["signal"]["events"].get<long long>(), r["classes"]["background"]["events"].get<long long>(),
          xe.size() - 1, log_ratio ? " on a log axis" : "", prov);
    } else {
      f.spec = top;
      f.spec["$schema"] = kSchema;
      f.caption = fmt::format("{} for all {} events, normalized to unit sum over the {} bins.{}", x,
                              r["classes"]["all"]["events"].get<long long>(), xe.size() - 1, prov);
    }
    figs.push_back(std::move(f));
    if (r.contains("slices")) {
      ReportFigure s;
      const std::string of = r["slices_of"].get<std::string>();
      s.title = fmt::format("{} in slices of {}", x, of);
      ojson srows = ojson::array();
      std::vector<std::string> labels;
      std::string counts;
      for (const auto& sl : r["slices"]) {
        const std::string lab = sl["label"].get<std::string>();
        labels.push_back(lab);
        add_rows(srows, lab, xe, sl["all"]["normalized"]);
        counts += fmt::format(" {}: {} in [{:.4g}, {:.4g}], {} events;", lab, of, jnum(sl["lo"]), jnum(sl["hi"]),
                              sl["all"]["events"].get<long long>());
      }
      ojson color = labels.size() == 3 ? ojson{{"domain", labels}, {"range", {kSignal, "#555555", kBackground}}}
                                       : ojson{{"domain", labels}, {"scheme", "category10"}};
      s.spec = step_histogram(srows, axis_title(x), "fraction of slice weight per bin", color,
                              log_y ? log_floor_of(srows) : 0.0);
      s.spec["$schema"] = kSchema;
      s.spec["width"] = 520;
      s.spec["height"] = 260;
      s.caption = fmt::format(
          "{} for events in equal-population slices of {} (quantiles, highest first), each normalized to unit sum "
          "(as the paper's Figure 20).{}{}",
          x, of, counts, prov);
      figs.push_back(std::move(s));
    }
  } else {
    const std::string y = r["y"]["name"].get<std::string>();
    const auto& ye = r["y"]["edges"];
    ReportFigure f;
    f.title = fmt::format("{} against {}", y, x);
    std::vector<std::string> classes =
        labelled ? std::vector<std::string>{"signal", "background"} : std::vector<std::string>{"all"};
    ojson panels = ojson::array();
    auto panel = [&](const std::string& title, const ojson& rows, const std::string& legend, const char* scheme) {
      panels.push_back(
          {{"title", title},
           {"data", {{"values", rows}}},
           {"width", 200},
           {"height", 200},
           {"mark", "rect"},
           {"encoding",
            {{"x",
              {{"field", "xlo"}, {"type", "quantitative"}, {"title", axis_title(x)}, {"scale", {{"zero", false}}}}},
             {"x2", {{"field", "xhi"}}},
             {"y",
              {{"field", "ylo"}, {"type", "quantitative"}, {"title", axis_title(y)}, {"scale", {{"zero", false}}}}},
             {"y2", {{"field", "yhi"}}},
             {"color",
              {{"field", "value"}, {"type", "quantitative"}, {"title", legend}, {"scale", {{"scheme", scheme}}}}},
             {"tooltip", ojson::array({ojson{{"field", "xlo"}}, ojson{{"field", "ylo"}},
                                       ojson{{"field", "value"}, {"format", ".4g"}}})}}}});
    };
    for (const auto& c : classes) {
      ojson rows = ojson::array();
      const auto& g = r["classes"][c]["normalized"];
      for (size_t i = 0; i < g.size(); ++i)
        for (size_t k = 0; k < g[i].size(); ++k)
          rows.push_back({{"xlo", xe[i]}, {"xhi", xe[i + 1]}, {"ylo", ye[k]}, {"yhi", ye[k + 1]}, {"value", g[i][k]}});
      panel(c, rows, "fraction", "viridis");
    }
    if (labelled) {  // signal / background per cell, each normalized (the paper's third column)
      ojson rows = ojson::array();
      const auto& gs = r["classes"]["signal"]["normalized"];
      const auto& gb = r["classes"]["background"]["normalized"];
      for (size_t i = 0; i < gs.size(); ++i)
        for (size_t k = 0; k < gs[i].size(); ++k)
          if (jnum(gb[i][k]) > 0)
            rows.push_back({{"xlo", xe[i]},
                            {"xhi", xe[i + 1]},
                            {"ylo", ye[k]},
                            {"yhi", ye[k + 1]},
                            {"value", jnum(gs[i][k]) / jnum(gb[i][k])}});
      panel("signal / background", rows, "ratio", "redblue");
      panels.back()["encoding"]["color"]["scale"] = {{"type", "log"}, {"scheme", "redblue"}, {"reverse", true}};
      // The same axes as the class panels, although cells without background are left out.
      panels.back()["encoding"]["x"]["scale"] = {{"domain", {xe.front(), xe.back()}}, {"nice", false}};
      panels.back()["encoding"]["y"]["scale"] = {{"domain", {ye.front(), ye.back()}}, {"nice", false}};
      panels.back()["transform"] = ojson::array({ojson{{"filter", "datum.value > 0"}}});
    }
    f.spec = {{"$schema", kSchema}, {"hconcat", panels}, {"resolve", {{"scale", {{"color", "independent"}}}}}};
    std::string nmi =
        r.contains("nmi") && r["nmi"].is_number()
            ? fmt::format(" Normalized mutual information of {} and {}: {:.4f} ({} equal-frequency bins).", x, y,
                          r["nmi"].get<double>(), r["nmi_bins"].get<long long>())
            : std::string();
    f.caption = fmt::format("{} against {} per class, each normalized to unit sum over the {} x {} cells{}.{}{}", y, x,
                            xe.size() - 1, ye.size() - 1,
                            labelled ? "; right, their ratio per cell on a log colour scale (cells without "
                                       "background left out)"
                                     : "",
                            nmi, prov);
    figs.push_back(std::move(f));
  }
  (void)source;
  std::vector<ReportFigure> per_cut;  // 2-D views after each named cut, titled by their own cuts
  if (r.contains("named_cuts") && !r["named_cuts"].empty()) {
    const auto& nc = r["named_cuts"];
    if (r["dimensions"].get<int>() == 1) {
      // Figures 13/17/27: one panel per class, a step line per named cut, each normalized.
      std::vector<std::string> names;
      std::string counts;
      for (const auto& c : nc) {
        names.push_back(c["name"].get<std::string>());
        counts += fmt::format(" {} = {}:", c["name"].get<std::string>(), c["cut"].get<std::string>());
        for (const auto& [cls, h] : c["classes"].items())
          if (!labelled || cls != "all") counts += fmt::format(" {} {} events,", cls, h["events"].get<long long>());
        counts.back() = ';';
      }
      const ojson color = {{"domain", names}, {"scheme", "category10"}};
      std::vector<std::string> classes =
          labelled ? std::vector<std::string>{"signal", "background"} : std::vector<std::string>{"all"};
      ojson panels = ojson::array();
      ojson all_rows = ojson::array();
      for (const auto& cls : classes) {
        ojson rows = ojson::array();
        for (const auto& c : nc) add_rows(rows, c["name"].get<std::string>(), xe, c["classes"][cls]["normalized"]);
        for (const auto& row : rows) all_rows.push_back(row);
        ojson p = step_histogram(rows, axis_title(x), "fraction per bin", color, 0.0);
        p["title"] = cls == "all" ? "all events" : cls;
        p["width"] = labelled ? 300 : 520;
        p["height"] = 240;
        panels.push_back(p);
      }
      if (log_y) {
        const double floor = log_floor_of(all_rows);
        for (size_t i = 0; i < panels.size(); ++i) {
          ojson rows = panels[i]["data"]["values"];
          ojson p = step_histogram(rows, axis_title(x), "fraction per bin", color, floor);
          p["title"] = panels[i]["title"];
          p["width"] = panels[i]["width"];
          p["height"] = panels[i]["height"];
          panels[i] = p;
        }
      }
      ReportFigure f;
      f.title = fmt::format("{} per named cut", x);
      f.spec = {{"$schema", kSchema}, {"hconcat", panels}};
      f.caption = fmt::format(
          "{} for the events passing each named cut, {}each normalized to unit sum over the same {} bins (as the "
          "paper's Figures 13, 17 and 27).{}{}",
          x, labelled ? "signal and background in separate panels, " : "", xe.size() - 1, counts, prov);
      figs.push_back(std::move(f));
    } else {
      for (const auto& c : nc) {
        nlohmann::json sub = r;
        sub.erase("named_cuts");
        sub["classes"] = c["classes"];
        if (c.contains("ratio")) sub["ratio"] = c["ratio"];
        if (c.contains("nmi")) sub["nmi"] = c["nmi"];
        if (!sub.contains("provenance") || !sub["provenance"].is_object()) sub["provenance"] = nlohmann::json::object();
        if (!sub["provenance"].contains("cuts")) sub["provenance"]["cuts"] = nlohmann::json::array();
        sub["provenance"]["cuts"].push_back(
            {{"cut", c["name"].get<std::string>() + ": " + c["cut"].get<std::string>()}, {"events", c["events"]}});
        for (auto& f : histogram_figures(sub, source)) per_cut.push_back(std::move(f));
      }
    }
  }
  // Views of the same variables after different cuts get different titles.
  std::string after;
  if (r.contains("provenance") && r["provenance"].contains("cuts"))
    for (const auto& c : r["provenance"]["cuts"])
      after += (after.empty() ? " after " : ", ") + c["cut"].get<std::string>();
  for (auto& f : figs) {
    f.title += after;
    if (r.contains("note")) f.caption += " " + r["note"].get<std::string>();
    if (r.contains("provenance") && r["provenance"].contains("seed"))
      f.caption += fmt::format(" Study seed {}.", r["provenance"]["seed"].dump());
  }
  for (auto& f : per_cut) figs.push_back(std::move(f));
  return figs;
}

namespace {

ReportSection eval_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Classifier performance: {}", j.value("score", std::string("score")));
  s.source = path;
  std::string t = "<table><tbody>";
  auto row = [&](const std::string& k, const std::string& v) {
    t += "<tr><th>" + escape_html(k) + "</th><td>" + escape_html(v) + "</td></tr>";
  };
  row("AUC", fmt::format("{:.6f}", jnum(j["auc"])));
  if (j.contains("n_signal")) row("signal events", fmt::format("{}", j["n_signal"].get<long long>()));
  if (j.contains("n_background")) row("background events", fmt::format("{}", j["n_background"].get<long long>()));
  if (j.contains("sig_eff_at_bkg_eff"))
    for (const auto& [k, v] : j["sig_eff_at_bkg_eff"].items())
      row(fmt::format("signal efficiency at background efficiency {}", k), fmt::format("{:.4f}", jnum(v)));
  if (j.contains("ams")) {
    const auto& a = j["ams"];
    row("best AMS", fmt::format("{:.4f} (score >= {:.6g}; s = {:.6g}, b = {:.6g}; lumi {:g}, br {:g})", jnum(a["best"]),
                                jnum(a["threshold"]), jnum(a["s"]), jnum(a["b"]), jnum(a["lumi"]), jnum(a["br"])));
  }
  t += "</tbody></table>";
  s.html = t;
  return s;
}

ReportSection roc_section(const Dataset& d, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("ROC curve ({})", fs::path(path).filename().string());
  s.source = path;
  const Tensor& fpr = d.get("fpr");
  const Tensor& tpr = d.get("tpr");
  const Index n = fpr.size();
  const Index step = std::max<Index>(1, n / 2000);  // the figure needs no more points
  ojson rows = ojson::array();
  double auc = 0.0;
  for (Index i = 0; i < n; ++i) {
    if (i > 0) auc += 0.5 * (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]);
    if (i % step == 0 || i == n - 1) rows.push_back({{"fpr", fpr[i]}, {"tpr", tpr[i]}});
  }
  ReportFigure f;
  f.title = "ROC curve";
  f.spec = {
      {"$schema", kSchema},
      {"data", {{"values", rows}}},
      {"width", 360},
      {"height", 360},
      {"mark", {{"type", "line"}, {"interpolate", "linear"}}},
      {"encoding",
       {{"x", {{"field", "fpr"}, {"type", "quantitative"}, {"title", "background efficiency (false-positive rate)"}}},
        {"y", {{"field", "tpr"}, {"type", "quantitative"}, {"title", "signal efficiency (true-positive rate)"}}},
        {"order", {{"field", "fpr"}}}}}};
  f.caption = fmt::format(
      "Signal against background efficiency as the threshold on the score falls; {} points of {} "
      "(trapezoid area {:.4f}).",
      rows.size(), n, auc);
  s.figures.push_back(std::move(f));
  return s;
}

// The cut-flow of `unbox physics features --cutflow` (or a bare CutFlow object).
ReportSection cutflow_section(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json& cf = j.contains("cutflow") ? j["cutflow"] : j;
  ReportSection s;
  s.title = fmt::format("Cut-flow ({})", fs::path(path).filename().string());
  s.source = path;
  const double total = jnum(cf["total_events"]),
               total_w = cf.contains("total_weighted") ? jnum(cf["total_weighted"]) : total;
  std::string t =
      "<table><thead><tr><th>cut</th><th>requirement</th><th>events</th><th>of all</th>"
      "<th>weighted</th></tr></thead><tbody>";
  t += fmt::format("<tr><td>(read)</td><td></td><td>{:.0f}</td><td>1.000</td><td>{:.6g}</td></tr>", total, total_w);
  ojson rows = ojson::array();
  rows.push_back({{"step", 0}, {"cut", "(read)"}, {"events", total}});
  int k = 0;
  for (const auto& c : cf["cuts"]) {
    const std::string name = c.value("name", std::string("cut"));
    const double ev = jnum(c["events"]);
    t += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.0f}</td><td>{:.3f}</td><td>{:.6g}</td></tr>", escape_html(name),
                     escape_html(c.value("description", std::string())), ev, total > 0 ? ev / total : 0.0,
                     c.contains("weighted") ? jnum(c["weighted"]) : ev);
    rows.push_back({{"step", ++k}, {"cut", name}, {"events", ev}});
  }
  t += "</tbody></table>";
  s.html = t;
  ReportFigure f;
  f.title = "Events after each cut";
  f.spec = {
      {"$schema", kSchema},
      {"data", {{"values", rows}}},
      {"width", 520},
      {"height", 220},
      {"mark", "bar"},
      {"encoding",
       {{"x", {{"field", "cut"}, {"type", "nominal"}, {"sort", {{"field", "step"}}}, {"title", "cut (in order)"}}},
        {"y", {{"field", "events"}, {"type", "quantitative"}, {"title", "events passing"}}}}}};
  f.caption = fmt::format("Unweighted events left after each cut, applied in order, of {:.0f} read.", total);
  s.figures.push_back(std::move(f));
  return s;
}

// `unbox mi --out`: the neuron x variable NMI heat map (Figure 9's numbers for every neuron).
ReportSection mi_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Mutual information ({})", fs::path(path).filename().string());
  s.source = path;
  ojson rows = ojson::array();
  for (size_t n = 0; n < j["neurons"].size(); ++n)
    for (size_t v = 0; v < j["variables"].size(); ++v)
      rows.push_back({{"neuron", j["neurons"][n]}, {"variable", j["variables"][v]}, {"nmi", j["nmi"][n][v]}});
  ReportFigure f;
  f.title = "Normalized mutual information of neurons and variables";
  f.spec = {
      {"$schema", kSchema},
      {"data", {{"values", rows}}},
      {"mark", "rect"},
      {"width", std::max<size_t>(160, 28 * j["variables"].size())},
      {"height", std::min<size_t>(900, std::max<size_t>(120, 9 * j["neurons"].size()))},
      {"encoding",
       {{"x", {{"field", "variable"}, {"type", "nominal"}, {"sort", nullptr}, {"title", ""}}},
        {"y", {{"field", "neuron"}, {"type", "nominal"}, {"sort", nullptr}, {"title", "neuron"}}},
        {"color", {{"field", "nmi"}, {"type", "quantitative"}, {"title", "NMI"}, {"scale", {{"scheme", "viridis"}}}}},
        {"tooltip", ojson::array({ojson{{"field", "neuron"}}, ojson{{"field", "variable"}},
                                  ojson{{"field", "nmi"}, {"format", ".3f"}}})}}}};
  f.caption = fmt::format("{} of {} neurons with {} variables on {} events ({} estimator{}).",
                          j.value("score", std::string("NMI")), j["neurons"].size(), j["variables"].size(),
                          j.value("events", 0LL), j.value("estimator", std::string("binned")),
                          j.contains("bins") ? fmt::format(", {} bins", j["bins"].dump()) : std::string());
  s.figures.push_back(std::move(f));
  return s;
}

}  // namespace

std::string report_js_dir(const std::string& requested) {
  std::string dir = requested;
  if (dir.empty()) {
    const char* env = std::getenv("UNBOX_REPORT_JS");
    dir = env && *env ? env : UNBOX_REPORT_JS_DIR;
  }
  if (dir.empty() || !fs::exists(fs::path(dir) / "vega" / "build" / "vega.min.js"))
    throw Error(
        fmt::format("the report's plotting library (vega, vega-lite, vega-embed) is not installed in '{}': "
                    "run scripts/install-deps (npm ci in report/) or set UNBOX_REPORT_JS to a node_modules folder",
                    dir));
  return dir;
}

Report build_report(const std::vector<std::string>& paths, const ReportOptions& o) {
  Report rep;
  rep.title = o.title;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (fs::is_directory(p) && is_stop_study_folder(p)) {
      // A stop study: its sections in the paper's order; files it does not read are listed.
      std::vector<std::string> used;
      auto secs = stop_study_sections(p, used, rep.absent);
      for (auto& s : secs) rep.sections.push_back(std::move(s));
      std::vector<fs::path> used_paths;
      for (const auto& u : used) used_paths.push_back(fs::weakly_canonical(u));
      std::vector<std::string> rest;
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && extension_of(e.path().string()) != "html" &&
            extension_of(e.path().string()) != "svg" && extension_of(e.path().string()) != "png" &&
            std::find(used_paths.begin(), used_paths.end(), fs::weakly_canonical(e.path())) == used_paths.end())
          rest.push_back(e.path().string());
      std::sort(rest.begin(), rest.end());
      rep.unrecognized.insert(rep.unrecognized.end(), rest.begin(), rest.end());
    } else if (fs::is_directory(p)) {
      std::vector<std::string> inside;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) inside.push_back(e.path().string());
      std::sort(inside.begin(), inside.end());
      files.insert(files.end(), inside.begin(), inside.end());
    } else if (fs::exists(p)) {
      files.push_back(p);
    } else {
      throw Error(fmt::format("no result file or folder '{}'", p));
    }
  }
  std::set<std::string> found;  // kinds of the single result files read
  for (const auto& path : files) {
    const std::string ext = extension_of(path);
    if (ext == "json") {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_text(path));
      } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("'{}' is not valid JSON: {}", path, e.what()));
      }
      if (j.is_object() && j.value("type", std::string()) == "histogram") {
        ReportSection s;
        s.source = path;
        s.title = j["dimensions"].get<int>() == 1 ? fmt::format("Histogram of {}", j["x"]["name"].get<std::string>())
                                                  : fmt::format("{} against {}", j["y"]["name"].get<std::string>(),
                                                                j["x"]["name"].get<std::string>());
        s.figures = histogram_figures(j, path);
        rep.sections.push_back(std::move(s));
        found.insert("hist");
        continue;
      }
      if (j.is_object() && ((j.contains("cutflow") && j["cutflow"].contains("cuts")) ||
                            (j.contains("cuts") && j.contains("total_events")))) {
        rep.sections.push_back(cutflow_section(j, path));
        found.insert("cutflow");
        continue;
      }
      if (j.is_object() && j.contains("neurons") && j.contains("variables") && j.contains("nmi")) {
        rep.sections.push_back(mi_section(j, path));
        found.insert("mi");
        continue;
      }
      std::string kind;
      if (auto sec = method_section(j, path, kind)) {
        rep.sections.push_back(std::move(*sec));
        found.insert(kind);
        continue;
      }
      if (j.is_object() && j.contains("auc")) {
        rep.sections.push_back(eval_section(j, path));
        found.insert("eval");
        continue;
      }
    } else if (ext == "csv" || ext == "npz" || ext == "h5" || ext == "hdf5") {
      Dataset d;
      try {
        ReadOptions ro;
        ro.allow_nan = true;  // a ROC starts at threshold +inf
        d = read_dataset(path, ro);
      } catch (const Error&) {
        rep.unrecognized.push_back(path);
        continue;
      }
      if (d.has("fpr") && d.has("tpr")) {
        rep.sections.push_back(roc_section(d, path));
        found.insert("eval");
        continue;
      }
      std::string kind;
      if (auto sec = method_table_section(d, path, kind)) {
        rep.sections.push_back(std::move(*sec));
        found.insert(kind);
        continue;
      }
    }
    rep.unrecognized.push_back(path);
  }
  // Partial results: the kinds of single result files not given, and what writes them.
  if (!files.empty()) {
    static const std::vector<std::pair<std::string, std::string>> kinds = {
        {"train", "Training curves (unbox train --json)"},
        {"eval", "Classifier performance and ROC (unbox eval --out, --roc)"},
        {"hist", "Data views (unbox hist --out)"},
        {"mi", "Mutual-information heat map (unbox mi --out)"},
        {"ad", "Activation differences (unbox ad --out)"},
        {"maximize", "Maximization populations (unbox maximize: its --histograms file)"},
        {"caveman", "Caveman formula and ROC (unbox caveman --json)"},
        {"taylor", "Taylor coefficients (unbox taylor --out)"},
        {"taylor_curve", "Taylor learning curves (unbox train --track-taylor)"},
        {"relevance", "Relevance rankings, profiles and maps (unbox lrp --out, unbox attribute --out)"},
        {"ado", "ADO (unbox ado --out)"},
        {"ado_search", "ADO guided search (unbox ado search --out)"},
        {"cutflow", "Cut-flow (unbox physics features --cutflow)"}};
    for (const auto& [kind, what] : kinds)
      if (!found.count(kind)) rep.absent.push_back(what + ": no such result file given");
  }
  int sec = 0, fig = 0;
  for (auto& s : rep.sections) {
    s.id = fmt::format("sec-{}", ++sec);
    for (auto& f : s.figures) f.id = fmt::format("fig-{}", ++fig);
  }
  return rep;
}

std::vector<const ReportFigure*> Report::figures() const {
  std::vector<const ReportFigure*> out;
  for (const auto& s : sections)
    for (const auto& f : s.figures) out.push_back(&f);
  return out;
}

std::string Report::html(const std::string& js_dir) const {
  const fs::path d(js_dir);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape_html(title) +
       "</title>\n<style>\n"
       "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}\n"
       "nav ol{line-height:1.6} figure{margin:1.5em 0} figcaption{font-size:.9em;color:#444;max-width:760px}\n"
       "table{border-collapse:collapse} th,td{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left}\n"
       ".source{font-size:.85em;color:#666} .absent{color:#a00}\n</style>\n";
  for (const char* lib :
       {"vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js"})
    h += "<script>\n" + inline_js(read_text((d / lib).string()), (d / lib).string()) + "\n</script>\n";
  h += "</head>\n<body>\n<h1>" + escape_html(title) + "</h1>\n<nav><h2>Contents</h2><ol>\n";
  for (const auto& s : sections) h += "<li><a href=\"#" + s.id + "\">" + escape_html(s.title) + "</a></li>\n";
  if (!absent.empty()) h += "<li><a href=\"#missing\">Sections absent</a></li>\n";
  if (!unrecognized.empty()) h += "<li><a href=\"#absent\">Files not shown</a></li>\n";
  h += "</ol></nav>\n";
  ojson specs = ojson::object();
  for (const auto& s : sections) {
    h += "<section id=\"" + s.id + "\">\n<h2>" + escape_html(s.title) + "</h2>\n<p class=\"source\">from " +
         escape_html(s.source) + "</p>\n" + s.html + "\n";
    for (const auto& f : s.figures) {
      h += "<figure><div class=\"figure\" id=\"" + f.id + "\"></div><figcaption><b>" + escape_html(f.title) + ".</b> " +
           escape_html(f.caption) + "</figcaption></figure>\n";
      specs[f.id] = f.spec;
    }
    h += "</section>\n";
  }
  if (!absent.empty()) {
    h += "<section id=\"missing\"><h2>Sections absent</h2><p class=\"absent\">These sections are absent: "
         "their result files are missing from the study folder (partial results, or a study run with "
         "--no-explain), or no result file of that kind was given:</p><ul>\n";
    for (const auto& a : absent) h += "<li>" + escape_html(a) + "</li>\n";
    h += "</ul></section>\n";
  }
  if (!unrecognized.empty()) {
    h += "<section id=\"absent\"><h2>Files not shown</h2><p class=\"absent\">No section of this report reads these "
         "files (see docs/report.md for the result files it reads):</p><ul>\n";
    for (const auto& u : unrecognized) h += "<li>" + escape_html(u) + "</li>\n";
    h += "</ul></section>\n";
  }
  h += "<script type=\"application/json\" id=\"unbox-specs\">" + script_safe(specs.dump()) + "</script>\n";
  h += "<script>\n"
       "const specs = JSON.parse(document.getElementById('unbox-specs').textContent);\n"
       "window.unboxRendered = 0;\n"
       "const jobs = Object.entries(specs).map(([id, spec]) =>\n"
       "  vegaEmbed('#' + id, spec, {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: "
       "false}})\n"
       "    .then(() => { window.unboxRendered++; document.getElementById(id).dataset.rendered = 'yes'; })\n"
       "    .catch(e => console.error('figure ' + id + ': ' + e)));\n"
       "Promise.all(jobs).then(() => { document.body.dataset.figuresDone = String(window.unboxRendered); });\n"
       "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace unbox
