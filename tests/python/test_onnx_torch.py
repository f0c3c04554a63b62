"""ONNX import against PyTorch: networks built in PyTorch (double precision), exported
with torch.onnx.export, evaluated by `unbox predict --model m.onnx`; the neuron values
and the exact input gradients must equal PyTorch's (autograd) on random inputs."""
import json

import numpy as np
import pytest
import torch
from torch import nn

torch.set_default_dtype(torch.float64)


def export(model, example, path, names):
    model.eval()
    torch.onnx.export(model, example, str(path), input_names=names, output_names=["score"],
                      dynamic_axes={n: {0: "events"} for n in names + ["score"]}, opset_version=13)


def npz(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def torch_grad(model, inputs):
    xs = [torch.tensor(x, requires_grad=True) for x in inputs]
    y = model(*xs)
    (y[:, 0].sum()).backward()
    return y.detach().numpy()[:, 0], [x.grad.numpy() for x in xs]


def mlp(n_in, hidden, act, out_act):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers += [nn.Linear(width, 1), out_act()]
    return nn.Sequential(*layers)


MLPS = {
    # Roxlo & Reece's network: 19 inputs, 11 hidden layers, LeakyReLU(0.1), tanh output.
    "paper": lambda: mlp(19, [128, 64, 32, 16, 16, 8, 8, 4, 4, 2, 2], lambda: nn.LeakyReLU(0.1), nn.Tanh),
    "tanh": lambda: mlp(19, [24, 12], nn.Tanh, nn.Sigmoid),
    "relu": lambda: mlp(19, [32, 16, 8], nn.ReLU, nn.Sigmoid),
}


@pytest.mark.parametrize("name", sorted(MLPS))
def test_mlp_values_gradients_and_layer_names(tmp_path, run_unbox, name):
    torch.manual_seed(7)
    model = MLPS[name]()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 19))
    export(model, (torch.tensor(x[:2]),), tmp_path / "m.onnx", ["x"])
    # Columns named like physics features, plus a label that must be left out by default.
    cols = {f"f{j}": x[:, j] for j in range(19)}
    cols["label"] = (rng.random(500) > 0.5).astype(float)
    np.savez(tmp_path / "d.npz", **cols)
    # predict reads the data without a label column, so name the 19 columns explicitly once,
    # and check that the default (data columns in order) agrees when there is no label.
    np.savez(tmp_path / "d19.npz", **{k: v for k, v in cols.items() if k != "label"})
    run_unbox("predict", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d19.npz", "--out", tmp_path / "p.npz",
              "--neurons", "output,L1N5,L2N3:pre", "--gradient")
    got = npz(tmp_path / "p.npz")
    ref, (grad,) = torch_grad(model, [x])
    np.testing.assert_allclose(got["output"], ref, rtol=1e-9, atol=1e-15)
    for j in range(19):
        np.testing.assert_allclose(got[f"d(output)/d(f{j})"], grad[:, j], rtol=1e-7, atol=1e-13)
    # L-names follow the layers: L1N5 after the first activation, L2N3:pre before the second.
    with torch.no_grad():
        h1 = model[1](model[0](torch.tensor(x)))
        z2 = model[2](h1)
    np.testing.assert_allclose(got["L1N5"], h1[:, 5].numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got["L2N3:pre"], z2[:, 3].numpy(), rtol=1e-9, atol=1e-15)
    # --columns chooses and orders the columns (here reversed: a different score).
    rev = ",".join(f"f{j}" for j in reversed(range(19)))
    run_unbox("predict", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--out", tmp_path / "q.npz",
              "--columns", rev)
    with torch.no_grad():
        ref_rev = model(torch.tensor(x[:, ::-1].copy()))[:, 0].numpy()
    np.testing.assert_allclose(npz(tmp_path / "q.npz")["output"], ref_rev, rtol=1e-9, atol=1e-15)
    # eval reads the same default columns, leaving out the label: its AUC is the
    # Mann-Whitney statistic of PyTorch's scores.
    ev = json.loads(run_unbox("eval", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--label", "label",
                              "--json").stdout)
    s, b = ref[cols["label"] == 1], ref[cols["label"] == 0]
    auc = ((s[:, None] > b[None, :]).sum() + 0.5 * (s[:, None] == b[None, :]).sum()) / (len(s) * len(b))
    assert abs(ev["auc"] - auc) < 1e-12
    # predict, like every subcommand, leaves a column named 'label' out by default ...
    run_unbox("predict", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--out", tmp_path / "r.npz")
    np.testing.assert_allclose(npz(tmp_path / "r.npz")["output"], ref, rtol=1e-9, atol=1e-15)
    # ... but another extra column makes the count wrong: a clear error.
    np.savez(tmp_path / "d20.npz", **{k: v for k, v in cols.items() if k != "label"}, extra=x[:, 0])
    proc = run_unbox("predict", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d20.npz", "--out",
                     tmp_path / "r.npz", check=False)
    assert proc.returncode == 2
    assert "takes 19 values per event" in proc.stderr and "20 data columns" in proc.stderr


class Cnn1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(2, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(4, 6, 3, stride=2, dilation=2, groups=2), nn.Tanh(), nn.AvgPool1d(2, padding=1),  # exported as Pad + AveragePool
            nn.Flatten())
        self.head = nn.Sequential(nn.Linear(6 * 2 + 3, 8), nn.ELU(), nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, wave, side):
        return self.head(torch.cat([self.features(wave), side], dim=1))


class Cnn2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2, stride=2, padding=1),
            nn.Conv2d(4, 4, (3, 2), groups=4, dilation=(1, 2)), nn.BatchNorm2d(4), nn.Softplus(),
            nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4 + 2, 6), nn.Tanh(), nn.Linear(6, 1))

    def forward(self, image, side):
        return self.head(torch.cat([self.features(image), side], dim=1))


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_cnn_with_side_input(tmp_path, run_unbox, kind):
    torch.manual_seed(11)
    model = Cnn1d() if kind == "1d" else Cnn2d()
    # Running statistics that are not the identity, so BatchNorm matters.
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    rng = np.random.default_rng(5)
    main_name = "wave" if kind == "1d" else "image"
    main = rng.normal(size=(300, 2, 16)) if kind == "1d" else rng.normal(size=(300, 1, 9, 10))
    side = rng.normal(size=(300, 3 if kind == "1d" else 2))
    export(model, (torch.tensor(main[:2]), torch.tensor(side[:2])), tmp_path / "m.onnx", [main_name, "side"])
    np.savez(tmp_path / "d.npz", **{main_name: main, "side": side})
    run_unbox("predict", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--out", tmp_path / "p.npz",
              "--gradient")
    got = npz(tmp_path / "p.npz")
    ref, (g_main, g_side) = torch_grad(model, [main, side])
    np.testing.assert_allclose(got["output"], ref, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(got[f"d(output)/d({main_name})"], g_main, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(got["d(output)/d(side)"], g_side, rtol=1e-7, atol=1e-12)
    info = run_unbox("info", "--model", tmp_path / "m.onnx").stdout
    assert f"input '{main_name}'" in info and "Conv" in info
