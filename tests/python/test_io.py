"""Cross-checks of unbox's data readers and writers against numpy, h5py and pandas.

Files are written by the Python libraries, converted by the test-only program
`unbox_convert IN OUT` (unbox's read_dataset + write_dataset), and compared exactly
(bit-equal for float64). Files written by unbox are read back by numpy/h5py/pandas.
"""
import csv
import os
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest

AWKWARD = np.array(
    [0.1, 1 / 3, -2 / 3, 1e-310, 5e-324, -0.0, 0.0, 1.7976931348623157e308, -1.7976931348623157e308,
     2.2250738585072014e-308, 9007199254740993.0, 123456789012345678.0, 1e22, 1e23, 0.30000000000000004, 42.0],
    dtype=np.float64)


@pytest.fixture(scope="session")
def convert_bin():
    path = os.environ.get("UNBOX_CONVERT")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "unbox_convert")
    assert os.path.exists(path), f"unbox_convert not found at {path}; build the unbox_convert target first"
    return path


@pytest.fixture
def convert(convert_bin):
    def run(src, dst, *extra, expect_ok=True):
        proc = subprocess.run([convert_bin, str(src), str(dst), *extra], capture_output=True, text=True)
        if expect_ok:
            assert proc.returncode == 0, f"unbox_convert {src} {dst} failed: {proc.stderr}"
        return proc

    return run


def bits(a):
    """float64 bit patterns, so -0.0 != 0.0 and NaNs compare by payload."""
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64)).view(np.uint64)


def assert_bit_equal(actual, expected):
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.dtype == np.float64
    assert actual.shape == expected.shape
    assert np.array_equal(bits(actual), bits(expected))


def npz_dict(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def rng():
    return np.random.default_rng(20240611)


# ---------------------------------------------------------------------------- numpy in


@pytest.mark.parametrize("dtype", ["<f4", "<f8", "<i8", "<i4", "|u1", "|b1", ">f8", ">i2"])
def test_npy_1d_dtypes_become_one_column_named_after_the_file(tmp_path, convert, dtype):
    values = (rng().normal(size=50) * 100).astype(dtype)
    np.save(tmp_path / "met.npy", values)
    convert(tmp_path / "met.npy", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["met"]
    assert_bit_equal(out["met"], values.astype(np.float64))


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_2d_c_and_fortran_order_become_columns_c0_c1(tmp_path, convert, order):
    table = np.asarray(rng().normal(size=(40, 3)), order=order)
    table[0, 0], table[1, 1], table[2, 2] = AWKWARD[0], AWKWARD[3], AWKWARD[5]
    np.save(tmp_path / "t.npy", table)
    assert np.load(tmp_path / "t.npy").flags.f_contiguous == (order == "F")
    convert(tmp_path / "t.npy", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["c0", "c1", "c2"]
    for j in range(3):
        assert_bit_equal(out[f"c{j}"], table[:, j])
    # And to CSV: numpy reads back the same doubles.
    convert(tmp_path / "t.npy", tmp_path / "out.csv")
    back = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    assert_bit_equal(back, table)


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_nd_becomes_one_tensor(tmp_path, convert, order):
    images = np.asarray(rng().normal(size=(7, 3, 4, 5)).astype(np.float32), order=order)
    np.save(tmp_path / "images.npy", images)
    convert(tmp_path / "images.npy", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["images"]
    assert_bit_equal(out["images"], images.astype(np.float64))


def test_npy_int64_2d_big_values(tmp_path, convert):
    ints = np.array([[2**53, -(2**53)], [2**40 + 1, 7]], dtype=np.int64)
    np.save(tmp_path / "i.npy", ints)
    convert(tmp_path / "i.npy", tmp_path / "out.csv")
    df = pd.read_csv(tmp_path / "out.csv")
    assert list(df.columns) == ["c0", "c1"]
    assert np.array_equal(df.to_numpy(dtype=np.float64), ints.astype(np.float64))


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_one_array_per_column_and_a_tensor(tmp_path, convert, compressed):
    g = rng()
    n = 30
    arrays = {
        "pt": g.exponential(size=n) * 50,
        "eta": g.normal(size=n).astype(np.float32),
        "label": (g.random(n) > 0.5).astype(np.int64),
        "jets": g.normal(size=(n, 4, 3)),
    }
    arrays["pt"][:len(AWKWARD)] = AWKWARD
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "in.npz", **arrays)
    convert(tmp_path / "in.npz", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == list(arrays)
    for k, v in arrays.items():
        assert_bit_equal(out[k], v.astype(np.float64))


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("names_dtype", ["U", "S"])
def test_npz_columns_array_names_the_2d_table(tmp_path, convert, compressed, names_dtype):
    table = rng().normal(size=(25, 3))
    names = np.array(["pt_lead", "eta", "m_bb"], dtype=names_dtype)
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "in.npz", data=table, columns=names)
    convert(tmp_path / "in.npz", tmp_path / "out.csv")
    df = pd.read_csv(tmp_path / "out.csv", float_precision="round_trip")
    assert list(df.columns) == ["pt_lead", "eta", "m_bb"]
    assert_bit_equal(df.to_numpy(), table)


def test_npz_single_2d_array_without_names(tmp_path, convert):
    table = rng().normal(size=(10, 2))
    np.savez(tmp_path / "in.npz", table)  # stored as arr_0
    convert(tmp_path / "in.npz", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["c0", "c1"]
    assert_bit_equal(out["c1"], table[:, 1])


# ---------------------------------------------------------------------------- h5py in


def test_h5py_group_of_columns_and_tensors(tmp_path, convert):
    g = rng()
    n = 20
    with h5py.File(tmp_path / "in.h5", "w") as f:
        grp = f.create_group("events")
        grp["b_pt"] = g.normal(size=n)
        grp["a_eta"] = g.normal(size=n).astype(np.float32)
        grp["label"] = np.arange(n, dtype=np.int32) % 2
        grp["tracks"] = g.normal(size=(n, 5, 2))
    with h5py.File(tmp_path / "in.h5", "r") as f:
        expected = {k: f["events"][k][()] for k in f["events"]}  # h5py's own (name) order
    for spec in [tmp_path / "in.h5", f"{tmp_path / 'in.h5'}:/events"]:
        convert(spec, tmp_path / "out.npz")
        out = npz_dict(tmp_path / "out.npz")
        assert list(out) == list(expected)
        for k, v in expected.items():
            assert_bit_equal(out[k], v.astype(np.float64))


def test_h5py_group_with_tracked_creation_order_keeps_it(tmp_path, convert):
    with h5py.File(tmp_path / "in.h5", "w", track_order=True) as f:
        f["zeta"] = np.arange(3.0)
        f["alpha"] = np.arange(3.0) + 10
    convert(tmp_path / "in.h5", tmp_path / "out.csv")
    assert open(tmp_path / "out.csv").readline().strip() == "zeta,alpha"


@pytest.mark.parametrize("with_names", [False, True])
def test_h5py_2d_dataset(tmp_path, convert, with_names):
    table = rng().normal(size=(15, 3))
    table[:len(AWKWARD[:15]), 0] = AWKWARD[:15]
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["table"] = table
        if with_names:
            f["table"].attrs["columns"] = ["x", "y", "z"]  # variable-length UTF-8 strings
    convert(tmp_path / "in.h5", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    names = ["x", "y", "z"] if with_names else ["c0", "c1", "c2"]
    assert list(out) == names
    for j, name in enumerate(names):
        assert_bit_equal(out[name], table[:, j])


def test_h5py_2d_dataset_with_fixed_length_byte_names(tmp_path, convert):
    table = rng().normal(size=(4, 2))
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["t"] = table
        f["t"].attrs["columns"] = np.array([b"met", b"ht"], dtype="S3")
    convert(f"{tmp_path / 'in.h5'}:/t", tmp_path / "out.npz")
    assert list(npz_dict(tmp_path / "out.npz")) == ["met", "ht"]


def test_h5py_compound_table(tmp_path, convert):
    n = 12
    g = rng()
    rec = np.zeros(n, dtype=[("pt", "<f8"), ("name", "S8"), ("njet", "<i4"), ("eta", "<f4"), ("w", ">f8")])
    rec["pt"] = g.normal(size=n)
    rec["pt"][:6] = AWKWARD[:6]
    rec["name"] = b"evt"
    rec["njet"] = g.integers(0, 10, size=n)
    rec["eta"] = g.normal(size=n)
    rec["w"] = g.random(n)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["events"] = rec
    convert(tmp_path / "in.h5", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["pt", "njet", "eta", "w"]  # the text member is not a number column
    for k in out:
        assert_bit_equal(out[k], rec[k].astype(np.float64))


# ---------------------------------------------------------------------------- pandas in


def make_frame(n=30):
    g = rng()
    df = pd.DataFrame({
        "pt": g.exponential(size=n) * 40,
        "label": (g.random(n) > 0.5).astype(np.int64),
        "eta": g.normal(size=n),
        "njets": g.integers(0, 8, size=n).astype(np.int32),
        "phi": g.uniform(-np.pi, np.pi, size=n).astype(np.float32),
    })
    df.loc[: len(AWKWARD) - 1, "pt"] = AWKWARD
    return df


def test_pandas_to_hdf_fixed_with_several_blocks(tmp_path, convert):
    df = make_frame()
    df.to_hdf(tmp_path / "in.h5", key="df", format="fixed")
    with h5py.File(tmp_path / "in.h5", "r") as f:
        blocks = [k for k in f["df"] if k.endswith("_values")]
    assert len(blocks) >= 3, blocks  # float64, int64, int32, float32 blocks
    for spec in [tmp_path / "in.h5", f"{tmp_path / 'in.h5'}:/df", f"{tmp_path / 'in.h5'}:df"]:
        convert(spec, tmp_path / "out.npz")
        out = npz_dict(tmp_path / "out.npz")
        assert list(out) == list(df.columns)  # axis0 order restored across blocks
        for c in df.columns:
            assert_bit_equal(out[c], df[c].to_numpy().astype(np.float64))


def test_pandas_two_keys_need_a_path(tmp_path, convert):
    df = make_frame()
    df.to_hdf(tmp_path / "in.h5", key="train", format="fixed")
    df.iloc[:5].to_hdf(tmp_path / "in.h5", key="test", format="fixed")
    proc = convert(tmp_path / "in.h5", tmp_path / "out.npz", expect_ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"'{tmp_path / 'in.h5'}:/' holds no numeric datasets; it holds: "
                                   "group 'test', group 'train' (select a table with file.h5:/path)")
    convert(f"{tmp_path / 'in.h5'}:/test", tmp_path / "out.npz")
    assert len(npz_dict(tmp_path / "out.npz")["pt"]) == 5


@pytest.mark.parametrize("index", [False, True])
def test_pandas_to_csv(tmp_path, convert, index):
    df = make_frame()
    df.to_csv(tmp_path / "in.csv", index=index)
    convert(tmp_path / "in.csv", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    expected_names = (["unnamed_0"] if index else []) + list(df.columns)
    assert list(out) == expected_names
    # Reference: Python's correctly rounded float() of the very text pandas wrote (for
    # the float32 column that text is the shortest float32 form, not the float64 value).
    with open(tmp_path / "in.csv", newline="") as f:
        rows = list(csv.reader(f))
    for j, name in enumerate(rows[0]):
        expected = np.array([float(r[j]) for r in rows[1:]])
        assert_bit_equal(out[name or "unnamed_0"], expected)
    for c in ["pt", "eta", "label", "njets"]:  # float64 and integers: exactly the frame's values
        assert_bit_equal(out[c], df[c].to_numpy().astype(np.float64))


# ---------------------------------------------------------------------------- unbox out


def test_unbox_written_npz_h5_csv_read_by_numpy_h5py_pandas(tmp_path, convert):
    g = rng()
    n = len(AWKWARD)
    arrays = {"x": AWKWARD, "y": AWKWARD[::-1].copy(), "cube": g.normal(size=(n, 2, 3))}
    np.savez(tmp_path / "src.npz", **arrays)

    convert(tmp_path / "src.npz", tmp_path / "out.npz")
    out = npz_dict(tmp_path / "out.npz")
    assert list(out) == ["x", "y", "cube"]
    for k, v in arrays.items():
        assert out[k].dtype == np.float64 and out[k].flags.c_contiguous
        assert_bit_equal(out[k], v)

    convert(tmp_path / "src.npz", f"{tmp_path / 'out.h5'}:/physics/events")
    with h5py.File(tmp_path / "out.h5", "r") as f:
        grp = f["physics/events"]
        assert sorted(grp) == sorted(arrays)
        for k, v in arrays.items():
            assert grp[k].dtype == np.float64
            assert_bit_equal(grp[k][()], v)

    convert(tmp_path / "src.npz", tmp_path / "out.h5")  # root
    with h5py.File(tmp_path / "out.h5", "r") as f:
        for k, v in arrays.items():
            assert_bit_equal(f[k][()], v)

    del arrays["cube"]
    np.savez(tmp_path / "cols.npz", **arrays)
    convert(tmp_path / "cols.npz", tmp_path / "out.npy")
    table = np.load(tmp_path / "out.npy")
    assert table.dtype == np.float64 and table.shape == (n, 2)
    assert_bit_equal(table, np.stack([arrays["x"], arrays["y"]], axis=1))

    convert(tmp_path / "cols.npz", tmp_path / "out.csv")
    df = pd.read_csv(tmp_path / "out.csv", float_precision="round_trip")
    assert list(df.columns) == ["x", "y"]
    assert_bit_equal(df["x"].to_numpy(), arrays["x"])
    assert_bit_equal(np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1), table)


def test_nan_refused_then_accepted_and_written_as_nan(tmp_path, convert):
    values = np.array([1.0, np.nan, np.inf, -np.inf])
    np.save(tmp_path / "v.npy", values)
    proc = convert(tmp_path / "v.npy", tmp_path / "out.csv", expect_ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"'{tmp_path / 'v.npy'}' holds nan at event 2; NaN and infinite values are "
                                   "refused")
    assert not (tmp_path / "out.csv").exists()
    convert(tmp_path / "v.npy", tmp_path / "out.csv", "--allow-nan")
    assert open(tmp_path / "out.csv").read() == "v\n1\nnan\ninf\n-inf\n"
    back = pd.read_csv(tmp_path / "out.csv")["v"].to_numpy()
    assert np.isnan(back[1]) and back[2] == np.inf and back[3] == -np.inf


# ---------------------------------------------------------------------------- errors


def test_errors_are_one_line_with_exit_code_2_and_no_output(tmp_path, convert):
    np.save(tmp_path / "c.npy", np.array([1 + 2j, 3j]))
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n3,abc\n")
    (tmp_path / "fake.h5").write_text("not hdf5\n")
    with h5py.File(tmp_path / "real.h5", "w") as f:
        f["x"] = np.arange(3.0)
    full = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "trunc.npy", full)
    data = open(tmp_path / "trunc.npy", "rb").read()
    open(tmp_path / "trunc.npy", "wb").write(data[:-40])
    cases = {
        tmp_path / "c.npy": f"'{tmp_path / 'c.npy'}' has the unsupported dtype '<c16' (complex numbers); "
                            "expected float32/float64, int8..int64, uint8..uint64 or bool",
        tmp_path / "o.npy": f"'{tmp_path / 'o.npy'}' has the unsupported dtype '|O' (Python objects); "
                            "expected float32/float64, int8..int64, uint8..uint64 or bool",
        tmp_path / "bad.csv": f"{tmp_path / 'bad.csv'}:3:2: expected a number in column 'y', found 'abc'",
        tmp_path / "fake.h5": f"'{tmp_path / 'fake.h5'}' is not an HDF5 file (no HDF5 signature found)",
        f"{tmp_path / 'real.h5'}:/y": f"no '/y' in '{tmp_path / 'real.h5'}'; '/' holds: dataset 'x' [3]",
        tmp_path / "trunc.npy": f"'{tmp_path / 'trunc.npy'}' is truncated: its header promises [3, 4] '<f8' values "
                                "(96 bytes) but only 56 bytes follow",
        tmp_path / "missing.csv": f"cannot open '{tmp_path / 'missing.csv'}': No such file or directory",
    }
    for src, message in cases.items():
        proc = convert(src, tmp_path / "out.npz", expect_ok=False)
        assert proc.returncode == 2, src
        assert proc.stderr == message + "\n"
        assert not (tmp_path / "out.npz").exists()
    # N-D data cannot go to CSV: refused, and nothing (not even a temporary) is left behind.
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4)))
    before = sorted(os.listdir(tmp_path))
    proc = convert(tmp_path / "cube.npy", tmp_path / "cube.csv", expect_ok=False)
    assert proc.returncode == 2
    assert proc.stderr == (f"cannot write 'cube' (shape [2, 3, 4]) to CSV '{tmp_path / 'cube.csv'}': "
                           "CSV holds only 1-D columns; write .npz or .h5 instead\n")
    assert sorted(os.listdir(tmp_path)) == before
