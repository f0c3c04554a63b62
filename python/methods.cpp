// The explanation methods with the command line's option names as keywords. Each method has
// one option table (a function over an `Options` visitor): the same table reads the keywords
// and lists the defaults for the Python signatures. Results carry the table, the JSON and the
// per-event arrays as views of the C++ result.
#include <fmt/format.h>

#include <functional>
#include <map>

#include "common.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/explain/ado.hpp"
#include "unbox/explain/ado_search.hpp"
#include "unbox/explain/attribute.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/explain/eval.hpp"
#include "unbox/explain/lrp.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/explain/taylor.hpp"

namespace unbox::python {

namespace {

const Network* network_of(py::object model) { return model.is_none() ? nullptr : model.cast<const Model&>().net.get(); }

const Network& need_model(py::object model, const char* method) {
  if (model.is_none()) throw OptionError(fmt::format("{} needs a model", method));
  return *model.cast<const Model&>().net;
}

template <class R>
Result base_result(const std::string& method, const std::shared_ptr<R>& r) {
  Result out;
  out.method = method;
  out.table = r->table();
  out.json = r->to_json().dump();
  out.owner = r;
  return out;
}

// A Dataset made by a result (per-event tables) as {column: array}, kept alive with it.
py::dict frame(std::shared_ptr<Dataset> d) { return dataset_columns(d, *d); }

// ---- taylor -------------------------------------------------------------------------------------
struct TaylorKw {
  TaylorOptions o;
  std::string convention = "monomial", units = "standardized";
  Index top = 0;
};
void table(Options& v, TaylorKw& k) {
  v("neuron", k.o.neuron);
  v("order", k.o.order);
  v("convention", k.convention);
  v("units", k.units);
  v("rows", k.o.rows);
  v("top", k.top);
  v("top_percent", k.o.top_percent);
  v("per_event", k.o.per_event);
  v("batch", k.o.batch);
}
Result run_taylor(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  TaylorKw k;
  Options v("taylor", kw);
  table(v, k);
  v.finish();
  if (k.o.order < 1 || k.o.order > 3)
    throw OptionError(fmt::format("taylor: order must be 1, 2 or 3, got {}", k.o.order));
  k.o.convention = parse_convention(k.convention);
  if (k.units != "standardized" && k.units != "physical")
    throw OptionError(fmt::format(
        "taylor: bad units '{}': expected standardized (after the model's Standardize layer) or physical (raw data "
        "columns)",
        k.units));
  k.o.physical_units = k.units == "physical";
  if (k.top < 0) throw OptionError("taylor: top must be a count >= 1");
  if (k.top > 0) k.o.rows = k.top;
  const Network& net = need_model(model, "taylor");
  auto r = std::make_shared<TaylorResult>();
  ProgressBridge bar(progress, "taylor");
  k.o.progress = bar.callback();
  bar.run([&] { *r = taylor(net, *ev.events, k.o); });
  Result out = base_result("taylor", r);
  if (k.o.per_event) {
    out.arrays["value"] = view(r, r->value);
    out.arrays["coefficients"] = view(r, r->coefficients);
    out.arrays["coefficient_names"] = py::cast(r->coefficient_names);
    out.frames["per_event"] = frame(std::make_shared<Dataset>(r->per_event_dataset()));
  }
  return out;
}

// ---- lrp --------------------------------------------------------------------------------------------
struct LrpKw {
  LrpOptions o;
  std::string rule, composite, layer_rule;
  double gamma = 0.25;
  std::vector<std::string> profile;
};
void table(Options& v, LrpKw& k) {
  v("composite", k.composite);
  v("rule", k.rule);
  v("layer_rule", k.layer_rule);
  v("epsilon", k.o.epsilon);
  v("gamma", k.gamma);
  v("neuron", k.o.neuron);
  v("canonize", k.o.canonize);
  v("bins", k.o.bins);
  v("rows", k.o.rows);
  v("profile", k.profile);
  v("batch", k.o.batch);
}
Result run_lrp(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  LrpKw k;
  Options v("lrp", kw);
  table(v, k);
  v.finish();
  if (!k.rule.empty() && !k.composite.empty()) throw OptionError("lrp: give either rule or composite, not both");
  k.o.composite = !k.rule.empty()
                      ? lrp_single_rule(parse_lrp_rule(k.rule, k.o.epsilon, k.gamma))
                      : lrp_composite(k.composite.empty() ? "epsilon-gamma-box" : k.composite, k.o.epsilon, k.gamma);
  if (!k.layer_rule.empty()) add_lrp_overrides(k.o.composite, k.layer_rule, k.o.epsilon, k.gamma);
  k.o.profiles = k.profile;
  const Network& net = need_model(model, "lrp");
  auto r = std::make_shared<LrpResult>();
  const std::string source = py::cast<const Model&>(model).source;
  ProgressBridge bar(progress, "lrp");
  k.o.progress = bar.callback();
  bar.run([&] {
    std::vector<LrpResult> one;
    one.push_back(lrp(net, *ev.events, k.o));
    one.back().models = {source};
    *r = combine(std::move(one));
  });
  Result out = base_result("lrp", r);
  const LrpRelevance& rel = r->relevance;
  out.arrays["relevance"] = view(r, rel.relevance);
  out.arrays["inputs"] = view(r, rel.inputs);
  out.arrays["output"] = view(r, rel.output);
  out.arrays["input_sum"] = view(r, rel.input_sum);
  out.arrays["bias"] = view(r, rel.bias);
  out.arrays["absorbed_epsilon"] = view(r, rel.epsilon);
  out.arrays["other"] = view(r, rel.other);
  out.arrays["features"] = py::cast(rel.features);
  out.frames["per_event"] = frame(std::make_shared<Dataset>(r->per_event_dataset()));
  return out;
}

// ---- attribute ---------------------------------------------------------------------------------
struct AttributeKw {
  AttributeOptions o;
  std::string method = "ig";
  std::vector<std::string> profile;
};
void table(Options& v, AttributeKw& k) {
  v("method", k.method);
  v("neuron", k.o.neuron);
  v("baseline", k.o.baseline);
  v("steps", k.o.steps);
  v("samples", k.o.samples);
  v("noise", k.o.noise);
  v("seed", k.o.seed);
  v("bins", k.o.bins);
  v("rows", k.o.rows);
  v("profile", k.profile);
  v("batch", k.o.batch);
}
Result run_attribute(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  AttributeKw k;
  k.method = attribution_method_name(k.o.method);
  Options v("attribute", kw);
  table(v, k);
  v.finish();
  k.o.method = parse_attribution_method(k.method);
  k.o.profiles = k.profile;
  const Network& net = need_model(model, "attribute");
  auto r = std::make_shared<AttributionResult>();
  const std::string source = py::cast<const Model&>(model).source;
  ProgressBridge bar(progress, "attribute");
  k.o.progress = bar.callback();
  bar.run([&] {
    std::vector<AttributionResult> one;
    one.push_back(attribute(net, *ev.events, k.o));
    one.back().models = {source};
    *r = combine(std::move(one));
  });
  Result out = base_result("attribute", r);
  const Attribution& a = r->attribution;
  out.arrays["scores"] = view(r, a.scores);
  out.arrays["inputs"] = view(r, a.inputs);
  out.arrays["f_x"] = view(r, a.f_x);
  out.arrays["f_baseline"] = view(r, a.f_baseline);
  out.arrays["completeness_error"] = view(r, a.completeness_error);
  out.arrays["features"] = py::cast(a.features);
  out.frames["per_event"] = frame(std::make_shared<Dataset>(r->per_event_dataset()));
  return out;
}

// ---- mutual_info ---------------------------------------------------------------------------------
struct MiKw {
  MutualInfoOptions o;
  std::string estimator = "binned", binning = "equal-frequency";
};
void table(Options& v, MiKw& k) {
  v("neurons", k.o.neurons);
  v("variables", k.o.variables);
  v("estimator", k.estimator);
  v("binning", k.binning);
  v("bins", k.o.bins);
  v("k", k.o.k);
  v("knn_events", k.o.knn_events);
  v("top", k.o.top);
  v("seed", k.o.seed);
  v("batch", k.o.batch);
}
Result run_mutual_info(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  MiKw k;
  Options v("mutual_info", kw);
  table(v, k);
  v.finish();
  k.o.estimator = parse_mi_estimator(k.estimator);
  k.o.binning = parse_binning(k.binning);
  if (k.o.variables.empty() && !ev.events->flat()) throw OptionError("mutual_info: variables names no variable");
  if (k.o.neurons.empty()) throw OptionError("mutual_info: neurons names no neuron");
  const Network& net = need_model(model, "mutual_info");
  auto r = std::make_shared<MutualInfoResult>();
  ProgressBridge bar(progress, "mutual_info");
  k.o.progress = bar.callback();
  bar.run([&] { *r = mutual_info(net, *ev.events, k.o); });
  Result out = base_result("mutual_info", r);
  const auto rows = static_cast<Index>(r->neurons.size()), cols = static_cast<Index>(r->variables.size());
  auto matrices = std::make_shared<std::vector<Tensor>>(2, Tensor({rows, cols}));
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) {
      (*matrices)[0].at(i, j) = r->nmi[static_cast<size_t>(i)][static_cast<size_t>(j)];
      (*matrices)[1].at(i, j) = r->mi[static_cast<size_t>(i)][static_cast<size_t>(j)];
    }
  out.arrays["nmi"] = view(matrices, (*matrices)[0]);
  out.arrays["mi_nats"] = view(matrices, (*matrices)[1]);
  return out;
}

// ---- activation_difference ---------------------------------------------------------------------------
struct AdKw {
  ActivationDifferenceOptions o;
  std::string layer = "L0";
};
void table(Options& v, AdKw& k) {
  v("neuron", k.o.neuron);
  v("layer", k.layer);
  v("samples", k.o.samples);
  v("bootstrap", k.o.bootstrap);
  v("top", k.o.top);
  v("seed", k.o.seed);
  v("batch", k.o.batch);
}
Result run_activation_difference(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  AdKw k;
  if (kw.contains("layer") && py::isinstance<py::int_>(kw["layer"])) kw["layer"] = py::str(kw["layer"]);
  Options v("activation_difference", kw);
  table(v, k);
  v.finish();
  std::string t = k.layer;
  if (!t.empty() && (t[0] == 'L' || t[0] == 'l')) t.erase(0, 1);
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 6)
    throw OptionError(
        fmt::format("activation_difference: bad layer '{}': expected L0 (the inputs) or Lk (hidden layer k)", k.layer));
  k.o.layer = std::stoi(t);
  const Network& net = need_model(model, "activation_difference");
  auto r = std::make_shared<ActivationDifferenceResult>();
  ProgressBridge bar(progress, "activation_difference");
  k.o.progress = bar.callback();
  bar.run([&] { *r = activation_difference(net, *ev.events, k.o); });
  return base_result("activation_difference", r);
}

// ---- maximize ------------------------------------------------------------------------------------------
struct MaxKw {
  MaximizeOptions o;
  std::string box = "data";
  std::optional<double> threshold;
};
void table(Options& v, MaxKw& k) {
  v("neuron", k.o.neuron);
  v("points", k.o.points);
  v("threshold", k.threshold);
  v("minimize", k.o.minimize);
  v("steps", k.o.steps);
  v("step_size", k.o.step_size);
  v("box", k.box);
  v("hold_discrete", k.o.hold_discrete);
  v("discrete_max", k.o.discrete_max_values);
  v("plausibility", k.o.plausibility);
  v("components", k.o.gmm_components);
  v("seed", k.o.seed);
  v("batch", k.o.batch);
}
Result run_maximize(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  MaxKw k;
  if (kw.contains("lr")) {  // the command line's other spelling of step_size
    kw["step_size"] = kw["lr"];
    PyDict_DelItemString(kw.ptr(), "lr");
  }
  Options v("maximize", kw);
  table(v, k);
  v.finish();
  if (!k.threshold) throw OptionError("maximize: threshold is required (stop a point once activation >= threshold)");
  k.o.threshold = *k.threshold;
  const std::string& text = k.box;
  if (text == "data") {
    k.o.box = BoxKind::DataRange;
  } else if (text == "sample") {
    k.o.box = BoxKind::Sample;
  } else if (text.rfind("std:", 0) == 0) {
    k.o.box = BoxKind::StdDev;
    try {
      size_t used = 0;
      k.o.box_k = std::stod(text.substr(4), &used);
      if (used != text.size() - 4 || !(k.o.box_k > 0)) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw OptionError(fmt::format("maximize: box {}: expected std:K with K > 0, e.g. std:3", text));
    }
  } else {
    throw OptionError(fmt::format("maximize: box {}: expected data, std:K (e.g. std:3) or sample", text));
  }
  const Network& net = need_model(model, "maximize");
  auto r = std::make_shared<MaximizeResult>();
  ProgressBridge bar(progress, "maximize");
  if (ProgressCallback cb = bar.callback()) k.o.progress = [cb, total = k.o.points](Index done) { cb(done, total); };
  bar.run([&] { *r = maximize(net, *ev.events, k.o); });
  Result out = base_result("maximize", r);
  out.arrays["start"] = view(r, r->start);
  out.arrays["points"] = view(r, r->points);
  out.arrays["activation"] = view(r, r->activation);
  out.arrays["steps"] = copy_array(r->steps);
  out.arrays["converged"] = copy_array(std::vector<bool>(r->converged.begin(), r->converged.end()));
  out.arrays["inputs"] = py::cast(r->inputs);
  out.frames["points"] = frame(std::make_shared<Dataset>(r->to_dataset()));
  return out;
}

// ---- caveman ---------------------------------------------------------------------------------------------
void table(Options& v, CavemanOptions& o) {
  v("neuron", o.neuron);
  v("terms", o.terms);
  v("histograms_per_dim", o.histograms_per_dim);
  v("clusters", o.max_clusters);
  v("density", o.density_factor);
  v("fit_events", o.fit_events);
  v("fit_iterations", o.fit_iterations);
  v("seed", o.seed);
}
Result run_caveman(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  CavemanOptions o;
  py::object population;
  if (kw.contains("population")) {
    population = kw["population"];
    PyDict_DelItemString(kw.ptr(), "population");
  }
  Options v("caveman", kw);
  table(v, o);
  v.finish();
  if (!population || population.is_none())
    throw OptionError("caveman: population is required (the points of unbox.maximize, e.g. result.population)");
  o.population = *population.cast<std::shared_ptr<Dataset>>();
  const Network& net = need_model(model, "caveman");
  auto r = std::make_shared<CavemanResult>();
  ProgressBridge bar(progress, "caveman");
  o.progress = bar.callback();
  bar.run([&] { *r = caveman(net, *ev.events, o); });
  Result out = base_result("caveman", r);
  out.arrays["variable"] = json_to_python(r->variable.to_json());
  return out;
}

// ---- ado and the ADO search ---------------------------------------------------------------------------
Result run_ado(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  AdoOptions o;
  Options v("ado", kw);
  v("score", o.score);
  v("against", o.against);
  v("batch", o.batch);
  v.finish();
  if (o.score.empty() || o.against.empty())
    throw OptionError("ado needs score and against (data columns, or neurons of the model)");
  auto r = std::make_shared<AdoComparison>();
  const Network* net = network_of(model);
  ProgressBridge bar(progress, "ado");  // one pass over the pairs: no progress to report
  bar.run([&] { *r = net ? ado(*net, *ev.events, o) : ado(*ev.events, o); });
  return base_result("ado", r);
}

void table(Options& v, AdoSearchOptions& o) {
  v("target", o.target);
  v("base", o.base);
  v("pool", o.pool);
  v("arch", o.arch);
  v("activation", o.activation);
  v("epochs", o.epochs);
  v("patience", o.patience);
  v("learning_rate", o.learning_rate);
  v("batch", o.batch);
  v("train_fraction", o.train_fraction);
  v("max_pairs", o.max_pairs);
  v("steps", o.max_steps);
  v("margin", o.margin);
  v("seed", o.seed);
  v("quiet", o.quiet);
}
Result run_ado_search(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  AdoSearchOptions o;
  Options v("ado_search", kw);
  table(v, o);
  v.finish();
  if (o.target.empty()) throw OptionError("ado_search needs target (a column, or a neuron of the model)");
  if (o.base.empty()) throw OptionError("ado_search needs base: the HL columns the first network sees");
  auto r = std::make_shared<AdoSearchResult>();
  const Network* net = network_of(model);
  ProgressBridge bar(progress, "ado_search");
  o.progress = bar.callback();
  bar.run([&] { *r = net ? ado_search(*net, *ev.events, o) : ado_search(*ev.events, o); });
  r->options.progress = nullptr;  // the result keeps its options: not the Python callable
  return base_result("ado_search", r);
}

// ---- eval --------------------------------------------------------------------------------------------------
void table(Options& v, EvalMetricsOptions& o) {
  v("neuron", o.neuron);
  v("score", o.score);
  v("lumi", o.lumi);
  v("br", o.br);
  v("batch", o.batch);
}
Result run_eval(py::object model, const EventsHolder& ev, py::dict kw, py::object progress) {
  EvalMetricsOptions o;
  Options v("eval", kw);
  table(v, o);
  v.finish();
  if (!model.is_none() && !o.score.empty())
    throw OptionError("eval: give either a model (score with a network) or score=COLUMN");
  if (model.is_none() && o.score.empty())
    throw OptionError("eval: nothing to evaluate: give a model or score=COLUMN (a column of the data)");
  auto r = std::make_shared<EvalResult>();
  const Network* net = network_of(model);
  ProgressBridge bar(progress, "eval");
  o.progress = bar.callback();
  bar.run([&] { *r = net ? eval(*net, *ev.events, o) : eval(*ev.events, o); });
  Result out = base_result("eval", r);
  out.frames["roc"] = frame(std::make_shared<Dataset>(r->roc_dataset()));
  return out;
}

// ---- the registry -----------------------------------------------------------------------------------------
using Runner = Result (*)(py::object, const EventsHolder&, py::dict, py::object);

template <class K>
py::dict defaults_of(const char* method) {
  K k;
  Options v(method);
  table(v, k);
  return v.defaults();
}

}  // namespace

void init_methods(py::module_& m) {
  const std::map<std::string, Runner> runners = {
      {"taylor", &run_taylor},
      {"lrp", &run_lrp},
      {"attribute", &run_attribute},
      {"mutual_info", &run_mutual_info},
      {"activation_difference", &run_activation_difference},
      {"maximize", &run_maximize},
      {"caveman", &run_caveman},
      {"ado", &run_ado},
      {"ado_search", &run_ado_search},
      {"eval", &run_eval},
  };
  for (const auto& [name, run] : runners)
    m.def(name.c_str(), run, py::arg("model"), py::arg("events"), py::arg("options"), py::arg("progress") = py::none());

  py::dict defaults;
  defaults["taylor"] = defaults_of<TaylorKw>("taylor");
  {
    LrpKw k;
    Options v("lrp");
    table(v, k);
    py::dict d = v.defaults();
    d["composite"] = "epsilon-gamma-box";
    defaults["lrp"] = d;
  }
  {
    AttributeKw k;
    k.method = attribution_method_name(k.o.method);
    Options v("attribute");
    table(v, k);
    defaults["attribute"] = v.defaults();
  }
  defaults["mutual_info"] = defaults_of<MiKw>("mutual_info");
  defaults["activation_difference"] = defaults_of<AdKw>("activation_difference");
  defaults["maximize"] = defaults_of<MaxKw>("maximize");
  {
    py::dict d = defaults_of<CavemanOptions>("caveman");
    d["population"] = py::none();
    defaults["caveman"] = d;
  }
  {
    AdoOptions o;
    Options v("ado");
    v("score", o.score);
    v("against", o.against);
    v("batch", o.batch);
    defaults["ado"] = v.defaults();
  }
  defaults["ado_search"] = defaults_of<AdoSearchOptions>("ado_search");
  defaults["eval"] = defaults_of<EvalMetricsOptions>("eval");
  m.attr("method_defaults") = defaults;
}

}  // namespace unbox::python
