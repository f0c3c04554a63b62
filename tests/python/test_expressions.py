"""--define and --cut (muParser, bulk over events) against NumPy on the same expressions."""
import numpy as np
import pandas as pd


def _sample(tmp_path, n=2000, seed=3):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "met": rng.exponential(80.0, n) + 1.0,
        "l1_dphi": rng.uniform(-np.pi, np.pi, n),
        "l2_dphi": rng.uniform(-np.pi, np.pi, n),
        "njets": rng.integers(0, 6, n).astype(float),
        "label": rng.integers(0, 2, n).astype(float),
    })
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return path, df


def test_defines_and_cuts_match_numpy(tmp_path, run_unbox):
    path, df = _sample(tmp_path)
    out = tmp_path / "out.csv"
    run_unbox("hist", "--data", path, "--x", "v",
              "--define", "v=log(met)+l1_dphi+l2_dphi",
              "--define", "w=sqrt(met)*exp(-abs(l1_dphi)) + atan2(l1_dphi, l2_dphi) + max(njets, 2)^2 - min(met, 50)",
              "--define", "t=sin(l1_dphi)*cos(l2_dphi) + (met > 100 ? 1 : 0)",
              "--cut", "met > 30 && (njets >= 2 || label == 1)",
              "--cut", "v < 6",
              "--save-data", out)
    got = pd.read_csv(out, float_precision="round_trip")
    m, d1, d2, nj = df.met.values, df.l1_dphi.values, df.l2_dphi.values, df.njets.values
    v = np.log(m) + d1 + d2
    w = np.sqrt(m) * np.exp(-np.abs(d1)) + np.arctan2(d1, d2) + np.maximum(nj, 2) ** 2 - np.minimum(m, 50)
    t = np.sin(d1) * np.cos(d2) + (m > 100)
    keep = (m > 30) & ((nj >= 2) | (df.label.values == 1)) & (v < 6)
    assert 200 < keep.sum() < len(df)  # the cuts do cut
    assert len(got) == keep.sum()
    np.testing.assert_array_equal(got.met.values, m[keep])
    np.testing.assert_allclose(got.v.values, v[keep], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got.w.values, w[keep], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.t.values, t[keep], rtol=1e-13, atol=1e-13)


def test_malformed_expressions_exit_2_with_position(tmp_path, run_unbox):
    path, _ = _sample(tmp_path, n=10)
    p = run_unbox("hist", "--data", path, "--x", "met", "--define", "v=log(met)+jet_pt", check=False)
    assert p.returncode == 2
    assert "expression 'log(met)+jet_pt': unknown column 'jet_pt' at character 10" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run_unbox("hist", "--data", path, "--x", "met", "--cut", "met > > 3", check=False)
    assert p.returncode == 2
    assert "expression 'met > > 3'" in p.stderr and "at character 7" in p.stderr, p.stderr
    p = run_unbox("hist", "--data", path, "--x", "met", "--cut", "(met > 3", check=False)
    assert p.returncode == 2 and "parenthesis" in p.stderr, p.stderr
