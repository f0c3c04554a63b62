// unbox core: errors, atomic file output, threads, progress reporting.
// Everything here depends only on the standard library and fmt.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>

namespace unbox {

using Index = std::int64_t;

// An error the user can fix (bad input file, bad option, missing column, ...).
// The message is complete and physicist-readable; the CLI prints it as one line
// on stderr and exits with code 2.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "file:line:column: what" (line/column omitted when 0).
[[noreturn]] void fail_at(const std::string& file, Index line, Index column, const std::string& what);

// Writes a file whole or not at all: `write` receives a temporary path in the same
// directory; on success it is renamed to `path`, on any exception it is removed and
// the exception propagates. While `write` runs the temporary is registered for removal on
// SIGINT/SIGTERM: the first call installs handlers (where none is installed) that delete
// every registered temporary and exit with 128 + signal (130, 143).
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Same for text content produced in memory.
void write_text_atomically(const std::string& path, const std::string& content);

// The memory budget, in bytes, that readers check a file's claimed sizes against before
// they allocate: UNBOX_MEMORY_BUDGET when set (bytes, with an optional K/M/G/T suffix in
// powers of 1024, or a percentage of physical memory such as "25%"), else half of the
// physical memory; never more than 3/4 of the address-space limit (ulimit -v) when one is set.
std::uint64_t memory_budget();
// Throws Error("<what> needs N bytes (x GiB), more than the memory budget of ...") when
// `bytes` exceeds memory_budget(). `what` names the file and the object.
void check_memory(const std::string& what, std::uint64_t bytes);
// a * b, saturating at UINT64_MAX instead of wrapping (for sizes claimed by a file).
std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b);

// A warning for the user: one line "unbox: warning: <message>" on stderr.
void warn(const std::string& message);

// Class labels: every value must be exactly 0 (background) or 1 (signal). Otherwise
// Error("<what> must hold 0 (background) or 1 (signal); event N has V"), N counted from 1;
// `what` names the labels ("file.csv: label column 'y'", "ADO: the labels").
void require_binary_labels(std::span<const double> labels, const std::string& what);

// Lower-case file extension without the dot ("csv", "npz", "h5"); "" if none.
std::string extension_of(const std::string& path);

// Number of OpenMP threads in use (omp_get_max_threads), and a setter (n <= 0: leave as is).
int thread_count();
void set_thread_count(int n);

// A progress reporter for long loops: a redrawn bar on a terminal (stderr is a tty),
// plain lines otherwise, nothing when quiet.
class Progress {
 public:
  Progress(std::string label, Index total, bool quiet = false);
  ~Progress();
  // Set the absolute position and an optional status text ("loss 0.123 ...").
  void update(Index done, const std::string& status = "");
  // Print a permanent line (epoch summaries); keeps the bar below it on a terminal.
  void line(const std::string& text);
  void finish(const std::string& status = "");

 private:
  std::string label_;
  Index total_;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  double start_;
  double last_draw_ = -1.0;
};

// Progress of a long library call, for a caller that shows it (the Python module's bar):
// called with the units done so far and the total. Calls may come from any thread of a
// parallel loop but never overlap; `done` never decreases, and a call that runs to its end
// makes a last call with done == total. Not used by the computation.
using ProgressCallback = std::function<void(Index done, Index total)>;

// A method's side of a ProgressCallback: add() from any thread as work completes, finish()
// at the end. Forwards at most about 256 times per call (and always the end); without a
// callback add() is one branch.
class ProgressCounter {
 public:
  ProgressCounter(const ProgressCallback& callback, Index total);
  void add(Index units) {
    if (callback_ != nullptr) add_slow(units);
  }
  void finish();
  Index total() const { return total_; }

 private:
  void add_slow(Index units);
  const ProgressCallback* callback_;
  Index total_;
  Index step_;
  std::atomic<Index> done_{0};
  std::mutex mutex_;
  std::atomic<Index> reported_{-1};
};

}  // namespace unbox
