// The one parallel loop over events shared by evaluation, the derivative engine and
// relevance propagation (internal header).
#pragma once

#include <algorithm>
#include <exception>
#include <vector>

#include "unbox/cancel.hpp"
#include "unbox/tensor.hpp"

namespace unbox::detail {

// Cuts [0, events) into chunks of `chunk` events spread over the OpenMP threads (dynamic
// schedule) and each chunk into tiles of at most `tile` events. For every tile it copies
// the tile's rows of each input into per-thread tensors and calls
//   body(state, chunk_index, begin, count, ptrs)
// where `state` is what make_state() returned once per thread (a reference to a
// thread_local for state kept between calls, or a value). Each tile writes only its own
// rows, so results do not depend on the thread count. An exception must not leave an
// OpenMP region: the first one is kept, the remaining chunks are skipped, and it is
// rethrown after the region.
template <class MakeState, class Body>
void for_each_event_tile(const std::vector<Tensor>& inputs, Index chunk, Index tile, MakeState&& make_state,
                         Body&& body) {
  const Index events = inputs.empty() ? 0 : inputs[0].events();
  chunk = std::max<Index>(1, chunk);
  tile = std::max<Index>(1, tile);
  const Index chunks = (events + chunk - 1) / chunk;
  bool failure_flag = false;
  std::exception_ptr failure;
#pragma omp parallel
  {
    auto&& state = make_state();
    std::vector<Tensor> slices(inputs.size());
    std::vector<const Tensor*> ptrs(inputs.size());
#pragma omp for schedule(dynamic, 1)
    for (Index c = 0; c < chunks; ++c) {
      bool failed;
#pragma omp atomic read
      failed = failure_flag;
      if (failed) continue;
      try {
        const Index chunk_end = std::min(events, (c + 1) * chunk);
        for (Index begin = c * chunk; begin < chunk_end; begin += tile) {
          check_cancelled();  // a no-op unless a program installed a check (cancel.hpp)
          const Index count = std::min(tile, chunk_end - begin);
          for (size_t k = 0; k < inputs.size(); ++k) {
            Shape s = inputs[k].shape();
            s[0] = count;
            slices[k].resize(s);
            const Index pe = inputs[k].per_event();
            std::copy_n(inputs[k].data() + begin * pe, count * pe, slices[k].data());
            ptrs[k] = &slices[k];
          }
          body(state, c, begin, count, ptrs);
        }
      } catch (...) {
#pragma omp critical(unbox_event_tiles_failure)
        if (!failure) failure = std::current_exception();
#pragma omp atomic write
        failure_flag = true;
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace unbox::detail
