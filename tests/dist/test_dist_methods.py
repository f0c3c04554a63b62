"""eval, lrp, attribute, physics features and efp over many files, in chunks, merged and on MPI
ranks (issue 20).

References: the single run on the concatenated file, read whole in one process; for eval
also scikit-learn's roc_auc_score. eval merges sorted runs of (score, label, weight): the
merged run is the whole sample's sort, so its metrics have the same bits. lrp and attribute
add sums in another order (1e-12 relative). Per-event outputs (physics features, efp) are
computed event by event: the same rows.
"""
import json

import numpy as np
import pytest

from dist_cli import COLS, MPIRUN, UNBOX, mpirun, needs_mpi, run, write_csv  # noqa: E402,F401


def sample(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, len(COLS))) + 0.7 * y[:, None] * np.array([1, -0.5, 0.3, 0, 0.2])
    x[:, 3] = x[:, 0] * x[:, 1] + 0.1 * rng.normal(size=n)
    x[:, 4] = np.round(x[:, 4], 1)  # ties in a score column
    w = rng.uniform(0.5, 1.5, n)
    return x, y, w


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    d = tmp_path_factory.mktemp("distm")
    parts, xs, ys, ws = [], [], [], []
    for k, n in enumerate([1200, 900, 1400]):
        x, y, w = sample(n, 20 + k)
        p = d / f"part{k}.csv"
        write_csv(p, x, y, w)
        parts.append(str(p))
        xs.append(x), ys.append(y), ws.append(w)
    whole = d / "whole.csv"
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    write_csv(whole, x, y, w)
    model = d / "m.unbox"
    run("train", "--data", parts[0], "--label", "label", "--columns", ",".join(COLS), "--arch", "6,6", "--activation",
        "tanh", "--epochs", "2", "--seed", "3", "--out", model)
    return {"dir": d, "parts": parts, "files": ",".join(parts), "whole": str(whole), "model": str(model), "x": x,
            "y": y, "w": w}


def load(path):
    return json.load(open(path))


# ---- eval --------------------------------------------------------------------------------

def eval_run(s, data, out, *extra, runner=None):
    args = ["eval", "--model", s["model"], "--data", data, "--weight", "weight", "--out", out, *extra]
    (runner or run)(*args)
    return load(out)


def eval_metrics(j):
    return [j["auc"], j["n_signal"], j["n_background"], j["sum_w_signal"], j["sum_w_background"],
            *j["sig_eff_at_bkg_eff"].values(), j["ams"]["best"], j["ams"]["threshold"], j["ams"]["s"], j["ams"]["b"]]


def same_eval(got, ref, counts_rel=1e-12):
    """AUC, efficiencies and the AMS scan from the merged sorted run: the same bits. The
    weight sums per class are added chunk by chunk (round-off)."""
    g, r = eval_metrics(got), eval_metrics(ref)
    assert g[0] == r[0] and g[1:3] == r[1:3] and g[5:] == r[5:]
    np.testing.assert_allclose(g[3:5], r[3:5], rtol=counts_rel, atol=0)


def test_eval_chunks_and_files_equal_the_whole_run(s, tmp_path):
    ref = eval_run(s, s["whole"], tmp_path / "ref.json")
    from sklearn.metrics import roc_auc_score
    scores = np.array(ref["state"]["run"]["scores"])
    assert len(scores) == 3500 and np.all(np.diff(scores) <= 0)
    # The independent reference: scikit-learn on the scores unbox predicts for the whole file.
    run("predict", "--model", s["model"], "--data", s["whole"], "--out", tmp_path / "p.csv", "--quiet")
    pred = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert ref["auc"] == pytest.approx(roc_auc_score(s["y"], pred, sample_weight=s["w"]), rel=1e-12)
    for data, chunk in [(s["whole"], 1000), (s["whole"], 333), (s["files"], 1000), (s["files"], 0)]:
        same_eval(eval_run(s, data, tmp_path / "c.json", "--chunk", chunk), ref)
    # A column as the score, with ties (rounded values) spread over the chunks.
    col = ["--score", "e"]
    run("eval", "--data", s["whole"], "--weight", "weight", *col, "--out", tmp_path / "rc.json")
    ref_col = load(tmp_path / "rc.json")
    run("eval", "--data", s["files"], "--weight", "weight", *col, "--chunk", 500, "--out", tmp_path / "cc.json")
    same_eval(load(tmp_path / "cc.json"), ref_col)
    assert ref_col["auc"] == pytest.approx(roc_auc_score(s["y"], s["x"][:, 4], sample_weight=s["w"]), rel=1e-12)


def test_eval_merge_of_per_file_results_equals_the_single_run(s, tmp_path):
    ref = eval_run(s, s["whole"], tmp_path / "ref.json")
    outs = [tmp_path / f"e{k}.json" for k in range(3)]
    for p, o in zip(s["parts"], outs):
        eval_run(s, p, o)
    run("merge", *outs, "--out", tmp_path / "merged.json", "--quiet")
    same_eval(load(tmp_path / "merged.json"), ref)
    # Files of one class each (signal apart from background) merge as well.
    lines = open(s["whole"]).read().splitlines()
    head, rows = lines[0], lines[1:]
    for lab in "01":
        keep = [r for r in rows if r.split(",")[5] == lab]
        open(tmp_path / f"only{lab}.csv", "w").write("\n".join([head] + keep) + "\n")
        eval_run(s, tmp_path / f"only{lab}.csv", tmp_path / f"only{lab}.json")
    run("merge", tmp_path / "only0.json", tmp_path / "only1.json", "--out", tmp_path / "m01.json", "--quiet")
    both = eval_run(s, f"{tmp_path / 'only0.csv'},{tmp_path / 'only1.csv'}", tmp_path / "both.json")
    same_eval(load(tmp_path / "m01.json"), both)
    assert both["auc"] == pytest.approx(ref["auc"], rel=1e-12)  # the AUC does not depend on the event order
    # The terminal print carries no state; results of other options do not merge.
    p = run("eval", "--model", s["model"], "--data", s["parts"][0], "--weight", "weight", "--json")
    assert "state" not in json.loads(p.stdout)
    eval_run(s, s["parts"][1], tmp_path / "lumi.json", "--lumi", 2)
    p = run("merge", outs[0], tmp_path / "lumi.json", check=False)
    assert p.returncode == 2 and "'lumi'" in p.stderr and p.stderr.count("\n") == 1


@needs_mpi
def test_mpi_eval_three_ranks_equal_one_process(s, tmp_path):
    ref = eval_run(s, s["whole"], tmp_path / "ref.json")
    got = eval_run(s, s["files"], tmp_path / "mpi.json", runner=lambda *a: mpirun(3, *a))
    same_eval(got, ref)
    got = eval_run(s, s["files"], tmp_path / "mpi2.json", "--chunk", 400, runner=lambda *a: mpirun(2, *a))
    same_eval(got, ref)


# ---- lrp and attribute -------------------------------------------------------------------

def relevance_numbers(j):
    keys = sorted(j["mean_normalized_relevance"])
    v = [j["mean_normalized_relevance"][k] for k in keys] + [j["mean_relevance"][k] for k in keys]
    for c in ("signal", "background"):
        pc = j["mean_normalized_relevance_per_class"][c]
        pc = pc.get("mean", pc)  # several models: {"mean": ..., "std": ...}
        v += [pc[k] for k in keys]
    return np.array(v)


def same_relevance(got, ref, rel=1e-12):
    assert got["events"] == ref["events"]
    np.testing.assert_allclose(relevance_numbers(got), relevance_numbers(ref), rtol=rel, atol=1e-300)
    if "conservation" in ref and ref["conservation"].get("mean_abs_error") is not None:
        for k, v in ref["conservation"].items():
            if isinstance(v, float):
                assert got["conservation"][k] == pytest.approx(v, rel=rel, abs=1e-300), k


def lrp_run(s, data, out, *extra, runner=None, model=None):
    (runner or run)("lrp", "--model", model or s["model"], "--data", data, "--out", out, *extra)
    return load(out)


def test_lrp_chunks_equal_the_whole_run_with_the_zbox_range_of_all_events(s, tmp_path):
    # The default composite reads the data range at the input (zbox): a first pass finds it.
    ref = lrp_run(s, s["whole"], tmp_path / "ref.json")
    assert ref["state"]["sums"][0]["zbox"], "the default composite has a zbox layer"
    for data, chunk in [(s["whole"], 1000), (s["files"], 700)]:
        got = lrp_run(s, data, tmp_path / "c.json", "--chunk", chunk)
        same_relevance(got, ref)
        assert got["state"]["sums"][0]["zbox"] == ref["state"]["sums"][0]["zbox"]  # min/max: exact
        assert got["profiles"] == {} and "no profiles" in got["notes"][0]
    p = run("lrp", "--model", s["model"], "--data", s["whole"], "--chunk", 1000, "--profile", "a", check=False)
    assert p.returncode == 2 and "quantiles of the whole sample" in p.stderr


def test_lrp_merge_of_per_file_results(s, tmp_path):
    ref = lrp_run(s, s["whole"], tmp_path / "ref.json", "--rule", "epsilon")
    outs = [tmp_path / f"l{k}.json" for k in range(3)]
    for p, o in zip(s["parts"], outs):
        lrp_run(s, p, o, "--rule", "epsilon")
    run("merge", *outs, "--out", tmp_path / "merged.json", "--quiet")
    same_relevance(load(tmp_path / "merged.json"), ref)
    # With zbox every file has its own data range: the parts are not of one sample's rule.
    for p, o in zip(s["parts"][:2], outs[:2]):
        lrp_run(s, p, o)
    p = run("merge", *outs[:2], check=False)
    assert p.returncode == 2 and "zbox" in p.stderr and p.stderr.count("\n") == 1


@needs_mpi
def test_mpi_lrp_three_ranks_equal_one_process(s, tmp_path):
    ref = lrp_run(s, s["whole"], tmp_path / "ref.json")
    same_relevance(lrp_run(s, s["files"], tmp_path / "mpi.json", runner=lambda *a: mpirun(3, *a)), ref)
    # Two models (mean +- std across trainings): each model's sums merged on its own.
    other = tmp_path / "other.unbox"
    run("train", "--data", s["parts"][1], "--label", "label", "--columns", ",".join(COLS), "--arch", "6,6",
        "--activation", "tanh", "--epochs", "1", "--seed", "7", "--out", other)
    both = f"{s['model']},{other}"
    ref2 = lrp_run(s, s["whole"], tmp_path / "ref2.json", model=both)
    got2 = lrp_run(s, s["files"], tmp_path / "mpi2.json", "--chunk", 500, runner=lambda *a: mpirun(2, *a), model=both)
    same_relevance(got2, ref2)
    assert got2["models"] == ref2["models"] and got2["mean_normalized_relevance_std"] == pytest.approx(
        ref2["mean_normalized_relevance_std"], rel=1e-10)


def attr_run(s, data, out, *extra, runner=None):
    (runner or run)("attribute", "--model", s["model"], "--data", data, "--out", out, "--steps", 8, *extra)
    return load(out)


@pytest.mark.parametrize("method", [["--method", "ig"], ["--method", "smoothgrad", "--samples", 4]])
def test_attribute_chunks_equal_the_whole_run(s, tmp_path, method):
    # IG's mean baseline and SmoothGrad's noise are the whole sample's (a first pass), and
    # SmoothGrad seeds every event by its number among all.
    ref = attr_run(s, s["whole"], tmp_path / "ref.json", *method)
    for data, chunk in [(s["whole"], 1000), (s["files"], 600)]:
        same_relevance(attr_run(s, data, tmp_path / "c.json", "--chunk", chunk, *method), ref, rel=1e-11)


def test_attribute_merge_of_per_file_results(s, tmp_path):
    for method in (["--method", "saliency"], ["--method", "ig", "--baseline", "zero"]):
        ref = attr_run(s, s["whole"], tmp_path / "ref.json", *method)
        outs = [tmp_path / f"a{k}.json" for k in range(3)]
        for p, o in zip(s["parts"], outs):
            attr_run(s, p, o, *method)
        run("merge", *outs, "--out", tmp_path / "merged.json", "--quiet")
        same_relevance(load(tmp_path / "merged.json"), ref)
    # IG's mean baseline is each file's own: refused.
    for p, o in zip(s["parts"][:2], outs[:2]):
        attr_run(s, p, o)
    p = run("merge", *outs[:2], check=False)
    assert p.returncode == 2 and "baseline" in p.stderr


@needs_mpi
def test_mpi_attribute_three_ranks_equal_one_process(s, tmp_path):
    for method in (["--method", "ig"], ["--method", "smoothgrad", "--samples", 4]):
        ref = attr_run(s, s["whole"], tmp_path / "ref.json", *method)
        got = attr_run(s, s["files"], tmp_path / "mpi.json", *method, runner=lambda *a: mpirun(3, *a))
        same_relevance(got, ref, rel=1e-11)


# ---- per-event outputs: physics features and efp ----------------------------------------

def same_rows(got, ref):
    g, r = open(got).read().splitlines(), open(ref).read().splitlines()
    assert g[0] == r[0] and len(g) == len(r)
    np.testing.assert_array_equal(np.genfromtxt(got, delimiter=",", skip_header=1),
                                  np.genfromtxt(ref, delimiter=",", skip_header=1))


@pytest.fixture(scope="module")
def hepmc(tmp_path_factory):
    d = tmp_path_factory.mktemp("hepmc")
    run("generate", "physics", "ttbar", "--events", 240, "--seed", 5, "--quiet", "--threads", 1, "--out",
        d / "tt.hepmc")
    return d / "tt.hepmc"


def features(data, out, *extra, runner=None):
    p = (runner or run)("physics", "features", "--data", data, "--out", out, "--selection", "none", "--quiet",
                        "--json", *extra)
    return json.loads(p.stdout)


def test_physics_features_in_chunks_write_the_same_rows(hepmc, tmp_path):
    ref = features(hepmc, tmp_path / "whole.csv", "--label", 0)
    got = features(hepmc, tmp_path / "chunks.csv", "--label", 0, "--chunk", 70)
    same_rows(tmp_path / "chunks.csv", tmp_path / "whole.csv")
    assert got["selected"] == ref["selected"] > 0 and got["events_read"] == ref["events_read"] == 240
    assert [c["events"] for c in got["cutflow"]["cuts"]] == [c["events"] for c in ref["cutflow"]["cuts"]]
    p = run("physics", "features", "--data", hepmc, "--out", tmp_path / "x.h5", "--chunk", 70, check=False)
    assert p.returncode == 2 and "CSV or TSV" in p.stderr


@needs_mpi
def test_mpi_physics_features_join_the_ranks_rows_in_order(hepmc, tmp_path):
    ref = features(hepmc, tmp_path / "one.csv", "--max-events", 200)
    got = features(hepmc, tmp_path / "three.csv", "--max-events", 200, "--chunk", 30,
                   runner=lambda *a: mpirun(3, *a))
    same_rows(tmp_path / "three.csv", tmp_path / "one.csv")
    assert got["events_read"] == 200 and got["cutflow"]["total_events"] == ref["cutflow"]["total_events"]
    assert got["cutflow"]["total_weighted"] == pytest.approx(ref["cutflow"]["total_weighted"], rel=1e-12)
    assert not list(tmp_path.glob("three.csv.rank*"))


@pytest.fixture(scope="module")
def jets(tmp_path_factory):
    d = tmp_path_factory.mktemp("jets")
    rng = np.random.default_rng(8)
    files = []
    for k, n in enumerate([500, 400, 600]):
        pt = rng.exponential(20, size=(n, 6))
        pt[:, 4:] *= rng.integers(0, 2, size=(n, 2))  # padding: pT = 0
        eta, phi = rng.normal(0, 0.3, size=(n, 6)), rng.normal(0, 0.3, size=(n, 6))
        cols, names = [], []
        for i in range(6):
            cols += [pt[:, i], eta[:, i], phi[:, i]]
            names += [f"p{i}_pt", f"p{i}_eta", f"p{i}_phi"]
        cols.append(rng.integers(0, 2, n).astype(float))
        names.append("label")
        p = d / f"jets{k}.csv"
        np.savetxt(p, np.column_stack(cols), delimiter=",", header=",".join(names), comments="", fmt="%.17g")
        files.append(str(p))
    lines = [open(files[0]).read().splitlines()[0]]
    for f in files:
        lines += open(f).read().splitlines()[1:]
    open(d / "all.csv", "w").write("\n".join(lines) + "\n")
    return {"files": ",".join(files), "whole": str(d / "all.csv")}


def test_efp_in_chunks_writes_the_same_rows(jets, tmp_path):
    base = ["efp", "--dmax", 3, "--keep", "label", "--quiet"]
    run(*base, "--data", jets["whole"], "--out", tmp_path / "whole.csv")
    run(*base, "--data", jets["files"], "--chunk", 250, "--out", tmp_path / "chunks.csv")
    same_rows(tmp_path / "chunks.csv", tmp_path / "whole.csv")


@needs_mpi
def test_mpi_efp_joins_the_ranks_rows_in_order(jets, tmp_path):
    base = ["efp", "--dmax", 3, "--keep", "label", "--quiet"]
    run(*base, "--data", jets["whole"], "--out", tmp_path / "one.csv")
    mpirun(3, *base, "--data", jets["files"], "--out", tmp_path / "three.csv")
    same_rows(tmp_path / "three.csv", tmp_path / "one.csv")
    assert not list(tmp_path.glob("three.csv.rank*"))
