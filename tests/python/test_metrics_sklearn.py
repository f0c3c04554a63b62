"""Cross-check `unbox eval` (AUC, ROC, AMS) against scikit-learn and a numpy brute force."""
import csv
import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve


def write_csv(path, **cols):
    names = list(cols)
    data = np.column_stack([np.asarray(cols[n], dtype=float) for n in names])
    # %.17g: every double reads back bit for bit, so ties stay ties.
    np.savetxt(path, data, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def read_roc(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    cols = {h: np.array([float(r[i]) for r in rows[1:] if r], dtype=float) for i, h in enumerate(header)}
    return cols["thresholds"], cols["fpr"], cols["tpr"]


def make_sample(seed, n, ties, weighted):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(0.6 * y, 1.0)
    if ties:
        s = np.round(s, 2)  # many events share a score
    w = rng.uniform(0.01, 2.0, n) if weighted else None
    return s, y, w


CASES = [
    ("plain", 1, 3000, False, False),
    ("ties", 2, 3000, True, False),
    ("weighted", 3, 3000, False, True),
    ("weighted-ties", 4, 5000, True, True),
]


@pytest.mark.parametrize("name,seed,n,ties,weighted", CASES, ids=[c[0] for c in CASES])
def test_auc_and_roc_match_sklearn(tmp_path, run_unbox, name, seed, n, ties, weighted):
    s, y, w = make_sample(seed, n, ties, weighted)
    data = tmp_path / "f.csv"
    roc_file = tmp_path / "roc.csv"
    cols = dict(s=s, label=y)
    if weighted:
        cols["w"] = w
    write_csv(data, **cols)
    args = ["eval", "--data", data, "--label", "label", "--score", "s", "--json", "--roc", roc_file]
    if weighted:
        args += ["--weight", "w"]
    out = json.loads(run_unbox(*args).stdout)

    assert out["score"] == "s"
    assert out["n_signal"] == int(y.sum())
    assert out["n_background"] == int((1 - y).sum())
    assert out["auc"] == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-9)

    fpr, tpr, thr = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    u_thr, u_fpr, u_tpr = read_roc(roc_file)
    assert len(u_fpr) == len(fpr)
    np.testing.assert_allclose(u_fpr, fpr, rtol=0, atol=1e-9)
    np.testing.assert_allclose(u_tpr, tpr, rtol=0, atol=1e-9)
    # The first point selects nothing: unbox writes +inf (sklearn >= 1.3), 1.2 writes max + 1.
    assert math.isinf(u_thr[0]) and u_thr[0] > 0
    np.testing.assert_array_equal(u_thr[1:], thr[1:])

    # Signal efficiency at 1% and 10% background efficiency on the same curve.
    for key, e in (("0.01", 0.01), ("0.1", 0.1)):
        j = np.searchsorted(fpr, e, side="right")
        k = j - 1
        want = tpr[k] if j == len(fpr) or fpr[k] == e else tpr[k] + (tpr[j] - tpr[k]) * (e - fpr[k]) / (fpr[j] - fpr[k])
        assert out["sig_eff_at_bkg_eff"][key] == pytest.approx(want, abs=1e-9)

    if weighted:
        assert out["sum_w_signal"] == pytest.approx(w[y == 1].sum(), rel=1e-12)
        assert out["sum_w_background"] == pytest.approx(w[y == 0].sum(), rel=1e-12)
        assert set(out["ams"]) == {"best", "threshold", "s", "b", "lumi", "br"}
    else:
        assert "ams" not in out


def brute_ams(s, y, w, lumi, br):
    best = None
    for t in np.unique(s)[::-1]:
        sel = s >= t
        sig = lumi * w[sel & (y == 1)].sum()
        bkg = lumi * w[sel & (y == 0)].sum()
        v = math.sqrt(max(0.0, 2 * ((sig + bkg + br) * math.log(1 + sig / (bkg + br)) - sig)))
        if best is None or v > best[0]:
            best = (v, t, sig, bkg)
    return best


@pytest.mark.parametrize("ties", [False, True])
def test_ams_scan_matches_numpy(tmp_path, run_unbox, ties):
    rng = np.random.default_rng(7 + ties)
    n = 2000
    y = (rng.uniform(size=n) < 0.2).astype(int)  # signal is rare, as in a search
    s = rng.normal(1.0 * y, 1.0)
    if ties:
        s = np.round(s, 1)
    w = np.where(y == 1, rng.uniform(0.001, 0.01, n), rng.uniform(0.01, 0.1, n))
    data = tmp_path / "f.csv"
    write_csv(data, s=s, label=y, w=w)
    lumi = 35.9
    out = json.loads(
        run_unbox("eval", "--data", data, "--label", "label", "--score", "s", "--weight", "w", "--lumi", lumi,
                  "--json").stdout)
    best, thr, sig, bkg = brute_ams(s, y, w, lumi, 10.0)
    a = out["ams"]
    assert a["best"] == pytest.approx(best, rel=1e-9)
    assert a["threshold"] == thr
    assert a["s"] == pytest.approx(sig, rel=1e-9)
    assert a["b"] == pytest.approx(bkg, rel=1e-9)
    assert a["lumi"] == lumi and a["br"] == 10.0


def test_table_output(tmp_path, run_unbox):
    s, y, w = make_sample(5, 500, False, True)
    data = tmp_path / "f.csv"
    write_csv(data, s=s, label=y, w=w)
    out = run_unbox("eval", "--data", data, "--score", "s", "--weight", "w").stdout
    assert "AUC" in out and "best AMS" in out and "background eff. 1%" in out


def test_labels_must_be_0_or_1(tmp_path, run_unbox):
    data = tmp_path / "bad.csv"
    write_csv(data, s=[0.1, 0.2, 0.3, 0.4], label=[0, 1, 2, 1])
    proc = run_unbox("eval", "--data", data, "--label", "label", "--score", "s", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "bad.csv" in lines[0] and "label" in lines[0] and " 2" in lines[0]


def test_single_class_is_an_error(tmp_path, run_unbox):
    data = tmp_path / "sig.csv"
    write_csv(data, s=[0.1, 0.2, 0.3], label=[1, 1, 1])
    proc = run_unbox("eval", "--data", data, "--score", "s", check=False)
    assert proc.returncode == 2
    assert "AUC needs both signal and background events" in proc.stderr


def test_generate_toy_then_eval(tmp_path, run_unbox):
    out = tmp_path / "prod.csv"
    proc = run_unbox("generate", "toy", "product", "--events", 1001, "--seed", 3, "--out", out)
    assert proc.stdout.strip() == f"wrote {out}: 1001 events (500 signal), columns x, y, label"
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert [h.strip() for h in rows[0]] == ["x", "y", "label"]
    lab = np.array([float(r[2]) for r in rows[1:] if r])
    xy = np.array([[float(r[0]), float(r[1])] for r in rows[1:] if r])
    assert lab.sum() == 500
    np.testing.assert_array_equal(lab, (xy[:, 0] * xy[:, 1] < 0).astype(float))
    bad = run_unbox("generate", "toy", "hawaii", "--events", 10, "--out", tmp_path / "h.csv", check=False)
    assert bad.returncode == 2 and "islands" in bad.stderr
