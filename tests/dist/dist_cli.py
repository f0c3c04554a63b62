# The unbox command line and mpirun as the dist tests call them (test_dist.py,
# test_dist_methods.py, test_distb.py): one copy of the runners, the MPI skip mark and the CSV
# writer of their samples.
import os
import subprocess

import pytest

UNBOX = os.environ.get("UNBOX", os.path.join(os.path.dirname(__file__), "..", "..", "build", "unbox"))
MPIRUN = os.environ.get("UNBOX_MPIRUN", "")

needs_mpi = pytest.mark.skipif(not MPIRUN, reason="unbox built without MPI (UNBOX_MPIRUN unset)")


def run(*args, check=True, env=None):
    p = subprocess.run([UNBOX, *map(str, args)], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"unbox {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def mpirun(n, *args, check=True, exe=None):
    """`mpirun -n N unbox ARGS` (or another executable) on loopback, oversubscribed, ranks
    yielding when idle (the machine has 2 cores)."""
    env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
    cmd = [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-n", str(n), exe or UNBOX, *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p


COLS = ["a", "b", "c", "d", "e"]


def write_csv(path, x, y, w=None):
    """Columns COLS, label and (when w is given) weight, every value exact (repr)."""
    with open(path, "w") as f:
        f.write(",".join(COLS) + ",label" + (",weight" if w is not None else "") + "\n")
        for i, (row, yy) in enumerate(zip(x, y)):
            tail = f",{float(w[i])!r}" if w is not None else ""
            f.write(",".join(repr(float(v)) for v in row) + f",{int(yy)}{tail}\n")
