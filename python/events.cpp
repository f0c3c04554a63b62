// Events: Dataset (named arrays; columns come back to Python as views), the file readers
// and writers, and Events (a Dataset bound to a model's inputs by the library's one rule).
#include <fmt/format.h>

#include "common.hpp"

namespace unbox::python {

namespace {

using DatasetPtr = std::shared_ptr<Dataset>;

DatasetPtr read(const std::string& spec, bool allow_nan) {
  ReadOptions ro;
  ro.allow_nan = allow_nan;
  auto d = std::make_shared<Dataset>();
  try {
    LongCall call;
    *d = read_dataset(spec, ro);
  } catch (const Error& e) {
    throw InputError(e.what());
  }
  if (d->source.empty()) d->source = spec;
  return d;
}

void add(Dataset& d, const std::string& name, py::handle values) {
  Tensor t = to_tensor(values, fmt::format("column '{}'", name));
  d.add(name, std::move(t));
}

// `consume`: the Dataset was made for this binding only (the Python layer's fresh copy), so
// its arrays move into the Events instead of being copied once more.
EventsHolder bind(py::object model, const DatasetPtr& data, const std::vector<std::string>& columns, Index first,
                  bool consume) {
  if (first < 0) throw OptionError(fmt::format("events must be >= 0, got {}", first));
  Dataset d = consume ? std::move(*data) : *data;
  if (consume) *data = Dataset();
  if (first > 0 && d.events() > first) {
    std::vector<Index> rows(static_cast<size_t>(first));
    for (Index i = 0; i < first; ++i) rows[static_cast<size_t>(i)] = i;
    d = d.subset(rows);
  }
  EventsHolder h;
  if (model.is_none()) {
    h.events = std::make_shared<Events>(std::move(d));
  } else {
    const Model& m = model.cast<const Model&>();
    LongCall call;
    h.events = std::make_shared<Events>(*m.net, std::move(d), Binding{columns, 0});
  }
  return h;
}

}  // namespace

void init_events(py::module_& m) {
  py::class_<Dataset, DatasetPtr>(m, "Dataset")
      .def(py::init<>())
      .def_property_readonly("events", &Dataset::events)
      .def("__len__", &Dataset::events)
      .def_property_readonly("names", &Dataset::names)
      .def_readwrite("source", &Dataset::source)
      .def_readwrite("label_column", &Dataset::label_column)
      .def_readwrite("weight_column", &Dataset::weight_column)
      .def("has", &Dataset::has)
      .def("__contains__", &Dataset::has)
      .def("add", &add, py::arg("name"), py::arg("values"),
           "Add an array: a float64 C-contiguous array is read in place (no copy; the Dataset keeps it alive, and "
           "changing it later changes the Dataset); float32, integer, Fortran-order and strided arrays are "
           "converted in one copy.")
      .def("__getitem__", [](const DatasetPtr& self, const std::string& name) { return view(self, self->get(name)); })
      .def("columns", [](const DatasetPtr& self) { return dataset_columns(self, *self); })
      .def("feature_columns", &Dataset::feature_columns)
      .def("write", [](const Dataset& self, const std::string& spec) {
        LongCall call;
        write_dataset(self, spec);
      });
  m.def("read", &read, py::arg("spec"), py::arg("allow_nan") = false);

  py::class_<EventsHolder>(m, "Events")
      .def_property_readonly("size", [](const EventsHolder& h) { return h.events->size(); })
      .def("__len__", [](const EventsHolder& h) { return h.events->size(); })
      .def_property_readonly("bound", [](const EventsHolder& h) { return h.events->bound(); })
      .def_property_readonly("how", [](const EventsHolder& h) { return h.events->how(); })
      .def(
          "feature_names", [](const EventsHolder& h, size_t k) { return h.events->feature_names(k); },
          py::arg("input") = 0)
      .def_property_readonly("inputs",
                             [](const EventsHolder& h) {
                               py::list l;
                               for (const auto& t : h.events->inputs()) l.append(view(h.events, t));
                               return l;
                             })
      .def_property_readonly("labels", [](const EventsHolder& h) { return copy_array(h.events->labels()); })
      .def_property_readonly("weights", [](const EventsHolder& h) { return copy_array(h.events->weights()); });
  m.def("bind", &bind, py::arg("model"), py::arg("data"), py::arg("columns"), py::arg("first"),
        py::arg("consume") = false);
}

}  // namespace unbox::python
