"""`unbox ado` against independent references: a numpy double loop over all
signal-background pairs (ties one half, weights w_sig * w_bkg), and scikit-learn's AUC
(ADO against the label itself is the AUC); `unbox ado search --json` gives the keys
scripts rely on."""
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score


def brute_ado(f, g, y, w):
    s, b = y == 1, y == 0
    df = f[s][:, None] - f[b][None, :]
    dg = g[s][:, None] - g[b][None, :]
    do = np.where((df == 0) | (dg == 0), 0.5, (df * dg > 0).astype(float))
    ww = w[s][:, None] * w[b][None, :]
    return float((do * ww).sum() / ww.sum())


@pytest.mark.parametrize("ties", [False, True])
def test_ado_equals_numpy_double_loop_and_sklearn_auc(tmp_path, run_unbox, ties):
    rng = np.random.default_rng(5)
    n = 900
    y = (rng.random(n) < 0.4).astype(float)
    f = rng.normal(size=n) + y
    g = 0.5 * f + rng.normal(size=n)
    if ties:
        f, g = np.round(f * 2) / 2, np.round(g * 3) / 3
    w = rng.uniform(0.1, 2.0, n)
    np.savez(tmp_path / "d.npz", f=f, g=g, label=y, w=w)
    out = json.loads(run_unbox("ado", "--data", tmp_path / "d.npz", "--label", "label", "--score", "f", "--against", "g",
                               "--weight", "w", "--json").stdout)
    assert out["ado"] == pytest.approx(brute_ado(f, g, y, w), abs=1e-12)
    assert out["auc_score"] == pytest.approx(roc_auc_score(y, f, sample_weight=w), abs=1e-12)
    # Against the label, ADO is the AUC.
    lab = json.loads(run_unbox("ado", "--data", tmp_path / "d.npz", "--label", "label", "--score", "f", "--against",
                               "label", "--json").stdout)
    assert lab["ado"] == pytest.approx(roc_auc_score(y, f), abs=1e-12)
    # Without flipping: the reversed discriminant has ADO 1 - ADO - (ties).
    np.savez(tmp_path / "r.npz", f=f, g=-g, label=y)
    rev = json.loads(run_unbox("ado", "--data", tmp_path / "r.npz", "--score", "f", "--against", "g", "--json").stdout)
    assert rev["ado"] == pytest.approx(brute_ado(f, -g, y, np.ones(n)), abs=1e-12)


def test_ado_search_json_keys(tmp_path, run_unbox):
    rng = np.random.default_rng(2)
    n = 2000
    y = (np.arange(n) % 2).astype(float)
    x1, good, other = rng.normal(size=n) + 0.7 * y, rng.normal(size=n) + 0.5 * y, rng.normal(size=n) + y
    np.savez(tmp_path / "d.npz", x1=x1, label=y, target=np.tanh(0.7 * x1 + 0.5 * good))
    np.savez(tmp_path / "pool.npz", other=other, good=good)
    out = json.loads(run_unbox("ado", "search", "--data", tmp_path / "d.npz", "--pool-data", tmp_path / "pool.npz",
                               "--label", "label", "--target", "target", "--base", "x1", "--arch", "16", "--epochs",
                               "8", "--steps", "1", "--json", "--out", tmp_path / "s.json").stdout)
    steps = out["steps"]
    assert steps[0]["added"] is None and steps[1]["added"] == "good"
    assert all({"added", "auc", "ado"} <= set(s) for s in steps)
    assert steps[1]["ado"] > steps[0]["ado"]
    assert json.loads((tmp_path / "s.json").read_text()) == out
    bad = run_unbox("ado", "search", "--data", tmp_path / "d.npz", "--target", "target", "--base", "nope", check=False)
    assert bad.returncode == 2 and "nope" in bad.stderr
