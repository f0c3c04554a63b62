// The distributed layer: ranks of a run started by mpirun or srun, a fixed split of the
// events into contiguous ranges, and the gathering of every rank's result at rank 0 in
// rank order (so the merge order, and with it the bits, is fixed).
//
// MPI is an optional build feature (CMake option UNBOX_MPI, on when MPI is found). No MPI
// header is visible here: other modules see strings and ranges only. Built without MPI,
// or started without mpirun, a run is rank 0 of 1 and every function below is local.
#pragma once

#include <string>
#include <vector>

#include "unbox/core.hpp"

namespace unbox::dist {

// True when this build can run across ranks.
bool built_with_mpi();
// Start (once) when launched by an MPI launcher (mpirun, srun with PMI); a no-op otherwise.
// finalize() is called at exit by the layer itself.
void init(int* argc, char*** argv);
bool active();  // init() started MPI
int rank();
int size();
inline bool root() { return rank() == 0; }

// Events [begin, end) of rank `r` among `n` ranks: contiguous, in rank order, the first
// (total mod n) ranks one event more.
struct Range {
  Index begin = 0, end = 0;
  Index count() const { return end - begin; }
};
Range split(Index total, int r, int n);

// Every rank's text, at rank 0 in rank order (other ranks get an empty list). Collective.
std::vector<std::string> gather(const std::string& mine);
// Rank 0's text on every rank. Collective.
std::string broadcast(const std::string& from_root);
// Element-wise sums of `values` over the ranks, added in rank order (rank 0 + rank 1 + ...)
// so the bits do not depend on the launcher; every rank gets the result. Collective.
void sum_in_rank_order(std::vector<double>& values);
// Every rank's `values` concatenated in rank order, on every rank (ranks may give different
// lengths). Collective.
std::vector<double> all_gather(const std::vector<double>& mine);
// Wait for every rank. Collective.
void barrier();

}  // namespace unbox::dist
