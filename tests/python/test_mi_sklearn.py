"""Cross-check `unbox mi` (eq. 1 of Roxlo & Reece) against scikit-learn's
normalized_mutual_info_score(average_method='geometric') on the same discretized data,
and `unbox ad --json` for shape, order and determinism.

The model reads the columns a, b, c, d, so its L0 neurons are those columns themselves:
`--neurons L0` compares data columns with data columns through the CLI."""
import json

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_regression
from sklearn.metrics import normalized_mutual_info_score


def write_csv(path, **cols):
    names = list(cols)
    data = np.column_stack([np.asarray(cols[n], dtype=float) for n in names])
    np.savetxt(path, data, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def equal_frequency_bins(v, bins):
    """unbox's rule: edge b is the element of rank ceil(b N / B) - 1 of the sorted column;
    a value's bin is the number of distinct edges strictly below it (edges at the maximum
    dropped). Labels need not be compact for sklearn."""
    s = np.sort(v)
    n = len(v)
    ranks = sorted({(b * n + bins - 1) // bins - 1 for b in range(1, bins)})
    edges = np.unique(s[ranks])
    edges = edges[edges < s[-1]]
    return np.searchsorted(edges, v, side="left")


def equal_width_bins(v, bins):
    lo, hi = v.min(), v.max()
    width = (hi - lo) / bins
    return np.clip(((v - lo) / width).astype(np.int64), 0, bins - 1)


def labels_for(v, bins, binning):
    if len(np.unique(v)) <= bins:
        return v.astype(np.int64)
    return equal_frequency_bins(v, bins) if binning == "equal-frequency" else equal_width_bins(v, bins)


@pytest.fixture(scope="module")
def sample(tmp_path_factory, unbox_bin):
    import subprocess

    tmp = tmp_path_factory.mktemp("mi")
    rng = np.random.default_rng(7)
    n = 20000
    a = rng.integers(0, 8, n)                                  # discrete, 8 values
    b = (a + rng.integers(0, 5, n)) % 12                       # discrete, depends on a
    c = rng.normal(size=n)                                     # continuous
    d = np.round(c + 0.7 * rng.normal(size=n), 3)              # continuous with ties
    label = (c + 0.3 * a + rng.normal(size=n) > 1).astype(int)
    data = tmp / "f.csv"
    write_csv(data, a=a, b=b, c=c, d=d, label=label)
    model = tmp / "m.unbox"
    subprocess.run([unbox_bin, "train", "--data", data, "--label", "label", "--columns", "a,b,c,d", "--arch", "4",
                    "--epochs", "1", "--seed", "1", "--out", model, "--quiet"], check=True, capture_output=True)
    return dict(data=data, model=model, cols=dict(a=a, b=b, c=c, d=d, label=label))


@pytest.mark.parametrize("binning,bins", [("equal-frequency", 20), ("equal-width", 20), ("equal-frequency", 7),
                                          ("equal-width", 10)])
def test_nmi_matches_sklearn(sample, run_unbox, binning, bins):
    variables = ["a", "b", "c", "d", "label"]
    out = json.loads(run_unbox("mi", "--model", sample["model"], "--data", sample["data"], "--neurons", "L0",
                               "--variables", ",".join(variables), "--binning", binning, "--bins", bins,
                               "--json").stdout)
    assert out["neurons"] == ["L0N0", "L0N1", "L0N2", "L0N3"]
    assert out["variables"] == variables
    assert out["estimator"] == "binned"
    nmi = np.array(out["nmi"])
    assert nmi.shape == (4, 5)
    cols = sample["cols"]
    labels = {k: labels_for(np.asarray(v, dtype=float), bins, binning) for k, v in cols.items()}
    for i, row in enumerate(["a", "b", "c", "d"]):
        for j, var in enumerate(variables):
            want = normalized_mutual_info_score(labels[row], labels[var], average_method="geometric")
            assert nmi[i, j] == pytest.approx(want, abs=1e-9), (row, var)
        # Effective bins reported match the distinct labels.
        assert out["neuron_bins"][i] == len(np.unique(labels[row]))
    assert nmi[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert 0.05 < nmi[2, 3] < 1.0  # c and d are related, not identical


def test_ksg_close_to_sklearn(sample, run_unbox):
    out = json.loads(run_unbox("mi", "--model", sample["model"], "--data", sample["data"], "--neurons", "L0N2",
                               "--variables", "d", "--estimator", "ksg", "--knn-events", 0, "--json").stdout)
    cols = sample["cols"]
    ref = mutual_info_regression(cols["c"].reshape(-1, 1), cols["d"], n_neighbors=3, random_state=0)[0]
    assert out["mi_nats"][0][0] == pytest.approx(ref, abs=0.02)
    assert out["nmi"][0][0] == pytest.approx(np.sqrt(1 - np.exp(-2 * out["mi_nats"][0][0])), abs=1e-12)
    # Analytic: d = c + 0.7 e (rounding aside), rho^2 = 1 / 1.49.
    assert out["mi_nats"][0][0] == pytest.approx(-0.5 * np.log(1 - 1 / 1.49), abs=0.03)


def test_ad_json_sorted_and_seeded(sample, run_unbox):
    args = ["ad", "--model", sample["model"], "--data", sample["data"], "--neuron", "output", "--samples", 3000,
            "--bootstrap", 20, "--json"]
    one = run_unbox(*args, "--seed", 5).stdout
    two = run_unbox(*args, "--seed", 5).stdout
    other = run_unbox(*args, "--seed", 6).stdout
    assert one == two
    assert one != other
    out = json.loads(one)
    assert out["neuron"] == "output"
    ranking = out["ranking"]
    assert sorted(r["variable"] for r in ranking) == ["a", "b", "c", "d"]
    ads = [r["ad"] for r in ranking]
    assert ads == sorted(ads, reverse=True)
    assert all(r["err"] >= 0 for r in ranking)
    # With respect to the hidden layer: its neurons are the variables.
    hidden = json.loads(run_unbox("ad", "--model", sample["model"], "--data", sample["data"], "--neuron", "output",
                                  "--layer", "L1", "--samples", 2000, "--bootstrap", 0, "--json").stdout)
    assert sorted(r["variable"] for r in hidden["ranking"]) == ["L1N0", "L1N1", "L1N2", "L1N3"]


def test_errors_are_one_line(sample, run_unbox):
    p = run_unbox("mi", "--model", sample["model"], "--data", sample["data"], "--variables", "nope", check=False)
    assert p.returncode == 2
    assert "nope" in p.stderr and p.stderr.count("\n") == 1
    p = run_unbox("ad", "--model", sample["model"], "--data", sample["data"], "--neuron", "L1N0", "--layer", "L1",
                  check=False)
    assert p.returncode == 2 and "L1" in p.stderr
