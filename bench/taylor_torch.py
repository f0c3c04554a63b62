"""PyTorch's speed at the Taylor coefficients unbox computes (bench/bench_taylor.cpp):
mean absolute second- and third-order derivatives of the output of
  * a 30-input tanh network (hidden 128,64,32, sigmoid output), and
  * the paper's network (19 inputs, 128,64,32,16,16,8,8,4,4,2,2, LeakyReLU(0.1), tanh output),
in double precision, one thread by default, with two approaches:
  nested  the batched nested-autograd pattern of the KIT tayloranalysis package: the
          gradient of the batch-summed output (create_graph), then one more backward
          pass per input (and per input pair at third order) of its batch sum;
  functorch  vmap(jacfwd(jacrev(f))) (and one more jacfwd at third order), batched.
Prints events/s. Run with Debian's interpreter: /usr/bin/python3 bench/taylor_torch.py
(torch 1.13: functorch, not torch.func). PyTorch should use OpenBLAS
(libopenblas0-pthread) for a fair comparison; the BLAS in use is printed.
"""
import argparse
import os
import time

# One BLAS thread unless asked otherwise (must be set before torch loads OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_default_dtype(torch.float64)


def network(kind):
    g = torch.Generator().manual_seed(1)
    if kind == "tanh30":
        n, widths, act, out = 30, [128, 64, 32], torch.nn.Tanh, torch.nn.Sigmoid
    else:
        n, widths, act, out = 19, [128, 64, 32, 16, 16, 8, 8, 4, 4, 2, 2], lambda: torch.nn.LeakyReLU(0.1), torch.nn.Tanh
    layers, last = [], n
    for w in widths:
        lin = torch.nn.Linear(last, w)
        with torch.no_grad():
            lim = (6.0 / (last + w)) ** 0.5
            lin.weight.uniform_(-lim, lim, generator=g)
            lin.bias.zero_()
        layers += [lin, act()]
        last = w
    layers += [torch.nn.Linear(last, 1), out()]
    net = torch.nn.Sequential(*layers)
    for p in net.parameters():
        p.requires_grad_(False)
    return net, n


def nested(net, x, order):
    x = x.clone().requires_grad_(True)
    y = net(x).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    n = x.shape[1]
    acc = [g.abs().mean(0)]
    rows = []
    for i in range(n):  # Hessian row i: d/dx of sum_e g_i
        (h,) = torch.autograd.grad(g[:, i].sum(), x, create_graph=order >= 3, retain_graph=True)
        rows.append(h)
    acc.append(torch.stack([r.abs().mean(0) for r in rows]))
    if order >= 3:
        for i in range(n):
            for j in range(i, n):
                (t,) = torch.autograd.grad(rows[i][:, j].sum(), x, retain_graph=True)
                acc.append(t[:, j:].abs().mean(0))
    return acc


def functorch_way(net, x, order):
    from functorch import jacfwd, jacrev, vmap

    f = lambda z: net(z.unsqueeze(0))[0, 0]
    h = vmap(jacfwd(jacrev(f)))(x)
    out = [h.abs().mean(0)]
    if order >= 3:
        t = vmap(jacfwd(jacfwd(jacrev(f))))(x)
        out.append(t.abs().mean(0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20.0, help="stop a case after about this long")
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # Debian's torch uses the system libblas.so.3 (BLAS_INFO=generic): print which one.
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, BLAS {blas}")
    gen = torch.Generator().manual_seed(2)
    for kind in ("tanh30", "paper"):
        net, n = network(kind)
        for order in (2, 3):
            for name, fn in (("nested", nested), ("functorch", functorch_way)):
                batch = args.batch if order == 2 else max(10, args.batch // 10)
                if name == "functorch" and order == 3:
                    batch = max(10, batch // 4)
                # Wall and process CPU time: on a shared machine events per CPU-second is the
                # fairer figure (bench_taylor.cpp reports both, as Time and CPU).
                done, t0, c0 = 0, time.perf_counter(), time.process_time()
                while time.perf_counter() - t0 < args.seconds and done < 100000:
                    x = torch.randn(batch, n, generator=gen)
                    fn(net, x, order)
                    done += batch
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                print(f"{kind:7s} order {order}  {name:9s}  {done / dt:12.1f} events/s wall  {done / dc:12.1f} events/s "
                      f"CPU  ({done} events, {dt:.1f}s wall, {dc:.1f}s CPU)", flush=True)


if __name__ == "__main__":
    main()
