// The report's sections of single result files, one per method's `--out` (or `--json`) file:
// training curves, Taylor rankings and learning curves, maximization populations, caveman
// variables with their ROC against the neuron, ADO and the guided search, activation
// differences, relevance rankings, profiles and maps. Every figure's data are copied from the
// file (the tests compare them), nothing is recomputed here.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>

#include "report_internal.hpp"

namespace unbox::report_detail {

namespace fs = std::filesystem;

namespace {

// j[key], or null when j is not an object holding key (a const operator[] must not miss).
const nlohmann::json& get(const nlohmann::json& j, const char* key) {
  static const nlohmann::json null;
  if (!j.is_object()) return null;
  const auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string fname(const std::string& path) { return fs::path(path).filename().string(); }
std::string g4(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("-"); }
std::string f4(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : std::string("-"); }

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><thead><tr>";
  for (const auto& h : head) t += "<th>" + escape_html(h) + "</th>";
  t += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    t += "<tr>";
    for (const auto& c : r) t += "<td>" + escape_html(c) + "</td>";
    t += "</tr>";
  }
  return t + "</tbody></table>\n";
}

ReportFigure figure(const std::string& title, ojson spec, const std::string& caption) {
  ReportFigure f;
  f.title = title;
  spec["$schema"] = kSchema;
  f.spec = std::move(spec);
  f.caption = caption;
  return f;
}

ojson qfield(const std::string& field, const std::string& title) {
  return {{"field", field}, {"type", "quantitative"}, {"title", title}};
}

// `unbox train --json`: loss and validation loss per epoch, validation AUC per epoch.
ReportSection train_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Training curves ({})", fname(path));
  s.source = path;
  ojson loss = ojson::array(), auc = ojson::array();
  for (const auto& h : j["history"]) {
    const auto e = h["epoch"].get<long long>();
    loss.push_back({{"epoch", e}, {"curve", "training loss"}, {"value", jnum(get(h, "loss"))}});
    if (h.contains("val_loss"))
      loss.push_back({{"epoch", e}, {"curve", "validation loss"}, {"value", jnum(get(h, "val_loss"))}});
    if (h.contains("val_auc")) auc.push_back({{"epoch", e}, {"value", jnum(get(h, "val_auc"))}});
  }
  s.html = table({"model", "epochs run", "best epoch", "best validation loss", "best validation AUC",
                  "events (train / "
                  "validation)",
                  "seed"},
                 {{j.value("model", std::string("-")), std::to_string(j.value("epochs_run", 0)),
                   std::to_string(j.value("best_epoch", 0)), f4(jnum(get(j, "best_val_loss"))),
                   j.contains("best_val_auc") ? f4(jnum(get(j, "best_val_auc"))) : "-",
                   fmt::format("{} / {}", j.value("train_events", 0LL), j.value("validation_events", 0LL)),
                   j.contains("seed") ? get(j, "seed").dump() : "-"}});
  const std::string how = fmt::format(
      "Loss {} on {} training and {} validation events of {}, batch {}, seed {}; the model kept is the one of epoch "
      "{} (best validation loss).",
      j.value("loss", std::string("")), j.value("train_events", 0LL), j.value("validation_events", 0LL),
      j.value("data", std::string("the data")), j.contains("batch") ? get(j, "batch").dump() : "?",
      j.contains("seed") ? get(j, "seed").dump() : "?", j.value("best_epoch", 0));
  const ojson color = {{"domain", {"training loss", "validation loss"}}, {"range", {"#444444", "#ff7f0e"}}};
  s.figures.push_back(
      figure("Loss per epoch",
             {{"data", {{"values", loss}}},
              {"width", 420},
              {"height", 220},
              {"mark", {{"type", "line"}, {"point", true}}},
              {"encoding",
               {{"x", qfield("epoch", "epoch")},
                {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", "loss"}, {"scale", {{"zero", false}}}}},
                {"color", {{"field", "curve"}, {"type", "nominal"}, {"title", ""}, {"scale", color}}}}}},
             "Mean training loss over each epoch and the validation loss after it. " + how));
  if (!auc.empty())
    s.figures.push_back(
        figure("Validation AUC per epoch",
               {{"data", {{"values", auc}}},
                {"width", 420},
                {"height", 180},
                {"mark", {{"type", "line"}, {"point", true}, {"color", "#2ca02c"}}},
                {"encoding",
                 {{"x", qfield("epoch", "epoch")},
                  {"y",
                   {{"field", "value"},
                    {"type", "quantitative"},
                    {"title", "validation AUC"},
                    {"scale", {{"zero", false}}}}}}}},
               "Area under the ROC curve of the network on the validation events after each epoch. " + how));
  return s;
}

// `unbox taylor --out`: the coefficients ranked by mean |t| over all events, per class.
ReportSection taylor_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Taylor coefficients of {} ({})", j.value("neuron", std::string("the output")), fname(path));
  s.source = path;
  std::vector<const nlohmann::json*> f;
  for (const auto& x : j["features"]) f.push_back(&x);
  std::stable_sort(f.begin(), f.end(),
                   [](const auto* a, const auto* b) { return jnum(get((*a), "value")) > jnum(get((*b), "value")); });
  if (f.size() > 15) f.resize(15);
  const bool per_class = !f.empty() && f.front()->contains("signal") && f.front()->contains("background");
  ojson rows = ojson::array();
  std::vector<std::vector<std::string>> t;
  int rank = 0;
  for (const auto* x : f) {
    ++rank;
    const std::string n = (*x)["name"].get<std::string>();
    if (per_class)
      for (const char* c : {"signal", "background"})
        rows.push_back({{"feature", n}, {"rank", rank}, {"class", c}, {"value", jnum((*x)[c])}});
    else
      rows.push_back({{"feature", n}, {"rank", rank}, {"class", "all"}, {"value", jnum(get((*x), "value"))}});
    t.push_back({std::to_string(rank), n, get((*x), "order").dump(), g4(jnum(get((*x), "value"))),
                 per_class ? g4(jnum(get((*x), "signal"))) : "-", per_class ? g4(jnum(get((*x), "background"))) : "-",
                 x->contains("share") ? fmt::format("{:.3f}", jnum(get((*x), "share"))) : "-"});
  }
  s.html = table({"rank", "coefficient", "order", "mean |t|", "signal", "background", "share"}, t);
  if (j.contains("notes"))
    for (const auto& n : j["notes"]) s.html += "<p class=\"source\">" + escape_html(n.get<std::string>()) + "</p>\n";
  const std::vector<std::string> classes =
      per_class ? std::vector<std::string>{"signal", "background"} : std::vector<std::string>{"all"};
  s.figures.push_back(figure(
      fmt::format("Largest Taylor coefficients of {}", j.value("neuron", std::string("the output"))),
      {{"data", {{"values", rows}}},
       {"width", 420},
       {"height", std::max(120, 20 * rank)},
       {"mark", "bar"},
       {"encoding",
        {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", ""}}},
         {"yOffset", {{"field", "class"}}},
         {"x", qfield("value", "mean |Taylor coefficient|")},
         {"color", {{"field", "class"}, {"type", "nominal"}, {"title", ""}, {"scale", color_scale(classes)}}}}}},
      fmt::format("Mean absolute Taylor coefficient <|t|> of {} ({}) up to order {} ({} convention, {} units) over "
                  "{} events{}, the {} largest ranked over all events.",
                  j.value("neuron", std::string("the output")), j.value("target", std::string("")), j.value("order", 0),
                  j.value("convention", std::string("monomial")), j.value("units", std::string("standardized")),
                  j.value("events", 0LL),
                  per_class ? fmt::format(" (signal weight {:g}, background weight {:g})",
                                          jnum(j.value("weight_signal", nlohmann::json(0))),
                                          jnum(j.value("weight_background", nlohmann::json(0))))
                            : "",
                  rank)));
  return s;
}

// `unbox train --track-taylor` (MODEL.taylor.csv): <|t|> of each coefficient against the
// optimizer step, the eight largest at the end drawn.
ReportSection taylor_curve_section(const Dataset& d, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Taylor coefficients during training ({})", fname(path));
  s.source = path;
  std::vector<std::pair<std::string, double>> last;
  const Index n = d.events();
  for (const auto& name : d.names())
    if (name != "step" && name != "epoch") last.emplace_back(name, n > 0 ? d.get(name)[n - 1] : 0.0);
  std::stable_sort(last.begin(), last.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (last.size() > 8) last.resize(8);
  ojson rows = ojson::array();
  std::vector<std::string> domain;
  for (const auto& [name, v] : last) {
    domain.push_back(name);
    for (Index e = 0; e < n; ++e)
      rows.push_back(
          {{"step", d.get("step")[e]}, {"epoch", d.get("epoch")[e]}, {"coefficient", name}, {"value", d.get(name)[e]}});
  }
  s.figures.push_back(figure(
      "Learning curves of the Taylor coefficients",
      {{"data", {{"values", rows}}},
       {"width", 480},
       {"height", 260},
       {"mark", {{"type", "line"}, {"point", rows.size() < 400}}},
       {"encoding",
        {{"x", qfield("step", "optimizer step")},
         {"y", qfield("value", "mean |Taylor coefficient|")},
         {"color", {{"field", "coefficient"}, {"type", "nominal"}, {"title", "coefficient"}, {"sort", domain}}},
         {"tooltip", ojson::array({ojson{{"field", "coefficient"}}, ojson{{"field", "epoch"}},
                                   ojson{{"field", "value"}, {"format", ".4g"}}})}}}},
      fmt::format("Mean absolute Taylor coefficients of the output recorded during training ({} records, up to epoch "
                  "{:g}), the {} largest at the last record; rising curves are what the network learned (Taylor "
                  "learning curves).",
                  n, n > 0 ? d.get("epoch")[n - 1] : 0.0, last.size())));
  return s;
}

// `unbox maximize --json` (the run's summary): the box, convergence and boundary fractions.
ReportSection maximize_summary_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Activation maximization of {} ({})", j.value("neuron", std::string("?")), fname(path));
  s.source = path;
  std::vector<std::vector<std::string>> t;
  for (const auto& in : j["inputs"])
    t.push_back({in["name"].get<std::string>(), g4(jnum(get(in, "lo"))), g4(jnum(get(in, "hi"))),
                 fmt::format("{:.3f}", jnum(get(in, "boundary_fraction"))),
                 in.value("held", false) ? "held" : (in.value("discrete", false) ? "discrete" : "")});
  s.html =
      "<p>" +
      escape_html(fmt::format(
          "{} {} from {} starting points ({} box), threshold {:g}: {} converged ({:.1f} %), mean {:.1f} steps. "
          "Population: {}; ranked histograms: {}.",
          j.value("direction", std::string("maximize")) == "minimize" ? "Minimized" : "Maximized",
          j.value("neuron", std::string("?")), get(j, "points").dump(), j.value("box", std::string("data")),
          jnum(get(j, "threshold")), get(j, "converged").dump(), 100 * jnum(get(j, "converged_fraction")),
          jnum(get(j, "mean_steps")), j.value("out", std::string("-")), j.value("histograms_file", std::string("-")))) +
      "</p>\n" + table({"input", "box low", "box high", "points on the box's boundary", ""}, t);
  return s;
}

}  // namespace

// The figures of a caveman result (`unbox caveman --json`): the ROC curves of the variable,
// the neuron and the linear baseline on the held-out events in one plot.
void caveman_figures(const nlohmann::json& c, const std::string& source, ReportSection& s) {
  if (!c.contains("roc")) return;
  ojson rows = ojson::array();
  const std::vector<std::pair<std::string, std::string>> curves = {
      {"neuron",
       fmt::format("the neuron {} (AUC {:.3f})", c.value("neuron", std::string()), jnum(get(c, "neuron_auc")))},
      {"caveman", fmt::format("caveman formula (AUC {:.3f})", jnum(get(c, "auc")))},
      {"linear", fmt::format("linear baseline (AUC {:.3f})", jnum(get(get(c, "linear"), "auc")))}};
  std::vector<std::string> domain;
  for (const auto& [key, label] : curves) {
    domain.push_back(label);
    const auto& r = c["roc"][key];
    for (size_t i = 0; i < r["fpr"].size(); ++i)
      rows.push_back(
          {{"curve", label}, {"key", key}, {"i", i}, {"fpr", jnum(r["fpr"][i])}, {"tpr", jnum(r["tpr"][i])}});
  }
  s.figures.push_back(figure(
      fmt::format("Caveman formula against {}: ROC", c.value("neuron", std::string("its neuron"))),
      {{"width", 360},
       {"height", 360},
       {"layer",
        ojson::array(
            {ojson{{"data", {{"values", ojson::array({ojson{{"fpr", 0}, {"tpr", 0}}, ojson{{"fpr", 1}, {"tpr", 1}}})}}},
                   {"mark", {{"type", "line"}, {"strokeDash", {4, 4}}, {"color", "#999"}}},
                   {"encoding",
                    {{"x", {{"field", "fpr"}, {"type", "quantitative"}}},
                     {"y", {{"field", "tpr"}, {"type", "quantitative"}}}}}},
             ojson{{"data", {{"values", rows}}},
                   {"mark", {{"type", "line"}, {"interpolate", "linear"}}},
                   {"encoding",
                    {{"x", qfield("fpr", "background efficiency (false-positive rate)")},
                     {"y", qfield("tpr", "signal efficiency (true-positive rate)")},
                     {"order", {{"field", "i"}}},
                     {"color",
                      {{"field", "curve"},
                       {"type", "nominal"},
                       {"title", ""},
                       {"sort", domain},
                       {"scale", {{"domain", domain}, {"range", {"#444444", "#d62728", "#1f77b4"}}}},
                       {"legend", {{"orient", "bottom-right"}, {"labelLimit", 400}}}}}}}}})}},
      fmt::format("ROC curves on the {} held-out events (not used to fit) of the caveman formula, of the neuron it "
                  "approximates and of a linear fit to the top inputs; the formula was fitted on {} events to {} "
                  "converged maximization points ({} island terms kept of {}). AUC below 1/2: the variable rises "
                  "for background. ({})",
                  get(c, "test_events").dump(), get(c, "fit_events").dump(), get(c, "population_points").dump(),
                  c["terms"].size(), get(c, "candidates").dump(), source)));
}

namespace {

ReportSection caveman_section(const nlohmann::json& c, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Caveman variable of {} ({})", c.value("neuron", std::string("?")), fname(path));
  s.source = path;
  s.html = "<p><code>" + escape_html(c["formula"].get<std::string>()) + "</code></p>\n";
  std::vector<std::vector<std::string>> terms;
  int k = 0;
  for (const auto& t : c["terms"]) {
    std::string vars;
    for (const auto& v : t["variables"]) vars += (vars.empty() ? "" : ", ") + v.get<std::string>();
    terms.push_back({std::to_string(++k), t.value("kind", std::string()), g4(jnum(get(t, "coefficient"))), vars,
                     t.contains("cluster_points") ? get(t, "cluster_points").dump() : "-",
                     t.value("formula", std::string())});
  }
  s.html += table({"term", "kind", "coefficient", "inputs", "island points", "function"}, terms);
  if (c.contains("auc")) {
    s.html += table({"variable", "AUC (held-out events)", "correlation with the neuron"},
                    {{"the neuron", f4(jnum(get(c, "neuron_auc"))), "1"},
                     {"caveman formula", f4(jnum(get(c, "auc"))), f4(jnum(get(c, "correlation_with_neuron")))},
                     {"linear baseline", f4(jnum(get(get(c, "linear"), "auc"))),
                      f4(jnum(get(get(c, "linear"), "correlation_with_neuron")))}});
    s.html += "<p class=\"source\">linear baseline: <code>" +
              escape_html(get(c, "linear").value("formula", std::string())) + "</code></p>\n";
    caveman_figures(c, fname(path), s);
  } else {
    s.html +=
        "<p class=\"absent\">This is a caveman variable file (the formula and its terms, as caveman apply "
        "reads it): it holds no AUC or ROC. The whole caveman result, printed as JSON, holds both.</p>\n";
  }
  return s;
}

// `unbox ado --out`: one ADO between two discriminants.
ReportSection ado_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("ADO: {} against {} ({})", j["score"].get<std::string>(), j["against"].get<std::string>(),
                        fname(path));
  s.source = path;
  s.html = table({"f", "g", "ADO", "concordant", "discordant", "tied", "AUC f", "AUC g", "signal × background pairs"},
                 {{j["score"].get<std::string>(), j["against"].get<std::string>(), f4(jnum(get(j, "ado"))),
                   f4(jnum(get(j, "concordant"))), f4(jnum(get(j, "discordant"))), f4(jnum(get(j, "tied"))),
                   j.contains("auc_score") ? f4(jnum(get(j, "auc_score"))) : "-",
                   j.contains("auc_against") ? f4(jnum(get(j, "auc_against"))) : "-", get(j, "n_pairs").dump()}});
  s.html += "<p>" +
            escape_html(fmt::format("Average decision ordering: the weighted fraction of the {} signal × {} background "
                                    "pairs that both discriminants order the same way ({}).",
                                    j.value("n_signal", 0LL), j.value("n_background", 0LL),
                                    j.value("ties", std::string("ties count one half")))) +
            "</p>\n";
  return s;
}

// `unbox ado search --out` / `unbox ado study --out`: the observable added at each step and
// the ADO (and AUC) of the network trained on the features after it.
ReportSection ado_search_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("ADO guided search towards {} ({})", j["target"].get<std::string>(), fname(path));
  s.source = path;
  ojson rows = ojson::array();
  std::vector<std::vector<std::string>> t;
  int step = 0;
  for (const auto& st : j["steps"]) {
    const std::string added = st["added"].is_string() ? st["added"].get<std::string>() : "(base)";
    std::string graph = "-";
    if (j.contains("pool") && st["added"].is_string() && j["pool"].contains(added)) {
      const auto& g = j["pool"][added];
      graph = g.contains("edges") ? "edges " + get(g, "edges").dump() : g.dump();
    }
    std::string feats;
    for (const auto& f : st["features"]) feats += (feats.empty() ? "" : ", ") + f.get<std::string>();
    t.push_back({std::to_string(step), added, graph, feats, f4(jnum(get(st, "ado"))),
                 get(st, "ado_on_pairs").is_number() ? f4(jnum(get(st, "ado_on_pairs"))) : "-",
                 f4(jnum(get(st, "auc"))), get(st, "disordered_pairs").dump()});
    rows.push_back(
        {{"step", step}, {"added", added}, {"measure", "ADO with the target"}, {"value", jnum(get(st, "ado"))}});
    rows.push_back({{"step", step}, {"added", added}, {"measure", "AUC"}, {"value", jnum(get(st, "auc"))}});
    ++step;
  }
  s.html = table({"step", "added", "graph", "features", "ADO[target]", "ADO on the disordered pairs", "AUC",
                  "disordered pairs left"},
                 t);
  s.html += "<p>" +
            escape_html(fmt::format("Target {} (AUC {:.4f}); base {}; stop: {}.", j["target"].get<std::string>(),
                                    jnum(get(j, "target_auc")), get(j, "base").dump(),
                                    j.value("stop_reason", std::string("-")))) +
            "</p>\n";
  const auto& o = j.value("options", nlohmann::json::object());
  s.figures.push_back(figure(
      "ADO and AUC after each step of the guided search",
      {{"width", 460},
       {"height", 240},
       {"layer", ojson::array({ojson{{"data", {{"values", rows}}},
                                     {"mark", {{"type", "line"}, {"point", true}}},
                                     {"encoding",
                                      {{"x",
                                        {{"field", "step"},
                                         {"type", "ordinal"},
                                         {"title", "step (the observable added)"},
                                         {"axis", {{"labelExpr", "datum.value"}}}}},
                                       {"y",
                                        {{"field", "value"},
                                         {"type", "quantitative"},
                                         {"title", "ADO, AUC"},
                                         {"scale", {{"zero", false}}}}},
                                       {"color", {{"field", "measure"}, {"type", "nominal"}, {"title", ""}}},
                                       {"tooltip", ojson::array({ojson{{"field", "added"}}, ojson{{"field", "measure"}},
                                                                 ojson{{"field", "value"}, {"format", ".4f"}}})}}}},
                               ojson{{"data", {{"values", rows}}},
                                     {"transform", ojson::array({ojson{{"filter", "datum.measure == 'AUC'"}}})},
                                     {"mark", {{"type", "text"}, {"dy", -10}, {"fontSize", 10}}},
                                     {"encoding",
                                      {{"x", {{"field", "step"}, {"type", "ordinal"}}},
                                       {"y", {{"field", "value"}, {"type", "quantitative"}}},
                                       {"text", {{"field", "added"}}}}}},
                               ojson{{"mark", {{"type", "rule"}, {"strokeDash", {4, 4}}, {"color", "#999"}}},
                                     {"encoding", {{"y", {{"datum", jnum(get(j, "target_auc"))}}}}}}})}},
      fmt::format("The guided search: at each step the pool observable that best orders the signal-background pairs "
                  "the current network orders differently from the target {} is added (label), the small network "
                  "({}, {} epochs) is retrained, and its ADO with the target and its AUC are measured on {} test "
                  "events; dashed, the target's AUC {:.4f}. Seed {}.",
                  j["target"].get<std::string>(), o.value("arch", std::string("?")),
                  o.contains("epochs") ? get(o, "epochs").dump() : "?", j.value("test_events", 0LL),
                  jnum(get(j, "target_auc")), o.contains("seed") ? get(o, "seed").dump() : "?")));
  return s;
}

// `unbox ad --out`: the activation-difference ranking with its bootstrap uncertainty.
ReportSection ad_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  s.title = fmt::format("Activation differences of {} ({})", j["neuron"].get<std::string>(), fname(path));
  s.source = path;
  ojson rows = ojson::array();
  std::vector<std::vector<std::string>> t;
  int rank = 0;
  for (const auto& r : j["ranking"]) {
    ++rank;
    const double ad = jnum(get(r, "ad")), err = r.contains("err") ? jnum(get(r, "err")) : 0.0;
    rows.push_back({{"variable", r["variable"]}, {"rank", rank}, {"ad", ad}, {"lo", ad - err}, {"hi", ad + err}});
    t.push_back({std::to_string(rank), r["variable"].get<std::string>(), f4(ad), f4(err)});
  }
  s.html = table({"rank", "variable", "AD", "bootstrap error"}, t);
  s.figures.push_back(figure(
      fmt::format("Activation differences of {} with respect to {}", j["neuron"].get<std::string>(),
                  j.value("layer", std::string("L0"))),
      {{"data", {{"values", rows}}},
       {"width", 420},
       {"height", std::max(100, 20 * rank)},
       // The rows are in rank order: sort null keeps it (a sort by field would be unioned over the
       // layers with a console warning).
       {"encoding", {{"y", {{"field", "variable"}, {"type", "nominal"}, {"sort", nullptr}, {"title", ""}}}}},
       {"layer",
        ojson::array(
            {ojson{{"mark", {{"type", "bar"}, {"color", "#4c78a8"}}},
                   {"encoding", {{"x", qfield("ad", "activation difference AD")}}}},
             ojson{{"mark", {{"type", "rule"}, {"color", "black"}}},
                   {"encoding", {{"x", {{"field", "lo"}, {"type", "quantitative"}}}, {"x2", {{"field", "hi"}}}}}}})}},
      fmt::format("Activation difference (eq. 2) of {} when each variable of {} is resampled, {} events sampled of {}, "
                  "ranked; error bars: standard deviation over {} bootstrap replicas; seed {}.",
                  j["neuron"].get<std::string>(), j.value("layer", std::string("L0")), j.value("samples", 0LL),
                  j.value("events", 0LL), j.value("bootstrap", 0LL),
                  j.contains("seed") ? get(j, "seed").dump() : "?")));
  return s;
}

// A relevance map: names NAME[i,j] (a particle × feature or image input) or pK_FEATURE (a
// Particle Flow Network's columns) as a heat map of mean normalized relevance.
void relevance_map(const nlohmann::json& mnr, const std::string& method, long long events, ReportSection& s) {
  static const std::regex bracket(R"(^(.+)\[(\d+),(\d+)\]$)");
  static const std::regex particle(R"(^p(\d+)_(\w+)$)");
  ojson rows = ojson::array();
  std::string input;
  for (const auto& [k, v] : mnr.items()) {
    std::smatch m;
    if (std::regex_match(k, m, bracket)) {
      input = m[1];
      rows.push_back({{"row", std::stoi(m[2])}, {"col", m[3].str()}, {"coln", std::stoi(m[3])}, {"mnr", jnum(v)}});
    } else if (std::regex_match(k, m, particle)) {
      input = "particles";
      rows.push_back({{"row", std::stoi(m[1])}, {"col", m[2].str()}, {"coln", 0}, {"mnr", jnum(v)}});
    }
  }
  if (rows.size() < 4) return;
  s.figures.push_back(figure(
      fmt::format("Mean {} relevance map of {}", method, input),
      {{"data", {{"values", rows}}},
       {"width", 360},
       {"height", 300},
       {"mark", "rect"},
       {"encoding",
        {{"x", {{"field", "col"}, {"type", "ordinal"}, {"sort", {{"field", "coln"}}}, {"title", "feature / column"}}},
         {"y", {{"field", "row"}, {"type", "ordinal"}, {"title", "particle / row"}}},
         {"color",
          {{"field", "mnr"}, {"type", "quantitative"}, {"title", "relevance"}, {"scale", {{"scheme", "inferno"}}}}},
         {"tooltip", ojson::array({ojson{{"field", "row"}}, ojson{{"field", "col"}},
                                   ojson{{"field", "mnr"}, {"format", ".4f"}}})}}}},
      fmt::format("Mean normalized {} relevance of each entry of the input {} over {} events (each event's relevances "
                  "normalized to unit absolute sum).",
                  method, input, events)));
}

// `unbox lrp --out` / `unbox attribute --out`: inputs ranked by mean normalized relevance per
// class, relevance profiles of the top inputs, and the relevance map of structured inputs.
ReportSection relevance_section(const nlohmann::json& j, const std::string& path) {
  ReportSection s;
  const std::string method = j["method"].get<std::string>();
  s.title = fmt::format("Relevance: {} ({})", method, fname(path));
  s.source = path;
  std::vector<std::pair<std::string, double>> order;
  for (const auto& [k, v] : j["mean_normalized_relevance"].items()) order.emplace_back(k, jnum(v));
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  const std::vector<std::pair<std::string, double>> all = order;
  if (order.size() > 20) order.resize(20);
  ojson rows = ojson::array();
  const bool per_class = j.contains("mean_normalized_relevance_per_class") &&
                         j["mean_normalized_relevance_per_class"]["signal"].is_object() &&
                         !j["mean_normalized_relevance_per_class"]["signal"].contains("mean");
  int rank = 0;
  for (const auto& [feature, v] : order) {
    ++rank;
    if (per_class) {
      for (const char* c : {"signal", "background"})
        rows.push_back({{"feature", feature},
                        {"rank", rank},
                        {"class", c},
                        {"mnr", jnum(j["mean_normalized_relevance_per_class"][c][feature])}});
    } else {
      rows.push_back({{"feature", feature}, {"rank", rank}, {"class", "all"}, {"mnr", v}});
    }
  }
  const std::string how =
      fmt::format("{} of {} ({}{}), {} events.", method, j.value("target", std::string("the target")),
                  j.contains("composite") ? "composite " + j["composite"].get<std::string>() : std::string("models "),
                  j.contains("composite") ? std::string() : j.value("models", nlohmann::json::array()).dump(),
                  j.value("events", 0LL));
  s.figures.push_back(figure(
      fmt::format("Inputs ranked by {} relevance", method),
      {{"data", {{"values", rows}}},
       {"width", 420},
       {"height", std::max<int>(120, 16 * rank)},
       {"mark", "bar"},
       {"encoding",
        {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", ""}}},
         {"yOffset", {{"field", "class"}}},
         {"x", qfield("mnr", "mean normalized relevance")},
         {"color",
          {{"field", "class"},
           {"type", "nominal"},
           {"title", ""},
           {"scale", color_scale(per_class ? std::vector<std::string>{"signal", "background"}
                                           : std::vector<std::string>{"all"})}}}}}},
      fmt::format("Relevance distributed to the inputs, each event's relevances normalized to unit absolute sum, "
                  "averaged{}; the {} largest. {}",
                  per_class ? " per class" : "", rank, how)));
  // Profiles: the mean relevance in bins of each input's value, the top four inputs.
  if (j.contains("profiles") && j["profiles"].is_object()) {
    ojson prow = ojson::array();
    int k = 0;
    for (const auto& [feature, v] : all) {
      if (!j["profiles"].contains(feature)) continue;
      if (++k > 4) break;
      const auto& p = j["profiles"][feature];
      for (size_t b = 0; b < p["mean"].size(); ++b) {
        if (!(jnum(p["count"][b]) > 0)) continue;
        prow.push_back({{"feature", feature},
                        {"rank", k},
                        {"x", 0.5 * (jnum(p["edges"][b]) + jnum(p["edges"][b + 1]))},
                        {"mean", jnum(p["mean"][b])},
                        {"count", jnum(p["count"][b])}});
      }
    }
    if (!prow.empty())
      s.figures.push_back(figure(
          fmt::format("{} relevance profiles of the top inputs", method),
          {{"data", {{"values", prow}}},
           {"facet", {{"field", "feature"}, {"type", "nominal"}, {"title", ""}, {"sort", {{"field", "rank"}}}}},
           {"columns", 2},
           {"spec",
            {{"width", 220},
             {"height", 140},
             {"mark", {{"type", "line"}, {"point", true}}},
             {"encoding",
              {{"x",
                {{"field", "x"},
                 {"type", "quantitative"},
                 {"title", "input value (bin centre)"},
                 {"scale", {{"zero", false}}}}},
               {"y", qfield("mean", "mean relevance")},
               {"tooltip", ojson::array({ojson{{"field", "x"}, {"format", ".4g"}},
                                         ojson{{"field", "mean"}, {"format", ".4g"}}, ojson{{"field", "count"}}})}}}}},
           {"resolve", {{"scale", {{"x", "independent"}}}}}},
          "Relevance profile: the mean relevance of an input in equal-width bins of its value (empty bins left out), "
          "the four inputs of largest mean normalized relevance. " +
              how));
  }
  relevance_map(j["mean_normalized_relevance"], method, j.value("events", 0LL), s);
  return s;
}

}  // namespace

std::optional<ReportSection> method_section(const nlohmann::json& j, const std::string& path, std::string& kind) {
  if (!j.is_object()) return std::nullopt;
  if (j.contains("history") && j.contains("epochs_run")) return kind = "train", train_section(j, path);
  if (j.contains("features") && j.contains("convention") && j.contains("order"))
    return kind = "taylor", taylor_section(j, path);
  if (j.contains("layout") && j.contains("one") && j.contains("two") && j.contains("three")) {
    kind = "maximize";
    ReportSection s;
    const std::string neuron = j.value("neuron", std::string("the neuron"));
    s.title = fmt::format("Maximization populations of {} ({})", neuron, fname(path));
    s.source = path;
    maximize_histogram_figures(
        j, neuron,
        fmt::format("{} points of the {} population ({}).", j.value("points", 0LL),
                    j.value("population", std::string("converged")), fname(path)),
        [](const std::string& v) { return v; }, s, 3);
    return s;
  }
  if (j.contains("histograms_file") && j.contains("converged_fraction"))
    return kind = "maximize", maximize_summary_section(j, path);
  if (j.contains("formula") && j.contains("terms")) return kind = "caveman", caveman_section(j, path);
  if (j.contains("steps") && j.contains("target") && j.contains("base"))
    return kind = "ado_search", ado_search_section(j, path);
  if (j.contains("ado") && j.contains("against")) return kind = "ado", ado_section(j, path);
  if (j.contains("ranking") && j.contains("neuron") && j.contains("layer")) return kind = "ad", ad_section(j, path);
  if (j.contains("method") && j.contains("mean_normalized_relevance"))
    return kind = "relevance", relevance_section(j, path);
  return std::nullopt;
}

std::optional<ReportSection> method_table_section(const Dataset& d, const std::string& path, std::string& kind) {
  if (d.has("step") && d.has("epoch") && d.names().size() > 2)
    return kind = "taylor_curve", taylor_curve_section(d, path);
  return std::nullopt;
}

}  // namespace unbox::report_detail
