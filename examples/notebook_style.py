#!/usr/bin/python3
"""unbox from Python, written like a notebook: train a network in PyTorch, explain it with
unbox (Taylor coefficients, LRP, mutual information), look at pandas tables, and check that
the command line gives the same numbers.

Run after `make` (from the repository root):
    PYTHONPATH=build/python /usr/bin/python3 examples/notebook_style.py
"""
# %% [1] Imports. `unbox` is the module built by `make` (build/python), for Debian's python3.
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "build", "python"))  # the build tree, unless installed
import unbox  # noqa: E402

pd.set_option("display.width", 120)
torch.set_default_dtype(torch.float64)
t0 = time.perf_counter()

# %% [2] Toy events: a dilepton-like signal against background in five variables.
# Signal has larger missing momentum and a harder leading lepton; the azimuthal opening
# differs only where met is large (an interaction second-order Taylor coefficients see);
# `noise` carries no information.
rng = np.random.default_rng(1)
n = 20000
label = (rng.random(n) < 0.5).astype(float)
met = rng.exponential(40 + 50 * label)
lep1_pt = rng.exponential(35 + 15 * label) + 20
lep2_pt = rng.exponential(25, n) + 15
dphi = rng.uniform(0, np.pi, n)
dphi = np.where((label == 1) & (met > 80), dphi * 0.6, dphi)
noise = rng.normal(size=n)
events = pd.DataFrame({"met": met, "lep1_pt": lep1_pt, "lep2_pt": lep2_pt, "dphi_ll": dphi, "noise": noise,
                       "label": label})
features = ["met", "lep1_pt", "lep2_pt", "dphi_ll", "noise"]
print(events.describe().T[["mean", "std", "min", "max"]])
# Standardized inputs (as tayloranalysis does), so derivatives compare across variables.
mean, std = events[features].mean(), events[features].std()
events[features] = (events[features] - mean) / std
train, test = events.iloc[:16000], events.iloc[16000:]

# %% [3] Train a small network in PyTorch.
x = torch.tensor(train[features].to_numpy())
y = torch.tensor(train["label"].to_numpy())[:, None]
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
for epoch in range(5):
    perm, total = torch.randperm(len(x)), 0.0
    for i in range(0, len(x), 128):
        idx = perm[i:i + 128]
        loss = nn.functional.binary_cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    print(f"epoch {epoch + 1}: mean loss {total / len(x):.4f}")
net.eval()

# %% [4] The network in unbox: exported through ONNX in memory. Outputs equal torch's.
model = unbox.from_torch(net, x[:2])
print(model)
scores = model(test[features])  # columns by name; a NumPy view of the C++ result
with torch.no_grad():
    ref = net(torch.tensor(test[features].to_numpy()))[:, 0].numpy()
print(f"max |unbox - torch| = {np.abs(scores - ref).max():.2e}")
print(unbox.eval(model, test).table())

# %% [5] Taylor coefficients (Wunsch et al.): which variables and pairs the output uses.
taylor = unbox.taylor(model, test, order=2)
print(taylor.to_pandas()[["name", "value", "share", "signal", "background"]].head(8))

# %% [6] Layer-wise relevance propagation: mean normalized relevance per input.
lrp = unbox.lrp(model, test)
print(lrp.to_pandas())
print(f"relevance per event: a NumPy array {lrp.relevance.shape} (a view of the C++ result)")

# %% [7] Mutual information between every hidden neuron and the physics variables.
mi = unbox.mutual_info(model, test, variables=features + ["label"])
print(mi.to_pandas().round(3).head(10))

# %% [8] The command line on the same model and events gives the same numbers.
cli = os.environ.get("UNBOX", os.path.join(here, "..", "build", "unbox"))
workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"unbox-notebook-{os.getpid()}")
os.makedirs(workdir, exist_ok=True)
onnx_path, data_path = os.path.join(workdir, "net.onnx"), os.path.join(workdir, "test.csv")
buf = io.BytesIO()
with torch.no_grad():
    torch.onnx.export(net.double(), (x[:2],), buf, input_names=["x"], output_names=["output"],
                      dynamic_axes={"x": {0: "batch"}, "output": {0: "batch"}}, opset_version=13)
with open(onnx_path, "wb") as f:
    f.write(buf.getvalue())
test.to_csv(data_path, index=False)
for name, argv, result in [("taylor", ["taylor", "--order", "2"], taylor), ("lrp", ["lrp"], lrp),
                           ("mi", ["mi", "--variables", ",".join(features + ["label"])], mi)]:
    out = subprocess.run([cli, *argv, "--model", onnx_path, "--data", data_path, "--json"], capture_output=True,
                         text=True, check=True).stdout
    cli_dict = json.loads(out)
    py_dict = result.to_dict()
    same = all(cli_dict[k] == v for k, v in py_dict.items() if k != "models")
    print(f"unbox {name} (command line) == unbox.{result.method} (Python): {same}")
    assert same, name
print(f"done in {time.perf_counter() - t0:.1f} s")
