// Shared pieces of the Python module `_unbox`: the model and events holders, NumPy
// conversion (in: float64 C-order arrays borrowed in place, others converted in one copy;
// out: views of C++ memory kept alive by the result), keyword options read through one
// table per method, long calls that release the GIL, show progress and stop on Ctrl-C, and
// the exceptions.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "unbox/cancel.hpp"
#include "unbox/core.hpp"
#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"
#include "unbox/tensor.hpp"

namespace unbox::python {

namespace py = pybind11;

// ---- exceptions (registered in module.cpp as unbox.InputError, unbox.OptionError) ------
// A file that cannot be read (data or model): its message is the library's, naming the file.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A keyword option unbox does not know or cannot convert.
struct OptionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- holders -----------------------------------------------------------------------------
struct Model {
  std::shared_ptr<Network> net;
  std::string source;  // file name, "<torch>", "<trained>"
};

struct EventsHolder {
  std::shared_ptr<Events> events;
};

// ---- long calls --------------------------------------------------------------------------
// Releases the GIL and installs the cancellation check for the duration of a library call:
// Ctrl-C (SIGINT, or _thread.interrupt_main) then stops the library's parallel loops with
// unbox::Cancelled, which the module raises as KeyboardInterrupt.
class LongCall {
 public:
  LongCall();
  ~LongCall();
  LongCall(const LongCall&) = delete;
  LongCall& operator=(const LongCall&) = delete;

 private:
  py::gil_scoped_release release_;
};
// Poll Python's signal handlers from the calling thread (with the GIL held): throws
// unbox::Cancelled when a handler raised (KeyboardInterrupt).
void poll_signals_or_throw();

// The progress of a long call, shown from Python: `progress` is a callable(done, total)
// (the Python layer's tqdm bar, a test's recorder), True (the library's own bar on stderr,
// unbox::Progress, drawn when stderr is a terminal) or None/False (nothing). callback()
// is what the method's options take: it takes the GIL for each call and never throws (the
// library calls it inside OpenMP regions); an exception of the callable stops the call
// (as Ctrl-C does) and is raised again by run() in its place.
class ProgressBridge {
 public:
  ProgressBridge(py::object progress, std::string label);
  ProgressCallback callback() const;
  // Runs `work` as a LongCall (GIL released, Ctrl-C stops it); afterwards, with the GIL,
  // raises what the callable raised.
  template <class F>
  void run(F&& work) {
    try {
      LongCall call;
      work();
    } catch (const Cancelled&) {
      raise_stored();
      throw;
    }
    raise_stored();
  }

 private:
  void raise_stored();
  struct State;
  std::shared_ptr<State> state_;
};

// ---- NumPy ---------------------------------------------------------------------------------
// Any numeric array-like to an events-first Tensor (float64, C order). A float64 C-contiguous
// aligned array is borrowed, not copied (Tensor::borrow; the Tensor keeps the array alive,
// and reads it in place: changing the array later changes what the Tensor sees); float32,
// integer and bool arrays, Fortran order and strided views are converted in one copy.
// `what` names the array in messages.
Tensor to_tensor(py::handle obj, const std::string& what);
std::vector<double> to_vector(py::handle obj, const std::string& what);

// A NumPy view of `values` (no copy) whose base keeps `owner` alive.
py::array view(const std::shared_ptr<const void>& owner, const Tensor& values);
py::array view(const std::shared_ptr<const void>& owner, const std::vector<double>& values);
// A NumPy array holding its own copy (small vectors of other types).
template <class T>
py::array copy_array(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// nlohmann::json to Python objects (via the json module, so NaN stays null as in --json).
py::object json_to_python(const nlohmann::json& j);

// ---- results ---------------------------------------------------------------------------------
// What every method returns to the Python layer: its name, the table text, the JSON (the
// CLI's --json), per-event arrays (views of C++ memory) and tables ({column: array}).
struct Result {
  std::string method;
  std::string table;
  std::string json;                   // dumped to_json()
  py::dict arrays;                    // name -> ndarray (views kept alive by the C++ result)
  py::dict frames;                    // name -> {column: ndarray} (to_pandas candidates)
  std::shared_ptr<const void> owner;  // the C++ result
};

// The columns of a Dataset as {name: ndarray} views kept alive by `owner` (which holds `d`).
py::dict dataset_columns(const std::shared_ptr<const void>& owner, const Dataset& d);

// ---- keyword options -------------------------------------------------------------------
// One table per method maps keyword names to option fields: the same function reads the
// keywords (Options::read) and lists the defaults (Options::defaults), so help() and the
// error for an unknown keyword come from the table.
class Options {
 public:
  // Read mode: takes keywords from `kw`.
  Options(std::string method, py::dict kw) : method_(std::move(method)), kw_(std::move(kw)), dump_(false) {}
  // Dump mode: records names and default values.
  explicit Options(std::string method) : method_(std::move(method)), dump_(true) {}

  template <class T>
  void operator()(const char* name, T& value) {
    names_.push_back(name);
    if (dump_) {
      defaults_[name] = py::cast(value);
      return;
    }
    if (!kw_.contains(name)) return;
    used_.insert(name);
    py::object v = kw_[name];
    if (v.is_none()) return;
    convert(name, v, value);
  }
  // Throws OptionError naming every keyword the table does not know.
  void finish() const;
  py::dict defaults() const { return defaults_; }
  const std::string& method() const { return method_; }

 private:
  template <class T>
  void convert(const char* name, py::object v, T& value) {
    try {
      value = v.cast<T>();
    } catch (const py::cast_error&) {
      throw OptionError(method_ + ": option '" + name + "' cannot be " +
                        py::str(v.get_type().attr("__name__")).cast<std::string>());
    }
  }
  void convert(const char* name, py::object v, std::vector<std::string>& value);
  void convert(const char* name, py::object v, std::vector<double>& value);

  std::string method_;
  py::dict kw_;
  bool dump_;
  std::vector<std::string> names_;
  std::set<std::string> used_;
  py::dict defaults_;
};

std::vector<std::string> split_list(const std::string& text);

void init_models(py::module_& m);
void init_events(py::module_& m);
void init_methods(py::module_& m);
void init_physics(py::module_& m);

}  // namespace unbox::python
