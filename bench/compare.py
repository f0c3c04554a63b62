"""unbox against PyTorch, side by side, in one run: `make bench-compare`.

Runs each of unbox's benchmarks (build/unbox_bench, one benchmark at a time) and the PyTorch
equivalent on the same network (same layers, widths and activations), alternating
unbox, torch, unbox, torch, ... for --rounds rounds, and prints a Markdown table of the best
rate of each (events per CPU-second of the one working thread: on a shared machine that is
steadier than wall time, and both sides are single-threaded) and their ratio.

Settings: 1 thread, double precision, batch 4096 for the forward pass and gradients, Adam
with batch 256 for the training epoch. PyTorch must use OpenBLAS (Debian's torch 1.13 with
libopenblas0-pthread): the script refuses to compare otherwise. OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are removed from the environment (a user's machine does not set them) and
OpenBLAS runs one thread. Run with Debian's interpreter: /usr/bin/python3 bench/compare.py.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

# Before torch loads OpenBLAS: a user's default, one BLAS thread.
#
# glibc's malloc, left at its defaults, returns the freed top of the heap to the kernel once it
# exceeds the (dynamic) trim threshold and serves large blocks with mmap, so PyTorch's
# megabyte-sized temporaries (a 4096 x 128 double activation is 4 MB) are page-faulted in again
# on every call: on this machine that was 37 % of the CPU time of the forward pass and 40-45 %
# of Integrated Gradients and functorch's Hessian (kernel time, counted in the process's CPU
# time; 0.76 and 163 minor faults per event). unbox allocates nothing per call, so comparing
# against that would flatter unbox. The two thresholds below keep freed memory in the process
# (--torch-default-malloc measures PyTorch as glibc leaves it). unbox_bench runs with the
# caller's environment.
MALLOC_TUNABLES = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=1073741824"
_DEFAULT_MALLOC = "--torch-default-malloc" in sys.argv
_CALLER_ENV = os.environ.get("UNBOX_COMPARE_CALLER_TUNABLES", os.environ.get("GLIBC_TUNABLES"))
if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) or os.environ.get(
        "OPENBLAS_NUM_THREADS") != "1" or (not _DEFAULT_MALLOC and os.environ.get("GLIBC_TUNABLES") != MALLOC_TUNABLES):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    if not _DEFAULT_MALLOC:
        env["UNBOX_COMPARE_CALLER_TUNABLES"] = os.environ.get("GLIBC_TUNABLES", "")
        env["GLIBC_TUNABLES"] = MALLOC_TUNABLES
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def unbox_env(extra=None):
    """The environment unbox_bench runs in: the caller's (without the malloc settings above)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "UNBOX_COMPARE_CALLER_TUNABLES")}
    if _CALLER_ENV:
        env["GLIBC_TUNABLES"] = _CALLER_ENV
    env.update(extra or {})
    return env

import torch  # noqa: E402

torch.set_default_dtype(torch.float64)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taylor_torch  # noqa: E402  (nested autograd and functorch Taylor coefficients)


def check_openblas():
    try:
        import threadpoolctl
    except ImportError:
        sys.exit("compare.py: threadpoolctl is missing (python3-threadpoolctl); cannot check the BLAS")
    info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    if not info or any(i.get("internal_api") != "openblas" for i in info):
        sys.exit(f"compare.py: torch does not use OpenBLAS ({info}); refusing to compare "
                 "(install libopenblas0-pthread)")
    threadpoolctl.threadpool_limits(1)
    return info[0]


# ---------------------------------------------------------------- networks (as unbox builds them)
class Standardize(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("std", torch.ones(n))

    def forward(self, x):
        return (x - self.mean) / self.std


def paper_network(final=True, inplace=True):
    """parse_architecture("paper"): Standardize, 128,64,32,16,16,8,8,4,4,2,2 LeakyReLU(0.1), tanh.
    inplace: LeakyReLU(inplace=True), no second temporary per layer (autograd allows it: the
    backward pass needs only the output's sign); 5-20 % faster than out-of-place on every workload."""
    g = torch.Generator().manual_seed(1)
    layers, last = [Standardize(19)], 19
    for w in [128, 64, 32, 16, 16, 8, 8, 4, 4, 2, 2]:
        lin = torch.nn.Linear(last, w)
        with torch.no_grad():
            lin.weight.uniform_(-0.3, 0.3, generator=g)
            lin.bias.uniform_(-0.3, 0.3, generator=g)
        layers += [lin, torch.nn.LeakyReLU(0.1, inplace=inplace)]
        last = w
    layers.append(torch.nn.Linear(last, 1))
    if final:
        layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def events(n, width, seed=2):
    return torch.randn(n, width, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- torch workloads
# Each returns (events, seconds of process CPU time) for about `budget` seconds of work.
def timed(budget, step, per_call):
    step()  # warm up
    done, c0, t0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < budget or done == 0:
        step()
        done += per_call
    return done, time.process_time() - c0


def torch_forward(budget):
    """In-place activations under inference_mode: PyTorch's fastest plain form of this network
    (out-of-place LeakyReLU under no_grad is about 20 % slower; TorchScript freezing is no faster)."""
    net = paper_network()
    for p in net.parameters():
        p.requires_grad_(False)
    x = events(65536, 19)

    def step():
        with torch.inference_mode():
            for b in range(0, 65536, 4096):
                net(x[b:b + 4096])
    return timed(budget, step, 65536)


def torch_gradient(budget):
    net = paper_network()
    for p in net.parameters():
        p.requires_grad_(False)
    x = events(65536, 19)

    def step():
        for b in range(0, 65536, 4096):
            xb = x[b:b + 4096].clone().requires_grad_(True)
            (g,) = torch.autograd.grad(net(xb).sum(), xb)
    return timed(budget, step, 65536)


def torch_train(budget):
    """One epoch over 65536 events: Adam (lr 1e-3), batch 256, shuffled, MSE on +-1 targets
    (unbox's loss for a tanh output) plus L1 1e-5 on the weights, as BM_PaperTrainEpoch."""
    x = events(65536, 19)
    y = torch.where(x[:, 0] * x[:, 1] < 0, 1.0, -1.0).unsqueeze(1)

    def step():
        net = paper_network()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
        perm = torch.randperm(65536, generator=torch.Generator().manual_seed(1))
        for b in range(0, 65536, 256):
            idx = perm[b:b + 256]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(net(x[idx]), y[idx])
            loss = loss + 1e-5 * sum(w.abs().sum() for w in weights)
            loss.backward()
            opt.step()
    return timed(budget, step, 65536)


def torch_ig(budget):
    """Integrated Gradients of the output's pre-activation, zero baseline, 64 Gauss-Legendre
    points, blocks of 512 events (as unbox's attribute): 4096 events."""
    import numpy as np
    net = paper_network(final=False)
    for p in net.parameters():
        p.requires_grad_(False)
    x = events(4096, 19)
    nodes, weights = np.polynomial.legendre.leggauss(64)
    alpha = torch.tensor((nodes + 1) / 2).view(1, 64, 1)
    w = torch.tensor(weights / 2).view(1, 64, 1)

    def step():
        for b in range(0, 4096, 512):
            xb = x[b:b + 512]
            pts = (xb.unsqueeze(1) * alpha).reshape(-1, 19).requires_grad_(True)
            (g,) = torch.autograd.grad(net(pts).sum(), pts)
            (g.view(-1, 64, 19) * w).sum(1) * xb
    return timed(budget, step, 4096)


def torch_taylor(kind, order, how, batch):
    net, n = taylor_torch.network(kind)
    fn = taylor_torch.nested if how == "nested" else taylor_torch.functorch_way
    gen = torch.Generator().manual_seed(2)

    def run(budget):
        x = torch.randn(batch, n, generator=gen)
        return timed(budget, lambda: fn(net, x, order), batch)
    return run


# ---------------------------------------------------------------- unbox
def unbox_rate(bench, name, per_iter, min_time):
    """Events per CPU-second of one benchmark of build/unbox_bench (one thread)."""
    out = subprocess.run([bench, f"--benchmark_filter=^{name}$", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], check=True, capture_output=True, text=True,
                         env=unbox_env()).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    if not runs:
        sys.exit(f"compare.py: benchmark {name} not found in {bench}")
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[runs[0]["time_unit"]]
    return max(per_iter / (b["cpu_time"] * scale) for b in runs)


def unbox_wall_rate(bench, name, env, min_time=0.5):
    """items_per_second (wall clock: the benchmarks use real time) of one benchmark, run in env."""
    out = subprocess.run([bench, f"--benchmark_filter=^{name}$", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], check=True, capture_output=True, text=True,
                         env=env).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    return max(b["items_per_second"] for b in runs)


THREAD_WORKLOADS = [
    ("forward, paper net", "BM_PaperForward/{}/real_time"),
    ("training epoch, paper net", "BM_PaperTrainEpoch/{}/real_time"),
    ("Hessian, tanh 30-128-64-32", "BM_TaylorTanh30/{}/2/100000/iterations:1/real_time"),
]


def threads_tables(bench, rounds):
    """2 threads: scaling over 1 thread, and what a busy second process does to them with
    libgomp's spinning default (GOMP_SPINCOUNT=300000) and with unbox's passive default."""
    base = {k: v for k, v in unbox_env().items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    spin = {**base, "GOMP_SPINCOUNT": "300000"}
    print("\n| 2 threads (wall clock, events/s) | 1 thread | 2 threads | 2 / 1 | busy core, spinning | "
          "busy core, passive (default) |")
    print("|---|---|---|---|---|---|")
    for label, name in THREAD_WORKLOADS:
        one = two = spinning = passive = 0.0
        for _ in range(rounds):
            one = max(one, unbox_wall_rate(bench, name.format(1), base))
            two = max(two, unbox_wall_rate(bench, name.format(2), base))
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(0.2)
                spinning = max(spinning, unbox_wall_rate(bench, name.format(2), spin, 0.2))
                passive = max(passive, unbox_wall_rate(bench, name.format(2), base, 0.2))
            finally:
                busy.kill()
                busy.wait()
        print(f"| {label} | {fmt_rate(one)} | {fmt_rate(two)} | {two / one:.2f}× | {fmt_rate(spinning)} | "
              f"{fmt_rate(passive)} |", flush=True)


# (label, unbox benchmark, events per unbox iteration, torch runner or None, compare-with label)
WORKLOADS = [
    ("forward, paper net (19 inputs), batch 4096", "BM_PaperForward/1/real_time", 65536, torch_forward),
    ("input gradient, paper net", "BM_PaperInputGradient/1/real_time", 65536, torch_gradient),
    ("training epoch, paper net (Adam, batch 256)", "BM_PaperTrainEpoch/1/real_time", 65536, torch_train),
    ("Integrated Gradients (64 steps), paper net", "BM_PaperIG/1/real_time", 4096, torch_ig),
    ("Hessian, tanh 30-128-64-32 (nested autograd)", "BM_TaylorTanh30/1/2/100000/iterations:1/real_time", 100000,
     torch_taylor("tanh30", 2, "nested", 1000)),
    ("Hessian, tanh 30-128-64-32 (functorch)", "BM_TaylorTanh30/1/2/100000/iterations:1/real_time", 100000,
     torch_taylor("tanh30", 2, "functorch", 1000)),
    ("third order, tanh 30-128-64-32 (nested autograd)", "BM_TaylorTanh30/1/3/10000/iterations:1/real_time", 10000,
     torch_taylor("tanh30", 3, "nested", 10)),
    ("third order, tanh 30-128-64-32 (functorch)", "BM_TaylorTanh30/1/3/10000/iterations:1/real_time", 10000,
     torch_taylor("tanh30", 3, "functorch", 25)),
    ("Hessian, paper net (nested autograd)", "BM_TaylorPaper/1/2/100000/iterations:1/real_time", 100000,
     torch_taylor("paper", 2, "nested", 1000)),
    ("third order, paper net (nested autograd)", "BM_TaylorPaper/1/3/100000/iterations:1/real_time", 100000,
     torch_taylor("paper", 3, "nested", 100)),
    ("LRP epsilon, paper net (no torch equivalent)", "BM_LrpPaper/1/0/real_time", 20000, None),
    ("mT2, massless (no torch equivalent)", "BM_Mt2Single/0/0", 1, None),
    ("mT2, mchi = 100 GeV", "BM_Mt2Single/0/100", 1, None),
    ("mT2, massive visibles", "BM_Mt2Single/30/0", 1, None),
]


def fmt_rate(r):
    if r is None:
        return "—"
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if r >= div:
            return f"{r / div:.3g}{unit}"
    return f"{r:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the build directory holding unbox_bench")
    ap.add_argument("--rounds", type=int, default=3, help="alternations of unbox and torch per workload")
    ap.add_argument("--seconds", type=float, default=1.5, help="torch time per measurement")
    ap.add_argument("--filter", default="", help="only workloads whose label contains this")
    ap.add_argument("--no-threads", action="store_true", help="skip the 2-thread table")
    ap.add_argument("--torch-default-malloc", action="store_true",
                    help="PyTorch with glibc malloc's default thresholds (page faults on its large temporaries)")
    args = ap.parse_args()
    bench = os.path.join(args.build, "unbox_bench")
    if not os.path.exists(bench):
        sys.exit(f"compare.py: {bench} not found: configure with -DUNBOX_BUILD_BENCH=ON and build unbox_bench")
    blas = check_openblas()
    torch.set_num_threads(1)
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; "
          f"torch {torch.__version__} with OpenBLAS {blas.get('version')} ({blas.get('architecture')}), "
          f"1 thread, double; events per CPU-second, best of {args.rounds} alternating runs; "
          f"PyTorch's malloc {'glibc defaults' if args.torch_default_malloc else 'without trimming (' + MALLOC_TUNABLES + ')'}\n")
    print("| workload | PyTorch | unbox | ratio |")
    print("|---|---|---|---|")
    unbox_cache = {}
    for label, name, per_iter, torch_run in WORKLOADS:
        if args.filter and args.filter not in label:
            continue
        best_u, best_t = 0.0, 0.0
        for _ in range(args.rounds if torch_run else 1):
            if name in unbox_cache and torch_run is None:
                break
            best_u = max(best_u, unbox_rate(bench, name, per_iter, 0.5))
            if torch_run:
                done, cpu_s = torch_run(args.seconds)
                best_t = max(best_t, done / cpu_s)
        if name in unbox_cache:
            best_u = max(best_u, unbox_cache[name])
        unbox_cache[name] = best_u
        if "mT2" in label:
            print(f"| {label} | — | {1e6 / best_u:.3g} µs/event | — |", flush=True)
        else:
            ratio = f"**{best_u / best_t:.2f}×**" if torch_run else "—"
            print(f"| {label} | {fmt_rate(best_t if torch_run else None)} | {fmt_rate(best_u)} | {ratio} |", flush=True)
    if not args.no_threads and not args.filter:
        threads_tables(bench, max(1, args.rounds - 1))


if __name__ == "__main__":
    main()
