"""unbox maximize / caveman from the command line: the population file's columns, the
histogram JSON, determinism by seed, caveman --json keys and caveman apply."""
import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def product(tmp_path_factory, unbox_bin):
    import subprocess

    d = tmp_path_factory.mktemp("maximize")

    def run(*args):
        subprocess.run([unbox_bin, *map(str, args)], check=True, capture_output=True, text=True)

    run("generate", "toy", "product", "--events", 30000, "--seed", 1, "--out", d / "train.csv")
    run("generate", "toy", "product", "--events", 10000, "--seed", 2, "--out", d / "test.csv")
    run("train", "--data", d / "train.csv", "--label", "label", "--arch", "32,32", "--output", "tanh",
        "--epochs", 8, "--seed", 1, "--out", d / "m.unbox", "--quiet")
    return d


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_population_file_and_histograms(product, run_unbox):
    d = product
    args = ["maximize", "--model", d / "m.unbox", "--data", d / "test.csv", "--neuron", "output",
            "--points", 2000, "--threshold", 0.5, "--seed", 3]
    out = run_unbox(*args, "--out", d / "pop.csv", "--json")
    summary = json.loads(out.stdout)
    header, pop = read_csv(d / "pop.csv")
    assert header == ["x", "y", "activation", "steps", "converged", "boundary_x", "boundary_y"]
    assert pop.shape == (2000, 7)
    conv = pop[:, 4] == 1
    assert conv.sum() == summary["converged"]
    assert np.all(pop[conv, 2] >= 0.5)
    # Most converged points of the signal side have x*y < 0.
    assert np.mean(pop[conv, 0] * pop[conv, 1] < 0) > 0.9
    # Boundary flags mark exactly the coordinates at the ends of the box.
    for i, name in enumerate(["x", "y"]):
        lo = summary["inputs"][i]["lo"]
        hi = summary["inputs"][i]["hi"]
        assert np.all(pop[:, i] >= lo) and np.all(pop[:, i] <= hi)
        assert np.array_equal(pop[:, 5 + i] == 1, (pop[:, i] == lo) | (pop[:, i] == hi))
    hist = json.load(open(d / "pop.csv.hist.json"))
    assert hist["two"]["histograms"][0]["variables"] == ["x", "y"]
    assert sum(hist["two"]["histograms"][0]["counts"]) == conv.sum()
    # Same seed, same population (byte for byte).
    run_unbox(*args, "--out", d / "pop2.csv", "--json")
    assert open(d / "pop.csv").read() == open(d / "pop2.csv").read()
    # The terminal view has a heat map.
    table = run_unbox(*args, "--out", d / "pop3.csv").stdout
    assert "vs x" in table and any(c in table for c in "░▒▓█")


def test_caveman_json_and_apply(product, run_unbox):
    d = product
    run_unbox("maximize", "--model", d / "m.unbox", "--data", d / "test.csv", "--neuron", "output",
              "--points", 3000, "--threshold", 0.5, "--seed", 4, "--out", d / "pop.npz", "--quiet")
    out = run_unbox("caveman", "--model", d / "m.unbox", "--data", d / "test.csv", "--population", d / "pop.npz",
                    "--neuron", "output", "--label", "label", "--json", "--out", d / "var.json")
    j = json.loads(out.stdout)
    for key in ("formula", "terms", "auc", "neuron_auc", "linear"):
        assert key in j
    assert j["auc"] > 0.85 and j["neuron_auc"] > 0.95
    applied = run_unbox("caveman", "apply", "--variable", d / "var.json", "--data", d / "test.csv",
                        "--out", d / "scored.csv", "--keep", "label")
    assert "wrote" in applied.stdout
    header, scored = read_csv(d / "scored.csv")
    assert header == ["label", "caveman"]
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(scored[:, 0], scored[:, 1]) > 0.85
    bad = run_unbox("caveman", "apply", "--variable", d / "pop.npz.hist.json", "--data", d / "test.csv",
                    "--out", d / "x.csv", check=False)
    assert bad.returncode == 2 and "caveman variable" in bad.stderr
