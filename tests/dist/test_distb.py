"""Issue 20, second part: `ad` streamed, merged and across ranks; data-parallel `train`;
`study stop` generation across ranks; dist::sum_in_rank_order and all_gather.

References: `ad` in one process on the concatenated file (read whole): its sampled events,
donors and bootstrap depend on the seed and the sample size only, so chunks and ranks use
the same ones and agree to round-off (1e-12). Per-file `ad` results merge into the
stratified estimate, checked against sigma_z computed by numpy from `predict` on all events.
`train` on 2 ranks against one process (the issue asks 1e-6 on the validation loss; the
chunk gradients are added in the same order, so the bits agree and the test asserts that).
"""
import json
import os

import numpy as np
import pytest

from dist_cli import COLS, MPIRUN, UNBOX, mpirun, needs_mpi, run, write_csv  # noqa: E402,F401
PROBE = os.environ.get("UNBOX_DIST_PROBE", os.path.join(os.path.dirname(UNBOX), "dist_probe"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("distb")
    parts, xs, ys = [], [], []
    for k, n in enumerate([1300, 900, 1100]):
        rng = np.random.default_rng(40 + k)
        y = rng.integers(0, 2, n)
        x = rng.normal(size=(n, len(COLS))) + 0.8 * y[:, None] * np.array([1, -0.6, 0.3, 0, 0.2])
        p = d / f"part{k}.csv"
        write_csv(p, x, y)
        parts.append(str(p))
        xs.append(x), ys.append(y)
    whole = d / "whole.csv"
    write_csv(whole, np.vstack(xs), np.concatenate(ys))
    model = d / "m.unbox"
    run("train", "--data", parts[0], "--label", "label", "--columns", ",".join(COLS), "--arch", "8,6", "--activation",
        "tanh", "--epochs", "2", "--seed", "3", "--out", model, "--quiet")
    return {"dir": d, "parts": parts, "whole": str(whole), "model": str(model)}


AD = ["--samples", "1000", "--bootstrap", "20", "--seed", "3"]


def ad(s, data, out, *extra):
    run("ad", "--model", s["model"], "--data", data, *AD, "--out", out, *extra)
    return json.load(open(out))


def by_var(j):
    return {e["variable"]: (e["ad"], e["err"]) for e in j["ranking"]}


def same_ad(got, ref, rel=1e-12):
    assert got["events"] == ref["events"] and got["samples"] == ref["samples"]
    assert got["sigma"] == pytest.approx(ref["sigma"], rel=rel, abs=0)
    g, r = by_var(got), by_var(ref)
    assert g.keys() == r.keys() and len(r) == len(ref["state"]["key"]["variables"])
    for k in r:
        assert g[k][0] == pytest.approx(r[k][0], rel=rel, abs=0), k
        assert g[k][1] == pytest.approx(r[k][1], rel=1e3 * rel, abs=0), k  # err: a difference of replicas
    np.testing.assert_allclose(got["state"]["sums"]["ad"], ref["state"]["sums"]["ad"], rtol=rel, atol=0)


def test_ad_chunks_equal_all_at_once(setup, tmp_path):
    s = setup
    ref = ad(s, s["whole"], tmp_path / "whole.json")
    assert ref["events"] == 3300 and ref["samples"] == 1000 and len(ref["ranking"]) == len(COLS)
    same_ad(ad(s, ",".join(s["parts"]), tmp_path / "c1000.json", "--chunk", 1000), ref)
    same_ad(ad(s, s["whole"], tmp_path / "c7.json", "--chunk", 7), ref)
    # Hidden-layer variables go through the same path.
    ref1 = ad(s, s["whole"], tmp_path / "l1.json", "--layer", "L1")
    same_ad(ad(s, ",".join(s["parts"]), tmp_path / "l1c.json", "--layer", "L1", "--chunk", 500), ref1)


def test_ad_chunk_refuses_cut(setup):
    p = run("ad", "--model", setup["model"], "--data", setup["whole"], "--chunk", 100, "--cut", "a > 0", check=False)
    assert p.returncode == 2 and "--cut" in p.stderr and p.stderr.count("\n") == 1


def test_ad_merge_of_per_file_results_is_the_stratified_estimate(setup, tmp_path):
    s = setup
    outs = [tmp_path / f"p{k}.json" for k in range(3)]
    parts = [ad(s, p, o) for p, o in zip(s["parts"], outs)]
    run("merge", *outs, "--out", tmp_path / "merged.json", "--quiet")
    merged = json.load(open(tmp_path / "merged.json"))
    # sigma_z of all events (numpy, population), from the model's output on the whole file.
    run("predict", "--model", s["model"], "--data", s["whole"], "--neurons", "output", "--out", tmp_path / "z.csv",
        "--quiet")
    z = np.loadtxt(tmp_path / "z.csv", delimiter=",", skiprows=1)
    z = z if z.ndim == 1 else z[:, 0]
    sigma = float(np.std(z))
    assert merged["sigma"] == pytest.approx(sigma, rel=1e-12)
    assert merged["events"] == 3300 and merged["samples"] == 1000 + 900 + 1000  # the 900-event file: all
    # Each file's mean |dz| (its AD times its own sigma), weighted by its events.
    n = [p["events"] for p in parts]
    for v in COLS:
        expect = sum(nf * by_var(p)[v][0] * p["sigma"] for nf, p in zip(n, parts)) / (sum(n) * sigma)
        assert by_var(merged)[v][0] == pytest.approx(expect, rel=1e-12), v
    # The same quantity as the single run, within the statistical errors.
    ref = ad(s, s["whole"], tmp_path / "whole.json")
    for v in COLS:
        (a, ea), (b, eb) = by_var(merged)[v], by_var(ref)[v]
        assert abs(a - b) < 5 * np.hypot(ea, eb) + 1e-12, v
    # Other options or methods do not merge.
    run("ad", "--model", s["model"], "--data", s["parts"][0], "--samples", "1000", "--bootstrap", "20", "--seed", "4",
        "--out", tmp_path / "seed4.json")
    p = run("merge", outs[0], tmp_path / "seed4.json", check=False)
    assert p.returncode == 2 and "'seed'" in p.stderr and p.stderr.count("\n") == 1
    run("taylor", "--model", s["model"], "--data", s["parts"][0], "--out", tmp_path / "t.json", "--quiet")
    p = run("merge", outs[0], tmp_path / "t.json", check=False)
    assert p.returncode == 2 and "'ad'" in p.stderr and "'taylor'" in p.stderr


@needs_mpi
def test_mpi_ad_three_ranks_equal_one_process(setup, tmp_path):
    s = setup
    ref = ad(s, s["whole"], tmp_path / "whole.json")
    files = ",".join(s["parts"])
    p = mpirun(3, "ad", "--model", s["model"], "--data", files, *AD, "--out", tmp_path / "mpi3.json")
    same_ad(json.load(open(tmp_path / "mpi3.json")), ref)
    assert p.stdout.count("activation difference of") == 1  # rank 0 alone prints
    mpirun(2, "ad", "--model", s["model"], "--data", files, *AD, "--chunk", 700, "--out", tmp_path / "mpi2.json")
    same_ad(json.load(open(tmp_path / "mpi2.json")), ref)
    # An error on one rank (its range holds a bad row) is one clear message, no hang.
    bad = tmp_path / "bad.csv"
    lines = open(s["parts"][2]).read().splitlines()
    lines[500] = lines[500].replace(lines[500].split(",")[0], "oops", 1)
    open(bad, "w").write("\n".join(lines) + "\n")
    p = mpirun(3, "ad", "--model", s["model"], "--data", f"{s['parts'][0]},{s['parts'][1]},{bad}", *AD, check=False)
    assert p.returncode != 0 and "rank 2" in p.stderr and "oops" in p.stderr


TRAIN = ["--label", "label", "--columns", ",".join(COLS), "--arch", "16,8", "--epochs", "2", "--batch", "300",
         "--patience", "0", "--seed", "7", "--json"]


@needs_mpi
def test_mpi_train_two_ranks_equal_one_process(setup, tmp_path):
    s = setup
    one = json.loads(run("train", "--data", s["whole"], *TRAIN, "--out", tmp_path / "one.unbox").stdout)
    p = mpirun(2, "train", "--data", s["whole"], *TRAIN, "--out", tmp_path / "two.unbox")
    two = json.loads(p.stdout)
    assert two["ranks"] == 2 and len(two["history"]) == 2
    for a, b in zip(one["history"], two["history"]):
        assert abs(a["val_loss"] - b["val_loss"]) < 1e-6  # the bound
        assert a == b  # the same chunk gradients added in the same order: the same bits
    # The models compute the same numbers.
    for name in ("one", "two"):
        run("predict", "--model", tmp_path / f"{name}.unbox", "--data", s["whole"], "--neurons", "output", "--out",
            tmp_path / f"{name}.csv", "--quiet")
    assert open(tmp_path / "one.csv").read() == open(tmp_path / "two.csv").read()
    # Three ranks: a mini-batch of 3 chunks (128, 128, 44 events) is one chunk per rank.
    p = mpirun(3, "train", "--data", s["whole"], *TRAIN, "--out", tmp_path / "three.unbox")
    assert json.loads(p.stdout)["history"] == one["history"]


@needs_mpi
def test_mpi_study_stop_generates_the_same_events_on_2_ranks(tmp_path):
    study = ["study", "stop", "--point", "750,1", "--events", "300", "--epochs", "1", "--bootstrap", "5",
             "--no-explain", "--no-report", "--quiet", "--json", "--threads", "1"]
    one = json.loads(run(*study, "--out", tmp_path / "one").stdout)
    two = json.loads(mpirun(2, *study, "--out", tmp_path / "two").stdout)

    def strip(j):  # run times differ
        if isinstance(j, dict):
            return {k: strip(v) for k, v in j.items() if "second" not in k and k not in ("files", "out", "timing")}
        if isinstance(j, list):
            return [strip(v) for v in j]
        return j

    assert strip(two) == strip(one)


@needs_mpi
def test_mpi_sum_in_rank_order_and_all_gather(tmp_path):
    p = mpirun(3, exe=PROBE)
    lines = sorted(l for l in p.stdout.splitlines() if l.startswith("rank "))
    assert len(lines) == 3
    # The sums in rank order, as Python adds them left to right.
    expect = [(1e16 + 1.0) + -1e16, (0.1 + 0.2) + 0.30000000000000004, 0.0 + 1.0 + 2.0]
    assert expect[0] == 0.0 and expect[1] != 0.6  # the order is visible in the bits
    for r, line in enumerate(lines):
        sums = line.split(" sums ")[1].split(" gathered ")[0].split()
        gathered = line.split(" gathered ")[1].split()
        assert line.startswith(f"rank {r} ")
        assert [float(x) for x in sums] == expect
        assert [float(x) for x in gathered] == [0.0, 1.0, 1.0, 2.0, 2.0, 2.0]


@needs_mpi
def test_mpi_mi_three_ranks_equal_one_process(setup, tmp_path):
    """Binned NMI across ranks: exact edges (bisection on the order keys) and summed integer
    histograms give the one-process matrix (the neuron values of a rank's range may differ
    from the whole file's in the last bit, the evaluation batches differ: 1e-12)."""
    s = setup
    for binning in ("equal-frequency", "equal-width"):
        mi = ["mi", "--model", s["model"], "--neurons", "all,output", "--variables", "a,b,c,d,e,label,L1N0",
              "--binning", binning, "--bins", "12", "--json"]
        one = json.loads(run(*mi, "--data", s["whole"]).stdout)
        three = json.loads(mpirun(3, *mi, "--data", ",".join(s["parts"])).stdout)
        assert three["events"] == one["events"] == 3300
        assert three["neurons"] == one["neurons"] and three["variables"] == one["variables"]
        assert three["neuron_bins"] == one["neuron_bins"] and three["variable_bins"] == one["variable_bins"]
        print(binning, "NMI bit-identical:", three["nmi"] == one["nmi"])
        np.testing.assert_allclose(three["nmi"], one["nmi"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(three["mi_nats"], one["mi_nats"], rtol=1e-12, atol=1e-15)
        assert one["variable_bins"][5] == 2  # label: its two values are its bins
    p = mpirun(2, "mi", "--model", s["model"], "--data", s["whole"], "--estimator", "ksg", check=False)
    assert p.returncode != 0 and "one process" in p.stderr and p.stderr.count("unbox: error") == 1
