// `_unbox`: the compiled part of `import unbox` (the package python/unbox/ sits on top).
// This file: exceptions, threads, long calls (GIL, Ctrl-C), NumPy conversion, results.
#include <Python.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include "common.hpp"
#include "unbox/cancel.hpp"
#include "unbox/onnx.hpp"

namespace unbox::python {

// ---- long calls ------------------------------------------------------------------------------
namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_depth{0};
std::thread::id g_caller;
std::atomic<std::int64_t> g_last_poll{0};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The cancellation check: every thread sees the flag; the calling thread (OpenMP's master)
// also polls Python's signal handlers every 20 ms, taking the GIL for that moment.
bool python_cancel_check() {
  if (g_interrupted.load(std::memory_order_relaxed)) return true;
  if (std::this_thread::get_id() != g_caller) return false;
  const std::int64_t t = now_ns();
  if (t - g_last_poll.load(std::memory_order_relaxed) < 20'000'000) return false;
  g_last_poll.store(t, std::memory_order_relaxed);
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();  // raised again as KeyboardInterrupt by the translator of unbox::Cancelled
    g_interrupted.store(true);
    return true;
  }
  return false;
}
}  // namespace

LongCall::LongCall() {
  if (g_depth.fetch_add(1) == 0) {
    g_interrupted.store(false);
    g_caller = std::this_thread::get_id();
    g_last_poll.store(0);
    set_cancel_check(&python_cancel_check);
  }
}

LongCall::~LongCall() {
  if (g_depth.fetch_sub(1) == 1) set_cancel_check(nullptr);
}

void poll_signals_or_throw() {
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();
    g_interrupted.store(true);
    throw Cancelled();
  }
}

// ---- progress ------------------------------------------------------------------------------------
struct ProgressBridge::State {
  py::object callable = py::none();  // None: the library's bar (when `bar`) or nothing
  bool bar = false;
  std::string label;
  std::unique_ptr<Progress> progress;  // the library's own bar, made at the first call
  bool failed = false;
  py::object type, value, trace;  // what the callable raised
};

ProgressBridge::ProgressBridge(py::object progress, std::string label) : state_(std::make_shared<State>()) {
  state_->label = std::move(label);
  if (progress.is_none()) return;
  if (py::isinstance<py::bool_>(progress)) {
    state_->bar = progress.cast<bool>();
    return;
  }
  if (!PyCallable_Check(progress.ptr()))
    throw OptionError(state_->label + ": progress must be True, False, None or a callable(done, total)");
  state_->callable = std::move(progress);
}

ProgressCallback ProgressBridge::callback() const {
  if (state_->callable.is_none() && !state_->bar) return {};
  std::shared_ptr<State> st = state_;
  return [st](Index done, Index total) {
    if (st->callable.is_none()) {  // the library's own bar: no Python involved
      if (!st->progress) st->progress = std::make_unique<Progress>(st->label, total);
      st->progress->update(done);
      if (done >= total) st->progress->finish();
      return;
    }
    py::gil_scoped_acquire gil;
    if (st->failed) return;
    try {
      st->callable(done, total);
    } catch (py::error_already_set& e) {
      st->failed = true;
      st->type = e.type();
      st->value = e.value();
      st->trace = e.trace();
      g_interrupted.store(true);  // stop the call as Ctrl-C does; run() raises the error instead
    }
  };
}

void ProgressBridge::raise_stored() {
  if (!state_->failed) return;
  state_->failed = false;
  PyErr_Restore(state_->type.release().ptr(), state_->value.release().ptr(), state_->trace.release().ptr());
  throw py::error_already_set();
}

// ---- NumPy ---------------------------------------------------------------------------------------
Tensor to_tensor(py::handle obj, const std::string& what) {
  py::array a;
  try {
    a = py::array::ensure(obj);
  } catch (const py::error_already_set&) {
  }
  if (!a) throw Error(what + ": expected a numeric array");
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw Error(what + ": expected a numeric array, got dtype " + py::str(a.dtype()).cast<std::string>());
  // float64 in C order passes through without a copy here; everything else is converted.
  auto c = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!c) throw Error(what + ": cannot convert to float64");
  if (c.ndim() == 0) throw Error(what + ": expected an array with one entry per event, got a scalar");
  Shape shape(static_cast<size_t>(c.ndim()));
  for (py::ssize_t i = 0; i < c.ndim(); ++i) shape[static_cast<size_t>(i)] = c.shape(i);
  const auto* data = static_cast<const double*>(c.data());
  if (c.size() > 0 && reinterpret_cast<std::uintptr_t>(data) % alignof(double) == 0) {
    // Borrowed: the Tensor reads the array in place and holds a reference to it. The last
    // Tensor to let go may do so without the GIL (a Dataset dropped inside a long call).
    auto* ref = new py::object(py::reinterpret_borrow<py::object>(c));
    std::shared_ptr<const void> keep(ref, [](py::object* o) {
      py::gil_scoped_acquire gil;
      delete o;
    });
    return Tensor::borrow(std::move(shape), data, std::move(keep));
  }
  std::vector<double> values(static_cast<size_t>(c.size()));
  if (c.size() > 0) std::memcpy(values.data(), c.data(), sizeof(double) * static_cast<size_t>(c.size()));
  return Tensor(std::move(shape), std::move(values));
}

std::vector<double> to_vector(py::handle obj, const std::string& what) {
  Tensor t = to_tensor(obj, what);
  return std::move(t.values());
}

namespace {
py::capsule keep_alive(const std::shared_ptr<const void>& owner) {
  return py::capsule(new std::shared_ptr<const void>(owner),
                     [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); });
}
}  // namespace

py::array view(const std::shared_ptr<const void>& owner, const Tensor& values) {
  std::vector<py::ssize_t> shape(values.shape().begin(), values.shape().end());
  if (shape.empty()) shape.push_back(0);
  return py::array_t<double>(shape, values.data(), keep_alive(owner));
}

py::array view(const std::shared_ptr<const void>& owner, const std::vector<double>& values) {
  return py::array_t<double>({static_cast<py::ssize_t>(values.size())}, values.data(), keep_alive(owner));
}

py::object json_to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::dict dataset_columns(const std::shared_ptr<const void>& owner, const Dataset& d) {
  py::dict out;
  for (const auto& name : d.names()) out[py::str(name)] = view(owner, d.get(name));
  return out;
}

// ---- options -----------------------------------------------------------------------------------
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text + ",") {
    if (ch == ',') {
      const auto b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return out;
}

void Options::convert(const char* name, py::object v, std::vector<std::string>& value) {
  if (py::isinstance<py::str>(v)) {
    value = split_list(v.cast<std::string>());
    return;
  }
  try {
    value = v.cast<std::vector<std::string>>();
  } catch (const py::cast_error&) {
    throw OptionError(method_ + ": option '" + name + "' must be a list of names or a comma-separated string");
  }
}

void Options::convert(const char* name, py::object v, std::vector<double>& value) {
  try {
    if (py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v))
      value = {v.cast<double>()};
    else
      value = v.cast<std::vector<double>>();
  } catch (const py::cast_error&) {
    throw OptionError(method_ + ": option '" + name + "' must be a number or a list of numbers");
  }
}

void Options::finish() const {
  std::string unknown;
  for (auto item : kw_) {
    const auto key = item.first.cast<std::string>();
    if (!used_.count(key)) unknown += (unknown.empty() ? "" : ", ") + key;
  }
  if (unknown.empty()) return;
  std::string known;
  for (const auto& n : names_) known += (known.empty() ? "" : ", ") + n;
  throw OptionError(method_ + ": unknown option " + unknown + "; the options are: " + known);
}

}  // namespace unbox::python

using namespace unbox::python;

PYBIND11_MODULE(_unbox, m) {
  m.doc() = "unbox: explaining neural-network classifiers in particle physics (compiled part)";

  // unbox.Error <- unbox::Error; its subclasses are raised by the module where the cause is
  // known (a file that cannot be read, an unknown option, a model unbox cannot import).
  static py::exception<unbox::Error> error(m, "Error");
  static py::exception<InputError> input_error(m, "InputError", error.ptr());
  static py::exception<OptionError> option_error(m, "OptionError", error.ptr());
  static py::exception<unbox::OnnxUnsupported> unsupported(m, "UnsupportedModelError", input_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const unbox::Cancelled&) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
    } catch (const unbox::OnnxUnsupported& e) {
      unsupported(e.what());
    } catch (const InputError& e) {
      input_error(e.what());
    } catch (const OptionError& e) {
      option_error(e.what());
    } catch (const unbox::Error& e) {
      error(e.what());
    }
  });

  m.def("set_threads", &unbox::set_thread_count, py::arg("n"),
        "Use n OpenMP threads for every later call (n <= 0: leave as is). Results do not depend on it.");
  m.def("threads", &unbox::thread_count, "The number of OpenMP threads in use.");

  py::class_<Result>(m, "Result")
      .def_readonly("method", &Result::method)
      .def_readonly("table", &Result::table)
      .def_readonly("json", &Result::json)
      .def_readonly("arrays", &Result::arrays)
      .def_readonly("frames", &Result::frames);

  init_models(m);
  init_events(m);
  init_methods(m);
  init_physics(m);
}
