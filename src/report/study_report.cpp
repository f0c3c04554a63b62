// The report of a stop-study folder (`unbox study stop --out DIR`): the paper's figures in the
// paper's order (8, 9, Tables 1-4, 10-12, 13, 16, 19-20, 26-27), then the other methods'
// results (Taylor, LRP, Integrated Gradients, ADO), each beside the paper's numbers where the
// paper gives them. Reads only the files the study (and write_stop_study_views) wrote.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "report_internal.hpp"
#include "unbox/core.hpp"

namespace unbox::report_detail {

namespace fs = std::filesystem;

namespace {

// A small CSV table of text cells (the study's CSVs hold names as well as numbers).
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int col(const std::string& name) const {
    for (size_t k = 0; k < header.size(); ++k)
      if (header[k] == name) return static_cast<int>(k);
    return -1;
  }
  double num(size_t r, const std::string& name) const {
    const int k = col(name);
    if (k < 0 || static_cast<size_t>(k) >= rows[r].size()) return std::nan("");
    try {
      return std::stod(rows[r][static_cast<size_t>(k)]);
    } catch (const std::exception&) {
      return std::nan("");
    }
  }
  std::string text(size_t r, const std::string& name) const {
    const int k = col(name);
    return k < 0 || static_cast<size_t>(k) >= rows[r].size() ? std::string() : rows[r][static_cast<size_t>(k)];
  }
};

Csv read_csv(const std::string& path) {
  Csv c;
  const std::string t = read_text(path);
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  auto end_row = [&] {
    cells.push_back(cell);
    cell.clear();
    if (c.header.empty())
      c.header = cells;
    else if (!(cells.size() == 1 && cells[0].empty()))
      c.rows.push_back(cells);
    cells.clear();
  };
  for (size_t i = 0; i < t.size(); ++i) {
    const char ch = t[i];
    if (quoted) {
      if (ch == '"' && i + 1 < t.size() && t[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells.push_back(cell);
      cell.clear();
    } else if (ch == '\n') {
      end_row();
    } else if (ch != '\r') {
      cell += ch;
    }
  }
  if (!cell.empty() || !cells.empty()) end_row();
  return c;
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}' is not valid JSON: {}", path, e.what()));
  }
}

std::string f2(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("-"); }
std::string f3(double v) { return std::isfinite(v) ? fmt::format("{:.3f}", v) : std::string("-"); }

// An HTML table: header cells and rows of already-formatted text (escaped here).
std::string html_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><thead><tr>";
  for (const auto& h : head) t += "<th>" + escape_html(h) + "</th>";
  t += "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    t += "<tr>";
    for (const auto& c : r) t += "<td>" + escape_html(c) + "</td>";
    t += "</tr>\n";
  }
  return t + "</tbody></table>\n";
}

std::string para(const std::string& text) { return "<p>" + escape_html(text) + "</p>\n"; }

struct Study {
  fs::path dir;
  nlohmann::json summary, paper;
  std::string seed_text;
  std::vector<std::string>* used;
  std::vector<std::string>* absent;
  bool has(const std::string& f) const { return fs::exists(dir / f); }
  // The paper's symbol of an input column, as the study wrote it (summary.json "symbols");
  // the column's own name otherwise.
  std::string symbol(const std::string& c) const {
    const auto it = summary.find("symbols");
    if (it == summary.end() || !it->is_object() || !it->contains(c)) return c;
    return (*it)[c].get<std::string>();
  }
  std::string path(const std::string& f) const {
    used->push_back((dir / f).string());
    return (dir / f).string();
  }
  // Files of the folder matching prefix*suffix, sorted.
  std::vector<std::string> matching(const std::string& sub, const std::string& prefix,
                                    const std::string& suffix) const {
    std::vector<std::string> out;
    if (!fs::is_directory(dir / sub)) return out;
    for (const auto& e : fs::directory_iterator(dir / sub)) {
      const std::string n = e.path().filename().string();
      if (n.rfind(prefix, 0) == 0 && n.size() >= suffix.size() && n.substr(n.size() - suffix.size()) == suffix)
        out.push_back((fs::path(sub) / n).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  void missing(const std::string& section, const std::string& files) const {
    absent->push_back(fmt::format("{}: {} not in {}", section, files, dir.string()));
  }
};

ReportFigure figure(const std::string& title, ojson spec, const std::string& caption) {
  ReportFigure f;
  f.title = title;
  spec["$schema"] = kSchema;
  f.spec = std::move(spec);
  f.caption = caption;
  return f;
}

void add_view(const Study& st, ReportSection& s, const std::string& file) {
  auto figs = histogram_figures(read_json(st.path(file)), file);
  for (auto& f : figs) {
    f.caption += " (" + file + ")";
    s.figures.push_back(std::move(f));
  }
}

// ---- the sections, in the paper's order -----------------------------------------------------

ReportSection summary_section(const Study& st) {
  ReportSection s;
  s.title = "Summary: unbox beside the paper";
  s.source = st.path("summary.json");
  const auto& j = st.summary;
  const auto& p = st.paper;
  auto pv = [&](const char* k) { return p.contains(k) && p[k].is_number() ? f2(p[k].get<double>()) : "-"; };
  std::vector<std::vector<std::string>> rows = {
      {"AUC (test split, weighted)", f3(jnum(j["auc"])), "not quoted"},
      {"AMS of the network (best threshold)",
       fmt::format("{} ± {}", f2(jnum(j["ams_network"])), f2(jnum(j["ams_network_err"]))), pv("ams_network")},
      {"  threshold on the output before tanh", fmt::format("≥ {:.4g}", jnum(j["ams_threshold"])),
       p.contains("ams_threshold") ? p["ams_threshold"].get<std::string>() : "-"},
      {"AMS of the best mT2ll cut", fmt::format("{} ± {}", f2(jnum(j["ams_mt2_cut"])), f2(jnum(j["ams_mt2_cut_err"]))),
       pv("ams_mt2_cut")},
      {"  mT2ll cut [GeV]", fmt::format("{:.0f}", jnum(j["mt2_cut_gev"])),
       p.contains("mt2_cut_gev") ? fmt::format("{:.0f}", p["mt2_cut_gev"].get<double>()) : "-"},
      {"test events signal / background",
       fmt::format("{} / {}", j.value("events_signal", 0LL), j.value("events_background", 0LL)), "-"},
      {"expected at the luminosity, signal / background",
       fmt::format("{:.1f} / {:.1f}", jnum(j["expected_signal"]), jnum(j["expected_background"])), "-"}};
  std::string h = html_table({"quantity", "unbox", "paper"}, rows);
  h += para(j.value("summary", std::string()));
  const auto& o = j["options"];
  h += para(fmt::format(
      "Made by `unbox study stop --point {}`: {} signal and {} background events generated before the selection "
      "(background split among tt-bar, tW and WW by cross section), seed {}, {} network(s) of the paper's "
      "architecture, at most {} epochs (patience {}), training / validation / test fractions {} / {} / {}, "
      "{:.1f} fb^-1, b_r = {}, {} bootstrap replicas for the AMS errors, {} test events for the explanations, "
      "{} threads. Numbers in the paper's column are from Roxlo & Reece (arXiv:1805.04525); the paper trained "
      "signal towards -1, unbox towards +1, so the output cuts have opposite sign.",
      j.value("point", std::string()), o.value("events", 0LL), o.value("events", 0LL), o.value("seed", 0LL),
      o.value("seeds", 1), o.value("epochs", 0LL), o.value("patience", 0LL), jnum(o["train_fraction"]),
      jnum(o["validation_fraction"]), 1 - jnum(o["train_fraction"]) - jnum(o["validation_fraction"]),
      jnum(j["lumi_fb"]), jnum(j["br"]), o.value("bootstrap", 0LL), o.value("explain_events", 0LL),
      o.value("threads", 0)));
  s.html = h;
  return s;
}

ReportSection events_section(const Study& st) {
  ReportSection s;
  s.title = "Events: generation and selection";
  s.source = st.path("events.json");
  const auto ev = read_json(st.path("events.json"));
  std::vector<std::vector<std::string>> rows;
  ojson bars = ojson::array();
  for (const auto& [name, v] : ev["samples"].items()) {
    const double gen = jnum(v["generated"]), sel = jnum(v["selected"]);
    rows.push_back({name, fmt::format("{:.0f}", gen), fmt::format("{:.0f}", sel),
                    fmt::format("{:.4f}", gen > 0 ? sel / gen : 0.0), fmt::format("{:.2f}", jnum(v["expected_events"])),
                    v["seed"].dump()});
    bars.push_back({{"sample", name}, {"stage", "generated"}, {"events", gen}});
    bars.push_back({{"sample", name}, {"stage", "selected"}, {"events", sel}});
  }
  s.html = html_table({"sample", "generated", "selected", "efficiency", "expected at the luminosity", "seed"}, rows);
  if (st.has("splits.json")) {
    const auto sp = read_json(st.path("splits.json"));
    s.html += para(
        fmt::format("Split of the {} selected events (seeded shuffle, seed {}): {} training, {} validation, {} test "
                    "({} signal, {} background); test weights scaled by {:.4g}.",
                    sp.value("selected_events", 0LL), sp.value("seed", 0LL), sp.value("train", 0LL),
                    sp.value("validation", 0LL), sp.value("test", 0LL), sp.value("test_signal", 0LL),
                    sp.value("test_background", 0LL), jnum(sp["test_weight_scale"])));
  }
  s.figures.push_back(
      figure("Events generated and selected per sample",
             {{"data", {{"values", bars}}},
              {"width", 420},
              {"height", 200},
              {"mark", "bar"},
              {"encoding",
               {{"y", {{"field", "sample"}, {"type", "nominal"}, {"title", ""}}},
                {"yOffset", {{"field", "stage"}}},
                {"x", {{"field", "events"}, {"type", "quantitative"}, {"title", "events"}}},
                {"color", {{"field", "stage"}, {"type", "nominal"}, {"title", ""}}}}}},
             "Events generated before and selected after the dilepton selection (two leptons, two jets), per sample: "
             "the cut-flow of the study's event generation (events.json)."));
  return s;
}

ReportSection model_section(const Study& st) {
  ReportSection s;
  s.title = "Model and training";
  s.source = st.has("views/model.json") ? st.path("views/model.json") : st.path("training.csv");
  if (st.has("views/model.json")) {
    const auto m = read_json(st.path("views/model.json"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : m["layers"])
      rows.push_back({l["layer"].get<std::string>(), l["op"].get<std::string>(), l["width"].dump(),
                      l["activation"].get<std::string>(), l["parameters"].dump()});
    s.html += html_table({"layer", "op", "width", "activation", "parameters"}, rows);
    s.html += para(fmt::format("{} trainable parameters; {}.", m["parameters"].dump(), m.value("outputs", "")));
  } else {
    st.missing("Model summary", "views/model.json");
  }
  if (st.has("training.csv")) {
    const Csv t = read_csv(st.path("training.csv"));
    ojson rows = ojson::array(), auc = ojson::array();
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::string seed = t.text(r, "seed");
      rows.push_back(
          {{"epoch", t.num(r, "epoch")}, {"loss", t.num(r, "loss")}, {"set", "training (seed " + seed + ")"}});
      rows.push_back(
          {{"epoch", t.num(r, "epoch")}, {"loss", t.num(r, "val_loss")}, {"set", "validation (seed " + seed + ")"}});
      auc.push_back({{"epoch", t.num(r, "epoch")}, {"auc", t.num(r, "val_auc")}, {"seed", seed}});
    }
    s.figures.push_back(figure(
        "Training curves",
        {{"hconcat",
          ojson::array(
              {ojson{{"data", {{"values", rows}}},
                     {"width", 300},
                     {"height", 220},
                     {"mark", {{"type", "line"}, {"point", true}}},
                     {"encoding",
                      {{"x", {{"field", "epoch"}, {"type", "quantitative"}, {"title", "epoch"}}},
                       {"y",
                        {{"field", "loss"}, {"type", "quantitative"}, {"title", "loss"}, {"scale", {{"zero", false}}}}},
                       {"color", {{"field", "set"}, {"type", "nominal"}, {"title", ""}}}}}},
               ojson{{"data", {{"values", auc}}},
                     {"width", 300},
                     {"height", 220},
                     {"mark", {{"type", "line"}, {"point", true}}},
                     {"encoding",
                      {{"x", {{"field", "epoch"}, {"type", "quantitative"}, {"title", "epoch"}}},
                       {"y",
                        {{"field", "auc"},
                         {"type", "quantitative"},
                         {"title", "validation AUC"},
                         {"scale", {{"zero", false}}}}},
                       {"color", {{"field", "seed"}, {"type", "nominal"}, {"title", "seed"}}}}}}})}},
        fmt::format("Loss on the training and validation events per epoch (left) and the validation AUC (right), per "
                    "seed; early stopping keeps the epoch of the lowest validation loss. {} rows of training.csv.",
                    t.rows.size())));
  } else {
    st.missing("Training curves", "training.csv");
  }
  return s;
}

ReportSection fig8_section(const Study& st) {
  ReportSection s;
  s.title = "Figure 8: the network output, ROC and AMS";
  s.source = st.path("metrics.json");
  if (st.has("views/fig08_output.json"))
    add_view(st, s, "views/fig08_output.json");
  else
    st.missing("Figure 8 (output histogram)", "views/fig08_output.json");
  if (!st.has("views/roc_ams.json")) {
    st.missing("ROC and AMS against the threshold", "views/roc_ams.json");
    return s;
  }
  const auto ra = read_json(st.path("views/roc_ams.json"));
  ojson roc = ojson::array(), ams = ojson::array(), best = ojson::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, c] : ra["curves"].items()) {
    const std::string label = name == "output_pre" ? "network (output before tanh)" : "mT2ll cut";
    for (size_t i = 0; i < c["roc"]["fpr"].size(); ++i)
      roc.push_back({{"fpr", c["roc"]["fpr"][i]}, {"tpr", c["roc"]["tpr"][i]}, {"score", label}});
    for (size_t i = 0; i < c["ams"]["threshold"].size(); ++i)
      ams.push_back({{"threshold", c["ams"]["threshold"][i]}, {"ams", c["ams"]["value"][i]}, {"score", label}});
    best.push_back({{"threshold", c["best"]["threshold"]}, {"ams", c["best"]["ams"]}, {"score", label}});
    rows.push_back({label, f3(jnum(c["auc"])), f2(jnum(c["best"]["ams"])),
                    fmt::format("{:.4g}", jnum(c["best"]["threshold"])),
                    fmt::format("{:.2f} / {:.2f}", jnum(c["best"]["s"]), jnum(c["best"]["b"]))});
  }
  s.html = html_table({"score", "AUC", "best AMS", "threshold (select ≥)", "s / b expected"}, rows);
  if (st.paper.contains("ams_network"))
    s.html +=
        para(fmt::format("Paper: AMS {} for the network against {} for the best mT2ll cut at {} GeV.",
                         st.paper["ams_network"].dump(), st.paper.value("ams_mt2_cut", nlohmann::json("-")).dump(),
                         st.paper.value("mt2_cut_gev", nlohmann::json("-")).dump()));
  const ojson color = {{"field", "score"}, {"type", "nominal"}, {"title", ""}};
  s.figures.push_back(
      figure("ROC curves of the network and of mT2ll",
             {{"data", {{"values", roc}}},
              {"width", 340},
              {"height", 300},
              {"mark", "line"},
              {"encoding",
               {{"x",
                 {{"field", "fpr"},
                  {"type", "quantitative"},
                  {"title", "background efficiency"},
                  {"scale", {{"type", "sqrt"}}}}},
                {"y", {{"field", "tpr"}, {"type", "quantitative"}, {"title", "signal efficiency"}}},
                {"order", {{"field", "fpr"}}},
                {"color", color}}}},
             fmt::format("Weighted ROC curves on the {} test events (background efficiency on a square-root axis), the "
                         "network's output before tanh and mT2ll as the score; curves thinned to the points kept in "
                         "views/roc_ams.json.",
                         ra["events"].dump())));
  s.figures.push_back(figure(
      "AMS against the threshold",
      {{"width", 520},
       {"height", 260},
       {"layer", ojson::array({ojson{{"data", {{"values", ams}}},
                                     {"mark", "line"},
                                     {"encoding",
                                      {{"x",
                                        {{"field", "threshold"},
                                         {"type", "quantitative"},
                                         {"title", "threshold (select score ≥ threshold)"}}},
                                       {"y", {{"field", "ams"}, {"type", "quantitative"}, {"title", "AMS (eq. 5)"}}},
                                       {"order", {{"field", "threshold"}}},
                                       {"color", color}}}},
                               ojson{{"data", {{"values", best}}},
                                     {"mark", {{"type", "point"}, {"filled", true}, {"size", 80}}},
                                     {"encoding",
                                      {{"x", {{"field", "threshold"}, {"type", "quantitative"}}},
                                       {"y", {{"field", "ams"}, {"type", "quantitative"}}},
                                       {"color", color}}}}})},
       {"resolve", {{"scale", {{"x", "shared"}}}}}},
      fmt::format("AMS = sqrt(2((s + b + b_r) ln(1 + s/(b + b_r)) - s)) at {:.1f} fb^-1 and b_r = {} when selecting "
                  "events at or above each threshold; dots mark the best cut. The network's output and mT2ll [GeV] "
                  "share the horizontal axis only as numbers.",
                  jnum(ra["lumi_fb"]), jnum(ra["br"]))));
  // Two thresholds on one axis mislead: give each score its own panel.
  auto& spec = s.figures.back().spec;
  ojson layer = spec["layer"];
  spec.erase("layer");
  spec.erase("resolve");
  spec.erase("width");
  spec.erase("height");
  ojson panels = ojson::array();
  for (const auto& [name, c] : ra["curves"].items()) {
    const std::string label = name == "output_pre" ? "network (output before tanh)" : "mT2ll cut";
    ojson l = layer;
    for (auto& x : l) x["transform"] = ojson::array({ojson{{"filter", {{"field", "score"}, {"equal", label}}}}});
    l[0]["encoding"]["x"]["title"] = name == "output_pre" ? "threshold on the output before tanh" : "mT2ll cut [GeV]";
    panels.push_back({{"width", 300}, {"height", 240}, {"title", label}, {"layer", l}});
  }
  spec["hconcat"] = panels;
  return s;
}

ReportSection fig9_section(const Study& st) {
  ReportSection s;
  s.title = "Figure 9: neurons against mT2ll, MET and the output (NMI)";
  s.source = st.path("nmi.csv");
  const Csv n = read_csv(st.path("nmi.csv"));
  ojson rows = ojson::array();
  for (size_t r = 0; r < n.rows.size(); ++r) {
    int layer = -1, idx = -1;
    const std::string name = n.text(r, "neuron");
    if (std::sscanf(name.c_str(), "L%dN%d", &layer, &idx) != 2) continue;
    for (const char* var : {"mt2ll", "met", "output"})
      rows.push_back({{"neuron", name}, {"layer", layer}, {"index", idx}, {"variable", var}, {"nmi", n.num(r, var)}});
  }
  s.figures.push_back(figure(
      "NMI of every hidden neuron with mT2ll, MET and the output",
      {{"data", {{"values", rows}}},
       {"facet",
        {{"column",
          {{"field", "variable"}, {"type", "nominal"}, {"title", ""}, {"sort", {"mt2ll", "met", "output"}}}}}},
       {"spec",
        {{"width", 260},
         {"height", 220},
         {"mark", "rect"},
         {"encoding",
          {{"x",
            {{"field", "index"},
             {"type", "ordinal"},
             {"title", "neuron in layer"},
             {"axis", {{"labels", false}, {"ticks", false}}}}},
           {"y", {{"field", "layer"}, {"type", "ordinal"}, {"title", "hidden layer"}}},
           {"color",
            {{"field", "nmi"}, {"type", "quantitative"}, {"title", "NMI"}, {"scale", {{"scheme", "viridis"}}}}},
           {"tooltip", ojson::array({ojson{{"field", "neuron"}}, ojson{{"field", "nmi"}, {"format", ".3f"}}})}}}}}},
      fmt::format("Normalized mutual information (eq. 1 of the paper, binned with equal-frequency bins) of each of "
                  "the {} hidden neurons with mT2ll, MET and the output before tanh, on the explanation events "
                  "(nmi.csv).",
                  n.rows.size())));
  if (st.has("nmi.json")) {
    const auto j = read_json(st.path("nmi.json"));
    std::vector<std::vector<std::string>> t;
    int k = 0;
    const bool have = st.paper.contains("fig9_nmi_mt2");
    for (const char* key : {"L2", "L3", "L5"}) {
      if (j["fig9"].contains(key)) {
        const auto& f = j["fig9"][key];
        auto paper = [&](const char* pk) {
          return have && st.paper.contains(pk) ? f2(st.paper[pk][k].get<double>()) : std::string("-");
        };
        t.push_back({key, f["neuron"].get<std::string>(), f2(jnum(f["mt2ll"])), paper("fig9_nmi_mt2"),
                     f2(jnum(f["met"])), paper("fig9_nmi_met"), f2(jnum(f["output"])), paper("fig9_nmi_output")});
      }
      ++k;
    }
    s.html = html_table({"layer", "top neuron", "NMI mT2ll", "paper", "NMI MET", "paper", "NMI output", "paper"}, t);
    s.html +=
        para(fmt::format("{} events, {} equal-frequency bins. The top neuron of a layer is the one with the "
                         "largest activation difference of the output (ad_layers.json).",
                         j["events"].dump(), j["bins"].dump()));
  }
  for (const auto& f : st.matching("views", "fig09_", ".json")) add_view(st, s, f);
  if (st.matching("views", "fig09_", ".json").empty()) st.missing("Figure 9 neuron histograms", "views/fig09_*.json");
  return s;
}

ReportSection ad_section(const Study& st) {
  ReportSection s;
  s.title = "Tables 1-4: activation differences";
  s.source = st.path("ad_layers.json");
  const auto layers = read_json(st.path("ad_layers.json"));
  std::vector<std::vector<std::string>> t;
  for (const auto& [k, v] : layers.items()) {
    std::string rank;
    for (const auto& e : v["ranking"]) {
      if (!rank.empty()) rank += ", ";
      rank += fmt::format("{} {:.2f}", e["variable"].get<std::string>(), jnum(e["ad"]));
      if (rank.size() > 80) break;
    }
    t.push_back({k, v["top"].get<std::string>(), rank});
  }
  s.html = "<h3>Neurons of layers 2, 3 and 5 ranked by their activation difference for the output</h3>\n" +
           html_table({"layer", "top neuron", "ranking (AD)"}, t);
  const std::vector<std::pair<std::string, std::string>> tabs = {{"ad_L2.csv", "table1_L2N12"},
                                                                 {"ad_L3.csv", ""},
                                                                 {"ad_L5.csv", "table2_L5N4"},
                                                                 {"ad_output.csv", "table4_output"}};
  ojson bars = ojson::array();
  for (const auto& [file, paper_key] : tabs) {
    if (!st.has(file)) {
      st.missing("Activation-difference table", file);
      continue;
    }
    const Csv c = read_csv(st.path(file));
    std::string neuron = file.substr(3, file.size() - 7);
    if (layers.contains(neuron)) neuron = layers[neuron]["top"].get<std::string>();
    if (neuron == "output") neuron = "output:pre";
    std::vector<std::vector<std::string>> rows;
    const nlohmann::json paper =
        !paper_key.empty() && st.paper.contains(paper_key) ? st.paper[paper_key] : nlohmann::json();
    for (size_t r = 0; r < std::min<size_t>(c.rows.size(), 8); ++r) {
      const std::string sym = c.text(r, "symbol");
      rows.push_back({std::to_string(r + 1), sym, fmt::format("{:.2f} ± {:.2f}", c.num(r, "ad"), c.num(r, "err")),
                      paper.is_object() && paper.contains(sym) ? f2(paper[sym].get<double>()) : "-"});
      bars.push_back(
          {{"neuron", neuron}, {"variable", sym}, {"ad", c.num(r, "ad")}, {"err", c.num(r, "err")}, {"rank", r + 1}});
    }
    s.html += fmt::format("<h3>Inputs ranked for {}{}</h3>\n", escape_html(neuron),
                          paper.is_object() ? escape_html(" (paper: " + paper_key + ")") : "");
    if (paper.is_object() && !neuron.empty() &&
        paper_key.find(neuron.substr(0, std::min<size_t>(2, neuron.size()))) == std::string::npos)
      s.html += para("The paper's neuron is named in its table key; ours is the top neuron of our network's layer.");
    s.html += html_table({"rank", "input", "AD (unbox)", "AD (paper)"}, rows);
  }
  s.figures.push_back(figure(
      "The largest activation differences",
      {{"data", {{"values", bars}}},
       {"facet", {{"column", {{"field", "neuron"}, {"type", "nominal"}, {"title", ""}}}}},
       {"spec",
        {{"width", 170},
         {"height", 200},
         {"mark", "bar"},
         {"encoding",
          {{"y", {{"field", "variable"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", ""}}},
           {"x", {{"field", "ad"}, {"type", "quantitative"}, {"title", "activation difference"}}}}}}},
       {"resolve", {{"scale", {{"y", "independent"}}}}}},
      "Activation difference (the paper's eq. 2: the mean change of the neuron when one input is replaced by its "
      "value in another event, with bootstrap errors in the tables) of the top eight inputs, per neuron "
      "(ad_L*.csv, ad_output.csv)."));
  return s;
}

// Maximization populations: 1-D histograms, 2-D heat maps and 3-D scatter plots as the analysis
// ranked them (maximize_figures.cpp), and the ranked triples as a table.
void maximize_figures(const Study& st, ReportSection& s, const std::string& file) {
  const auto j = read_json(st.path(file));
  const auto& sum = j["summary"];
  const auto& h = j["histograms"];
  const std::string neuron = sum["neuron"].get<std::string>();
  const std::string how = fmt::format(
      "{} of {} starting points converged ({:.0f} %) above the activation threshold {:.4g} (the 99th percentile of "
      "the neuron on the explanation events), mean {:.0f} steps; study seed {}.",
      sum["converged"].dump(), sum["points"].dump(), 100 * jnum(sum["converged_fraction"]), jnum(sum["threshold"]),
      jnum(sum["mean_steps"]), st.seed_text);
  maximize_histogram_figures(
      h, neuron, how + " (" + file + ")", [&](const std::string& c) { return st.symbol(c); }, s, 2);
  std::vector<std::vector<std::string>> t3;
  int rank = 0;
  for (const auto& x : h["three"]["histograms"]) {
    if (++rank > 5) break;
    std::string vars;
    for (const auto& v : x["variables"]) vars += (vars.empty() ? "" : ", ") + st.symbol(v.get<std::string>());
    t3.push_back({std::to_string(rank), vars, f3(jnum(x["score"]))});
  }
  if (!t3.empty())
    s.html += fmt::format("<h3>{}: triples of inputs ranked by total correlation</h3>\n", escape_html(neuron)) +
              html_table({"rank", "inputs", "total correlation [nats]"}, t3);
}

ReportSection maximize_section(const Study& st) {
  ReportSection s;
  s.title = "Figures 10-12: activation maximization and the caveman variable";
  s.source = st.path("maximize_L2_histograms.json");
  s.html = para(
      "The paper maximizes L2N12 (Figure 10, activation threshold 50) and L5N4 (Figure 12) of its network; unbox "
      "maximizes the top neuron of layers 2 and 5 of its own network, whose numbering differs.");
  for (const char* f : {"maximize_L2_histograms.json", "maximize_L5_histograms.json"})
    if (st.has(f))
      maximize_figures(st, s, f);
    else
      st.missing("Maximization histograms", f);
  if (st.has("caveman.json")) {
    const auto c = read_json(st.path("caveman.json"));
    s.html += "<h3>Caveman variable of " + escape_html(c["neuron"].get<std::string>()) + " (Figure 11)</h3>\n";
    s.html += "<p><code>" + escape_html(c["formula"].get<std::string>()) + "</code></p>\n";
    s.html += html_table(
        {"variable", "AUC (held-out events)", "correlation with the neuron"},
        {{"the neuron", f3(jnum(c["neuron_auc"])), "1"},
         {"caveman variable", f3(jnum(c["auc"])), f3(jnum(c["correlation_with_neuron"]))},
         {"linear combination", f3(jnum(c["linear"]["auc"])), f3(jnum(c["linear"]["correlation_with_neuron"]))}});
    ojson bars = ojson::array({ojson{{"variable", "neuron"}, {"auc", c["neuron_auc"]}},
                               ojson{{"variable", "caveman"}, {"auc", c["auc"]}},
                               ojson{{"variable", "linear"}, {"auc", c["linear"]["auc"]}}});
    s.figures.push_back(figure(
        "Caveman variable against its neuron",
        {{"data", {{"values", bars}}},
         {"width", 300},
         {"height", 120},
         {"layer",
          ojson::array(
              {ojson{{"mark", "bar"},
                     {"encoding",
                      {{"y", {{"field", "variable"}, {"type", "nominal"}, {"sort", nullptr}, {"title", ""}}},
                       {"x",
                        {{"field", "auc"},
                         {"type", "quantitative"},
                         {"title", "AUC"},
                         {"scale", {{"domain", {0, 1}}}}}}}}},
               ojson{{"mark", {{"type", "rule"}, {"strokeDash", {4, 4}}}}, {"encoding", {{"x", {{"datum", 0.5}}}}}}})}},
        fmt::format("Discrimination of the caveman variable (fitted on {} events to {} converged maximization points, "
                    "{} island terms kept of {}) against the neuron and a linear fit, AUC on {} held-out events "
                    "(caveman.json). AUC below 1/2: the variable rises for background.",
                    c["fit_events"].dump(), c["population_points"].dump(), c["terms"].size(), c["candidates"].dump(),
                    c["test_events"].dump())));
    caveman_figures(c, "caveman.json", s);
  } else {
    st.missing("Caveman variable", "caveman.json");
  }
  return s;
}

ReportSection fig13_section(const Study& st) {
  ReportSection s;
  s.title = "Figure 13: MET in lepton-MET angle categories";
  s.source = st.path("fig13_met_histograms.csv");
  const Csv h = read_csv(st.path("fig13_met_histograms.csv"));
  ojson rows = ojson::array();
  std::map<std::string, double> totals;
  for (size_t k = 2; k < h.header.size(); ++k)
    for (size_t r = 0; r < h.rows.size(); ++r) totals[h.header[k]] += h.num(r, h.header[k]);
  for (const char* sample : {"ttbar", "signal"})
    for (const char* cat : {"opposite", "adjacent", "rest"}) {
      const std::string col = std::string(sample) + "_" + cat;
      if (h.col(col) < 0) continue;
      for (size_t r = 0; r < h.rows.size(); ++r)
        rows.push_back({{"sample", sample == std::string("ttbar") ? "tt-bar" : "stop signal"},
                        {"class", std::string("both leptons ") + (cat == std::string("rest") ? "otherwise" : cat)},
                        {"lo", h.num(r, "met_lo")},
                        {"hi", h.num(r, "met_hi")},
                        {"value", totals[col] > 0 ? h.num(r, col) / totals[col] : 0.0}});
    }
  ojson color = {{"domain", {"both leptons opposite", "both leptons adjacent", "both leptons otherwise"}},
                 {"range", {"#2ca02c", "#ff7f0e", "#555555"}}};
  ojson panels = ojson::array();
  for (const char* sample : {"tt-bar", "stop signal"}) {
    ojson sub = ojson::array();
    for (const auto& r : rows)
      if (r["sample"] == sample) sub.push_back(r);
    ojson p = step_histogram(sub, axis_title("met"), "fraction per 25 GeV", color, 0.0);
    p["title"] = sample;
    p["width"] = 300;
    p["height"] = 220;
    panels.push_back(p);
  }
  s.figures.push_back(
      figure("MET for leptons opposite, adjacent to or elsewhere from the MET", {{"hconcat", panels}},
             "E_T^miss of every selected event of tt-bar (left) and the stop signal (right), for both leptons opposite "
             "the MET (cos Δφ < -1/2), both adjacent (cos Δφ > 1/2) and the rest, each category normalized to unit sum "
             "(weighted, expected events at the luminosity; the last bin holds the overflow above 575 GeV). "
             "fig13_met_histograms.csv."));
  if (st.has("fig13_met_angles.csv")) {
    const Csv m = read_csv(st.path("fig13_met_angles.csv"));
    std::vector<std::vector<std::string>> t;
    for (size_t r = 0; r < m.rows.size(); ++r)
      t.push_back({m.text(r, "sample"), fmt::format("{:.0f}", m.num(r, "median_met_opposite")),
                   fmt::format("{:.0f}", m.num(r, "median_met_adjacent")),
                   fmt::format("{:.0f}", m.num(r, "median_met_rest")),
                   fmt::format("{:.0f}", m.num(r, "median_met_all")),
                   fmt::format("{:.0f} / {:.0f} / {:.0f}", m.num(r, "events_opposite"), m.num(r, "events_adjacent"),
                               m.num(r, "events_rest"))});
    s.html = html_table(
                 {"sample", "median MET opposite [GeV]", "adjacent", "otherwise", "all", "events opp./adj./other"}, t) +
             para(
                 "The paper: the background's MET is much more sensitive to the lepton angles than the "
                 "non-stealthy signal's; requiring both leptons opposite the MET strongly suppresses it.");
  }
  return s;
}

ReportSection views_section(const Study& st, const std::string& title, const std::string& prefix,
                            const std::string& intro) {
  ReportSection s;
  s.title = title;
  const auto files = st.matching("views", prefix, ".json");
  s.source = (st.dir / "views").string();
  s.html = para(intro);
  for (const auto& f : files) add_view(st, s, f);
  if (files.empty()) {
    st.missing(title, "views/" + prefix + "*.json");
    s.html.clear();
  }
  return s;
}

ReportSection fig20_section(const Study& st) {
  ReportSection s;
  s.title = "Figure 20: ISR pT in slices of the output";
  s.source = st.path("fig20_isr.csv");
  const Csv h = read_csv(st.path("fig20_isr.csv"));
  ojson rows = ojson::array();
  const std::vector<std::pair<std::string, std::string>> slices = {{"signal_like", "most signal-like 10 %"},
                                                                   {"middle", "middle 10 %"},
                                                                   {"background_like", "most background-like 10 %"}};
  for (const auto& [col, label] : slices) {
    double tot = 0;
    for (size_t r = 0; r < h.rows.size(); ++r) tot += h.num(r, col);
    for (size_t r = 0; r < h.rows.size(); ++r)
      rows.push_back({{"class", label},
                      {"lo", h.num(r, "lo")},
                      {"hi", h.num(r, "hi")},
                      {"value", tot > 0 ? h.num(r, col) / tot : 0.0}});
  }
  ojson color = {{"domain", {"most signal-like 10 %", "middle 10 %", "most background-like 10 %"}},
                 {"range", {kSignal, "#555555", kBackground}}};
  ojson spec = step_histogram(rows, axis_title("isr_pt"), "fraction per bin", color, 0.0);
  spec["width"] = 520;
  spec["height"] = 260;
  std::string counts;
  if (st.has("fig20_isr.json")) {
    const auto j = read_json(st.path("fig20_isr.json"));
    std::vector<std::vector<std::string>> t;
    for (const auto& [col, label] : slices)
      if (j["slices_result"].contains(col)) {
        const auto& v = j["slices_result"][col];
        t.push_back({label, v["events"].dump(), f2(jnum(v["signal_fraction"])),
                     fmt::format("{:.0f}", jnum(v["median_isr_pt"])), fmt::format("{:.0f}", jnum(v["mean_isr_pt"]))});
      }
    s.html = html_table({"slice of the output", "events", "signal fraction", "median p_T^ISR [GeV]", "mean [GeV]"}, t) +
             para("The paper: events the network selects as signal are much more likely to have high ISR pT.");
  }
  s.figures.push_back(figure("ISR pT for the most signal-like, middle and most background-like events", spec,
                             "p_T^ISR (eq. 6 of the paper) of the test events in three slices of the network output "
                             "before tanh (its 10 % most signal-like, middle 10 % and 10 % most background-like), "
                             "signal and background mixed unweighted as in the paper, each slice normalized to unit "
                             "sum; the last bin holds everything above 500 GeV. fig20_isr.csv."));
  return s;
}

// A ranking CSV (rank, feature, symbol, mnr, mnr_signal, mnr_background) as grouped bars.
ReportSection ranking_section(const Study& st, const std::string& title, const std::vector<std::string>& files) {
  ReportSection s;
  s.title = title;
  s.source = st.path(files[0]);
  ojson rows = ojson::array();
  std::vector<std::vector<std::string>> t;
  for (const auto& f : files) {
    if (!st.has(f)) {
      st.missing(title, f);
      continue;
    }
    const Csv c = read_csv(st.path(f));
    const std::string method = f == "lrp.csv" ? "LRP (epsilon-gamma-box)" : f == "ig.csv" ? "Integrated Gradients" : f;
    for (size_t r = 0; r < std::min<size_t>(c.rows.size(), 10); ++r) {
      const std::string sym = c.text(r, "symbol");
      rows.push_back({{"method", method},
                      {"feature", sym},
                      {"rank", r + 1},
                      {"class", "signal"},
                      {"mnr", c.num(r, "mnr_signal")}});
      rows.push_back({{"method", method},
                      {"feature", sym},
                      {"rank", r + 1},
                      {"class", "background"},
                      {"mnr", c.num(r, "mnr_background")}});
      if (r < 6) t.push_back({method, std::to_string(r + 1), sym, f3(c.num(r, "mnr"))});
    }
  }
  s.html = html_table({"method", "rank", "input", "mean normalized relevance"}, t);
  s.figures.push_back(figure(
      title,
      {{"data", {{"values", rows}}},
       {"facet", {{"column", {{"field", "method"}, {"type", "nominal"}, {"title", ""}}}}},
       {"spec",
        {{"width", 220},
         {"height", 230},
         {"mark", "bar"},
         {"encoding",
          {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", ""}}},
           {"yOffset", {{"field", "class"}}},
           {"x", {{"field", "mnr"}, {"type", "quantitative"}, {"title", "mean normalized relevance"}}},
           {"color",
            {{"field", "class"},
             {"type", "nominal"},
             {"title", ""},
             {"scale", color_scale({"signal", "background"})}}}}}}},
       {"resolve", {{"scale", {{"y", "independent"}}}}}},
      "Relevance of the output before tanh distributed to the inputs, each event's relevances normalized to unit "
      "absolute sum, averaged over signal and over background events of the explanation set, top ten inputs "
      "ranked by the mean over all events. For flat inputs this ranking is the mean relevance map."));
  return s;
}

ReportSection taylor_section(const Study& st) {
  ReportSection s;
  s.title = "Taylor coefficients of the output";
  s.source = st.path("taylor.csv");
  const Csv c = read_csv(st.path("taylor.csv"));
  std::vector<size_t> order(c.rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.num(a, "mean_abs") > c.num(b, "mean_abs"); });
  ojson rows = ojson::array();
  std::vector<std::vector<std::string>> t;
  for (size_t r = 0; r < std::min<size_t>(order.size(), 15); ++r) {
    const size_t k = order[r];
    rows.push_back(
        {{"feature", c.text(k, "feature")}, {"rank", r + 1}, {"class", "signal"}, {"value", c.num(k, "signal")}});
    rows.push_back({{"feature", c.text(k, "feature")},
                    {"rank", r + 1},
                    {"class", "background"},
                    {"value", c.num(k, "background")}});
    t.push_back({std::to_string(r + 1), c.text(k, "feature"), c.text(k, "order"),
                 fmt::format("{:.4g}", c.num(k, "mean_abs")), f3(c.num(k, "share"))});
  }
  s.html = html_table({"rank", "coefficient", "order", "mean |t|", "share"}, t);
  s.figures.push_back(
      figure("Largest Taylor coefficients",
             {{"data", {{"values", rows}}},
              {"width", 420},
              {"height", 320},
              {"mark", "bar"},
              {"encoding",
               {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", ""}}},
                {"yOffset", {{"field", "class"}}},
                {"x", {{"field", "value"}, {"type", "quantitative"}, {"title", "mean |Taylor coefficient|"}}},
                {"color",
                 {{"field", "class"},
                  {"type", "nominal"},
                  {"title", ""},
                  {"scale", color_scale({"signal", "background"})}}}}}},
             "First- and second-order Taylor coefficients of the output before tanh (exact derivatives), mean absolute "
             "value over signal and background events, the fifteen largest over all events (taylor.csv)."));
  return s;
}

ReportSection ado_section(const Study& st) {
  ReportSection s;
  s.title = "ADO: the network against mT2ll";
  s.source = st.path("ado.json");
  const auto j = read_json(st.path("ado.json"));
  const auto& r = j["result"];
  s.html = html_table({"f", "g", "ADO", "concordant", "discordant", "tied", "signal × background pairs"},
                      {{j.value("f", ""), j.value("g", ""), f3(jnum(r["ado"])), f3(jnum(r["concordant"])),
                        f3(jnum(r["discordant"])), f3(jnum(r["tied"])), r["n_pairs"].dump()}});
  s.html += para(
      "Average decision ordering: the weighted fraction of signal-background pairs that the network and mT2ll "
      "order the same way. The guided search over single variables (unbox ado --search) is not part of the stop "
      "study.");
  return s;
}

}  // namespace

bool is_stop_study_folder(const std::string& dir) {
  const fs::path p = fs::path(dir) / "summary.json";
  if (!fs::exists(p)) return false;
  try {
    const auto j = nlohmann::json::parse(read_text(p.string()));
    return j.is_object() && j.contains("analysis") && j.contains("paper") && j.contains("point");
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<ReportSection> stop_study_sections(const std::string& dir, std::vector<std::string>& used,
                                               std::vector<std::string>& absent) {
  Study st;
  st.dir = dir;
  st.used = &used;
  st.absent = &absent;
  st.summary = read_json(st.path("summary.json"));
  st.paper = st.summary.value("paper", nlohmann::json::object());
  st.seed_text = st.summary.contains("options") ? st.summary["options"].value("seed", nlohmann::json(0)).dump() : "?";
  std::vector<ReportSection> out;
  out.push_back(summary_section(st));
  auto want = [&](const std::vector<std::string>& files, const std::string& what, auto make) {
    for (const auto& f : files)
      if (!st.has(f)) {
        st.missing(what, f);
        return;
      }
    out.push_back(make(st));
  };
  want({"events.json"}, "Events and selection", events_section);
  if (st.has("views/model.json") || st.has("training.csv"))
    out.push_back(model_section(st));
  else
    st.missing("Model and training", "views/model.json and training.csv");
  want({"metrics.json"}, "Figure 8 and the AMS", fig8_section);
  want({"nmi.csv"}, "Figure 9 (NMI)", fig9_section);
  want({"ad_layers.json"}, "Tables 1-4 (activation differences)", ad_section);
  if (st.has("maximize_L2_histograms.json") || st.has("maximize_L5_histograms.json") || st.has("caveman.json"))
    out.push_back(maximize_section(st));
  else
    st.missing("Figures 10-12 (maximization, caveman)", "maximize_L*_histograms.json and caveman.json");
  want({"fig13_met_histograms.csv"}, "Figure 13", fig13_section);
  out.push_back(views_section(st, "Figure 16: lepton angles below and above MET = 245 GeV", "fig16_",
                              "The paper's Figure 16 (at (350, 200)): phi_l1 against phi_l2 for MET below and above "
                              "245 GeV, signal, background and their ratio, each normalized."));
  out.push_back(views_section(st, "Figure 19: log MET + phi_l1 + phi_l2 against the output", "fig19_",
                              "The paper's simple variable reproduces the gross behaviour of the network but not "
                              "its discriminating power."));
  want({"fig20_isr.csv"}, "Figure 20", fig20_section);
  out.push_back(views_section(st, "Figures 26-27: lepton angles and pseudorapidities", "fig2",
                              "The paper's Figures 26 and 27 (at (185, 5)): phi_l1 against phi_l2, and eta_l1 "
                              "against eta_l2 for all events and after cos phi_l1 < -0.5, cos phi_l2 < -0.5, MET > "
                              "110 GeV."));
  want({"taylor.csv"}, "Taylor coefficients", taylor_section);
  if (st.has("lrp.csv") || st.has("ig.csv"))
    out.push_back(ranking_section(st, "LRP and Integrated Gradients rankings", {"lrp.csv", "ig.csv"}));
  else
    st.missing("LRP and Integrated Gradients", "lrp.csv and ig.csv");
  want({"ado.json"}, "ADO", ado_section);
  // Sections without figures and without files would only say "absent": drop them.
  std::vector<ReportSection> kept;
  for (auto& s : out)
    if (!s.figures.empty() || !s.html.empty()) kept.push_back(std::move(s));
  // Every other file of the folder the report did not read is still listed by the caller.
  for (const char* f :
       {"splits.json", "seeds.csv", "test_events.csv", "model.unbox", "fig8_output_histogram.csv", "summary.txt",
        "maximize_L2.csv", "maximize_L5.csv", "spin_correlation.json", "fig13_met_angles.json"})
    used.push_back((fs::path(dir) / f).string());
  return kept;
}

}  // namespace unbox::report_detail
