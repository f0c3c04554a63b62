// OpenMP threads that sleep when they wait, by default.
//
// libgomp's default lets an idle thread spin for about 300k iterations before it sleeps. On a
// machine where another process keeps a core busy this costs more than the work: a thread that
// spins at a barrier takes the core from the thread it waits for (issue 16 measured `unbox demo`
// going from 1 s to 12-25 s). OMP_WAIT_POLICY=PASSIVE makes waiting threads sleep at once.
//
// libgomp reads its environment once, in a shared-library constructor that runs before main()
// and before any constructor of the executable. Setting the variable from .preinit_array does
// not work either (glibc's start-up reinstalls the original environment afterwards). So when
// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, the program sets OMP_WAIT_POLICY=PASSIVE
// and executes itself again (/proc/self/exe, same arguments), once: the second start finds the
// variable set. If that is impossible (no /proc) it carries on with libgomp's default. A user's
// own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins. Compiled into build/unbox and
// build/unbox_bench, not into the library: a program that links the library keeps its own
// OpenMP settings.
#include <unistd.h>

#include <cstdlib>

namespace {

void unbox_default_wait_policy(int, char** argv, char**) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (argv == nullptr || argv[0] == nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: exec failed; libgomp keeps its default, the variable is harmless.
}

}  // namespace

// glibc calls .init_array functions with (argc, argv, envp).
__attribute__((section(".init_array"),
               used)) static void (*const unbox_init_wait_policy)(int, char**, char**) = unbox_default_wait_policy;
