// Under mpirun: dist::sum_in_rank_order and dist::all_gather on values whose sum depends on
// the order of the additions. Every rank prints one line with its results (%.17g), which
// tests/dist/test_distb.py compares with the sums taken in rank order.
#include <cstdio>
#include <string>
#include <vector>

#include "unbox/dist.hpp"

int main(int argc, char** argv) {
  try {
    unbox::dist::init(&argc, &argv);
    const int r = unbox::dist::rank();
    // Rank 0: 1e16, rank 1: 1, rank 2: -1e16, ...: in rank order (1e16 + 1) - 1e16 = 0, while
    // 1e16 - 1e16 + 1 = 1. And 0.1 (r + 1): 0.1 + 0.2 + 0.3 = 0.6000000000000001 in that order.
    const double big[3] = {1e16, 1.0, -1e16};
    std::vector<double> v = {big[r % 3], 0.1 * (r + 1), static_cast<double>(r)};
    unbox::dist::sum_in_rank_order(v);
    const std::vector<double> mine(static_cast<size_t>(r + 1), static_cast<double>(r));
    const std::vector<double> all = unbox::dist::all_gather(mine);
    std::string line = "rank " + std::to_string(r) + " sums";
    char buf[64];
    for (double x : v) {
      std::snprintf(buf, sizeof buf, " %.17g", x);
      line += buf;
    }
    line += " gathered";
    for (double x : all) {
      std::snprintf(buf, sizeof buf, " %.17g", x);
      line += buf;
    }
    std::printf("%s\n", line.c_str());
    return 0;
  } catch (const unbox::Error& e) {
    std::fprintf(stderr, "dist_probe: %s\n", e.what());
    return 2;
  }
}
