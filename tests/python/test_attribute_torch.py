"""`unbox attribute` and `unbox lrp` against PyTorch autograd (double precision) on the
same ONNX model (built in torch, exported with torch.onnx.export): saliency and
gradient x input equal torch's gradient of the logit (the default target, output:pre);
Integrated Gradients equal a torch reference on numpy's Gauss-Legendre points; LRP-0 on
a bias-free ReLU network equals torch's gradient x input; the JSON contract; CLI errors."""
import json

import numpy as np
import pytest
import torch
from torch import nn

torch.set_default_dtype(torch.float64)

N_IN = 7
COLS = [f"f{j}" for j in range(N_IN)]


def export(model, path):
    model.eval()
    torch.onnx.export(model, (torch.zeros(2, N_IN),), str(path), input_names=["x"], output_names=["score"],
                      dynamic_axes={"x": {0: "events"}, "score": {0: "events"}}, opset_version=13)


def npz(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def data(tmp_path, n=200, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_IN)) * 1.5
    cols = {c: x[:, j] for j, c in enumerate(COLS)}
    cols["label"] = (rng.random(n) > 0.5).astype(float)
    np.savez(tmp_path / "d.npz", **cols)
    return x


def logit_grad(logit_model, x):
    xt = torch.tensor(x, requires_grad=True)
    logit_model(xt)[:, 0].sum().backward()
    return xt.grad.numpy()


@pytest.fixture
def tanh_model(tmp_path):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(N_IN, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    export(model, tmp_path / "m.onnx")
    return model


def attribute(run_unbox, tmp_path, method, *extra):
    out = tmp_path / f"{method}.npz"
    j = json.loads(run_unbox("attribute", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--columns",
                             ",".join(COLS), "--method", method, "--per-event", out, "--json", *extra).stdout)
    return j, npz(out)


def test_saliency_and_grad_x_input_equal_torch(tmp_path, run_unbox, tanh_model):
    x = data(tmp_path)
    g = logit_grad(tanh_model[:-1], x)  # the default target is the logit before the sigmoid
    j, got = attribute(run_unbox, tmp_path, "saliency")
    assert j["target"] == "output:pre" and j["method"] == "saliency"
    np.testing.assert_allclose(np.stack([got[f"A_{c}"] for c in COLS], 1), g, rtol=1e-9, atol=1e-13)
    j, got = attribute(run_unbox, tmp_path, "grad-x-input")
    np.testing.assert_allclose(np.stack([got[f"A_{c}"] for c in COLS], 1), g * x, rtol=1e-9, atol=1e-13)
    # Post-activation target on request: the sigmoid's gradient, and a warning.
    proc = run_unbox("attribute", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--columns",
                     ",".join(COLS), "--method", "saliency", "--neuron", "output", "--per-event", tmp_path / "o.npz")
    assert "warning" in proc.stderr
    got = npz(tmp_path / "o.npz")
    np.testing.assert_allclose(np.stack([got[f"A_{c}"] for c in COLS], 1), logit_grad(tanh_model, x), rtol=1e-9,
                               atol=1e-13)


def test_integrated_gradients_equal_torch_reference(tmp_path, run_unbox, tanh_model):
    x = data(tmp_path, n=60)
    steps = 32
    t, w = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (t + 1) / 2, w / 2
    base = x.mean(axis=0)
    ref = np.zeros_like(x)
    for a, wt in zip(alphas, weights):
        ref += wt * logit_grad(tanh_model[:-1], base + a * (x - base))
    ref *= x - base
    j, got = attribute(run_unbox, tmp_path, "ig", "--steps", steps, "--baseline", "mean")
    np.testing.assert_allclose(np.stack([got[f"A_{c}"] for c in COLS], 1), ref, rtol=1e-8, atol=1e-12)
    # Completeness against torch's own f(x) - f(baseline).
    with torch.no_grad():
        fx = tanh_model[:-1](torch.tensor(x))[:, 0].numpy()
        fb = tanh_model[:-1](torch.tensor(base[None, :]))[0, 0].item()
    np.testing.assert_allclose(got["completeness_error"], ref.sum(1) - (fx - fb), atol=1e-9)
    assert j["conservation"]["max_relative_error"] < 1e-4
    assert j["quadrature"] == "gauss-legendre" and j["steps"] == steps


def test_lrp0_on_bias_free_relu_equals_torch_grad_x_input(tmp_path, run_unbox):
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(N_IN, 12, bias=False), nn.ReLU(), nn.Linear(12, 6, bias=False), nn.ReLU(),
                          nn.Linear(6, 1, bias=False), nn.Sigmoid())
    export(model, tmp_path / "m.onnx")
    x = data(tmp_path)
    ref = logit_grad(model[:-1], x) * x
    j = json.loads(run_unbox("lrp", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--columns",
                             ",".join(COLS), "--rule", "0", "--per-event", tmp_path / "r.npz", "--json").stdout)
    got = npz(tmp_path / "r.npz")
    np.testing.assert_allclose(np.stack([got[f"R_{c}"] for c in COLS], 1), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["R_input_sum"], got["R_output"], atol=1e-12)
    # The JSON contract scripts rely on.
    assert j["method"] == "lrp" and j["target"] == "output:pre"
    assert set(j["mean_normalized_relevance"]) == set(COLS)
    assert j["conservation"]["mean_abs_error"] < 1e-12
    # Mean normalized relevance by brute force from the per-event file.
    r = np.abs(np.stack([got[f"R_{c}"] for c in COLS], 1))
    keep = r.max(1) > 0
    mnr = (r[keep] / r[keep].max(1, keepdims=True)).mean(0)
    np.testing.assert_allclose([j["mean_normalized_relevance"][c] for c in COLS], mnr, rtol=1e-12)


def test_cli_errors_are_one_line_exit_2(tmp_path, run_unbox, tanh_model):
    data(tmp_path, n=20)
    base = ["--model", tmp_path / "m.onnx", "--data", tmp_path / "d.npz", "--columns", ",".join(COLS)]
    for args, text in [(["lrp", *base, "--rule", "bogus"], "unknown LRP rule 'bogus'"),
                       (["lrp", *base, "--rule", "alpha2beta2"], "alpha - beta must be 1"),
                       (["lrp", *base, "--composite", "nope"], "unknown LRP composite"),
                       (["lrp", *base, "--rule", "0", "--composite", "epsilon-plus"], "either --rule or --composite"),
                       (["attribute", *base, "--method", "lime"], "unknown attribution method 'lime'"),
                       (["attribute", *base, "--baseline", "event:99"], "bad baseline")]:
        proc = run_unbox(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert text in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
