"""`import unbox` (python/): the library from Python against independent references.

- every method's result equals the command line's --json on the same model and data (the
  same library work, so to the last bit);
- from_torch: an MLP, a 1-D CNN with a side input and a PFN give torch's predictions and
  input gradients (autograd, double) to 1e-12;
- NumPy: per-event outputs are views of C++ memory (no copy); float32, Fortran-order and
  strided inputs give exactly the float64 C-order results;
- pandas: columns bind by name (order and extra columns do not matter), a missing column
  is an error naming it; a bad file raises unbox.InputError naming the file;
- Ctrl-C (KeyboardInterrupt from a timer thread) stops a long call early;
- physics: mT2 over arrays equals the CLI and an independent minimization; the generator,
  EFPs and isolation cones equal the CLI's files.

Run by ctest (label python) with PYTHONPATH=build/python and Debian's /usr/bin/python3.
"""
import _thread
import json
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import unbox

torch.set_default_dtype(torch.float64)

FEATURES = ["a", "b", "c", "d", "e"]


def make_events(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 2] = np.abs(x[:, 2]) * 40 + 10  # a physical-looking scale
    z = 1.5 * x[:, 0] - x[:, 1] * x[:, 3] + 0.02 * (x[:, 2] - 40)
    label = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    df = pd.DataFrame(x, columns=FEATURES)
    df["label"] = label
    df["w"] = rng.uniform(0.5, 1.5, size=n)
    return df


@pytest.fixture(scope="module")
def setup(tmp_path_factory, unbox_bin):
    d = tmp_path_factory.mktemp("module")
    train = make_events(3000, 1)
    test = make_events(1200, 2)
    train.to_csv(d / "train.csv", index=False)
    test.to_csv(d / "test.csv", index=False)
    subprocess.run([unbox_bin, "train", "--data", d / "train.csv", "--label", "label", "--columns", ",".join(FEATURES),
                    "--arch", "16,8", "--epochs", "4", "--seed", "3", "--out", d / "m.unbox", "--quiet"], check=True,
                   capture_output=True)
    return d, test


def cli_json(unbox_bin, *args):
    proc = subprocess.run([unbox_bin, *map(str, args), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def same(py, cli, volatile=("seconds",)):
    """Every field of the Python result equals the command line's (exactly)."""
    py = {k: v for k, v in py.items() if k not in volatile}
    missing = [k for k in py if k not in cli]
    assert not missing, f"fields not in the CLI's JSON: {missing}"
    for k, v in py.items():
        assert v == cli[k], f"field {k}: python {v!r} != cli {cli[k]!r}"


# ---- every method equals the command line ----------------------------------------------------

CASES = [
    ("taylor", ["taylor", "--order", "2"], dict(order=2)),
    ("taylor", ["taylor", "--order", "3", "--units", "physical", "--convention", "derivative"],
     dict(order=3, units="physical", convention="derivative")),
    ("lrp", ["lrp"], {}),
    ("lrp", ["lrp", "--rule", "epsilon", "--epsilon", "0.01"], dict(rule="epsilon", epsilon=0.01)),
    ("attribute", ["attribute", "--method", "ig", "--steps", "16"], dict(method="ig", steps=16)),
    ("attribute", ["attribute", "--method", "smoothgrad", "--samples", "5", "--seed", "4"],
     dict(method="smoothgrad", samples=5, seed=4)),
    ("mutual_info", ["mi"], {}),
    ("mutual_info", ["mi", "--estimator", "ksg", "--neurons", "L1", "--knn-events", "400"],
     dict(estimator="ksg", neurons="L1", knn_events=400)),
    ("activation_difference", ["ad", "--samples", "600", "--bootstrap", "20", "--seed", "2"],
     dict(samples=600, bootstrap=20, seed=2)),
    ("activation_difference", ["ad", "--layer", "L1", "--samples", "300", "--bootstrap", "5"],
     dict(layer="L1", samples=300, bootstrap=5)),
    ("maximize", ["maximize", "--threshold", "0.7", "--points", "300", "--steps", "60", "--seed", "5"],
     dict(threshold=0.7, points=300, steps=60, seed=5)),
    ("ado", ["ado", "--score", "output", "--against", "a"], dict(score="output", against="a")),
    ("eval", ["eval"], {}),
    ("eval", ["eval", "--lumi", "10", "--br", "3", "--weight", "w"], dict(lumi=10, br=3, weight="w")),
]


@pytest.mark.parametrize("method,cli,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_method_equals_cli(setup, unbox_bin, method, cli, kw):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    extra = ["--out", d / "max.csv"] if method == "maximize" else []  # maximize writes its points
    ref = cli_json(unbox_bin, cli[0], "--model", d / "m.unbox", "--data", d / "test.csv", *cli[1:], *extra)
    r = getattr(unbox, method)(model, test, **kw)
    same(r.to_dict(), ref)
    assert r.table().strip()  # the text view exists
    # The same through a file name and a Dataset (the command line's reader).
    if method == "taylor" and kw.get("order") == 2:
        same(unbox.taylor(model, str(d / "test.csv"), **kw).to_dict(), ref)
        same(unbox.taylor(model, unbox.read(d / "test.csv"), **kw).to_dict(), ref)


def test_unbound_methods_and_search_equal_cli(setup, unbox_bin):
    d, test = setup
    ref = cli_json(unbox_bin, "ado", "--data", d / "test.csv", "--score", "a", "--against", "b")
    same(unbox.ado(None, test, score="a", against="b").to_dict(), ref)
    ref = cli_json(unbox_bin, "eval", "--data", d / "test.csv", "--score", "a")
    same(unbox.eval(None, test, score="a").to_dict(), ref)
    ref = cli_json(unbox_bin, "ado", "search", "--data", d / "test.csv", "--target", "a", "--base", "b",
                   "--pool", "c,d", "--epochs", "2", "--steps", "1", "--arch", "8")
    same(unbox.ado_search(None, test, target="a", base="b", pool="c,d", epochs=2, steps=1, arch="8").to_dict(), ref)


def test_caveman_equals_cli(setup, unbox_bin, tmp_path):
    d, test = setup
    pop = tmp_path / "pop.csv"
    subprocess.run([unbox_bin, "maximize", "--model", d / "m.unbox", "--data", d / "test.csv", "--threshold", "0.7",
                    "--points", "400", "--steps", "60", "--out", pop, "--quiet"], check=True, capture_output=True)
    args = ["--fit-events", "600", "--fit-iterations", "100", "--terms", "3"]
    ref = cli_json(unbox_bin, "caveman", "--model", d / "m.unbox", "--data", d / "test.csv", "--population", pop, *args)
    model = unbox.load(d / "m.unbox")
    r = unbox.caveman(model, test, population=str(pop), fit_events=600, fit_iterations=100, terms=3)
    same(r.to_dict(), ref)


def test_train_equals_cli(setup, unbox_bin, tmp_path):
    d, _ = setup
    train = pd.read_csv(d / "train.csv", float_precision="round_trip")  # the exact values the CLI reads
    m = unbox.train(train, label="label", columns=FEATURES, arch="16,8", epochs=4, seed=3, progress=False)
    ref = unbox.load(d / "m.unbox")
    x = train[FEATURES].to_numpy()
    assert np.array_equal(m(x), ref(x))  # the same weights, bit for bit
    assert m.training["epochs_run"] == ref.info()["metadata"]["training"]["epochs_run"]
    m.save(tmp_path / "py.unbox")
    assert np.array_equal(unbox.load(tmp_path / "py.unbox")(x), ref(x))


def test_train_with_cross_entropy_on_a_tanh_output_equals_cli(setup, unbox_bin, tmp_path):
    d, _ = setup
    args = ["--data", d / "train.csv", "--label", "label", "--columns", ",".join(FEATURES), "--arch", "16,8",
            "--output", "tanh", "--epochs", "3", "--seed", "5", "--quiet"]
    subprocess.run([unbox_bin, "train", *map(str, args), "--loss", "bce", "--out", tmp_path / "bce.unbox"], check=True)
    subprocess.run([unbox_bin, "train", *map(str, args), "--out", tmp_path / "mse.unbox"], check=True)
    train = pd.read_csv(d / "train.csv", float_precision="round_trip")
    x = train[FEATURES].to_numpy()
    m = unbox.train(train, label="label", columns=FEATURES, arch="16,8", output="tanh", loss="bce", epochs=3, seed=5,
                    progress=False)
    assert np.array_equal(m(x), unbox.load(tmp_path / "bce.unbox")(x))
    assert not np.array_equal(m(x), unbox.load(tmp_path / "mse.unbox")(x))  # the loss was not ignored
    with pytest.raises(unbox.Error, match="hinge"):
        unbox.train(train, label="label", columns=FEATURES, arch="16,8", loss="hinge", epochs=1, progress=False)
    bad = subprocess.run([unbox_bin, "train", *map(str, args), "--loss", "hinge", "--out", tmp_path / "x.unbox"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "loss 'hinge': expected auto, bce or mse" in bad.stderr


def test_threads_do_not_change_results(setup):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    n = unbox.threads()
    try:
        unbox.set_threads(1)
        one = unbox.taylor(model, test, order=3, per_event=True)
        unbox.set_threads(2)
        two = unbox.taylor(model, test, order=3, per_event=True)
    finally:
        unbox.set_threads(n)
    assert one.to_dict() == two.to_dict()
    assert np.array_equal(one.coefficients, two.coefficients)


# ---- PyTorch ------------------------------------------------------------------------------------

class Cnn1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2),
                                      nn.Conv1d(4, 6, 3, stride=2), nn.Tanh(), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(6 * 3 + 3, 8), nn.ELU(), nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, wave, side):
        return self.head(torch.cat([self.features(wave), side], dim=1))


class Pfn(nn.Module):
    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ELU())
        self.f = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, x):  # [events, particles, features]
        return self.f(self.phi(x).sum(dim=1))


def torch_reference(model, inputs):
    xs = [torch.tensor(x, requires_grad=True) for x in inputs]
    y = model(*xs)
    y[:, 0].sum().backward()
    return y.detach().numpy()[:, 0], [x.grad.numpy() for x in xs]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_from_torch_mlp():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(5, 24), nn.Tanh(), nn.Linear(24, 12), nn.LeakyReLU(0.1), nn.Linear(12, 1),
                        nn.Sigmoid())
    x = np.random.default_rng(2).normal(size=(400, 5))
    model = unbox.from_torch(net, torch.tensor(x[:2]))
    ref, (g,) = torch_reference(net, [x])
    close(model(x), ref)
    values, grad = model.predict(x, gradient=True)
    close(values, ref)
    close(grad, g)
    # Neurons by name: the first hidden layer after its activation equals torch's.
    h1 = model.predict(x, neurons=[f"L1N{j}" for j in range(24)])
    close(h1, torch.tanh(net[0](torch.tensor(x))).detach().numpy())
    assert "L1N0" in model.neurons and model.neurons[-1] == "output"


def test_from_torch_cnn_with_side_input():
    torch.manual_seed(11)
    net = Cnn1d()
    bn = net.features[1]
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    net.eval()
    rng = np.random.default_rng(5)
    wave, side = rng.normal(size=(300, 2, 16)), rng.normal(size=(300, 3))
    model = unbox.from_torch(net, (torch.tensor(wave[:2]), torch.tensor(side[:2])), input_names=["wave", "side"])
    ref, (g_wave, g_side) = torch_reference(net, [wave, side])
    values, (gw, gs) = model.predict({"wave": wave, "side": side}, gradient=True)
    close(values, ref)
    close(gw, g_wave)
    close(gs, g_side)
    close(model((wave, side)), ref)  # a tuple binds in input order


def test_from_torch_pfn():
    torch.manual_seed(3)
    net = Pfn().eval()
    x = np.random.default_rng(1).normal(size=(200, 7, 4))
    model = unbox.from_torch(net, torch.tensor(x[:2]), input_names=["particles"])
    ref, (g,) = torch_reference(net, [x])
    values, grad = model.predict(x, gradient=True)
    close(values, ref)
    close(grad, g)


# ---- NumPy: views out, conversions in ------------------------------------------------------------

def test_outputs_are_views_and_inputs_convert(setup):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    x = np.ascontiguousarray(test[FEATURES].to_numpy())
    r = unbox.taylor(model, x, order=2, per_event=True)
    c1, c2 = r.coefficients, r.coefficients
    # Per-event outputs are views of the C++ result's memory: no copy, one buffer.
    assert not c1.flags.owndata and c1.ctypes.data == c2.ctypes.data and c1.shape == (len(x), 5 + 15)
    keep = c1[0, 0]
    c1[0, 0] = 12345.0
    assert c2[0, 0] == 12345.0
    c1[0, 0] = keep
    values = model(x)
    assert not values.flags.owndata
    ds = unbox.read(d / "test.csv")
    assert ds["a"].ctypes.data == ds["a"].ctypes.data and not ds["a"].flags.owndata
    # float32, Fortran order and strided arrays are converted: the same as float64 C order.
    ref = model(x)
    x32 = x.astype(np.float32)
    assert np.array_equal(model(x32), model(x32.astype(np.float64)))
    assert np.array_equal(model(np.asfortranarray(x)), ref)
    wide = np.zeros((len(x), 10))
    wide[:, ::2] = x
    assert not wide[:, ::2].flags.c_contiguous
    assert np.array_equal(model(wide[:, ::2]), ref)
    assert np.array_equal(model(x[::-1])[::-1], ref)
    # Per-event Taylor coefficients equal the command line's table of the same run.
    t = r.to_pandas("per_event")
    assert np.array_equal(t[[c for c in t.columns if c.startswith("t(")]].to_numpy(), r.coefficients)


# ---- pandas and errors -----------------------------------------------------------------------------

def test_pandas_columns_by_name(setup):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    ref = unbox.taylor(model, test, order=1).to_dict()
    shuffled = test[["e", "label", "c", "a", "d", "b"]].assign(extra=np.arange(len(test), dtype=float))
    assert unbox.taylor(model, shuffled, order=1).to_dict() == ref
    # Labels and weights as arrays instead of columns.
    a = unbox.eval(model, test.drop(columns=["label"]), label=test["label"].to_numpy(), weight=test["w"].to_numpy())
    b = unbox.eval(model, test, label="label", weight="w")
    assert a.to_dict()["auc"] == b.to_dict()["auc"]
    with pytest.raises(unbox.Error, match="'d'"):
        unbox.taylor(model, test.drop(columns=["d"]), order=1)
    with pytest.raises(unbox.Error, match="no column 'nope'"):
        unbox.eval(model, test, label="nope")
    # The result as a DataFrame: the ranking the table prints.
    r2 = unbox.taylor(model, test, order=2)
    df = r2.to_pandas()
    assert list(df["name"]) == [f["name"] for f in r2.features]
    assert len(df) == 5 + 15 and df["value"].is_monotonic_decreasing


def test_errors(setup, tmp_path):
    d, test = setup
    with pytest.raises(unbox.InputError, match="missing.csv"):
        unbox.read(tmp_path / "missing.csv")
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x01garbage that is no protobuf")
    with pytest.raises(unbox.InputError, match="broken.onnx"):
        unbox.load(bad)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(unbox.InputError, match="bad.csv"):
        unbox.taylor(unbox.load(d / "m.unbox"), str(bad))
    with pytest.raises(unbox.OptionError, match="unknown option ordr"):
        unbox.taylor(unbox.load(d / "m.unbox"), test, ordr=2)
    assert issubclass(unbox.InputError, unbox.Error)
    import inspect
    assert "order" in inspect.signature(unbox.taylor).parameters  # help() shows the options
    assert inspect.signature(unbox.taylor).parameters["order"].default == 2


def test_ctrl_c_stops_a_long_call(setup):
    d, _ = setup
    model = unbox.load(d / "m.unbox")
    big = make_events(1_000_000, 9)
    bound = unbox.events(big, model)  # bound once: the calls below time only the method
    part = unbox.events(big.iloc[:100_000], model)
    start = time.perf_counter()
    unbox.taylor(model, part, order=3)
    full = 10 * (time.perf_counter() - start)  # the whole call would take about this long
    # Interrupt a tenth of the way in (relative, so a fast or a loaded machine tests the same
    # thing): the call must stop well before it would have finished.
    timer = threading.Timer(0.1 * full, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        unbox.taylor(model, bound, order=3)
    stopped = time.perf_counter() - start
    timer.cancel()
    assert stopped < 0.6 * full, (stopped, full)
    # Training stops after the current optimizer step (a full run would take a minute).
    timer = threading.Timer(0.5, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        unbox.train(big.iloc[:100_000], columns=FEATURES, arch="64,64", epochs=50, patience=0, progress=False)
    timer.cancel()
    assert time.perf_counter() - start < 5
    # The library works normally afterwards.
    assert unbox.taylor(model, big.iloc[:100], order=1).to_dict()["events"] == 100


# ---- physics ----------------------------------------------------------------------------------------

def test_mt2_vectorized_equals_cli_and_brute_force(unbox_bin, tmp_path):
    rng = np.random.default_rng(4)
    n = 50
    cols = dict(l1_pt=rng.uniform(20, 200, n), l1_phi=rng.uniform(-np.pi, np.pi, n), l1_m=np.zeros(n),
                l2_pt=rng.uniform(20, 200, n), l2_phi=rng.uniform(-np.pi, np.pi, n), l2_m=np.zeros(n),
                met=rng.uniform(10, 300, n), met_phi=rng.uniform(-np.pi, np.pi, n))
    pd.DataFrame(cols).to_csv(tmp_path / "ev.csv", index=False)
    subprocess.run([unbox_bin, "physics", "mt2", "--data", tmp_path / "ev.csv", "--out", tmp_path / "out.csv",
                    "--l1", "l1", "--l2", "l2", "--met", "met", "--met-phi", "met_phi", "--name", "mt2"],
                   check=True, capture_output=True)
    cli = pd.read_csv(tmp_path / "out.csv")["mt2"].to_numpy()
    got = unbox.physics.mt2(*cols.values())
    np.testing.assert_allclose(got, cli, rtol=1e-15, atol=0)  # the CSV holds shortest round-trip text
    # Broadcasting: one MET against arrays; a scalar call gives a float.
    one = unbox.physics.mt2(cols["l1_pt"], cols["l1_phi"], 0, cols["l2_pt"], cols["l2_phi"], 0, 100.0, 0.5)
    assert one.shape == (n,) and isinstance(unbox.physics.mt2(50, 0, 0, 60, 2, 0, 40, 1), float)
    # Independent minimization: mT2^2 = min over splittings q of the missing momentum of
    # max(mT^2(a, q), mT^2(b, met - q)), massless; each mT^2 is convex in q, so their max is
    # too: SLSQP on (q, t) with mT^2 <= t finds the one minimum.
    from scipy.optimize import minimize

    def mt_sq(p, q):
        return 2 * (np.linalg.norm(p) * np.linalg.norm(q) - p @ q)

    for i in range(8):
        a = cols["l1_pt"][i] * np.array([np.cos(cols["l1_phi"][i]), np.sin(cols["l1_phi"][i])])
        b = cols["l2_pt"][i] * np.array([np.cos(cols["l2_phi"][i]), np.sin(cols["l2_phi"][i])])
        m = cols["met"][i] * np.array([np.cos(cols["met_phi"][i]), np.sin(cols["met_phi"][i])])
        z0 = np.array([*(m / 2), max(mt_sq(a, m / 2), mt_sq(b, m / 2))])
        res = minimize(lambda z: z[2], z0, method="SLSQP", tol=1e-14, options={"maxiter": 500},
                       constraints=[{"type": "ineq", "fun": lambda z: z[2] - mt_sq(a, z[:2])},
                                    {"type": "ineq", "fun": lambda z: z[2] - mt_sq(b, m - z[:2])}])
        ref = np.sqrt(max(mt_sq(a, res.x[:2]), mt_sq(b, m - res.x[:2])))
        assert got[i] == pytest.approx(ref, rel=1e-9, abs=1e-3)


def test_generator_efp_isolation_equal_cli(unbox_bin, tmp_path):
    def read(path):
        return pd.read_csv(path, float_precision="round_trip")  # the exact values written

    df = unbox.physics.generate("ttbar", events=300, seed=1)
    subprocess.run([unbox_bin, "generate", "physics", "ttbar", "--events", "300", "--seed", "1", "--features", "--out",
                    tmp_path / "g.csv", "--quiet"], check=True, capture_output=True)
    cli = read(tmp_path / "g.csv")
    assert len(df) > 0 and list(cli.columns) == list(df.columns)
    assert np.array_equal(cli.to_numpy(), df.to_numpy(), equal_nan=True)
    rng = np.random.default_rng(0)
    jets = {f"p{i}_{v}": rng.uniform(1, 50, 100) if v == "pt" else rng.normal(size=100)
            for i in range(4) for v in ("pt", "eta", "phi")}
    jets.update(ref_pt=rng.uniform(1, 50, 100), ref_eta=rng.normal(size=100), ref_phi=rng.normal(size=100))
    pd.DataFrame(jets).to_csv(tmp_path / "jets.csv", index=False)
    efp = unbox.efp(jets, dmax=3).to_pandas()
    subprocess.run([unbox_bin, "efp", "--data", tmp_path / "jets.csv", "--dmax", "3", "--out", tmp_path / "efp.csv",
                    "--quiet"], check=True, capture_output=True)
    cli = read(tmp_path / "efp.csv")
    assert list(cli.columns) == list(efp.columns) and np.array_equal(cli.to_numpy(), efp.to_numpy())
    iso = unbox.isolation(jets, r0=[0.2, 0.4]).to_pandas()
    subprocess.run([unbox_bin, "isolation", "--data", tmp_path / "jets.csv", "--out", tmp_path / "iso.csv", "--r0",
                    "0.2,0.4", "--ref-pt", "ref_pt", "--ref-eta", "ref_eta", "--ref-phi", "ref_phi"], check=True,
                   capture_output=True)
    cli = read(tmp_path / "iso.csv")
    assert np.array_equal(cli[list(iso.columns)].to_numpy(), iso.to_numpy())


# ---- zero-copy input -----------------------------------------------------------------------------

def address(a):
    return a.__array_interface__["data"][0]


def test_float64_c_contiguous_input_is_read_in_place(setup):
    """A float64 C-contiguous array that is a model input as it stands is read in place: the
    bound events' input is the caller's memory (its address); other layouts are converted,
    to exactly the float64 C-order values."""
    d, test = setup
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 1), nn.Sigmoid())
    x = np.random.default_rng(3).normal(size=(500, 5))
    model = unbox.from_torch(net, torch.tensor(x[:2]))
    ev = unbox.events(x, model)
    assert address(ev.inputs[0]) == address(x)  # the address the model reads
    ref = net(torch.tensor(x)).detach().numpy()[:, 0]
    close(model(ev), ref)
    close(model(x), ref)
    # A tensor input (particles [N, P, F]) and an input named in a dict: in place too.
    pfn = unbox.from_torch(Pfn().eval(), torch.zeros(2, 7, 4), input_names=["particles"])
    p = np.random.default_rng(1).normal(size=(100, 7, 4))
    assert address(unbox.events(p, pfn).inputs[0]) == address(p)
    assert address(unbox.events({"particles": p}, pfn).inputs[0]) == address(p)
    # Contiguous float64 columns (a DataFrame read from a file, a dict of arrays) are read in
    # place by the Dataset, then gathered once into the input matrix.
    col = pd.read_csv(d / "test.csv")["a"].to_numpy()
    assert col.flags.c_contiguous and col.dtype == np.float64
    ds = unbox.Dataset()
    ds.add("a", col)
    assert address(ds["a"]) == address(col)
    # Converted, not borrowed: float32, Fortran order, strided, integer; values as float64 C order.
    wide = np.zeros((500, 10))
    wide[:, ::2] = x
    for other, expect in ((x.astype(np.float32), x.astype(np.float32).astype(np.float64)),
                          (np.asfortranarray(x), x), (wide[:, ::2], x), (x[::-1], x[::-1]),
                          (np.round(x * 10).astype(np.int64), np.round(x * 10))):
        got = unbox.events(other, model).inputs[0]
        assert address(got) != address(other)
        assert got.flags.c_contiguous and got.dtype == np.float64
        assert np.array_equal(got, expect)
        assert np.array_equal(model(other), model(np.ascontiguousarray(expect)))


PEAK_SCRIPT = """
import os, resource, sys
import numpy as np
import unbox
model = unbox.load(sys.argv[1])
x = np.empty((int(sys.argv[2]), 40))
np.random.default_rng(0).standard_normal(out=x)  # in place: no temporary raises the peak
x32 = np.empty(x.shape, dtype=np.float32)
x32[...] = x
model(x[:1000])
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
# The peak so far must be about what is resident now, or a growth would hide below it.
slack = peak() - resident()
before = peak()
y = model(x)
in_place = peak() - before
before = peak()
y32 = model(x32)
converted = peak() - before
print(x.nbytes, in_place, converted, slack)
"""


def test_zero_copy_peak_memory(tmp_path):
    """The peak memory of evaluating a 320 MB float64 array grows by less than 10 % of it (the
    outputs and per-thread tiles); a float32 array of the same events, which must be
    converted, grows it by about the float64 size: the measurement sees a copy."""
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(40, 16), nn.ReLU(), nn.Linear(16, 1)).double()
    path = tmp_path / "wide.onnx"
    torch.onnx.export(net, torch.zeros(2, 40, dtype=torch.float64), path, input_names=["x"],
                      output_names=["output"], dynamic_axes={"x": {0: "batch"}, "output": {0: "batch"}})
    script = tmp_path / "peak.py"
    script.write_text(PEAK_SCRIPT)
    out = subprocess.run(["/usr/bin/python3", script, path, "1000000"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    nbytes, in_place, converted, slack = map(int, out.stdout.split())
    # A growth g shows as at least g - slack (the peak may sit above what is resident):
    # in_place + slack bounds the true growth from above.
    assert in_place + max(slack, 0) < 0.10 * nbytes, (in_place, slack, nbytes)
    assert converted > 0.8 * nbytes, (converted, nbytes)


# ---- progress -------------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))

    def check(self):
        """Monotone progress against one total, ending at the total."""
        assert self.calls, "no progress reported"
        totals = {t for _, t in self.calls}
        assert len(totals) == 1, totals
        total = totals.pop()
        done = [c for c, _ in self.calls]
        assert total > 0 and all(0 <= a <= b for a, b in zip(done, done[1:])), done
        assert done[-1] == total
        return total, len(done)


def test_every_long_call_reports_progress(setup, tmp_path, unbox_bin):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    calls = [
        ("taylor", lambda p: unbox.taylor(model, test, order=2, progress=p), len(test)),
        ("lrp", lambda p: unbox.lrp(model, test, progress=p), len(test)),
        ("attribute", lambda p: unbox.attribute(model, test, steps=8, batch=100, progress=p), len(test)),
        ("mutual_info", lambda p: unbox.mutual_info(model, test, progress=p), None),
        ("mutual_info ksg", lambda p: unbox.mutual_info(model, test, estimator="ksg", neurons="L2", knn_events=300,
                                                        progress=p), 8 * 5),
        ("activation_difference", lambda p: unbox.activation_difference(model, test, samples=200, bootstrap=2,
                                                                        progress=p), 5),
        ("maximize", lambda p: unbox.maximize(model, test, threshold=0.7, points=300, steps=40, batch=32,
                                              progress=p), 300),
        ("ado_search", lambda p: unbox.ado_search(None, test, target="a", base="b", pool="c,d", epochs=2, steps=1,
                                                  arch="8", progress=p), 2 * 2),
        ("eval", lambda p: unbox.eval(model, test, progress=p), 2),
        ("generate", lambda p: unbox.physics.generate("ttbar", events=200, seed=2, progress=p), 200),
    ]
    results = {}
    for name, call, total in calls:
        rec = Recorder()
        results[name] = call(rec)
        got, n = rec.check()
        if total is not None:
            assert got == total, (name, got, total)
        if name in ("taylor", "lrp", "maximize"):
            assert n >= 3, (name, rec.calls)  # progress along the way, not only the end
    pop = tmp_path / "pop.csv"
    results["maximize"].to_pandas().to_csv(pop, index=False)
    rec = Recorder()
    unbox.caveman(model, test, population=str(pop), fit_events=600, fit_iterations=50, terms=2, progress=rec)
    assert rec.check()[0] == 1000
    # Reporting progress changes no result; progress=False and the tqdm bar give the same.
    plain = unbox.taylor(model, test, order=2, progress=False).to_dict()
    assert results["taylor"].to_dict() == plain
    assert unbox.taylor(model, test, order=2, progress=True).to_dict() == plain
    # Without tqdm the Python layer passes True: the library's own bar (unbox::Progress).
    own = unbox._unbox.taylor(model._m, unbox.events(test, model), {"order": 2}, True)
    assert unbox.Result(own).to_dict() == plain
    # An exception in the callback stops the call and is raised in its place.
    def broken(done, total):
        if done > 0:
            raise ValueError("stop here")
    with pytest.raises(ValueError, match="stop here"):
        unbox.taylor(model, test, order=2, batch=16, progress=broken)
    with pytest.raises(unbox.OptionError, match="progress"):
        unbox.taylor(model, test, progress="yes")
    assert unbox.taylor(model, test, order=2).to_dict() == plain  # works normally afterwards
    assert "progress" in str(inspect_signature(unbox.lrp))


def inspect_signature(f):
    import inspect
    return inspect.signature(f)


def interrupt_at_a_tenth(call_small, call_big, ratio):
    """Times call_small, then interrupts call_big (ratio times the work) a tenth of the way
    in; returns (time until stopped, the big call's estimated time)."""
    start = time.perf_counter()
    call_small()
    full = ratio * (time.perf_counter() - start)
    timer = threading.Timer(0.1 * full, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        call_big()
    stopped = time.perf_counter() - start
    timer.cancel()
    return stopped, full


def test_ctrl_c_stops_maximize_and_caveman(setup, tmp_path):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    ev = unbox.events(test, model)
    # threshold 2 is out of reach of the sigmoid output: every point runs all its steps.
    kw = dict(threshold=2.0, steps=200, batch=64, progress=False)
    stopped, full = interrupt_at_a_tenth(lambda: unbox.maximize(model, ev, points=400, **kw),
                                         lambda: unbox.maximize(model, ev, points=4000, **kw), 10)
    assert stopped < 0.6 * full, (stopped, full)
    pop = tmp_path / "pop.csv"
    unbox.maximize(model, ev, threshold=0.7, points=300, steps=60, progress=False).to_pandas().to_csv(pop, index=False)
    pop = unbox.read(pop)
    kw = dict(population=pop, fit_events=600, terms=2, progress=False)
    stopped, full = interrupt_at_a_tenth(lambda: unbox.caveman(model, ev, fit_iterations=200, **kw),
                                         lambda: unbox.caveman(model, ev, fit_iterations=2000, **kw), 10)
    assert stopped < 0.6 * full, (stopped, full)
    assert unbox.maximize(model, ev, threshold=0.7, points=50, steps=20).to_dict()["points"] == 50


# ---- the command line's checks and texts, shared ----------------------------------------------------

def test_train_checks_and_info_text_equal_cli(setup, unbox_bin, tmp_path):
    d, test = setup
    model = unbox.load(d / "m.unbox")
    info = subprocess.run([unbox_bin, "info", "--model", d / "m.unbox"], capture_output=True, text=True, check=True)
    assert model.summary() == info.stdout
    assert model.info() == cli_json(unbox_bin, "info", "--model", d / "m.unbox") | {"model": str(d / "m.unbox")}
    bad = test.copy()
    bad.loc[7, "label"] = 2.0
    bad.loc[3, "c"] = np.nan
    for k, (frame, what) in enumerate(((bad, "must hold 0 (background) or 1 (signal)"),
                                       (bad.assign(label=test["label"]), "has nan at event 4; 'train' does not"))):
        path = tmp_path / f"bad_{k}.csv"
        frame.to_csv(path, index=False, na_rep="nan")
        cli = subprocess.run([unbox_bin, "train", "--data", path, "--label", "label", "--arch", "4", "--allow-nan",
                              "--out", tmp_path / "x.unbox"], capture_output=True, text=True)
        assert cli.returncode == 2
        message = cli.stderr.strip().removeprefix("unbox: error: ").removeprefix("error: ")
        with pytest.raises(unbox.Error) as err:
            unbox.train(unbox.read(path, allow_nan=True), arch="4", progress=False)
        assert str(err.value) in cli.stderr and what in str(err.value), (str(err.value), message)
    with pytest.raises(unbox.Error, match="batch, epochs and learning rate must be positive"):
        unbox.train(test, columns=FEATURES, arch="4", epochs=0, progress=False)


def test_generate_hepmc_equals_cli(unbox_bin, tmp_path):
    subprocess.run([unbox_bin, "generate", "physics", "ttbar", "--events", "40", "--seed", "7", "--out",
                    tmp_path / "cli.hepmc", "--quiet"], check=True, capture_output=True)
    r = unbox.physics.generate("ttbar", events=40, seed=7, out=tmp_path / "py.hepmc", progress=False)
    assert (tmp_path / "py.hepmc").read_bytes() == (tmp_path / "cli.hepmc").read_bytes()
    assert r.events == 40 and r.streams >= 40 and r.out == str(tmp_path / "py.hepmc")
    assert "wrote" in r.table() and "LO cross section" in r.table()
    # The HepMC3 file reads back as the features the generator gives directly.
    f = unbox.physics.features(tmp_path / "py.hepmc", selection="none", detector="truth")
    assert len(f.to_pandas()) > 0
    with pytest.raises(unbox.OptionError, match="truth"):
        unbox.physics.generate("ttbar", events=10, out=tmp_path / "t.hepmc", truth=True)
