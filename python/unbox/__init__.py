"""unbox: explain neural-network classifiers in particle physics, from Python.

The whole C++ library behind the ``unbox`` command line, with the command line's method
names and options as keyword arguments::

    import unbox
    model = unbox.load("m.unbox")                  # or "m.onnx", or unbox.from_torch(net, x)
    r = unbox.taylor(model, df, label="label", order=2)
    r.table()          # the command line's text
    r.to_dict()        # the command line's --json
    r.to_pandas()      # the ranking as a DataFrame

Events are NumPy arrays, pandas DataFrames (columns by name), dicts of arrays (several
inputs, tensor inputs), an ``unbox.Dataset`` from ``unbox.read("events.h5:/train")``, or a
file name. Labels and weights are column names or arrays.

What is copied: a float64 C-contiguous array is not copied: the library reads it in place
(and keeps it alive) whenever it is a model input as it stands: a tensor input (PFN
particles, CNN images), an array given under the input's name (a dict or tuple entry), or
a 2-D array for a model that names no columns (from_torch, ONNX). Contiguous float64
columns (a DataFrame read from a file or made from a dict, a dict's arrays) are read in
place too and gathered once into the input matrix.
float32, integer, Fortran-order and strided arrays are converted in one copy. Since the
events are read in place, changing an array after ``unbox.events(...)`` changes what the
bound events see. Everything a method returns per event (Taylor coefficients, relevances,
attributions, maximization points, model outputs and gradients, ``Dataset`` columns) is a
NumPy view of the C++ result, not a copy; the view keeps the result alive.

Errors are ``unbox.Error`` (and its subclasses ``InputError`` for files that cannot be
read, ``OptionError`` for unknown or bad options, ``UnsupportedModelError`` for ONNX
models unbox cannot import), with the command line's messages. Long calls release the GIL,
show a progress bar (tqdm when installed, else the library's own; ``progress=False``
hides it, a callable receives (done, total)) and stop on Ctrl-C (KeyboardInterrupt). ``unbox.set_threads(n)`` sets the OpenMP threads;
results do not depend on it.
"""

import html as _html
import inspect as _inspect
import io as _io
import json as _json

import numpy as _np

from . import _unbox
from ._unbox import Dataset, Error, InputError, OptionError, UnsupportedModelError, set_threads, threads

__all__ = [
    "Error", "InputError", "OptionError", "UnsupportedModelError", "Dataset", "Model", "Result",
    "set_threads", "threads", "load", "from_torch", "train", "read", "events",
    "taylor", "lrp", "attribute", "mutual_info", "activation_difference", "maximize", "caveman",
    "ado", "ado_search", "eval", "efp", "isolation", "efp_graphs", "physics",
]


# ---- data ---------------------------------------------------------------------------------------

def read(spec, allow_nan=False):
    """Read events from a file: CSV, .npy, .npz or HDF5 ("file.h5:/group" selects a group).

    Returns an ``unbox.Dataset``: ``ds.names``, ``ds["col"]`` (a NumPy view, no copy),
    ``ds.to_pandas()``. A file that cannot be read raises ``unbox.InputError`` naming it.
    """
    return _unbox.read(str(spec), allow_nan)


def _dataset_to_pandas(self):
    """The 1-D columns as a pandas DataFrame (N-D arrays are left out)."""
    import pandas as pd
    cols = {k: v for k, v in self.columns().items() if v.ndim == 1}
    return pd.DataFrame(cols, copy=False)


def _dataset_repr(self):
    return f"<unbox.Dataset {self.source or '(in memory)'}: {self.events} events, columns {', '.join(self.names)}>"


Dataset.to_pandas = _dataset_to_pandas
Dataset.__repr__ = _dataset_repr


def _as_numpy(x):
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return x


def _free_name(ds, name):
    while ds.has(name):
        name = "_" + name
    return name


def _to_dataset(data, label=None, weight=None, model=None, allow_nan=False):
    """Any supported event container -> a fresh _unbox.Dataset with label/weight set."""
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        ds = _unbox.read(str(data), allow_nan)
    elif isinstance(data, _unbox.Dataset):
        ds = _unbox.Dataset()
        ds.source = data.source
        for name in data.names:
            ds.add(name, data[name])
        if label is None and data.label_column:
            label = data.label_column
        if weight is None and data.weight_column:
            weight = data.weight_column
    else:
        ds = _unbox.Dataset()
        if hasattr(data, "columns") and hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas
            ds.source = "DataFrame"
            for c in data.columns:
                if data[c].dtype.kind in "fiub":  # text columns stay behind (a binding needing one names it)
                    ds.add(str(c), data[c].to_numpy())
        elif isinstance(data, dict):
            ds.source = "dict"
            for k, v in data.items():
                ds.add(str(k), _as_numpy(v))
        elif isinstance(data, (tuple, list)) and model is not None:
            names = [n for n, _ in model._m.inputs]
            if len(data) != len(names):
                raise OptionError(f"{len(data)} arrays for a model with {len(names)} inputs ({', '.join(names)})")
            ds.source = "arrays"
            for n, v in zip(names, data):
                ds.add(n, _as_numpy(v))
        else:
            x = _as_numpy(data)
            arr = _np.asarray(x)
            ds.source = "array"
            if model is not None and len(model._m.inputs) == 1:
                name, shape = model._m.inputs[0]
                feats = model._m.feature_names(0)
                if len(shape) == 1 and model._m.names_columns and arr.ndim == 2 and arr.shape[1] == len(feats):
                    for j, f in enumerate(feats):  # columns named as the model names them
                        ds.add(f, arr[:, j])
                else:
                    ds.add(name, arr)
            elif arr.ndim == 2:
                for j in range(arr.shape[1]):
                    ds.add(f"x{j}", arr[:, j])
            else:
                raise OptionError("events: give a DataFrame, a dict of arrays, a 2-D array, a Dataset or a file name")
    if isinstance(label, str):
        ds[label]  # the library's "no column 'x' in <source>; it has: ..." error
        ds.label_column = label
    elif label is not None:
        name = _free_name(ds, "label")
        ds.add(name, _as_numpy(label))
        ds.label_column = name
    elif ds.has("label"):
        ds.label_column = "label"  # as the command line: a column named label is the label
    if isinstance(weight, str):
        ds[weight]
        ds.weight_column = weight
    elif weight is not None:
        name = _free_name(ds, "weight")
        ds.add(name, _as_numpy(weight))
        ds.weight_column = name
    return ds


def events(data, model=None, label=None, weight=None, columns=None, first=0, allow_nan=False):
    """Bind events to a model's inputs once (to reuse them across several methods).

    data: DataFrame, dict of arrays, 2-D array, tuple of arrays (one per model input),
    unbox.Dataset or file name. label / weight: a column name or an array (default: the
    column named "label" when there is one). columns: the data columns feeding a single flat
    input, in order. first: keep the first N events (0: all).
    """
    if isinstance(data, _unbox.Events):
        return data
    ds = _to_dataset(data, label, weight, model, allow_nan)
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    return _unbox.bind(model._m if model is not None else None, ds, list(columns or []), int(first), True)


# ---- models ------------------------------------------------------------------------------------

class Model:
    """A network unbox can explain (native .unbox, ONNX, or exported from PyTorch).

    model(x) and model.predict(x, neurons=[...], gradient=True) evaluate it; model.info()
    is `unbox info --json`; model.neurons lists the neuron names (L2N12, ..., output).
    """

    def __init__(self, handle, training=None):
        self._m = handle
        self.training = training  # the training summary when unbox.train made it

    @property
    def source(self):
        return self._m.source

    @property
    def neurons(self):
        """Neuron names: every hidden neuron after its activation (L1N0, ...) and output."""
        return list(self._m.neurons)

    @property
    def inputs(self):
        """[(input name, per-event shape)]."""
        return [(n, list(s)) for n, s in self._m.inputs]

    @property
    def features(self):
        """The feature names of input 0 (data columns for models trained by unbox)."""
        return list(self._m.feature_names(0))

    def info(self):
        """The model as `unbox info --json` shows it (inputs, layers, nodes, metadata)."""
        return self._m.info()

    def summary(self):
        """The text of `unbox info`: inputs, standardization, layer table with the neuron
        names, training."""
        return self._m.summary()

    def predict(self, x, neurons=None, gradient=False, batch=4096, label=None, weight=None, columns=None, first=0):
        """Values of neurons for every event of x.

        neurons: a name or a list (default "output"). Returns an array [N] for one neuron,
        [N, k] for several. gradient=True returns (values, gradients): the exact gradient of
        each neuron with respect to each raw input, shaped like the input (an array for a
        one-input model, else a list per input; a list per neuron for several neurons).
        """
        single = neurons is None or isinstance(neurons, str)
        names = ["output"] if neurons is None else ([neurons] if isinstance(neurons, str) else list(neurons))
        ev = events(x, self, label=label, weight=weight, columns=columns, first=first)
        values, grads = self._m.predict(ev, names, bool(gradient), int(batch))
        if single:
            values = values[:, 0]
        if not gradient:
            return values
        per = [g[0] if len(g) == 1 else list(g) for g in grads]
        return values, (per[0] if single else per)

    def __call__(self, x, **kw):
        """model(x): the output for every event (as predict(x))."""
        return self.predict(x, **kw)

    def save(self, path):
        """Write the native .unbox file (bit-exact)."""
        self._m.save(str(path))

    def export_onnx(self, path):
        """Write an ONNX file (float64, standard operators)."""
        self._m.export_onnx(str(path))

    def __repr__(self):
        info = self.info()
        ins = "; ".join(f"{i['name']} {i['shape']}" for i in info["inputs"])
        return f"<unbox.Model {self.source}: inputs {ins}; {info['parameters']} parameters>"


def load(path):
    """Load a model: native .unbox or ONNX (chosen by content). Bad files: unbox.InputError."""
    return Model(_unbox.load(str(path)))


def from_torch(module, example_input, input_names=None, opset=13):
    """A PyTorch module as an unbox Model, through ONNX in memory.

    The module is exported in double precision (a copy; the original is untouched) with
    torch.onnx.export into a BytesIO and imported from those bytes, so its outputs equal
    torch's to round-off. example_input: a tensor, or a tuple of tensors for several inputs
    (e.g. a CNN with a side input). input_names: ONNX input names (default x, or x0, x1, ...);
    events bind to them by name (a dict of arrays) or in order (a tuple of arrays).
    """
    import copy
    import torch

    args = example_input if isinstance(example_input, tuple) else (example_input,)
    args = tuple(torch.as_tensor(_np.asarray(_as_numpy(a))).double() for a in args)
    if input_names is None:
        input_names = ["x"] if len(args) == 1 else [f"x{i}" for i in range(len(args))]
    m = copy.deepcopy(module).double().eval()
    buf = _io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(m, args, buf, input_names=list(input_names), output_names=["output"],
                          dynamic_axes={n: {0: "batch"} for n in list(input_names) + ["output"]},
                          opset_version=opset)
    return Model(_unbox.load_onnx_bytes(buf.getvalue(), f"<torch {type(module).__name__}>"))


def train(data, label="label", weight=None, progress=True, allow_nan=False, **options):
    """Train a classifier as `unbox train` does (same options, same weights for the same seed).

    data: DataFrame, dict, Dataset or file; label / weight: column names or arrays.
    progress: a tqdm bar when tqdm is installed (else the library's own bar); False: silent.
    Returns a Model whose .training holds the summary (history, best epoch, AUC).
    """
    ds = _to_dataset(data, label, weight, None, allow_nan)
    hook = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            options.setdefault("quiet", True)
            bar = tqdm(desc="train", unit="step", leave=False)
            state = {"last": 0}

            def hook(e):
                if e["kind"] == "step":
                    bar.update(e["step"] - state["last"])
                    state["last"] = e["step"]
                    bar.set_postfix(epoch=e["epoch"], loss=f"{e['loss']:.4f}", refresh=False)
                else:
                    bar.set_postfix(epoch=e["epoch"], val_loss=f"{e['val_loss']:.4f}", val_auc=f"{e['val_auc']:.4f}")
        else:
            options.setdefault("quiet", False)
    else:
        options.setdefault("quiet", True)
    try:
        handle, summary = _unbox.train(ds, options, hook)
    finally:
        if hook is not None:
            bar.close()
    return Model(handle, summary)


_train_defaults = _unbox.train_defaults()
_train_sig = [_inspect.Parameter("data", _inspect.Parameter.POSITIONAL_OR_KEYWORD),
              _inspect.Parameter("label", _inspect.Parameter.POSITIONAL_OR_KEYWORD, default="label"),
              _inspect.Parameter("weight", _inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
              _inspect.Parameter("progress", _inspect.Parameter.KEYWORD_ONLY, default=True),
              _inspect.Parameter("allow_nan", _inspect.Parameter.KEYWORD_ONLY, default=False)]
_train_sig += [_inspect.Parameter(k, _inspect.Parameter.KEYWORD_ONLY, default=v)
               for k, v in _train_defaults.items() if k != "quiet"]
train.__signature__ = _inspect.Signature(_train_sig)
train.__doc__ += """
Options (the command line's): arch ('paper' or widths '64,64' or 'pfn:PHI:F'; required),
activation, output (sigmoid/tanh; default tanh for paper), loss (auto, bce or mse; bce on a
tanh output reads it as P(signal) = (1 + tanh z) / 2), preprocess (standardize or
clip3-minmax), columns (input columns; default all but label and weight), epochs, batch,
lr, l1 (-1: the architecture's default), l2, patience, validation, balance, seed.
"""


# ---- results ------------------------------------------------------------------------------------

_MAIN_TABLE = {
    "taylor": "features", "activation_difference": "ranking", "ado_search": "steps",
}


class Result:
    """A method's result: the C++ result's fields as attributes (from its JSON, plus
    per-event arrays as NumPy views), .table() (the command line's text), .to_dict() (its
    --json), .to_pandas() (the main table), and an HTML view for notebooks."""

    def __init__(self, handle):
        self._r = handle
        self._d = None

    @property
    def method(self):
        return self._r.method

    def table(self):
        """The text the command line prints."""
        return self._r.table

    def to_dict(self):
        """The command line's --json, as Python objects."""
        if self._d is None:
            self._d = _json.loads(self._r.json)
        return self._d

    def to_json(self, indent=2):
        return _json.dumps(self.to_dict(), indent=indent)

    @property
    def arrays(self):
        """Per-event arrays (NumPy views of the C++ result)."""
        return dict(self._r.arrays)

    def frame_names(self):
        return list(self._r.frames.keys())

    def to_pandas(self, which=None):
        """The result's main table as a DataFrame; which= names another table
        ("per_event", "points", "roc", "values", "data", ... see frame_names())."""
        import pandas as pd
        frames = self._r.frames
        if which is not None:
            if which not in frames:
                raise OptionError(f"{self.method}: no table '{which}'; it has: {', '.join(frames.keys())}")
            return pd.DataFrame(dict(frames[which]), copy=False)
        d = self.to_dict()
        m = self.method
        if m in _MAIN_TABLE:
            df = pd.DataFrame(d[_MAIN_TABLE[m]])
            first = [c for c in ("name", "variable", "added", "variables", "order", "value", "ad", "err")
                     if c in df.columns]
            return df[first + [c for c in df.columns if c not in first]]
        if m == "mutual_info":
            return pd.DataFrame(self._r.arrays["nmi"], index=d["neurons"], columns=d["variables"])
        if m in ("lrp", "attribute"):
            mnr = d["mean_normalized_relevance"]
            df = pd.DataFrame({"mnr": pd.Series(mnr)})
            pc = d.get("mean_normalized_relevance_per_class")
            if pc:
                for c in ("signal", "background"):
                    df[f"mnr_{c}"] = pd.Series(pc[c])
            df["mean"] = pd.Series(d["mean_relevance"])
            return df.sort_values("mnr", ascending=False)
        for key in ("roc", "points", "values", "data", "per_event"):
            if key in frames:
                return pd.DataFrame(dict(frames[key]), copy=False)
        return pd.DataFrame([{k: v for k, v in d.items() if not isinstance(v, (list, dict))}])

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        arrays = self._r.arrays
        if name in arrays:
            return arrays[name]
        d = self.to_dict()
        if name in d:
            return d[name]
        raise AttributeError(f"{self.method} result has no field '{name}'; it has: "
                             f"{', '.join(sorted(set(d) | set(arrays.keys())))}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.to_dict()) | set(self._r.arrays.keys()))

    def __repr__(self):
        return self.table()

    def _repr_html_(self):
        out = f"<b>unbox.{_html.escape(self.method)}</b>"
        try:
            out += self.to_pandas().head(30).to_html()
        except Exception:  # a result without a table shape: its text
            pass
        out += f"<details><summary>text</summary><pre>{_html.escape(self.table())}</pre></details>"
        return out


# ---- methods -------------------------------------------------------------------------------------

_BINDING = """
Events: ``events`` is a DataFrame, dict of arrays, 2-D array, tuple of arrays (one per model
input), unbox.Dataset, file name, or unbox.events(...). Binding keywords: label and weight
(column names or arrays; default: a column named "label"), columns (data columns feeding a
single flat input, in order), first (the first N events; the command line's --events),
allow_nan.
"""

_DOCS = {
    "taylor": """Taylor-expansion analysis (Wunsch et al.; `unbox taylor`): rank single variables,
pairs and triples by the mean absolute Taylor coefficient of a neuron.

Options: neuron ("output", "output:pre", "L2N12", ...), order (1..3), convention
("monomial" as tayloranalysis, "derivative"), units ("standardized" or "physical"), rows /
top (table rows), top_percent (name the top P % of features and their variables),
per_event (keep every event's coefficients: result.coefficients [N, F], result.value,
to_pandas("per_event")), batch (0: automatic).""",
    "lrp": """Layer-wise relevance propagation (`unbox lrp`).

Options: composite (epsilon-gamma-box, ...), rule (one rule for every layer), layer_rule
("L1=flat,L3=epsilon"), epsilon, gamma, neuron (default output:pre), canonize, bins, rows,
profile (inputs whose profile table is printed), batch. Per event: result.relevance [N, F],
result.inputs, result.output, result.input_sum, result.bias, result.absorbed_epsilon,
result.other; to_pandas() is the mean normalized relevance per feature.""",
    "attribute": """Gradient attributions (`unbox attribute`): saliency, gradxinput, ig
(integrated gradients), smoothgrad.

Options: method, neuron, baseline (mean, zero, ...), steps, samples, noise, seed, bins,
rows, profile, batch. Per event: result.scores [N, F], result.inputs, result.f_x,
result.f_baseline, result.completeness_error.""",
    "mutual_info": """Mutual information between neurons and variables (Roxlo & Reece; `unbox mi`).

Options: neurons ("all", "L2", "L2N3", ...), variables (data columns or neurons; default
the model's inputs), estimator (binned, ksg), binning (equal-frequency, equal-width), bins,
k, knn_events, top, seed, batch. result.nmi and result.mi_nats are [neurons, variables]
arrays; to_pandas() is the NMI matrix.""",
    "activation_difference": """Activation difference (Roxlo & Reece eq. 2; `unbox ad`).

Options: neuron, layer ("L0" inputs or "Lk"), samples, bootstrap, top, seed, batch.""",
    "maximize": """Activation maximization (`unbox maximize`): a population of inputs driving a
neuron past a threshold.

Options: neuron, threshold (required), points, minimize, steps, step_size (lr), box (data,
std:K, sample), hold_discrete, discrete_max, plausibility, components, seed, batch.
result.points, result.start, result.activation, result.converged; to_pandas() the points.""",
    "caveman": """The caveman variable (`unbox caveman`): a closed-form approximation of a neuron
from its maximization population.

Options: population (an unbox.Dataset, DataFrame or file of maximize's points; required),
neuron, terms, histograms_per_dim, clusters, density, fit_events, fit_iterations, seed.""",
    "ado": """Average decision ordering between two discriminants (`unbox ado`).

Options: score, against (data columns, or neurons of the model), batch. model may be None
when both are data columns.""",
    "ado_search": """The guided ADO search (Faucett et al.; `unbox ado search`).

Options: target (column or neuron), base (HL columns of the first network), pool, arch,
activation, epochs, patience, learning_rate, batch, train_fraction, max_pairs, steps,
margin, seed, quiet. model may be None when the target is a column.""",
    "eval": """Classifier metrics (`unbox eval`): AUC, efficiencies, the AMS scan, the ROC curve.

Options: neuron, score (a data column instead of a model: pass model=None), lumi, br,
batch. to_pandas() is the ROC curve.""",
}


_PROGRESS = """
Progress: progress=True (default) shows a tqdm bar when tqdm is installed (after half a
second, so quick calls stay quiet), else the library's own bar on stderr (on a terminal);
False shows nothing; a callable progress(done, total) receives the counts itself (done
never decreases and ends at total; it is called with the GIL held, possibly from a worker
thread). The call releases the GIL while it works; Ctrl-C (KeyboardInterrupt) stops it.
"""


def _progress_hook(name, progress):
    """The progress argument of a compiled call and what closes it afterwards."""
    if progress is None or progress is False:
        return None, None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return True, None  # the library's own bar (unbox::Progress on stderr)
        bar = tqdm(total=None, desc=name, leave=False, delay=0.5)

        def update(done, total):
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)
        return update, bar.close
    if callable(progress):
        return progress, None
    raise OptionError(f"{name}: progress must be True, False or a callable(done, total)")


def _make_method(name):
    defaults = _unbox.method_defaults[name]
    run = getattr(_unbox, name)

    def method(model, events_=None, *, label=None, weight=None, columns=None, first=0, allow_nan=False,
               progress=True, **options):
        if "events" in options:  # given by keyword
            events_ = options.pop("events")
        if events_ is None:
            raise OptionError(f"{name} needs events")
        ev = events(events_, model, label=label, weight=weight, columns=columns, first=first, allow_nan=allow_nan)
        if name == "caveman" and options.get("population") is not None:
            options["population"] = _to_dataset(options["population"])
        hook, close = _progress_hook(name, progress)
        try:
            return Result(run(model._m if model is not None else None, ev, options, hook))
        finally:
            if close is not None:
                close()

    P = _inspect.Parameter
    params = [P("model", P.POSITIONAL_OR_KEYWORD), P("events", P.POSITIONAL_OR_KEYWORD)]
    params += [P(k, P.KEYWORD_ONLY, default=v) for k, v in
               (("label", None), ("weight", None), ("columns", None), ("first", 0), ("allow_nan", False),
                ("progress", True))]
    params += [P(k, P.KEYWORD_ONLY, default=v) for k, v in defaults.items()]
    method.__signature__ = _inspect.Signature(params)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = _DOCS[name] + "\n" + _BINDING + _PROGRESS + "\nReturns an unbox.Result."
    return method


taylor = _make_method("taylor")
lrp = _make_method("lrp")
attribute = _make_method("attribute")
mutual_info = _make_method("mutual_info")
activation_difference = _make_method("activation_difference")
maximize = _make_method("maximize")
caveman = _make_method("caveman")
ado = _make_method("ado")
ado_search = _make_method("ado_search")
eval = _make_method("eval")  # noqa: A001 (the command line's name)


def efp(data, *, label=None, dmax=3, connected=False, kappa=1.0, beta=1.0, particles="p{i}_{var}", pt="pt",
        eta="eta", phi="phi", max_particles=0, quiet=True):
    """Energy flow polynomials (`unbox efp`) of jets given as particle columns
    (pattern p{i}_{var}; pT = 0 is padding): one column per EFP graph with d <= dmax.
    result.to_pandas() is the EFP table; result.graphs the graphs."""
    ds = _to_dataset(data, label)
    opts = dict(dmax=dmax, connected=connected, kappa=kappa, beta=beta, particles=particles, pt=pt, eta=eta,
                phi=phi, max_particles=max_particles, quiet=quiet)
    return Result(_unbox.efp(ds, opts))


def efp_graphs(dmax=3, connected=False):
    """The EFP graphs with d <= dmax (as `unbox efp --list --json`)."""
    return _unbox.efp_graphs(dmax, connected)


def isolation(data, *, r0=(0.1, 0.2, 0.3, 0.4), veto=1e-5, ref_pt="ref_pt", ref_eta="ref_eta", ref_phi="ref_phi",
              particles="p{i}_{var}", pt="pt", eta="eta", phi="phi", max_particles=0):
    """Isolation-cone observables (`unbox isolation`): I(R0) = sum of particle pT within
    DeltaR < R0 of a reference direction, for each R0. result.to_pandas() is the table."""
    ds = _to_dataset(data)
    opts = dict(r0=list(r0), veto=veto, ref_pt=ref_pt, ref_eta=ref_eta, ref_phi=ref_phi, particles=particles,
                pt=pt, eta=eta, phi=phi, max_particles=max_particles)
    return Result(_unbox.isolation(ds, opts))


from . import physics  # noqa: E402
