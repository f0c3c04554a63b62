"""The one calling convention: every analysis subcommand on an ONNX model exported from
PyTorch, with the DEFAULT column binding (a CSV whose header holds the data's own names,
not the model's input name x), against the same model converted to the native format by
`unbox convert`: the --json output must be identical apart from the model's file name.
Also: the default binding reads the columns in order (predict equals PyTorch), and the
results name the features by the data's names."""
import json

import numpy as np
import pytest
import torch
from torch import nn

torch.set_default_dtype(torch.float64)

NAMES = ["pt_lead", "eta_lead", "met", "m_ll", "dphi_ll", "ht"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    torch.manual_seed(11)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 1), nn.Sigmoid())
    model.eval()
    torch.onnx.export(model, (torch.zeros(2, 6),), str(d / "m.onnx"), input_names=["x"], output_names=["score"],
                      dynamic_axes={"x": {0: "events"}, "score": {0: "events"}}, opset_version=13)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 6))
    with torch.no_grad():
        p = model(torch.tensor(x)).numpy()[:, 0]
    label = (rng.random(400) < p).astype(float)  # labels correlated with the score
    with open(d / "data.csv", "w") as f:
        f.write(",".join(NAMES + ["label"]) + "\n")
        for i in range(400):
            f.write(",".join(repr(v) for v in x[i]) + f",{label[i]:.0f}\n")
    with torch.no_grad():
        l1 = torch.tanh(model[0](torch.tensor(x))).numpy()
    return {"dir": d, "x": x, "p": p, "l1": l1, "label": label}


def converted(models, run_unbox):
    d = models["dir"]
    if not (d / "m.unbox").exists():
        out = run_unbox("convert", "--model", d / "m.onnx", "--out", d / "m.unbox").stdout
        assert "m.unbox" in out
    return d / "m.unbox"


def strip_model(j, name):
    """The JSON with the model's file name replaced (it is the one allowed difference)."""
    text = json.dumps(j, sort_keys=True)
    return json.loads(text.replace(str(name), "MODEL"))


COMMANDS = {
    "taylor": ["taylor", "--order", "2", "--top-percent", "20"],
    "taylor select": ["taylor", "select", "--top-percent", "20"],
    "mi": ["mi", "--neurons", "all", "--bins", "5"],
    "ad": ["ad", "--samples", "150", "--bootstrap", "10", "--neuron", "output"],
    "lrp": ["lrp", "--rule", "epsilon"],
    "attribute": ["attribute", "--method", "ig", "--steps", "8"],
    "ado": ["ado", "--score", "output", "--against", "met"],
    "eval": ["eval"],
    "ado search": ["ado", "search", "--target", "output:pre", "--base", "pt_lead,met", "--pool", "eta_lead,m_ll",
                   "--epochs", "2", "--steps", "1", "--arch", "4"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_onnx_and_converted_native_agree(models, run_unbox, name):
    d = models["dir"]
    native = converted(models, run_unbox)
    args = COMMANDS[name]
    sub = args[:2] if len(args) > 1 and args[1] in ("select", "search") else args[:1]
    rest = args[len(sub):]
    outs = []
    for m in (d / "m.onnx", native):
        r = run_unbox(*sub, "--model", m, "--data", d / "data.csv", *rest, "--json")
        outs.append(strip_model(json.loads(r.stdout), m))
    assert outs[0] == outs[1]
    text = json.dumps(outs[0])
    # Results speak of the data's names, never the ONNX placeholders x0, x1, ...
    if name in ("taylor", "mi", "ad", "lrp", "attribute"):
        assert "met" in text and '"x0"' not in text and "x[0]" not in text


def test_maximize_and_caveman_agree(models, run_unbox, tmp_path):
    d = models["dir"]
    native = converted(models, run_unbox)
    outs = []
    for m in (d / "m.onnx", native):
        pop = tmp_path / "pop.csv"
        r = run_unbox("maximize", "--model", m, "--data", d / "data.csv", "--neuron", "output", "--threshold", "0.5",
                      "--points", "300", "--steps", "60", "--out", pop, "--quiet", "--json")
        j = json.loads(r.stdout)
        j.pop("seconds", None)
        c = run_unbox("caveman", "--model", m, "--data", d / "data.csv", "--population", pop, "--terms", "2",
                      "--fit-events", "200", "--fit-iterations", "50", "--json")
        outs.append((strip_model(j, m), strip_model(json.loads(c.stdout), m)))
    assert outs[0] == outs[1]
    assert [i["name"] for i in outs[0][0]["inputs"]] == NAMES


def test_predict_default_binding_equals_torch(models, run_unbox, tmp_path):
    d = models["dir"]
    native = converted(models, run_unbox)
    cols = []
    for k, m in enumerate((d / "m.onnx", native)):
        out = tmp_path / f"p{k}.csv"
        run_unbox("predict", "--model", m, "--data", d / "data.csv", "--out", out, "--neurons", "output,L1N3")
        cols.append(np.genfromtxt(out, delimiter=",", names=True))
    assert np.array_equal(cols[0]["output"], cols[1]["output"])
    assert np.array_equal(cols[0]["L1N3"], cols[1]["L1N3"])
    np.testing.assert_allclose(cols[0]["output"], models["p"], rtol=0, atol=1e-12)
    # L1N3 is tanh(W1 x + b1)[3] of the torch model: the L-names survive the conversion.
    np.testing.assert_allclose(cols[1]["L1N3"], models["l1"][:, 3], rtol=0, atol=1e-12)


def test_convert_round_trip_keeps_names(models, run_unbox, tmp_path):
    d = models["dir"]
    native = converted(models, run_unbox)
    back = tmp_path / "back.onnx"
    run_unbox("convert", "--model", native, "--out", back)
    run_unbox("export", "--model", native, "--out", tmp_path / "alias.onnx")  # the old name still works
    a = json.loads(run_unbox("eval", "--model", back, "--data", d / "data.csv", "--json").stdout)
    b = json.loads(run_unbox("eval", "--model", d / "m.onnx", "--data", d / "data.csv", "--json").stdout)
    assert a == b


def test_wrong_column_count_is_one_clear_error(models, run_unbox, tmp_path):
    d = models["dir"]
    bad = tmp_path / "bad.csv"
    with open(bad, "w") as f:
        f.write("a,b,label\n1,2,0\n3,4,1\n")
    r = run_unbox("taylor", "--model", d / "m.onnx", "--data", bad, check=False)
    assert r.returncode == 2
    assert "takes 6 values per event" in r.stderr and r.stderr.count("\n") == 1
