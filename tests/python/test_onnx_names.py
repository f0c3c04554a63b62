"""L-names on ONNX MLPs exported from PyTorch with BatchNorm1d, Dropout and a softmax (or
sigmoid) output: every LkNj (and LkNj:pre) that `unbox predict` returns on a CSV equals
the torch module's activation at that layer, with BatchNorm (and Dropout) folded into the
preceding Linear: L1 = ReLU(BN(Linear x)), L1:pre = BN(Linear x), the softmax output the
last layer. `output` on a 5-class softmax is every class, and `info` says so. And the
input-element names: `lrp` and `attribute` write the same relevance-map layout on an ONNX
CNN and PFN input (every test here fails on the code before the fix)."""
import json

import numpy as np
import onnx
import pytest
import torch
from onnx import helper
from torch import nn


def randomize_batchnorm(model, gen):
    for m in model:
        if isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)


def export_with_dropouts(model, n_in, path):
    """Export in eval mode (float32, as users do), then put ONNX Dropout nodes (identities
    at inference, as older exporters and training-mode exports leave them) after every
    BatchNormalization and every Relu, to check that they fold away too."""
    torch.onnx.export(model, torch.zeros(1, n_in), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "events"}, "y": {0: "events"}}, opset_version=13)
    m = onnx.load(str(path))
    nodes = []
    for k, node in enumerate(m.graph.node):
        nodes.append(node)
        if node.op_type in ("BatchNormalization", "Relu"):
            out = node.output[0]
            dropped = f"{out}_dropout{k}"
            for later in m.graph.node:
                for i, name in enumerate(later.input):
                    if name == out:
                        later.input[i] = dropped
            nodes.append(helper.make_node("Dropout", [out], [dropped], name=f"dropout{k}"))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    assert sum(n.op_type == "Dropout" for n in m.graph.node) >= 3
    assert sum(n.op_type == "BatchNormalization" for n in m.graph.node) >= 1
    onnx.save(m, str(path))


def activations(model, x):
    """Output of every module of the Sequential, in double precision (the float32 weights
    converted exactly)."""
    m = model.double()
    out, h = [], torch.tensor(x, dtype=torch.float64)
    with torch.no_grad():
        for mod in m:
            h = mod(h)
            out.append(h.numpy().copy())
    return out


def write_csv(path, x, names):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def predict(run_unbox, tmp_path, model_path, csv, neurons):
    out = tmp_path / "pred.npz"
    run_unbox("predict", "--model", model_path, "--data", csv, "--out", out, "--neurons", ",".join(neurons))
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def check_layers(run_unbox, tmp_path, model, n_in, layers, n_events=40):
    """layers: [(k, index of the module giving LkNj:pre, index of the module giving LkNj)]."""
    gen = torch.Generator().manual_seed(7)
    randomize_batchnorm(model, gen)
    model.eval()
    path = tmp_path / "m.onnx"
    export_with_dropouts(model, n_in, path)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n_events, n_in)) * 1.5
    csv = tmp_path / "events.csv"
    write_csv(csv, x, [f"feat_{i}" for i in range(n_in)])  # the data's own names
    acts = activations(model, x)
    neurons, expected = [], {}
    for i in range(n_in):
        neurons.append(f"L0N{i}")
        expected[f"L0N{i}"] = x[:, i]
    for k, pre, post in layers:
        for j in range(acts[post].shape[1]):
            neurons += [f"L{k}N{j}", f"L{k}N{j}:pre"]
            expected[f"L{k}N{j}"] = acts[post][:, j]
            expected[f"L{k}N{j}:pre"] = acts[pre][:, j]
    got = predict(run_unbox, tmp_path, path, csv, neurons)
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-9, err_msg=name)
    # No layer beyond the last one.
    last = layers[-1][0]
    proc = run_unbox("predict", "--model", path, "--data", csv, "--out", tmp_path / "x.npz", "--neurons",
                     f"L{last + 1}N0", check=False)
    assert proc.returncode == 2 and f"L0..L{last}" in proc.stderr
    return path, csv, acts


def test_softmax_mlp_with_batchnorm_and_dropout(run_unbox, tmp_path):
    torch.manual_seed(11)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(8, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(7, 5), nn.Softmax(dim=1))
    # L1 = ReLU(BN(Linear)) (modules 1, 2), L2 (5, 6), L3 = the softmax (9) of the logits (8).
    path, csv, acts = check_layers(run_unbox, tmp_path, model, 6, [(1, 1, 2), (2, 5, 6), (3, 8, 9)])
    # `output` is every class (output[0] .. output[4]) and `output:pre` the logits.
    got = predict(run_unbox, tmp_path, path, csv, ["output", "output:pre"])
    assert sorted(got) == sorted([f"output[{j}]" for j in range(5)] + [f"output[{j}]:pre" for j in range(5)])
    for j in range(5):
        np.testing.assert_allclose(got[f"output[{j}]"], acts[9][:, j], rtol=0, atol=1e-9)
        np.testing.assert_allclose(got[f"output[{j}]:pre"], acts[8][:, j], rtol=0, atol=1e-9)
    got = predict(run_unbox, tmp_path, path, csv, ["output[3]", "L3N4:pre"])
    np.testing.assert_allclose(got["output[3]"], acts[9][:, 3], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["L3N4:pre"], acts[8][:, 4], rtol=0, atol=1e-9)
    # info says what `output` is, in the names predict takes.
    info = run_unbox("info", "--model", path).stdout
    assert "'output' = L3N0 .. L3N4" in info and "'output:pre' = L3N0:pre .. L3N4:pre" in info, info
    assert "Dense 6 -> 8 + BN" in info, info
    layers = json.loads(run_unbox("info", "--model", path, "--json").stdout)["layers"]
    assert [l["layer"] for l in layers] == ["L0", "L1", "L2", "L3"]
    assert [l["width"] for l in layers] == [6, 8, 7, 5]
    assert layers[1]["activation"].startswith("ReLU") and layers[3]["activation"].startswith("Softmax")
    # Linear 6*8 + 8 and BatchNorm scale and shift 2*8.
    assert layers[1]["parameters"] == 6 * 8 + 8 + 2 * 8
    proc = run_unbox("predict", "--model", path, "--data", csv, "--out", tmp_path / "x.npz", "--neurons", "output[5]",
                     check=False)
    assert proc.returncode == 2 and "output[0] .. output[4]" in proc.stderr, proc.stderr


def test_sigmoid_mlp_with_batchnorm_and_dropout(run_unbox, tmp_path):
    torch.manual_seed(12)
    model = nn.Sequential(nn.Linear(5, 9), nn.BatchNorm1d(9), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(9, 4), nn.BatchNorm1d(4), nn.Tanh(),
                          nn.Linear(4, 1), nn.Sigmoid())
    path, csv, acts = check_layers(run_unbox, tmp_path, model, 5, [(1, 1, 2), (2, 5, 6), (3, 7, 8)])
    got = predict(run_unbox, tmp_path, path, csv, ["output", "output:pre"])
    np.testing.assert_allclose(got["output"], acts[8][:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["output:pre"], acts[7][:, 0], rtol=0, atol=1e-9)
    info = run_unbox("info", "--model", path).stdout
    assert "'output' = L3N0, 'output:pre' = L3N0:pre" in info, info


class _Pfn(nn.Module):
    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
        self.f = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, x):  # [events, particles, features]
        return self.f(self.phi(x).sum(dim=1))


@pytest.mark.parametrize("kind", ["cnn", "pfn"])
def test_attribute_and_lrp_give_the_same_maps(run_unbox, tmp_path, kind):
    """On tensor inputs (a Conv1d over [4, 10], a PFN over [6 particles, 3]) `lrp` and
    `attribute` name the elements alike (NAME[i,j]), so both write the same map layout."""
    torch.manual_seed(5)
    if kind == "cnn":
        model, shape, name = nn.Sequential(nn.Conv1d(4, 5, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                           nn.Linear(50, 1)), (4, 10), "img"
    else:
        model, shape, name = _Pfn(), (6, 3), "particles"
    model.eval()
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, torch.zeros(1, *shape), str(path), input_names=[name], output_names=["y"],
                      dynamic_axes={name: {0: "events"}, "y": {0: "events"}}, opset_version=13)
    np.savez(tmp_path / "d.npz", **{name: np.random.default_rng(2).normal(size=(300, *shape))})
    maps = {}
    for method in ("lrp", "attribute"):
        out = tmp_path / f"{method}.json"
        run_unbox(method, "--model", path, "--data", tmp_path / "d.npz", "--out", out)
        maps[method] = json.loads(out.read_text())["map"]
    for m in maps.values():
        assert m is not None
        assert [len(m["rows"]), len(m["cols"])] == list(shape)
        assert len(m["all"]) == shape[0] * shape[1]
    assert maps["lrp"]["rows"] == maps["attribute"]["rows"]
    assert maps["lrp"]["cols"] == maps["attribute"]["cols"]
