// The one exception-safe parallel loop. An exception must not leave an OpenMP region (the
// program would terminate), so each iteration's exception is caught, the remaining work
// still runs, and the exception of the lowest index is rethrown after the region: the same
// error whatever the thread count.
#pragma once

#include <cstdint>
#include <exception>

#include "unbox/cancel.hpp"

namespace unbox {

// body(i) for i in [0, n) over the OpenMP threads, dynamic schedule in blocks of `grain`.
template <class Body>
void parallel_for(std::int64_t n, Body&& body, std::int64_t grain = 1) {
  std::exception_ptr error;
  std::int64_t error_at = n;
#pragma omp parallel for schedule(dynamic, grain)
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      check_cancelled();  // a no-op unless a program installed a check (cancel.hpp)
      body(i);
    } catch (...) {
#pragma omp critical(unbox_parallel_for_error)
      if (i < error_at) {
        error_at = i;
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace unbox
