"""The C++ engine against PyTorch autograd: unbox trains a network, PyTorch rebuilds it
from the model file (read independently) and must give the same neuron values and the
same exact input gradients."""
import numpy as np
import pytest
import torch

from unbox_model import read_model, run_all, torch_sequential


def read_csv(path):
    with open(path) as f:
        names = f.readline().strip().split(",")
    arr = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


@pytest.mark.parametrize(
    "arch,activation,output",
    [("paper", None, None), ("12,6", "tanh", "sigmoid"), ("8,8", "elu", "tanh"), ("6", "softplus", "sigmoid"),
     ("7,5", "selu", "sigmoid")],
)
def test_values_and_gradients_match_torch(tmp_path, run_unbox, arch, activation, output):
    data = tmp_path / "toy.csv"
    model = tmp_path / "m.unbox"
    pred = tmp_path / "pred.csv"
    run_unbox("generate", "toy", "gauss-mixed", "--events", 3000, "--seed", 4, "--out", data)
    args = ["train", "--data", data, "--label", "label", "--arch", arch, "--epochs", 2, "--seed", 3, "--out", model,
            "--quiet"]
    if activation:
        args += ["--activation", activation, "--output", output]
    run_unbox(*args)
    header = read_model(model)
    ops = torch_sequential(header)
    dense = [n["name"] for n in header["nodes"] if n["type"] == "Dense"]
    layer1_post = ops[[name for name, _ in ops].index(dense[0]) + 1][0]
    neurons = "output,output:pre,L1N3" + (",L2N1:pre" if len(dense) > 2 else "")
    run_unbox("predict", "--model", model, "--data", data, "--out", pred, "--neurons", neurons, "--gradient")
    got = read_csv(pred)
    cols = read_csv(data)
    x = torch.tensor(np.stack([cols["x1"], cols["x2"]], axis=1), dtype=torch.float64, requires_grad=True)
    values = run_all(ops, x)
    last = ops[-1][0]
    refs = {
        "output": values[last][:, 0],
        "output:pre": values[dense[-1]][:, 0],
        "L1N3": values[layer1_post][:, 3],
        "L2N1:pre": values[dense[1]][:, 1] if len(dense) > 2 else None,
    }
    for name, ref in refs.items():
        if ref is None:
            continue
        np.testing.assert_allclose(got[name], ref.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
        (grad,) = torch.autograd.grad(ref.sum(), x, retain_graph=True)
        for j, col in enumerate(["x1", "x2"]):
            np.testing.assert_allclose(got[f"d({name})/d({col})"], grad[:, j].numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"gradient of {name} by {col}")


def test_training_is_deterministic_and_model_files_identical(tmp_path, run_unbox):
    data = tmp_path / "toy.csv"
    run_unbox("generate", "toy", "product", "--events", 4000, "--seed", 1, "--out", data)
    outs = []
    for k in range(2):
        m = tmp_path / f"m{k}.unbox"
        run_unbox("train", "--data", data, "--label", "label", "--arch", "paper", "--epochs", 2, "--seed", 9, "--out",
                  m, "--quiet")
        outs.append(m.read_bytes())
    assert outs[0] == outs[1]
