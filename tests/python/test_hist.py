"""unbox hist against numpy.histogram / numpy.quantile, and its NMI against unbox mi's estimator."""
import json

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score


def _sample(tmp_path, n=3000, seed=7):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n).astype(float)
    met = rng.exponential(60.0, n) + 40.0 * label
    mt2 = 0.5 * met + rng.normal(0, 20, n)
    isr = rng.exponential(100.0, n) * (1 + label)
    weight = rng.uniform(0.5, 2.0, n)
    df = pd.DataFrame({"met": met, "mt2": mt2, "isr_pt": isr, "label": label, "weight": weight})
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return path, df


def _hist(run_unbox, tmp_path, *args):
    out = tmp_path / "h.json"
    run_unbox("hist", *args, "--out", out)
    return json.loads(out.read_text())


def test_1d_classes_and_ratio_match_numpy(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    r = _hist(run_unbox, tmp_path, "--data", path, "--weight", "weight", "--x", "met", "--bins", "25")
    edges = np.array(r["x"]["edges"])
    assert len(edges) == 26 and edges[0] == df.met.min() and edges[-1] == df.met.max()
    np.testing.assert_allclose(edges, np.histogram_bin_edges(df.met, bins=25), rtol=0, atol=1e-12)
    for name, sel in (("signal", df.label == 1), ("background", df.label == 0), ("all", df.label >= 0)):
        h, _ = np.histogram(df.met[sel], bins=25, range=(edges[0], edges[-1]), weights=df.weight[sel])
        c = r["classes"][name]
        np.testing.assert_allclose(c["sum_weights"], h, rtol=1e-12)
        np.testing.assert_allclose(c["normalized"], h / h.sum(), rtol=1e-12)
        assert c["events"] == sel.sum()
    s = np.array(r["classes"]["signal"]["normalized"])
    b = np.array(r["classes"]["background"]["normalized"])
    ratio = np.array([np.nan if x is None else x for x in r["ratio"]], dtype=float)
    ok = b > 0
    np.testing.assert_allclose(ratio[ok], s[ok] / b[ok], rtol=1e-12)
    assert np.all(np.isnan(ratio[~ok]))
    assert r["provenance"]["weight"] == "weight" and r["provenance"]["label"] == "label"


def test_range_and_cut_match_numpy(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    r = _hist(run_unbox, tmp_path, "--data", path, "--x", "met", "--bins", "10", "--range", "20,220",
              "--cut", "mt2 > 30", "--define", "ratio=isr_pt/met", "--cut", "ratio < 5")
    keep = (df.mt2 > 30) & (df.isr_pt / df.met < 5)
    assert r["provenance"]["cuts"][0]["events"] == (df.mt2 > 30).sum()
    assert r["provenance"]["cuts"][1]["events"] == keep.sum()
    for name, sel in (("signal", keep & (df.label == 1)), ("background", keep & (df.label == 0))):
        h, e = np.histogram(df.met[sel], bins=10, range=(20, 220))
        np.testing.assert_array_equal(r["classes"][name]["sum_weights"], h)
        out = ((df.met[sel] < 20) | (df.met[sel] > 220)).sum()
        assert r["classes"][name]["outside_weight"] == out
    np.testing.assert_allclose(r["x"]["edges"], e, rtol=0, atol=1e-12)


def test_slices_match_numpy_quantiles(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    r = _hist(run_unbox, tmp_path, "--data", path, "--x", "isr_pt", "--bins", "12", "--range", "0,600",
              "--slices-of", "met", "--slices", "3")
    q = np.quantile(df.met, [0, 1 / 3, 2 / 3, 1])
    sl = r["slices"]
    assert [s["label"] for s in sl] == ["most signal-like", "average", "most background-like"]
    for k, s in enumerate(sl):  # highest first
        lo, hi = q[2 - k], q[3 - k]
        assert abs(s["lo"] - lo) <= 1e-12 * abs(lo) and abs(s["hi"] - hi) <= 1e-12 * abs(hi)
        sel = (df.met >= lo) & ((df.met < hi) if k > 0 else (df.met <= hi))
        h, _ = np.histogram(df.isr_pt[sel], bins=12, range=(0, 600))
        np.testing.assert_array_equal(s["all"]["sum_weights"], h)
        assert s["all"]["events"] == sel.sum()
    assert sum(s["all"]["events"] for s in sl) == len(df)
    # The high-met slice is signal-rich: ISR pT is harder there (the sample's construction).
    assert sl[0]["signal"]["events"] > sl[2]["signal"]["events"]


def test_2d_contents_and_nmi(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    r = _hist(run_unbox, tmp_path, "--data", path, "--x", "met", "--y", "mt2", "--bins", "8", "--y-bins", "5")
    xe, ye = np.array(r["x"]["edges"]), np.array(r["y"]["edges"])
    sel = df.label == 1
    h, _, _ = np.histogram2d(df.met[sel], df.mt2[sel], bins=[xe, ye])
    np.testing.assert_array_equal(np.array(r["classes"]["signal"]["sum_weights"]), h)
    # NMI: eq. (1) on 20 equal-frequency bins equals scikit-learn's geometric NMI of the
    # same bin labels (the library's documented reference); the same number as unbox mi.
    def qbins(v, k=20):
        cuts = np.quantile(v, np.arange(1, k) / k)
        return np.searchsorted(cuts, v, side="right")
    ref = normalized_mutual_info_score(qbins(df.met.values), qbins(df.mt2.values), average_method="geometric")
    # Continuous columns (no ties): cutting at numpy's quantiles gives the same bins.
    assert abs(r["nmi"] - ref) < 1e-12, (r["nmi"], ref)
    assert r["nmi"] > 0.1


def test_neurons_by_name_match_unbox_predict(tmp_path, run_unbox):
    """Names that are not columns are neurons of --model: the histogram of L1N3 in slices of
    the output equals NumPy's on the values `unbox predict` writes for the same events."""
    data, model, pred = tmp_path / "toy.csv", tmp_path / "m.unbox", tmp_path / "pred.csv"
    run_unbox("generate", "toy", "gauss-marginal", "--events", "1500", "--seed", "2", "--out", data)
    run_unbox("train", "--data", data, "--label", "label", "--arch", "6", "--epochs", "3", "--batch", "64",
              "--out", model, "--quiet")
    run_unbox("predict", "--model", model, "--data", data, "--out", pred, "--neurons", "L1N3,output",
              "--keep", "label")
    p = pd.read_csv(pred, float_precision="round_trip")
    r = _hist(run_unbox, tmp_path, "--data", data, "--model", model, "--x", "L1N3", "--bins", "9",
              "--slices-of", "output", "--slices", "2")
    edges = np.array(r["x"]["edges"])
    assert edges[0] == p["L1N3"].min() and edges[-1] == p["L1N3"].max()
    h, _ = np.histogram(p["L1N3"][p.label == 1], bins=9, range=(edges[0], edges[-1]))
    np.testing.assert_array_equal(r["classes"]["signal"]["sum_weights"], h)
    med = np.quantile(p["output"], 0.5)
    assert abs(r["slices"][0]["lo"] - med) <= 1e-12 * max(1.0, abs(med))
    hi = p["output"] >= med
    h, _ = np.histogram(p["L1N3"][hi], bins=9, range=(edges[0], edges[-1]))
    np.testing.assert_array_equal(r["slices"][0]["all"]["sum_weights"], h)
