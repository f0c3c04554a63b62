"""unbox physics mt2 from the command line against an independent brute-force minimisation
(numpy only): mT2 = min over the split of the missing momentum of max(mT_a, mT_b); the error
path (a missing column exits 2 with one line) and the column options."""
import json
import math

import numpy as np

COLUMNS = ["l1_pt", "l1_eta", "l1_phi", "l1_m", "l2_pt", "l2_eta", "l2_phi", "l2_m", "met", "met_phi"]


def mt_sq(vx, vy, mv, ix, iy, mi):
    # Textbook transverse mass squared; the events below keep the optimum at moderate |q|.
    ev = math.sqrt(mv * mv + vx * vx + vy * vy)
    ei = math.sqrt(mi * mi + ix * ix + iy * iy)
    return mv * mv + mi * mi + 2.0 * (ev * ei - vx * ix - vy * iy)


def golden(f, lo, hi, iters=90):
    r = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - r * (hi - lo), lo + r * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(iters):
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - r * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + r * (hi - lo)
            f2 = f(x2)
    return (x1, f1) if f1 < f2 else (x2, f2)


def brute_mt2(row, mchi):
    """max(mT_a^2, mT_b^2) is convex in the split q, so nested golden sections find its minimum."""
    a_pt, _, a_phi, a_m, b_pt, _, b_phi, b_m, met, met_phi = row
    ax, ay = a_pt * math.cos(a_phi), a_pt * math.sin(a_phi)
    bx, by = b_pt * math.cos(b_phi), b_pt * math.sin(b_phi)
    mx, my = met * math.cos(met_phi), met * math.sin(met_phi)
    R = 5.0 * (a_pt + b_pt + met + a_m + b_m + mchi) + 1.0

    def F(x, y):
        return max(mt_sq(ax, ay, a_m, x, y, mchi), mt_sq(bx, by, b_m, mx - x, my - y, mchi))

    def inner(x):
        return golden(lambda y: F(x, y), -R, R)[1]

    x, _ = golden(inner, -R, R)
    _, f = golden(lambda y: F(x, y), -R, R)
    return math.sqrt(max(f, 0.0))


def make_events(path, n=6, seed=4):
    rng = np.random.default_rng(seed)
    data = np.column_stack([
        rng.uniform(20, 150, n), rng.uniform(-2, 2, n), rng.uniform(-math.pi, math.pi, n), rng.uniform(1, 40, n),
        rng.uniform(20, 150, n), rng.uniform(-2, 2, n), rng.uniform(-math.pi, math.pi, n), rng.uniform(1, 40, n),
        rng.uniform(30, 200, n), rng.uniform(-math.pi, math.pi, n)])
    np.savetxt(path, data, delimiter=",", header=",".join(COLUMNS), comments="", fmt="%.17g")
    return data


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_mt2_matches_brute_force(tmp_path, run_unbox):
    data = make_events(tmp_path / "ev.csv")
    for mchi in (0.0, 50.0):
        out = tmp_path / f"mt2_{mchi:g}.csv"
        proc = run_unbox("physics", "mt2", "--data", tmp_path / "ev.csv", "--out", out, "--mchi", mchi, "--json")
        summary = json.loads(proc.stdout)
        assert summary["events"] == len(data) and summary["column"] == "mt2"
        header, got = read_csv(out)
        assert header == COLUMNS + ["mt2"]                    # input columns kept, then mt2
        np.testing.assert_allclose(got[:, :-1], data, rtol=1e-15)
        for row, value in zip(data, got[:, -1]):
            expect = brute_mt2(row, mchi)
            assert value <= expect * (1 + 1e-9)               # brute force only bounds from above
            assert abs(value / expect - 1) < 1e-6, (row, value, expect)
            assert value >= max(row[3], row[7]) + mchi - 1e-9  # lower bound max(m) + mchi


def test_prefix_options_and_keep(tmp_path, run_unbox):
    data = make_events(tmp_path / "ev.csv", n=4, seed=9)
    renamed = ["b1_pt", "b1_eta", "b1_phi", "b1_m", "b2_pt", "b2_eta", "b2_phi", "b2_m", "ptmiss", "phimiss"]
    np.savetxt(tmp_path / "b.csv", data, delimiter=",", header=",".join(renamed), comments="", fmt="%.17g")
    run_unbox("physics", "mt2", "--data", tmp_path / "ev.csv", "--out", tmp_path / "a.csv")
    run_unbox("physics", "mt2", "--data", tmp_path / "b.csv", "--out", tmp_path / "b_out.csv", "--l1", "b1",
              "--l2", "b2", "--met", "ptmiss", "--met-phi", "phimiss", "--keep", "ptmiss", "--name", "mt2bb")
    _, a = read_csv(tmp_path / "a.csv")
    header, b = read_csv(tmp_path / "b_out.csv")
    assert header == ["ptmiss", "mt2bb"]
    np.testing.assert_array_equal(a[:, -1], b[:, -1])


def test_missing_column_exits_2_with_one_line(tmp_path, run_unbox):
    data = make_events(tmp_path / "ev.csv", n=3)
    np.savetxt(tmp_path / "bad.csv", data[:, :7], delimiter=",", header=",".join(COLUMNS[:7]), comments="",
               fmt="%.17g")
    proc = run_unbox("physics", "mt2", "--data", tmp_path / "bad.csv", "--out", tmp_path / "o.csv", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "l2_m" in lines[0] and "--l2" in lines[0]
    assert not (tmp_path / "o.csv").exists()
    proc = run_unbox("physics", "mt2", "--data", tmp_path / "ev.csv", "--out", tmp_path / "o.csv", "--mchi-b", -1,
                     check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "mchi" in proc.stderr
