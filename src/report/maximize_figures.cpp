// Figures of an activation-maximization histograms file (`unbox maximize --histograms`): the
// converged points in single inputs (ranked by KL divergence), in pairs (heat maps ranked by
// mutual information) and in triples (rotatable 3-D scatter plots ranked by total
// correlation), as the paper's Figures 10-12. Shared by the single-file report and the
// stop-study report.
#include <fmt/format.h>

#include <cmath>

#include "report_internal.hpp"

namespace unbox::report_detail {

namespace {

double total(const nlohmann::json& counts) {
  double t = 0;
  for (const auto& c : counts) t += jnum(c);
  return t;
}

}  // namespace

// Vega-Lite has no 3-D marks. The scatter plot is an orthographic projection computed by
// `calculate` transforms from two angles, `azimuth` and `elevation`, that are Vega-Lite
// parameters bound to range sliders under the plot: moving a slider re-projects every point
// (and the box's three axes) in the page. The data stay the histogram's cells (centre in
// the unit cube, fraction of the converged points), so the tests check them against the
// file; an exported SVG shows the default view.
ojson rotatable_scatter(const ojson& cells, const std::string& xname, const std::string& yname,
                        const std::string& zname) {
  const ojson project =
      ojson::array({ojson{{"calculate", "azimuth * PI / 180"}, {"as", "az"}},
                    ojson{{"calculate", "elevation * PI / 180"}, {"as", "el"}},
                    ojson{{"calculate", "datum.u * cos(datum.az) - datum.v * sin(datum.az)"}, {"as", "px"}},
                    ojson{{"calculate", "datum.u * sin(datum.az) + datum.v * cos(datum.az)"}, {"as", "d0"}},
                    ojson{{"calculate", "datum.w * cos(datum.el) + datum.d0 * sin(datum.el)"}, {"as", "py"}},
                    ojson{{"calculate", "datum.d0 * cos(datum.el) - datum.w * sin(datum.el)"}, {"as", "depth"}}});
  auto with_projection = [&](ojson extra) {
    ojson t = project;
    for (auto& e : extra) t.push_back(e);
    return t;
  };
  const ojson hidden = {{"domain", {-0.95, 0.95}}, {"nice", false}};
  const ojson xenc = {{"field", "px"}, {"type", "quantitative"}, {"scale", hidden}, {"axis", nullptr}};
  const ojson yenc = {{"field", "py"}, {"type", "quantitative"}, {"scale", hidden}, {"axis", nullptr}};
  // The box's three edges through its low corner, and their names at the high ends.
  ojson edges = ojson::array(), labels = ojson::array();
  const std::string names[3] = {xname, yname, zname};
  for (int a = 0; a < 3; ++a) {
    for (double t : {-0.5, 0.5}) {
      ojson p = {{"axis", names[a]}, {"u", a == 0 ? t : -0.5}, {"v", a == 1 ? t : -0.5}, {"w", a == 2 ? t : -0.5}};
      edges.push_back(p);
    }
    labels.push_back(
        {{"axis", names[a]}, {"u", a == 0 ? 0.62 : -0.5}, {"v", a == 1 ? 0.62 : -0.5}, {"w", a == 2 ? 0.62 : -0.5}});
  }
  ojson points = {
      {"data", {{"values", cells}}},
      {"transform", with_projection(ojson::array())},
      {"mark", {{"type", "circle"}, {"opacity", 0.75}, {"stroke", "#333"}, {"strokeWidth", 0.3}}},
      {"encoding",
       {{"x", xenc},
        {"y", yenc},
        {"order", {{"field", "depth"}, {"sort", "descending"}}},
        {"size",
         {{"field", "value"}, {"type", "quantitative"}, {"title", "fraction"}, {"scale", {{"range", {8, 360}}}}}},
        {"color",
         {{"field", "value"}, {"type", "quantitative"}, {"title", "fraction"}, {"scale", {{"scheme", "viridis"}}}}},
        {"tooltip", ojson::array({ojson{{"field", "x"}, {"title", xname}, {"format", ".3g"}},
                                  ojson{{"field", "y"}, {"title", yname}, {"format", ".3g"}},
                                  ojson{{"field", "z"}, {"title", zname}, {"format", ".3g"}},
                                  ojson{{"field", "value"}, {"title", "fraction"}, {"format", ".3g"}}})}}}};
  ojson axes = {{"data", {{"values", edges}}},
                {"transform", with_projection(ojson::array())},
                {"mark", {{"type", "line"}, {"color", "#888"}, {"strokeWidth", 1}}},
                {"encoding", {{"x", xenc}, {"y", yenc}, {"detail", {{"field", "axis"}}}}}};
  ojson text = {{"data", {{"values", labels}}},
                {"transform", with_projection(ojson::array())},
                {"mark", {{"type", "text"}, {"fontSize", 11}, {"color", "#333"}}},
                {"encoding", {{"x", xenc}, {"y", yenc}, {"text", {{"field", "axis"}}}}}};
  return {
      {"$schema", kSchema},
      {"params",
       ojson::array(
           {ojson{{"name", "azimuth"},
                  {"value", 35},
                  {"bind", {{"input", "range"}, {"min", -180}, {"max", 180}, {"step", 1}, {"name", "azimuth [deg] "}}}},
            ojson{{"name", "elevation"},
                  {"value", 20},
                  {"bind",
                   {{"input", "range"}, {"min", -90}, {"max", 90}, {"step", 1}, {"name", "elevation [deg] "}}}}})},
      {"width", 320},
      {"height", 320},
      {"layer", ojson::array({axes, points, text})}};
}

void maximize_histogram_figures(const nlohmann::json& h, const std::string& neuron, const std::string& how,
                                const std::function<std::string(const std::string&)>& name, ReportSection& s,
                                int max_triples) {
  ojson one = ojson::array();
  int rank = 0;
  for (const auto& x : h["one"]["histograms"]) {
    if (++rank > 6) break;
    const std::string v = x["variables"][0].get<std::string>();
    const auto& counts = x["counts"];
    const double lo = jnum(x["lo"][0]), hi = jnum(x["hi"][0]);
    const auto bins = static_cast<double>(counts.size());
    const double tot = total(counts);
    for (size_t b = 0; b < counts.size(); ++b)
      one.push_back({{"panel", fmt::format("#{} {} (KL {:.2f})", rank, name(v), jnum(x["score"]))},
                     {"rank", rank},
                     {"lo", lo + (hi - lo) * static_cast<double>(b) / bins},
                     {"hi", lo + (hi - lo) * static_cast<double>(b + 1) / bins},
                     {"value", tot > 0 ? jnum(counts[b]) / tot : 0.0}});
  }
  auto fig = [](const std::string& title, ojson spec, const std::string& caption) {
    ReportFigure f;
    f.title = title;
    spec["$schema"] = kSchema;
    f.spec = std::move(spec);
    f.caption = caption;
    return f;
  };
  if (!one.empty())
    s.figures.push_back(fig(
        fmt::format("Maximization of {}: single inputs, ranked", neuron),
        {{"data", {{"values", one}}},
         {"facet", {{"field", "panel"}, {"type", "nominal"}, {"title", ""}, {"sort", {{"field", "rank"}}}}},
         {"columns", 3},
         {"spec",
          {{"width", 200},
           {"height", 130},
           {"mark", {{"type", "rect"}, {"color", "#444"}}},
           {"encoding",
            {{"x",
              {{"field", "lo"},
               {"type", "quantitative"},
               {"title", "input value (its box: the data's range)"},
               {"scale", {{"zero", false}}}}},
             {"x2", {{"field", "hi"}}},
             {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", "fraction of points"}}}}}}},
         {"resolve", {{"scale", {{"x", "independent"}}}}}},
        fmt::format("Where the converged points of the activation maximization of {} lie in each input (over its box "
                    "of allowed values), normalized, ranked by the Kullback-Leibler divergence from their starting "
                    "distribution (largest first). {}",
                    neuron, how)));
  ojson two = ojson::array();
  rank = 0;
  for (const auto& x : h["two"]["histograms"]) {
    if (++rank > 6) break;
    const auto& counts = x["counts"];
    const auto b = static_cast<size_t>(x["bins"].get<long long>());
    const std::string panel = fmt::format("#{} {} vs {} (MI {:.2f})", rank, name(x["variables"][1].get<std::string>()),
                                          name(x["variables"][0].get<std::string>()), jnum(x["score"]));
    const double tot = total(counts);
    for (size_t i = 0; i < b; ++i)
      for (size_t k = 0; k < b; ++k)
        two.push_back({{"panel", panel},
                       {"rank", rank},
                       {"x", static_cast<double>(i) / static_cast<double>(b)},
                       {"y", static_cast<double>(k) / static_cast<double>(b)},
                       {"value", tot > 0 ? jnum(counts[i * b + k]) / tot : 0.0}});
  }
  if (!two.empty())
    s.figures.push_back(fig(
        fmt::format("Maximization of {}: pairs of inputs, ranked", neuron),
        {{"data", {{"values", two}}},
         {"facet", {{"field", "panel"}, {"type", "nominal"}, {"title", ""}, {"sort", {{"field", "rank"}}}}},
         {"columns", 3},
         {"spec",
          {{"width", 190},
           {"height", 190},
           {"mark", "rect"},
           {"encoding",
            {{"x",
              {{"field", "x"}, {"type", "ordinal"}, {"title", "first input (bins over its box)"}, {"axis", nullptr}}},
             {"y",
              {{"field", "y"},
               {"type", "ordinal"},
               {"sort", "descending"},
               {"title", "second input"},
               {"axis", nullptr}}},
             {"color",
              {{"field", "value"},
               {"type", "quantitative"},
               {"title", "fraction"},
               {"scale", {{"scheme", "greys"}}}}}}}}}},
        fmt::format("Contour maps of {}: the converged points in pairs of inputs (each over its box of allowed "
                    "values, low to high), ranked by mutual information (largest first), as the paper's Figures "
                    "10 and 12. {}",
                    neuron, how)));
  rank = 0;
  for (const auto& x : h["three"]["histograms"]) {
    if (++rank > max_triples) break;
    const auto& counts = x["counts"];
    const auto b = static_cast<size_t>(x["bins"].get<long long>());
    std::string vars[3];
    double lo[3], hi[3];
    for (size_t a = 0; a < 3; ++a) {
      vars[a] = x["variables"][a].get<std::string>();
      lo[a] = jnum(x["lo"][a]);
      hi[a] = jnum(x["hi"][a]);
    }
    const double tot = total(counts);
    ojson cells = ojson::array();
    // Row-major over the variables, the first slowest (the file's "layout").
    for (size_t i = 0; i < b; ++i)
      for (size_t j = 0; j < b; ++j)
        for (size_t k = 0; k < b; ++k) {
          const double c = jnum(counts[(i * b + j) * b + k]);
          if (!(c > 0)) continue;
          const double fb = static_cast<double>(b);
          const double ci = (static_cast<double>(i) + 0.5) / fb, cj = (static_cast<double>(j) + 0.5) / fb,
                       ck = (static_cast<double>(k) + 0.5) / fb;
          cells.push_back({{"i", i},
                           {"j", j},
                           {"k", k},
                           {"u", ci - 0.5},
                           {"v", cj - 0.5},
                           {"w", ck - 0.5},
                           {"x", lo[0] + (hi[0] - lo[0]) * ci},
                           {"y", lo[1] + (hi[1] - lo[1]) * cj},
                           {"z", lo[2] + (hi[2] - lo[2]) * ck},
                           {"value", tot > 0 ? c / tot : 0.0}});
        }
    if (cells.empty()) continue;
    ReportFigure f;
    f.title = fmt::format("Maximization of {}: {}, {} and {} (#{} by total correlation)", neuron, name(vars[0]),
                          name(vars[1]), name(vars[2]), rank);
    f.spec = rotatable_scatter(cells, name(vars[0]), name(vars[1]), name(vars[2]));
    f.caption = fmt::format(
        "The converged points of the maximization of {} in the triple of inputs ranked #{} by total correlation "
        "({:.3f} nats): one circle per non-empty cell of the {}×{}×{} histogram over the box {} ∈ [{:.4g}, {:.4g}], "
        "{} ∈ [{:.4g}, {:.4g}], {} ∈ [{:.4g}, {:.4g}], area and colour the fraction of the points in the cell. An "
        "orthographic projection: drag the azimuth and elevation sliders to rotate the box (the paper's 3-D "
        "populations). {}",
        neuron, rank, jnum(x["score"]), b, b, b, name(vars[0]), lo[0], hi[0], name(vars[1]), lo[1], hi[1],
        name(vars[2]), lo[2], hi[2], how);
    s.figures.push_back(std::move(f));
  }
}

}  // namespace unbox::report_detail
