"""The command line as a user meets it: every bad input gives one clear line on stderr and
exit code 2, and no output file appears; every subcommand's --help shows an example."""
import json
import os

import numpy as np
import pytest

SUBCOMMANDS = ["generate", "train", "eval", "predict", "info", "demo"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory, unbox_bin):
    import subprocess

    d = tmp_path_factory.mktemp("cli")
    data = d / "toy.csv"
    model = d / "m.unbox"
    subprocess.run([unbox_bin, "generate", "toy", "gauss-marginal", "--events", "2000", "--seed", "1", "--out",
                    str(data)], check=True, capture_output=True)
    subprocess.run([unbox_bin, "train", "--data", str(data), "--label", "label", "--arch", "8", "--epochs", "10", "--batch", "32",
                    "--out", str(model), "--quiet"], check=True, capture_output=True)
    return d, data, model


def one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_help_shows_an_example(run_unbox, cmd):
    out = run_unbox(cmd, "--help").stdout
    assert "Example:" in out and f"unbox {cmd}" in out


def test_train_requires_arch(run_unbox, toy, tmp_path):
    _, data, _ = toy
    out = tmp_path / "m.unbox"
    p = run_unbox("train", "--data", data, "--label", "label", "--out", out, check=False)
    one_line_error(p, "--arch")
    assert not out.exists()


def test_train_refuses_labels_other_than_0_and_1(run_unbox, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("x,label\n0.5,1\n0.2,2\n0.1,0\n")
    out = tmp_path / "m.unbox"
    p = run_unbox("train", "--data", data, "--label", "label", "--arch", "4", "--out", out, check=False)
    one_line_error(p, "bad.csv", "label", "event 2", "2")
    assert not out.exists()


def test_train_refuses_nan_even_when_the_file_may_hold_them(run_unbox, tmp_path):
    data = tmp_path / "nan.csv"
    data.write_text("x,label\n0.5,1\nnan,0\n0.1,0\n0.3,1\n")
    out = tmp_path / "m.unbox"
    p = run_unbox("train", "--data", data, "--label", "label", "--arch", "4", "--out", out, check=False)
    one_line_error(p, "nan.csv:3")  # the reader names the file and line
    p = run_unbox("train", "--data", data, "--label", "label", "--arch", "4", "--out", out, "--allow-nan", check=False)
    one_line_error(p, "'x'", "event 2")
    assert not out.exists()


def test_predict_passes_nan_through_with_allow_nan(run_unbox, toy, tmp_path):
    _, _, model = toy
    data = tmp_path / "nan.csv"
    data.write_text("x1,x2\n0.5,1\nnan,0\n")
    out = tmp_path / "p.csv"
    one_line_error(run_unbox("predict", "--model", model, "--data", data, "--out", out, check=False), "nan.csv:3")
    assert not out.exists()
    run_unbox("predict", "--model", model, "--data", data, "--out", out, "--allow-nan")
    lines = out.read_text().splitlines()
    assert lines[0] == "output" and lines[2] == "nan" and 0 < float(lines[1]) < 1


def test_predict_errors_leave_no_file(run_unbox, toy, tmp_path):
    d, data, model = toy
    out = tmp_path / "p.csv"
    one_line_error(run_unbox("predict", "--model", model, "--data", data, "--out", out, "--neurons", "L7N0",
                             check=False), "L7N0", "L0..L2")
    one_line_error(run_unbox("predict", "--model", model, "--data", data, "--out", out, "--neurons", "L1N8",
                             check=False), "N0..N7")
    missing = tmp_path / "x1only.csv"
    missing.write_text("x1\n1\n2\n")
    one_line_error(run_unbox("predict", "--model", model, "--data", missing, "--out", out, check=False), "'x2'")
    one_line_error(run_unbox("predict", "--model", model, "--data", data, "--out", tmp_path / "no/such/dir/p.csv",
                             check=False), "no/such/dir")
    one_line_error(run_unbox("predict", "--model", model, "--data", tmp_path / "absent.csv", "--out", out,
                             check=False), "absent.csv")
    assert not out.exists()
    assert [f for f in os.listdir(tmp_path) if "tmp" in f] == []


def test_corrupt_model_is_a_clear_error(run_unbox, toy, tmp_path):
    _, data, model = toy
    bad = tmp_path / "bad.unbox"
    bad.write_bytes(model.read_bytes()[:100])
    one_line_error(run_unbox("info", "--model", bad, check=False), "bad.unbox", "not a valid unbox model")
    one_line_error(run_unbox("eval", "--model", data, "--data", data, "--label", "label", check=False),
                   "not a valid unbox model")


def test_eval_ragged_csv_names_the_line(run_unbox, toy, tmp_path):
    _, _, model = toy
    bad = tmp_path / "ragged.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,4\n")
    one_line_error(run_unbox("eval", "--model", model, "--data", bad, "--label", "label", check=False),
                   "ragged.csv:3")


def test_predict_writes_requested_neurons_in_every_format(run_unbox, toy, tmp_path):
    _, data, model = toy
    for ext in ["csv", "npz", "h5", "npy"]:
        out = tmp_path / f"p.{ext}"
        run_unbox("predict", "--model", model, "--data", data, "--out", out, "--neurons", "output,L1N2:pre,L2N0")
        if ext == "npz":
            z = np.load(out)
            assert sorted(z.files) == sorted(["output", "L1N2:pre", "L2N0"])
            np.testing.assert_array_equal(z["output"], z["L2N0"])  # output is L2N0 for arch 8
        elif ext == "npy":
            assert np.load(out).shape == (2000, 3)
    csv = np.genfromtxt(tmp_path / "p.csv", delimiter=",", names=True)
    z = np.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(csv["output"], z["output"])  # shortest round-trip text


def test_eval_json_keys_and_info(run_unbox, toy):
    _, data, model = toy
    j = json.loads(run_unbox("eval", "--model", model, "--data", data, "--label", "label", "--json").stdout)
    assert j["n_signal"] == 1000 and j["n_background"] == 1000
    assert 0.8 < j["auc"] < 0.95  # two Gaussians one unit apart in (1,1): about 0.84
    info = run_unbox("info", "--model", model).stdout
    assert "L1N0 .. L1N7" in info and "x1=" in info
    ij = json.loads(run_unbox("info", "--model", model, "--json").stdout)
    assert ij["inputs"][0]["features"] == ["x1", "x2"]
    assert ij["metadata"]["training"]["seed"] == 1
