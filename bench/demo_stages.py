#!/usr/bin/python3
# The demo's wall time per stage (issue 17: measured here, never asserted in a test):
# runs `unbox demo` (the (750, 1) stop study at its default size, or with the extra options
# given after --), then prints a Markdown table from summary.json's stage_seconds, the total
# wall and CPU time, the peak memory and the figures of merit.
#
#   make bench-demo                      # build/unbox demo into a temporary folder
#   bench/demo_stages.py --build build -- --events 200000 --threads 1
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("extra", nargs="*", help="options passed to unbox demo (after --)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="unbox-demo-bench-") as out:
        cmd = [os.path.join(a.build, "unbox"), "demo", "--out", out, "--quiet", *a.extra]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit(proc.returncode)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
    stages = s["stage_seconds"]
    print(f"`{' '.join(cmd[:2] + a.extra)}`: {s['options']['events']} signal and background events, "
          f"{s['options']['seeds']} network(s), {os.cpu_count()} cores\n")
    print("| stage | wall (s) | share |")
    print("|---|---|---|")
    for k, v in stages.items():
        print(f"| {k} | {v:.1f} | {100 * v / wall:.0f} % |")
    rest = wall - sum(stages.values())
    print(f"| data views, report, start-up | {rest:.1f} | {100 * rest / wall:.0f} % |")
    print(f"| **total** | **{wall:.1f}** | CPU {ru.ru_utime + ru.ru_stime:.0f} s, peak {ru.ru_maxrss / 1024:.0f} MB |")
    print(f"\nAUC {s['auc']:.4f}; AMS network {s['ams_network']:.2f} +- {s['ams_network_err']:.2f} against the "
          f"best mT2ll cut {s['ams_mt2_cut']:.2f} +- {s['ams_mt2_cut_err']:.2f} at {s['mt2_cut_gev']:.0f} GeV; "
          f"network - cut {s['ams_network_minus_mt2_cut']:+.2f} +- {s['ams_network_minus_mt2_cut_err']:.2f} (paired)")


if __name__ == "__main__":
    main()
