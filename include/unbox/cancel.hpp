// Cancellation of long loops from outside (the Python module's Ctrl-C). A program installs
// a check; the library's parallel loops (parallel_for, the event-tile loop) ask it once per
// iteration or tile and stop with `Cancelled` when it says so. Without a check (the command
// line) nothing changes: check_cancelled() is one atomic load.
#pragma once

#include <stdexcept>

namespace unbox {

// Thrown by check_cancelled(): not an Error (nothing the user's input did wrong).
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("interrupted") {}
};

// The check: returns true to stop. Called from any thread of a parallel region, so it must
// be thread-safe. nullptr removes it.
using CancelCheck = bool (*)();
void set_cancel_check(CancelCheck check);

// Throws Cancelled when a check is installed and returns true.
void check_cancelled();

}  // namespace unbox
