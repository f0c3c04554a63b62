#include "unbox/cancel.hpp"

#include <atomic>

namespace unbox {

namespace {
std::atomic<CancelCheck> g_check{nullptr};
}

void set_cancel_check(CancelCheck check) { g_check.store(check, std::memory_order_release); }

void check_cancelled() {
  const CancelCheck check = g_check.load(std::memory_order_acquire);
  if (check != nullptr && check()) throw Cancelled();
}

}  // namespace unbox
