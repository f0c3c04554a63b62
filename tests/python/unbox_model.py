"""Reads unbox's native model file (.unbox) with the standard library and numpy only,
and rebuilds the network in PyTorch, as an independent reference for the C++ engine."""
import json
import struct
import zlib

import numpy as np


def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"UNBOXNN1", "not an unbox model"
    (crc,) = struct.unpack("<I", data[-4:])
    assert zlib.crc32(data[:-4]) == crc, "checksum mismatch"
    (hlen,) = struct.unpack("<Q", data[8:16])
    header = json.loads(data[16 : 16 + hlen])
    offset = 16 + hlen
    for node in header["nodes"]:
        node["values"] = {}
        for t in node.get("tensors", []):
            n = int(np.prod(t["shape"])) if t["shape"] else 1
            arr = np.frombuffer(data, dtype="<f8", count=n, offset=offset).reshape(t["shape"])
            node["values"][t["name"]] = arr.copy()
            offset += 8 * n
    assert offset == len(data) - 4
    return header


def torch_sequential(header):
    """A list of (node name, torch callable) for a plain-stack unbox model."""
    import torch

    ops = []
    for node in header["nodes"]:
        kind, attrs, vals = node["type"], node.get("attributes", {}), node["values"]
        if kind == "Input":
            continue
        if kind == "Standardize":
            mean = torch.tensor(vals["mean"].reshape(-1), dtype=torch.float64)
            std = torch.tensor(vals["std"].reshape(-1), dtype=torch.float64)
            ops.append((node["name"], lambda x, m=mean, s=std: (x - m) / s))
        elif kind == "Dense":
            lin = torch.nn.Linear(attrs["in"], attrs["out"]).double()
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(vals["weight"]))
                lin.bias.copy_(torch.tensor(vals["bias"]))
            ops.append((node["name"], lin))
        elif kind == "LeakyReLU":
            ops.append((node["name"], torch.nn.LeakyReLU(attrs["alpha"])))
        elif kind == "ELU":
            ops.append((node["name"], torch.nn.ELU(attrs["alpha"])))
        else:
            ops.append((node["name"], {"ReLU": torch.nn.ReLU(), "Tanh": torch.nn.Tanh(), "Sigmoid": torch.nn.Sigmoid(),
                                       "SELU": torch.nn.SELU(), "Softplus": torch.nn.Softplus(),
                                       "Identity": torch.nn.Identity()}[kind]))
    return ops


def run_all(ops, x):
    """Values of every node, by name."""
    values = {}
    for name, op in ops:
        x = op(x)
        values[name] = x
    return values
