// Models: loading (native, ONNX file, ONNX bytes), information, prediction and input
// gradients, training with the command line's options.
#include "common.hpp"
#include "unbox/explain/mutual_info.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"
#include "unbox/train.hpp"

namespace unbox::python {

namespace {

Model load(const std::string& path) {
  Model m;
  try {
    LongCall call;
    m.net = std::make_shared<Network>(load_model(path));
  } catch (const OnnxUnsupported&) {
    throw;
  } catch (const Error& e) {
    throw InputError(e.what());
  }
  m.source = path;
  return m;
}

Model load_onnx_bytes(const py::bytes& bytes, const std::string& name) {
  std::string data = bytes;  // one copy of the serialized model
  Model m;
  try {
    LongCall call;
    m.net = std::make_shared<Network>(read_onnx_bytes(data, name).net);
  } catch (const OnnxUnsupported&) {
    throw;
  } catch (const Error& e) {
    throw InputError(e.what());
  }
  m.source = name;
  return m;
}

std::vector<std::string> neurons(const Model& m) {
  std::vector<std::string> out;
  try {
    out = expand_neurons(*m.net, {"all"});
  } catch (const Error&) {
    // not a plain stack: only NODE[j] names and output
  }
  if (std::find(out.begin(), out.end(), "output") == out.end()) out.push_back("output");
  return out;
}

// Values of `names` for every event of `events` ([N, k]), and with `gradient` the exact
// input gradients of each neuron (one array per input, shaped like the input).
py::tuple predict(const Model& m, const EventsHolder& ev, const std::vector<std::string>& names, bool gradient,
                  Index batch) {
  const Network& net = *m.net;
  const Events& events = *ev.events;
  events.check_model(net, "predict");
  std::vector<NeuronRef> refs;
  for (const auto& n : names) refs.push_back(net.resolve(n));
  EvalOptions eo;
  eo.batch = batch;
  auto values = std::make_shared<Tensor>();
  auto grads = std::make_shared<std::vector<std::vector<Tensor>>>();
  {
    LongCall call;
    *values = evaluate(net, events.inputs(), refs, eo);
    if (gradient)
      for (const auto& r : refs) grads->push_back(input_gradient(net, events.inputs(), r, eo));
  }
  py::list g;
  for (const auto& per_neuron : *grads) {
    py::list l;
    for (const auto& t : per_neuron) l.append(view(grads, t));
    g.append(l);
  }
  return py::make_tuple(view(values, *values), g);
}

// The command line's `unbox train` on a Dataset: the same checks, network, options and
// metadata, so the same data and options give the same weights.
py::tuple train_model(const Dataset& data_in, py::dict kw, py::object hook) {
  Dataset data = data_in;
  std::string arch_text, activation = "relu", output, preprocess = "standardize", loss = "auto";
  std::vector<std::string> columns;
  double l1 = -1, l2 = 0;
  TrainOptions o;
  Options opt("train", kw);
  opt("arch", arch_text);
  opt("activation", activation);
  opt("output", output);
  opt("preprocess", preprocess);
  opt("loss", loss);
  opt("columns", columns);
  opt("epochs", o.epochs);
  opt("batch", o.batch);
  opt("lr", o.learning_rate);
  opt("l1", l1);
  opt("l2", l2);
  opt("patience", o.patience);
  opt("validation", o.validation_fraction);
  opt("balance", o.balance_classes);
  opt("seed", o.seed);
  opt("quiet", o.quiet);
  opt.finish();
  if (arch_text.empty()) throw OptionError("train: arch is required: 'paper' or hidden widths like '64,64'");
  check(o);
  // The command line's data checks (labels 0/1, input columns, finite values, both classes).
  const std::vector<std::string> features = check_training_inputs(data, columns);
  const auto labels = data.labels();
  Architecture arch =
      parse_architecture(arch_text, activation, output.empty() ? (arch_text == "paper" ? "tanh" : "sigmoid") : output);
  arch.preprocess = preprocess;
  o.loss = parse_loss(loss);
  o.l1 = l1 >= 0 ? l1 : arch.l1;
  o.l2 = l2;
  auto net = std::make_shared<Network>(build_network(features, arch));
  Tensor x = data.columns_matrix(features);
  std::vector<double> w;
  if (data.weight_column) w = data.weights();
  if (hook.is_none()) {
    // No Python callback: still stop on Ctrl-C after any optimizer step.
    o.hook = [](const TrainEvent&) {
      py::gil_scoped_acquire gil;
      poll_signals_or_throw();
    };
  } else {
    o.hook = [&hook](const TrainEvent& e) {
      py::gil_scoped_acquire gil;
      poll_signals_or_throw();
      py::dict d;
      d["kind"] = e.kind == TrainEvent::Step ? "step" : "epoch";
      d["step"] = e.step;
      d["epoch"] = e.epoch;
      d["loss"] = e.loss;
      d["val_loss"] = e.val_loss;
      d["val_auc"] = e.val_auc;
      try {
        hook(d);
      } catch (py::error_already_set& err) {
        if (err.matches(PyExc_KeyboardInterrupt)) throw Cancelled();
        throw;
      }
    };
  }
  TrainResult r;
  {
    LongCall call;
    r = train(*net, x, labels, w, o);
  }
  record_training(*net, data, arch.name, o, r);
  Model m{net, "<trained>"};
  return py::make_tuple(m, json_to_python(net->metadata["training"]));
}

py::dict train_defaults() {
  std::string arch_text, activation = "relu", output, preprocess = "standardize", loss = "auto";
  std::vector<std::string> columns;
  double l1 = -1, l2 = 0;
  TrainOptions o;
  Options opt("train");
  opt("arch", arch_text);
  opt("activation", activation);
  opt("output", output);
  opt("preprocess", preprocess);
  opt("loss", loss);
  opt("columns", columns);
  opt("epochs", o.epochs);
  opt("batch", o.batch);
  opt("lr", o.learning_rate);
  opt("l1", l1);
  opt("l2", l2);
  opt("patience", o.patience);
  opt("validation", o.validation_fraction);
  opt("balance", o.balance_classes);
  opt("seed", o.seed);
  opt("quiet", o.quiet);
  return opt.defaults();
}

}  // namespace

void init_models(py::module_& m) {
  py::class_<Model>(m, "Model")
      .def_readonly("source", &Model::source)
      .def("info", [](const Model& self) { return json_to_python(model_info(*self.net, self.source)); })
      .def("summary", [](const Model& self) { return model_summary(*self.net, self.source); })
      .def_property_readonly("neurons", &neurons)
      .def_property_readonly("inputs",
                             [](const Model& self) {
                               py::list l;
                               for (int id : self.net->input_nodes()) {
                                 const Node& n = self.net->node(id);
                                 l.append(py::make_tuple(n.name, n.shape));
                               }
                               return l;
                             })
      .def("feature_names", [](const Model& self, int k) { return self.net->feature_names(k); })
      .def_property_readonly("names_columns", [](const Model& self) { return model_names_columns(*self.net); })
      .def("predict", &predict, py::arg("events"), py::arg("neurons"), py::arg("gradient"), py::arg("batch"))
      .def("save",
           [](const Model& self, const std::string& path) {
             LongCall call;
             save_network(*self.net, path);
           })
      .def("export_onnx", [](const Model& self, const std::string& path) {
        LongCall call;
        export_onnx(*self.net, path);
      });
  m.def("load", &load, py::arg("path"));
  m.def("load_onnx_bytes", &load_onnx_bytes, py::arg("data"), py::arg("name"));
  m.def("train", &train_model, py::arg("data"), py::arg("options"), py::arg("hook"));
  m.def("train_defaults", &train_defaults);
}

}  // namespace unbox::python
