// unbox hist: 1-D and 2-D histograms of columns or neurons for signal, background and
// their ratio, each normalized per class; quantile slices of another variable; NMI.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/explain/histogram_view.hpp"
#include "unbox/expressions.hpp"

namespace unbox::cli {

namespace {

struct HistArgs {
  DataArgs data;
  DataTransforms transforms;
  std::string model, columns, x, y, x_range, y_range, slices_of, out, save_data;
  std::vector<std::string> named_cuts;  // NAME=EXPRESSION, in order
  Index bins = 40, y_bins = 0, slices = 3, nmi_bins = 20;
  bool json = false, log_y = false;
};

void parse_range(const std::string& text, Axis& a) {
  if (text.empty()) return;
  const auto parts = split_list(text);
  try {
    if (parts.size() != 2) throw std::invalid_argument("count");
    size_t used0 = 0, used1 = 0;
    a.lo = std::stod(parts[0], &used0);
    a.hi = std::stod(parts[1], &used1);
    if (used0 != parts[0].size() || used1 != parts[1].size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw Error(fmt::format("range '{}' of '{}': expected LO,HI (two numbers)", text, a.name));
  }
}

int run_hist(const HistArgs& a) {
  // The transforms run after the default label column is attached, keeping their cut flow.
  DataTransformLog flow;
  Dataset data = load_data(a.data, a.transforms, &flow);
  if (a.data.label.empty() && data.has("label")) data.label_column = "label";
  if (data.label_column) check_labels(data);

  HistogramViewOptions o;
  o.x.name = a.x;
  o.x.bins = a.bins;
  parse_range(a.x_range, o.x);
  if (!a.y.empty()) {
    Axis y;
    y.name = a.y;
    y.bins = a.y_bins > 0 ? a.y_bins : a.bins;
    parse_range(a.y_range, y);
    o.y = y;
  }
  o.slice_name = a.slices_of;
  o.slices = a.slices;
  o.nmi_bins = a.nmi_bins;

  // Each name: a 1-D column, else (with a model) a neuron.
  std::vector<std::string> names{a.x};
  if (!a.y.empty()) names.push_back(a.y);
  if (!a.slices_of.empty()) names.push_back(a.slices_of);
  std::vector<std::vector<double>> values(names.size());
  std::vector<NeuronRef> refs;
  std::vector<size_t> neuron_slot;
  std::unique_ptr<Network> net;
  if (!a.model.empty()) net = std::make_unique<Network>(load_network(a.model));
  for (size_t i = 0; i < names.size(); ++i) {
    if (data.has(names[i])) {
      const Tensor& t = data.get(names[i]);
      if (t.rank() != 1)
        throw Error(fmt::format("'{}' in '{}' is an array with {} values per event, not a column", names[i],
                                data.source, t.per_event()));
      values[i].assign(t.data(), t.data() + t.size());
    } else if (net) {
      try {
        refs.push_back(net->resolve(names[i]));
      } catch (const Error&) {
        throw Error(
            fmt::format("'{}' is neither a column of '{}' nor a neuron of '{}'", names[i], data.source, a.model));
      }
      neuron_slot.push_back(i);
    } else {
      data.get(names[i]);  // the standard "no column" error, listing the columns
    }
  }
  if (!refs.empty()) {
    const Tensor v = evaluate(*net, gather_inputs(*net, data, split_list(a.columns)), refs);
    const Index k = static_cast<Index>(refs.size());
    for (size_t j = 0; j < refs.size(); ++j) {
      auto& col = values[neuron_slot[j]];
      col.resize(static_cast<size_t>(data.events()));
      for (Index e = 0; e < data.events(); ++e) col[static_cast<size_t>(e)] = v[e * k + static_cast<Index>(j)];
    }
  }
  const std::vector<double> labels = data.label_column ? data.labels() : std::vector<double>{};
  const std::vector<double> weights = data.weight_column ? data.weights() : std::vector<double>{};
  const std::vector<double> none;
  size_t next = 1;
  const std::vector<double>& yv = a.y.empty() ? none : values[next++];
  const std::vector<double>& sv = a.slices_of.empty() ? none : values[next++];
  HistogramViewResult r = histogram_view(values[0], yv, sv, labels, weights, o);

  // Named cuts (Figures 13, 17, 27): the same bins for the events passing each expression.
  struct Named {
    std::string name, cut;
    HistogramViewResult view;
  };
  std::vector<Named> named;
  for (const auto& def : a.named_cuts) {
    const size_t eq = def.find('=');
    const std::string name = eq == std::string::npos ? "" : def.substr(0, eq);
    if (name.empty() || eq + 1 >= def.size() || name.find_first_of(" \t<>!&|") != std::string::npos)
      throw Error(fmt::format("named cut '{}': expected NAME=EXPRESSION, e.g. opposite=cos_dphi_l1_met<-0.5", def));
    for (const auto& n : named)
      if (n.name == name) throw Error(fmt::format("named cut '{}' is given twice", name));
    const std::string expr = def.substr(eq + 1);
    const Tensor pass = evaluate_expression(data, expr);
    std::vector<double> nx, ny, nl, nw;
    for (Index e = 0; e < data.events(); ++e) {
      const double v = pass[e];
      if (v == 0.0 || std::isnan(v)) continue;  // NaN fails, as in --cut
      const auto k = static_cast<size_t>(e);
      nx.push_back(values[0][k]);
      if (!yv.empty()) ny.push_back(yv[k]);
      if (!labels.empty()) nl.push_back(labels[k]);
      if (!weights.empty()) nw.push_back(weights[k]);
    }
    HistogramViewOptions no = o;
    no.x.lo = r.x_edges.front(), no.x.hi = r.x_edges.back();
    if (no.y) no.y->lo = r.y_edges.front(), no.y->hi = r.y_edges.back();
    no.slice_name.clear();
    named.push_back({name, expr, histogram_view(nx, ny, {}, nl, nw, no)});
  }

  r.log_y = a.log_y;
  auto& p = r.provenance;
  p["data"] = a.data.path;
  p["events_read"] = flow.events_before;
  if (!a.transforms.defines.empty()) p["defines"] = a.transforms.defines;
  nlohmann::ordered_json cuts = nlohmann::ordered_json::array();
  for (const auto& c : flow.cuts) cuts.push_back({{"cut", c.cut}, {"events", c.events}});
  p["cuts"] = cuts;
  if (data.label_column) p["label"] = *data.label_column;
  if (data.weight_column) p["weight"] = *data.weight_column;
  if (!a.model.empty()) p["model"] = a.model;

  nlohmann::ordered_json j = r.to_json();
  if (!named.empty()) {
    nlohmann::ordered_json nj = nlohmann::ordered_json::array();
    for (const auto& n : named) {
      const auto v = n.view.to_json();
      nlohmann::ordered_json one = {{"name", n.name}, {"cut", n.cut}, {"events", n.view.events}};
      one["classes"] = v["classes"];
      if (v.contains("ratio")) one["ratio"] = v["ratio"];
      if (v.contains("nmi")) one["nmi"] = v["nmi"];
      nj.push_back(one);
    }
    j["named_cuts"] = nj;
  }
  if (!a.save_data.empty()) write_dataset(data, a.save_data);
  if (!a.out.empty()) write_text_atomically(a.out, j.dump(1) + "\n");
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::string head = fmt::format("unbox hist: '{}', {} events", a.data.path, flow.events_before);
  for (const auto& c : flow.cuts) head += fmt::format(" → {} after '{}'", c.events, c.cut);
  std::fputs((head + "\n" + r.table()).c_str(), stdout);
  for (const auto& n : named)
    std::printf("\nnamed cut '%s' (%s): %lld events\n%s", n.name.c_str(), n.cut.c_str(),
                static_cast<long long>(n.view.events), n.view.table().c_str());
  if (r.non_finite > 0)
    std::printf("(%lld events with a non-finite value left out)\n", static_cast<long long>(r.non_finite));
  if (!a.out.empty()) std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void register_hist(CLI::App& app) {
  auto a = std::make_shared<HistArgs>();
  auto* c = add_command(
      app, "hist", "Histograms of columns or neurons: signal, background and their ratio, each normalized; slices; NMI",
      "unbox hist --data test.csv --x met --cut \"mt2ll > 100\" --out met.json\n"
      "  unbox hist --data test.csv --define \"v=log(met)+l1_dphi+l2_dphi\" --x v\n"
      "  unbox hist --data test.csv --model m.unbox --x isr_pt --slices-of output --slices 3\n"
      "  unbox hist --data test.csv --model m.unbox --x L2N12 --y mt2ll --bins 30\n"
      "  unbox hist --data test.csv --x met --named-cut \"opposite=l1_dphi > 2.5 && l2_dphi > 2.5\" "
      "--named-cut \"adjacent=l1_dphi < 0.6 && l2_dphi < 0.6\"",
      [a] { return run_hist(*a); });
  c->add_option("--data,-d", a->data.path, "Events (csv, npy, npz, h5[:/path])")->required();
  c->add_option("--label", a->data.label, "Label column (0/1; default: 'label' when present)");
  c->add_option("--weight", a->data.weight, "Event weight column");
  c->add_flag("--allow-nan", a->data.allow_nan, "Accept NaN/Inf cells (such events are left out of the histograms)");
  add_data_transforms(c, a->transforms);
  c->add_option("--model,-m", a->model, "Model file (.unbox): names that are not columns are neurons (L2N12, output)");
  c->add_option("--columns", a->columns, "Data columns to feed the model's inputs, in order (default: by name)");
  c->add_option("--x", a->x, "Column or neuron on the x axis")->required();
  c->add_option("--y", a->y, "Column or neuron on the y axis (2-D histogram and NMI)");
  c->add_option("--bins", a->bins, "Bins (x)")->capture_default_str();
  c->add_option("--y-bins", a->y_bins, "Bins (y; default: --bins)");
  c->add_option("--range", a->x_range, "x range LO,HI (default: min and max)");
  c->add_option("--y-range", a->y_range, "y range LO,HI (default: min and max)");
  c->add_option("--slices-of", a->slices_of, "Histogram x in equal-population slices of this column or neuron");
  c->add_option("--slices", a->slices, "Number of slices (3: most signal-like, average, most background-like)")
      ->capture_default_str();
  c->add_option("--named-cut", a->named_cuts,
                "NAME=EXPRESSION: also histogram the events passing EXPRESSION, in the same bins, under NAME "
                "(repeatable; the report overlays them), e.g. \"opposite=cos_dphi_l1_met < -0.5 && cos_dphi_l2_met < "
                "-0.5\"")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  c->add_option("--nmi-bins", a->nmi_bins, "Equal-frequency bins of the 2-D NMI")->capture_default_str();
  c->add_option("--out,-o", a->out, "Write the result (edges, contents, ratio, slices, NMI) as JSON for unbox report");
  c->add_option("--save-data", a->save_data, "Write the events after --define and --cut (csv, npz, h5)");
  c->add_flag("--log-y", a->log_y, "Ask the report for a logarithmic vertical axis (1-D)");
  c->add_flag("--json", a->json, "Print the JSON result instead of the bars");
}

}  // namespace unbox::cli
