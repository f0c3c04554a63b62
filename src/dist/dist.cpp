// The distributed layer (dist.hpp): MPI when built with it, one local rank otherwise.
#include "unbox/dist.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#if UNBOX_MPI
// The C API only: no C++ bindings (deprecated, and they do not compile warning-free).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace unbox::dist {

namespace {
bool started = false;
int my_rank = 0, my_size = 1;

// Launched by mpirun/srun? (A plain run must not start MPI: singleton start-up is slow and
// noisy in containers.)
bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}
}  // namespace

bool built_with_mpi() { return UNBOX_MPI != 0; }

#if UNBOX_MPI

namespace {
void finalize_at_exit() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(fmt::format("MPI {} failed (error {})", what, rc));
}
}  // namespace

void init(int* argc, char*** argv) {
  if (started || !launched()) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "start-up");
  started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &my_size);
  std::atexit(finalize_at_exit);
}

std::vector<std::string> gather(const std::string& mine) {
  if (my_size == 1) return {mine};
  const auto len = static_cast<long long>(mine.size());
  std::vector<long long> lengths(static_cast<size_t>(my_size), 0);
  check(MPI_Gather(&len, 1, MPI_LONG_LONG, lengths.data(), 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD), "gather");
  std::vector<int> counts(static_cast<size_t>(my_size)), offsets(static_cast<size_t>(my_size));
  long long total = 0;
  for (int r = 0; r < my_size; ++r) {
    if (lengths[static_cast<size_t>(r)] > (1LL << 30)) throw Error("MPI gather: a rank's result exceeds 1 GB");
    counts[static_cast<size_t>(r)] = static_cast<int>(lengths[static_cast<size_t>(r)]);
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += lengths[static_cast<size_t>(r)];
  }
  if (my_rank == 0 && total > (1LL << 31) - 1) throw Error("MPI gather: the results exceed 2 GB");
  std::string all(my_rank == 0 ? static_cast<size_t>(total) : 0, '\0');
  check(MPI_Gatherv(mine.data(), static_cast<int>(len), MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR,
                    0, MPI_COMM_WORLD),
        "gather");
  if (my_rank != 0) return {};
  std::vector<std::string> out;
  for (int r = 0; r < my_size; ++r)
    out.push_back(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]),
                             static_cast<size_t>(counts[static_cast<size_t>(r)])));
  return out;
}

std::string broadcast(const std::string& from_root) {
  if (my_size == 1) return from_root;
  long long len = my_rank == 0 ? static_cast<long long>(from_root.size()) : 0;
  check(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD), "broadcast");
  std::string s = my_rank == 0 ? from_root : std::string(static_cast<size_t>(len), '\0');
  check(MPI_Bcast(s.data(), static_cast<int>(len), MPI_CHAR, 0, MPI_COMM_WORLD), "broadcast");
  return s;
}

void sum_in_rank_order(std::vector<double>& values) {
  if (my_size == 1) return;
  // Gather every rank's vector at rank 0, add them in rank order, broadcast the sum: MPI's
  // own reductions may add in any order.
  const int n = static_cast<int>(values.size());
  std::vector<double> all(my_rank == 0 ? values.size() * static_cast<size_t>(my_size) : 0);
  check(MPI_Gather(values.data(), n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD), "gather");
  if (my_rank == 0) {
    for (size_t k = 0; k < values.size(); ++k) {
      double s = all[k];
      for (int r = 1; r < my_size; ++r) s += all[static_cast<size_t>(r) * values.size() + k];
      values[k] = s;
    }
  }
  check(MPI_Bcast(values.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD), "broadcast");
}

std::vector<double> all_gather(const std::vector<double>& mine) {
  if (my_size == 1) return mine;
  if (mine.size() > static_cast<size_t>(1 << 30)) throw Error("MPI all_gather: a rank's values exceed 2^30");
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(my_size)), offsets(static_cast<size_t>(my_size));
  check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "all_gather");
  long long total = 0;
  for (int r = 0; r < my_size; ++r) {
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += counts[static_cast<size_t>(r)];
  }
  if (total > (1LL << 31) - 1) throw Error("MPI all_gather: the values exceed 2^31");
  std::vector<double> all(static_cast<size_t>(total));
  check(
      MPI_Allgatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, MPI_COMM_WORLD),
      "all_gather");
  return all;
}

void barrier() {
  if (my_size > 1) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

#else

void init(int*, char***) {}
std::vector<std::string> gather(const std::string& mine) { return {mine}; }
std::string broadcast(const std::string& from_root) { return from_root; }
void sum_in_rank_order(std::vector<double>&) {}
std::vector<double> all_gather(const std::vector<double>& mine) { return mine; }
void barrier() {}

#endif

bool active() { return started; }
int rank() { return my_rank; }
int size() { return my_size; }

Range split(Index total, int r, int n) {
  if (n < 1 || r < 0 || r >= n) throw Error(fmt::format("bad rank {} of {}", r, n));
  const Index base = total / n, extra = total % n;
  Range out;
  out.begin = r * base + std::min<Index>(r, extra);
  out.end = out.begin + base + (r < extra ? 1 : 0);
  return out;
}

}  // namespace unbox::dist
