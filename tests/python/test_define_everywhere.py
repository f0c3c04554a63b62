"""--define and --cut through the one data-loading function in every subcommand that reads
events: results equal NumPy / scikit-learn on the same expressions; a malformed expression
exits 2 naming it and the character."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

V = "v=log(met)+l1_dphi+l2_dphi"


def _sample(tmp_path, n=1500, seed=7):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n).astype(float)
    df = pd.DataFrame({
        "met": rng.exponential(70.0, n) + 20.0 + 30.0 * label,
        "l1_dphi": rng.uniform(0, np.pi, n),
        "l2_dphi": rng.uniform(0, np.pi, n),
        "label": label,
        "weight": rng.uniform(0.5, 1.5, n),
    })
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return path, df


def test_eval_with_define_and_cut_equals_sklearn(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    p = run_unbox("eval", "--data", path, "--score", "v", "--weight", "weight", "--define", V,
                  "--cut", "met > 40", "--cut", "l1_dphi < 2.5", "--json")
    j = json.loads(p.stdout)
    v = np.log(df.met) + df.l1_dphi + df.l2_dphi
    keep = (df.met > 40) & (df.l1_dphi < 2.5)
    assert j["n_signal"] + j["n_background"] == keep.sum() < len(df)
    want = roc_auc_score(df.label[keep], v[keep], sample_weight=df.weight[keep])
    assert j["auc"] == pytest.approx(want, rel=1e-12)


def test_train_and_predict_read_defined_columns(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    model = tmp_path / "m.unbox"
    run_unbox("train", "--data", path, "--label", "label", "--define", V, "--columns", "met,v", "--arch", "4",
              "--epochs", "1", "--out", model)
    out = tmp_path / "pred.csv"
    run_unbox("predict", "--model", model, "--data", path, "--define", V, "--cut", "met > 60 && v > 4",
              "--out", out)
    got = pd.read_csv(out)
    v = np.log(df.met) + df.l1_dphi + df.l2_dphi
    assert len(got) == ((df.met > 60) & (v > 4)).sum()
    # Without the definition the model's input 'v' is missing: one clear line, exit 2.
    p = run_unbox("predict", "--model", model, "--data", path, "--out", out, check=False)
    assert p.returncode == 2 and "'v'" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_physics_mt2_takes_cuts(tmp_path, run_unbox):
    # physics mt2 on a table of leptons and MET: --cut keeps NumPy's rows.
    rng = np.random.default_rng(2)
    n = 300
    t = pd.DataFrame({f"{l}_{k}": rng.uniform(1, 50, n) if k == "pt" else rng.uniform(-3, 3, n) if k == "phi" else
                      np.zeros(n) for l in ("l1", "l2") for k in ("pt", "phi", "m")})
    t["met"] = rng.uniform(5, 100, n)
    t["met_phi"] = rng.uniform(-3, 3, n)
    t.to_csv(tmp_path / "lep.csv", index=False, float_format="%.17g")
    run_unbox("physics", "mt2", "--data", tmp_path / "lep.csv", "--cut", "met > 40", "--out", tmp_path / "mt2.csv")
    assert len(pd.read_csv(tmp_path / "mt2.csv")) == (t.met > 40).sum()


@pytest.mark.parametrize("cmd", [["eval", "--score", "met"], ["train", "--label", "label", "--arch", "4"],
                                 ["physics", "mt2"]])
def test_malformed_expression_exits_2_with_position(tmp_path, run_unbox, cmd):
    path, _ = _sample(tmp_path, n=20)
    args = [cmd[0]] + cmd[1:2] if cmd[0] == "physics" else [cmd[0]]
    rest = cmd[2:] if cmd[0] == "physics" else cmd[1:]
    p = run_unbox(*args, "--data", path, *rest, "--out", tmp_path / "o.x", "--cut", "met > > 3", check=False)
    assert p.returncode == 2, p.stderr
    assert "expression 'met > > 3'" in p.stderr and "at character 7" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
