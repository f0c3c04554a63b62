"""`unbox taylor` against PyTorch autograd (double precision): the per-event gradient,
Hessian (i <= j) and third-order tensor (i <= j <= k) that `unbox taylor --per-event`
writes must agree with torch.autograd.functional.hessian and a nested jacobian to 1e-8
in relative norm, per tensor. Networks: unbox-trained tanh, ELU, softplus and sigmoid
stacks (rebuilt in torch from the model file, read independently by unbox_model.py),
and a hand-written model file with a concatenated side input. Also the JSON contract,
per-class averages and the selection files."""
import csv
import json
import struct
import zlib

import numpy as np
import pytest
import torch

from unbox_model import read_model, torch_sequential

torch.set_default_dtype(torch.float64)


def read_csv(path):
    with open(path) as f:
        names = next(csv.reader([f.readline()]))  # unbox quotes names with spaces
    arr = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


def write_csv(path, cols):
    names = list(cols)
    arr = np.stack([cols[n] for n in names], axis=1)
    np.savetxt(path, arr, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def torch_derivatives(f, x):
    """Gradient, Hessian and third-order tensor of scalar f at one event x (1-D)."""
    grad = torch.autograd.functional.jacobian(f, x)
    hess = torch.autograd.functional.hessian(f, x)
    third = torch.autograd.functional.jacobian(lambda z: torch.autograd.functional.hessian(f, z, create_graph=True), x)
    return grad.numpy(), hess.numpy(), third.numpy()


def unbox_per_event(got, names, n_events):
    """Full gradient, Hessian and third tensors from the per-event columns (derivative convention)."""
    n = len(names)
    g = np.zeros((n_events, n))
    h = np.zeros((n_events, n, n))
    t = np.zeros((n_events, n, n, n))
    for i in range(n):
        g[:, i] = got[f"t({names[i]})"]
        for j in range(i, n):
            v = got[f"t({names[i]} x {names[j]})"]
            h[:, i, j] = h[:, j, i] = v
            for k in range(j, n):
                w = got[f"t({names[i]} x {names[j]} x {names[k]})"]
                for p in {(i, j, k), (i, k, j), (j, i, k), (j, k, i), (k, i, j), (k, j, i)}:
                    t[(slice(None),) + p] = w
    return g, h, t


def rel(got, ref):
    return np.linalg.norm(got - ref) / np.linalg.norm(ref)


def compare(got_tensors, f, xs):
    g, h, t = got_tensors
    refs = [torch_derivatives(f, torch.tensor(x)) for x in xs]
    for name, mine, k in (("gradient", g, 0), ("Hessian", h, 1), ("third order", t, 2)):
        ref = np.stack([r[k] for r in refs])
        assert np.linalg.norm(ref) > 1e-6, f"{name} of the reference is ~0: the test would be empty"
        assert rel(mine, ref) < 1e-8, f"{name}: relative norm {rel(mine, ref)}"


@pytest.mark.parametrize("activation,output", [("tanh", "sigmoid"), ("elu", "sigmoid"), ("softplus", "tanh"),
                                               ("sigmoid", "sigmoid")])
def test_derivatives_match_torch_autograd(tmp_path, run_unbox, activation, output):
    rng = np.random.default_rng(7)
    n_ev = 30
    cols = {f"v{i}": rng.normal(size=400) * (1 + i) + i for i in range(4)}
    cols["label"] = (cols["v0"] / 1 + cols["v1"] / 2 - cols["v2"] / 3 + rng.normal(size=400) > 1.5).astype(float)
    data = tmp_path / "d.csv"
    write_csv(data, cols)
    model = tmp_path / "m.unbox"
    run_unbox("train", "--data", data, "--label", "label", "--arch", "7,5", "--activation", activation, "--output",
              output, "--epochs", 3, "--lr", 0.05, "--seed", 2, "--out", model, "--quiet")
    ops = torch_sequential(read_model(model))
    names = [f"v{i}" for i in range(4)]
    x = np.stack([cols[nm][:n_ev] for nm in names], axis=1)
    small = tmp_path / "small.csv"
    write_csv(small, {nm: x[:, i] for i, nm in enumerate(names)})

    def net(z, skip_standardize=False):
        for name, op in ops:
            if skip_standardize and name == "standardize":
                continue
            z = op(z)
        return z.reshape(())

    for units in ("physical", "standardized"):
        pe = tmp_path / f"pe_{units}.csv"
        run_unbox("taylor", "--model", model, "--data", small, "--order", 3, "--convention", "derivative", "--units",
                  units, "--per-event", pe, "--quiet")
        got = read_csv(pe)
        if units == "physical":
            compare(unbox_per_event(got, names, n_ev), lambda z: net(z.unsqueeze(0)), x)
            # The value column is the network's output.
            ref = np.array([net(torch.tensor(e).unsqueeze(0)).item() for e in x])
            np.testing.assert_allclose(got["output"], ref, rtol=1e-12, atol=1e-14)
        else:
            std_op = dict(ops)["standardize"]
            xs = std_op(torch.tensor(x)).numpy()  # what the first Dense layer sees
            compare(unbox_per_event(got, names, n_ev), lambda z: net(z.unsqueeze(0), skip_standardize=True), xs)


def write_model(path, nodes, output):
    """The native model file: magic, header length, JSON header, float64 tensors, CRC-32."""
    blob = b""
    header_nodes = []
    for nd in nodes:
        h = {k: v for k, v in nd.items() if k != "values"}
        if nd["type"] != "Input":
            h["tensors"] = [{"name": k, "shape": list(v.shape)} for k, v in nd.get("values", {}).items()]
            for v in nd.get("values", {}).values():
                blob += np.ascontiguousarray(v, dtype="<f8").tobytes()
            h.setdefault("attributes", {})
        header_nodes.append(h)
    header = json.dumps({"format": "unbox-model", "version": 1, "nodes": header_nodes, "output": output,
                         "metadata": {}}).encode()
    body = b"UNBOXNN1" + struct.pack("<Q", len(header)) + header + blob
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))


def test_concatenated_side_input_matches_torch(tmp_path, run_unbox):
    rng = np.random.default_rng(3)
    mean, std = rng.normal(size=(1, 3)), 0.5 + rng.random((1, 3))
    w1, b1 = rng.normal(size=(5, 3)), rng.normal(size=5)
    w2, b2 = rng.normal(size=(4, 7)) * 0.7, rng.normal(size=4)
    w3, b3 = rng.normal(size=(1, 4)), rng.normal(size=1)
    nodes = [
        {"name": "x", "type": "Input", "inputs": [], "shape": [3], "features": ["a", "b", "c"]},
        {"name": "s", "type": "Input", "inputs": [], "shape": [2], "features": ["s1", "s2"]},
        {"name": "std", "type": "Standardize", "inputs": ["x"], "attributes": {"shape": [3]},
         "values": {"mean": mean, "std": std}},
        {"name": "d1", "type": "Dense", "inputs": ["std"], "attributes": {"in": 3, "out": 5},
         "values": {"weight": w1, "bias": b1}},
        {"name": "a1", "type": "Tanh", "inputs": ["d1"]},
        {"name": "cat", "type": "Concat", "inputs": ["a1", "s"], "attributes": {"axis": 0}},
        {"name": "d2", "type": "Dense", "inputs": ["cat"], "attributes": {"in": 7, "out": 4},
         "values": {"weight": w2, "bias": b2}},
        {"name": "a2", "type": "ELU", "inputs": ["d2"], "attributes": {"alpha": 1.0}},
        {"name": "d3", "type": "Dense", "inputs": ["a2"], "attributes": {"in": 4, "out": 1},
         "values": {"weight": w3, "bias": b3}},
        {"name": "out", "type": "Sigmoid", "inputs": ["d3"]},
    ]
    model = tmp_path / "side.unbox"
    write_model(model, nodes, "out")
    header = read_model(model)  # the independent reader accepts it
    assert [n["name"] for n in header["nodes"]][-1] == "out"
    names = ["a", "b", "c", "s1", "s2"]
    x = rng.normal(size=(20, 5))
    data = tmp_path / "d.csv"
    write_csv(data, {nm: x[:, i] for i, nm in enumerate(names)})
    pe = tmp_path / "pe.csv"
    run_unbox("taylor", "--model", model, "--data", data, "--order", 3, "--convention", "derivative", "--units",
              "physical", "--per-event", pe, "--quiet")
    T = lambda a: torch.tensor(a)

    def f(z):
        h = torch.tanh(((z[:3] - T(mean[0])) / T(std[0])) @ T(w1).T + T(b1))
        h = torch.cat([h, z[3:]])
        h = torch.nn.functional.elu(h @ T(w2).T + T(b2))
        return torch.sigmoid(h @ T(w3).T + T(b3))[0]

    compare(unbox_per_event(read_csv(pe), names, 20), f, x)


def test_json_contract_per_class_and_selection(tmp_path, run_unbox):
    data = tmp_path / "mixed.csv"
    model = tmp_path / "m.unbox"
    run_unbox("generate", "toy", "gauss-mixed", "--events", 4000, "--seed", 5, "--out", data)
    run_unbox("train", "--data", data, "--label", "label", "--arch", "16,16", "--activation", "tanh", "--epochs", 2,
              "--seed", 1, "--out", model, "--quiet")
    out = run_unbox("taylor", "--model", model, "--data", data, "--label", "label", "--order", 3, "--json", "--top",
                    "20%").stdout
    j = json.loads(out)
    assert j["neuron"] == "output" and j["convention"] == "monomial" and j["order"] == 3
    feats = j["features"]
    assert len(feats) == 2 + 3 + 4
    assert all(len(f["variables"]) == f["order"] for f in feats)
    values = [f["value"] for f in feats]
    assert values == sorted(values, reverse=True)
    assert {tuple(f["variables"]) for f in feats if f["order"] == 2} == {("x1", "x1"), ("x1", "x2"), ("x2", "x2")}
    # Per-class averages against the per-event file, computed here.
    pe = tmp_path / "pe.csv"
    run_unbox("taylor", "--model", model, "--data", data, "--order", 3, "--per-event", pe, "--quiet")
    got, cols = read_csv(pe), read_csv(data)
    sig = cols["label"] == 1
    for f in feats:
        col = np.abs(got[f"t({f['name']})"])
        assert np.isclose(f["value"], col.mean(), rtol=1e-12)
        assert np.isclose(f["signal"], col[sig].mean(), rtol=1e-12)
        assert np.isclose(f["background"], col[~sig].mean(), rtol=1e-12)
    # The monomial convention halves the diagonal second-order terms.
    pe_d = tmp_path / "pe_d.csv"
    run_unbox("taylor", "--model", model, "--data", data, "--order", 2, "--per-event", pe_d, "--convention",
              "derivative", "--quiet")
    # (Order 2 and order 3 assemble the Hessian in different summation orders: round-off is
    # relative to the column's scale, not to an element that happens to cancel.)
    for name, factor in (("t(x1 x x1)", 2), ("t(x1 x x2)", 1)):
        np.testing.assert_allclose(read_csv(pe_d)[name], factor * got[name], rtol=1e-12,
                                   atol=1e-12 * np.abs(got[name]).max())
    # Selection files: the top 20% of 9 features = 2 features.
    sel, inv = tmp_path / "sel.txt", tmp_path / "inv.txt"
    run_unbox("taylor", "select", "--model", model, "--data", data, "--order", 3, "--top", "20%", "--out", sel,
              "--inverted", inv)
    top_vars = []
    for f in feats[:2]:
        for v in f["variables"]:
            if v not in top_vars:
                top_vars.append(v)
    assert sel.read_text().split() == top_vars
    assert sorted(inv.read_text().split() + top_vars) == ["x1", "x2"]
    assert j["top"]["variables"] == top_vars
    # Errors are one line and exit code 2.
    bad = run_unbox("taylor", "--model", model, "--data", data, "--convention", "nope", check=False)
    assert bad.returncode == 2 and "convention" in bad.stderr


def test_learning_progress_marginal_before_correlation(tmp_path, run_unbox):
    """gauss-mixed: the network learns the marginal separation (first order) before the
    correlation (x1 x x2), as in the poster: the first-order coefficients reach 75% of
    their final value in fewer optimizer steps than the mixed one."""
    data = tmp_path / "mixed.csv"
    prog = tmp_path / "progress.csv"
    run_unbox("generate", "toy", "gauss-mixed", "--events", 20000, "--seed", 1, "--out", data)
    proc = run_unbox("train", "--data", data, "--label", "label", "--arch", "32,32", "--activation", "tanh", "--epochs",
                     3, "--lr", 0.001, "--seed", 1, "--out", tmp_path / "m.unbox", "--quiet", "--track-taylor",
                     "x1,x2,x1*x2", "--every", 4, "--track-out", prog)
    assert "Taylor coefficients <|t|> of output during training" in proc.stderr
    t = read_csv(prog)
    assert list(t)[:2] == ["step", "epoch"] and "x1 x x2" in t
    assert np.all(np.diff(t["step"]) == 4) and t["step"][0] == 4

    def reached(col, frac=0.75):
        final = t[col][-5:].mean()
        return t["step"][np.argmax(t[col] >= frac * final)]

    first = max(reached("x1"), reached("x2"))
    mixed = reached("x1 x x2")
    assert first < mixed, (first, mixed)
    # A feature that does not exist is a clear error.
    bad = run_unbox("train", "--data", data, "--label", "label", "--arch", "4", "--epochs", 1, "--out",
                    tmp_path / "b.unbox", "--quiet", "--track-taylor", "x1 x x3", check=False)
    assert bad.returncode == 2 and "x1 x x3" in bad.stderr
