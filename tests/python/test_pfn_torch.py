"""Particle Flow Networks against PyTorch (double precision, autograd):
  * a PFN built in PyTorch on [events, particles, features] (Linear on 3-D tensors, a sum
    or mean over particles), exported with torch.onnx.export (MatMul 3-D, ReduceSum,
    ReduceMean) and imported by unbox: outputs and input gradients agree to 1e-10;
  * a PFN trained by unbox (`train --arch pfn:...`) on particle columns with padding,
    rebuilt in PyTorch from the .unbox file with the padding mask (pT == 0): the same."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from unbox_model import read_model

torch.set_default_dtype(torch.float64)


def npz(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


class Pfn(nn.Module):
    def __init__(self, features, mean):
        super().__init__()
        self.mean = mean
        self.phi = nn.Sequential(nn.Linear(features, 16), nn.Tanh(), nn.Linear(16, 8), nn.ELU())
        self.f = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, x):  # [events, particles, features]
        h = self.phi(x)
        return self.f(h.mean(dim=1) if self.mean else h.sum(dim=1))


@pytest.mark.parametrize("mean", [False, True])
def test_onnx_pfn_outputs_and_gradients(tmp_path, run_unbox, mean):
    torch.manual_seed(3)
    model = Pfn(4, mean)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 7, 4))
    model.eval()
    torch.onnx.export(model, (torch.tensor(x[:2]),), str(tmp_path / "pfn.onnx"), input_names=["particles"],
                      output_names=["score"], dynamic_axes={"particles": {0: "events"}, "score": {0: "events"}},
                      opset_version=13)
    import onnx

    ops = {n.op_type for n in onnx.load(str(tmp_path / "pfn.onnx")).graph.node}
    assert "MatMul" in ops and ("ReduceMean" if mean else "ReduceSum") in ops, ops
    np.savez(tmp_path / "d.npz", particles=x)
    run_unbox("predict", "--model", tmp_path / "pfn.onnx", "--data", tmp_path / "d.npz", "--out", tmp_path / "p.npz",
              "--gradient")
    got = npz(tmp_path / "p.npz")
    xt = torch.tensor(x, requires_grad=True)
    y = model(xt)
    y[:, 0].sum().backward()
    np.testing.assert_allclose(got["output"], y.detach().numpy()[:, 0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["d(output)/d(particles)"], xt.grad.numpy(), rtol=1e-10, atol=1e-13)


def torch_pfn_from_unbox(header):
    """The unbox PFN (ParticleStandardize, ParticleDense, ParticlePool, Dense, activations) in torch."""
    acts = {"ReLU": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}
    nodes = [n for n in header["nodes"] if n["type"] != "Input"]

    def forward(x):  # flat [events, P*F]
        h, raw = None, x
        for n in nodes:
            t, a, v = n["type"], n.get("attributes", {}), n["values"]
            if t == "ParticleStandardize":
                P, F, mask_feature = a["particles"], a["features"], a["mask_feature"]
                h = (x.reshape(-1, P, F) - torch.tensor(v["mean"])) / torch.tensor(v["std"])
            elif t in ("ParticleDense", "Dense"):
                h = h @ torch.tensor(v["weight"]).T + torch.tensor(v["bias"])
            elif t == "ParticlePool":
                mask = (raw.reshape(-1, a["particles"], a["features"])[:, :, a["mask_feature"]] != 0).double()
                h = (h * mask[:, :, None]).sum(dim=1)
                if a["mean"]:
                    h = h / mask.sum(dim=1, keepdim=True).clamp(min=1)
            else:
                h = acts[t](h)
        return h

    return forward


def test_trained_pfn_with_padding_matches_torch(tmp_path, run_unbox):
    rng = np.random.default_rng(2)
    n, P = 600, 6
    cols = {}
    real = rng.integers(1, P + 1, size=n)  # number of real particles per event
    label = (rng.random(n) < 0.5).astype(float)
    for p in range(P):
        on = p < real
        cols[f"p{p}_pt"] = np.where(on, rng.exponential(2.0 + 2.0 * label, n) + 0.1, 0.0)
        cols[f"p{p}_eta"] = np.where(on, rng.normal(size=n) * (1 - 0.5 * label), 0.0)
        cols[f"p{p}_phi"] = np.where(on, rng.normal(size=n), 0.0)
    cols["label"] = label
    np.savez(tmp_path / "jets.npz", **cols)
    run_unbox("train", "--data", tmp_path / "jets.npz", "--label", "label", "--arch", "pfn:12,8:6", "--activation",
              "tanh", "--epochs", "3", "--seed", "4", "--quiet", "--out", tmp_path / "pfn.unbox")
    feats = [f"p{p}_{f}" for p in range(P) for f in ("pt", "eta", "phi")]
    np.savez(tmp_path / "x.npz", **{k: cols[k] for k in feats})
    run_unbox("predict", "--model", tmp_path / "pfn.unbox", "--data", tmp_path / "x.npz", "--out", tmp_path / "p.npz",
              "--gradient")
    got = npz(tmp_path / "p.npz")
    header = read_model(tmp_path / "pfn.unbox")
    assert [n["type"] for n in header["nodes"]][:3] == ["Input", "ParticleStandardize", "ParticleDense"]
    forward = torch_pfn_from_unbox(header)
    x = torch.tensor(np.stack([cols[k] for k in feats], axis=1), requires_grad=True)
    y = forward(x)
    y[:, 0].sum().backward()
    np.testing.assert_allclose(got["output"], y.detach().numpy()[:, 0], rtol=1e-10, atol=1e-14)
    g = x.grad.numpy()
    for j, k in enumerate(feats):
        np.testing.assert_allclose(got[f"d(output)/d({k})"], g[:, j], rtol=1e-10, atol=1e-13, err_msg=k)
    # Padded particles get exactly zero gradient.
    pad = cols["p5_pt"] == 0
    assert pad.any() and np.all(got["d(output)/d(p5_eta)"][pad] == 0.0)
