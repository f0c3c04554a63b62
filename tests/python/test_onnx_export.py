"""ONNX export: a model unbox trained is written with standard operators; python3-onnx's
checker accepts it, a small NumPy evaluator of those operators (independent of unbox)
reproduces its outputs, and unbox reading the exported file back gives bit-identical
values. Also the clear errors for corrupt files and unsupported operators."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper, TensorProto


def npz(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def read_csv(path):
    with open(path) as f:
        names = f.readline().strip().split(",")
    arr = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {n: arr[:, i] for i, n in enumerate(names)}


def attrs(node):
    """Attributes; a float32 attribute stands for the shortest decimal that rounds to it
    (LeakyReLU's 0.1 is stored as 0.1f), the convention unbox's import documents."""
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = float(str(np.float32(v))) if a.type == onnx.AttributeProto.FLOAT else v
    return out


def numpy_eval(model, feeds):
    """Evaluate an ONNX graph of the operators unbox exports, in float64 NumPy."""
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type != TensorProto.INT64
           else numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        x = [env[i] for i in node.input]
        a = attrs(node)
        op = node.op_type
        if op == "Sub":
            y = x[0] - x[1]
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Div":
            y = x[0] / x[1]
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Gemm":
            b = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * x[0] @ b + a.get("beta", 1.0) * x[2]
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "LeakyRelu":
            y = np.where(x[0] > 0, x[0], a.get("alpha", 0.01) * x[0])
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-x[0]))
        elif op == "Elu":
            y = np.where(x[0] > 0, x[0], a.get("alpha", 1.0) * np.expm1(x[0]))
        elif op == "Softplus":
            y = np.log1p(np.exp(x[0]))
        elif op == "Softmax":
            e = np.exp(x[0] - x[0].max(axis=a.get("axis", -1), keepdims=True))
            y = e / e.sum(axis=a.get("axis", -1), keepdims=True)
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "Identity":
            y = x[0]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


@pytest.mark.parametrize("arch,activation,output", [("paper", None, None), ("12,6", "tanh", "sigmoid"),
                                                    ("8,8", "elu", "tanh"), ("6", "softplus", "sigmoid")])
def test_exported_model_checks_evaluates_and_reimports_bit_exactly(tmp_path, run_unbox, arch, activation, output):
    data, model, onnx_path = tmp_path / "toy.csv", tmp_path / "m.unbox", tmp_path / "m.onnx"
    run_unbox("generate", "toy", "gauss-mixed", "--events", 2000, "--seed", 4, "--out", data)
    args = ["train", "--data", data, "--label", "label", "--arch", arch, "--epochs", 2, "--seed", 3, "--out", model,
            "--quiet"]
    if activation:
        args += ["--activation", activation, "--output", output]
    run_unbox(*args)
    run_unbox("export", "--model", model, "--out", onnx_path)
    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == 13
    assert {n.op_type for n in m.graph.node} <= {"Sub", "Mul", "Gemm", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu",
                                                "Softplus", "Selu", "Softmax"}
    cols = read_csv(data)
    x = np.stack([cols["x1"], cols["x2"]], axis=1)
    ref = numpy_eval(m, {m.graph.input[0].name: x})[:, 0]
    neurons = "output,L1N2,output:pre"
    run_unbox("predict", "--model", model, "--data", data, "--out", tmp_path / "a.npz", "--neurons", neurons,
              "--gradient")
    run_unbox("predict", "--model", onnx_path, "--data", data, "--out", tmp_path / "b.npz", "--neurons", neurons,
              "--gradient")
    native, back = npz(tmp_path / "a.npz"), npz(tmp_path / "b.npz")
    np.testing.assert_allclose(native["output"], ref, rtol=1e-12, atol=1e-14)
    assert native.keys() == back.keys()  # the column names travel with the exported model
    for k in native:
        assert np.array_equal(native[k], back[k]), k  # bit for bit, values and gradients
    info = run_unbox("info", "--model", onnx_path).stdout
    assert "L1" in info and "x1" in info


def test_corrupt_and_unsupported_models_are_clear_errors(tmp_path, run_unbox):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    # A truncated model.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    good = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g", [x], [y]),
                             opset_imports=[helper.make_opsetid("", 13)])
    raw = good.SerializeToString()
    (tmp_path / "cut.onnx").write_bytes(raw[: len(raw) // 2])
    proc = run_unbox("predict", "--model", tmp_path / "cut.onnx", "--data", data, "--out", tmp_path / "o.csv",
                     check=False)
    assert proc.returncode == 2 and "not a valid ONNX model" in proc.stderr and proc.stderr.count("\n") == 1
    # The intact one runs (and reads the two data columns by default).
    (tmp_path / "good.onnx").write_bytes(raw)
    run_unbox("predict", "--model", tmp_path / "good.onnx", "--data", data, "--out", tmp_path / "o.csv",
              "--neurons", "y[1]")
    assert list(read_csv(tmp_path / "o.csv")["y[1]"]) == [2.0, 4.0]
    # An unsupported operator: the node, its op type and opset, and the supported list.
    bad = helper.make_model(helper.make_graph([helper.make_node("Cos", ["x"], ["y"], name="cosine")], "g", [x], [y]),
                            opset_imports=[helper.make_opsetid("", 11)])
    onnx.save(bad, str(tmp_path / "cos.onnx"))
    proc = run_unbox("info", "--model", tmp_path / "cos.onnx", check=False)
    assert proc.returncode == 2
    for want in ["'cosine'", "Cos", "opset 11", "Gemm", "Conv"]:
        assert want in proc.stderr, want
