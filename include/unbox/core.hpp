// unbox core: errors, atomic file output, threads, progress reporting.
// Everything here depends only on the standard library and fmt.
#pragma once

#include <cstdint>
#include <functional>
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
// the exception propagates.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Same for text content produced in memory.
void write_text_atomically(const std::string& path, const std::string& content);

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

}  // namespace unbox
