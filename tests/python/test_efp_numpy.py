"""unbox efp and unbox isolation against numpy: every EFP up to d = 4 by np.einsum over the
graph's edge list (written by --graphs), on random jets with padding and phi wrap-around;
the isolation cones by a direct numpy sum."""
import json
import string

import numpy as np


def write_jets(path, rng, n=40, p=9):
    pt = rng.uniform(1, 50, (n, p))
    pt[rng.uniform(size=(n, p)) < 0.25] = 0.0  # padding
    pt[:, 0] = rng.uniform(20, 60, n)           # at least one particle
    eta = rng.uniform(-0.5, 0.5, (n, p))
    phi = np.remainder(np.pi + rng.uniform(-0.5, 0.5, (n, p)) + np.pi, 2 * np.pi) - np.pi
    label = (np.arange(n) % 2).astype(float)
    cols, names = [], []
    for i in range(p):
        for v, a in (("pt", pt), ("eta", eta), ("phi", phi)):
            names.append(f"p{i}_{v}")
            cols.append(a[:, i])
    names.append("label")
    cols.append(label)
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return pt, eta, phi, label


def efp_numpy(pt, eta, phi, edges, n_vertices, kappa, beta):
    out = []
    for e in range(pt.shape[0]):
        keep = pt[e] > 0
        z = pt[e, keep] ** kappa
        z = z / z.sum()
        de = eta[e, keep][:, None] - eta[e, keep][None, :]
        dp = phi[e, keep][:, None] - phi[e, keep][None, :]
        dp = (dp + np.pi) % (2 * np.pi) - np.pi
        theta = np.sqrt(de ** 2 + dp ** 2) ** beta
        if n_vertices == 0:
            out.append(1.0)
            continue
        letters = string.ascii_lowercase
        terms = [letters[v] for v in range(n_vertices)] + [letters[a] + letters[b] for a, b in edges]
        ops = [z] * n_vertices + [theta] * len(edges)
        out.append(np.einsum(",".join(terms) + "->", *ops, optimize=True))
    return np.array(out)


def test_efp_matches_einsum(run_unbox, tmp_path):
    rng = np.random.default_rng(5)
    pt, eta, phi, label = write_jets(tmp_path / "jets.csv", rng)
    kappa, beta = 0.5, 1.5
    run_unbox("efp", "--data", tmp_path / "jets.csv", "--dmax", 4, "--kappa", kappa, "--beta", beta, "--keep", "label",
              "--graphs", tmp_path / "graphs.json", "--out", tmp_path / "efps.csv", "--quiet")
    graphs = json.loads((tmp_path / "graphs.json").read_text())
    assert len(graphs) == 1 + 1 + 3 + 8 + 23  # all graphs with d <= 4 (36)
    table = np.genfromtxt(tmp_path / "efps.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["label"], label)
    for g in graphs:
        ref = efp_numpy(pt, eta, phi, g["edges"], g["n"], kappa, beta)
        got = table[f"efp_{g['id']}"]
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0, err_msg=f"graph {g}")


def test_efp_list_json(run_unbox):
    graphs = json.loads(run_unbox("efp", "--list", "--dmax", 7, "--json").stdout)
    assert len(graphs) == 1000
    assert sum(g["connected"] for g in graphs) == 490
    assert [g["id"] for g in graphs] == list(range(1000))
    for g in graphs:
        assert set(g) >= {"id", "n", "d", "chromatic_number", "ve_complexity", "connected", "edges"}
        assert len(g["edges"]) == g["d"]
    connected5 = json.loads(run_unbox("efp", "--list", "--dmax", 5, "--connected", "--json").stdout)
    assert len(connected5) == 54
    bad = run_unbox("efp", "--list", "--dmax", 8, check=False)
    assert bad.returncode == 2 and "d = 7" in bad.stderr


def test_isolation_matches_numpy(run_unbox, tmp_path):
    rng = np.random.default_rng(9)
    pt, eta, phi, label = write_jets(tmp_path / "jets.csv", rng)
    run_unbox("isolation", "--data", tmp_path / "jets.csv", "--ref-pt", "p0_pt", "--ref-eta", "p0_eta", "--ref-phi",
              "p0_phi", "--r0", "0.1,0.25,0.4", "--out", tmp_path / "iso.csv")
    table = np.genfromtxt(tmp_path / "iso.csv", delimiter=",", names=True)
    header = (tmp_path / "iso.csv").read_text().splitlines()[0].split(",")
    assert header == ["iso_0.1", "iso_0.25", "iso_0.4"]
    dp = (phi - phi[:, :1] + np.pi) % (2 * np.pi) - np.pi
    dr = np.sqrt((eta - eta[:, :1]) ** 2 + dp ** 2)
    for k, r0 in enumerate((0.1, 0.25, 0.4)):
        inside = (dr < r0) & (dr >= 1e-5) & (pt > 0)
        ref = (pt * inside).sum(axis=1) / pt[:, 0]
        np.testing.assert_allclose(table[table.dtype.names[k]], ref, rtol=1e-13, atol=1e-15)
