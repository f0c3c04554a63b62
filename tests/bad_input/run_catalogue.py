#!/usr/bin/python3
"""The bad-input catalogue (issue 15) as a test.

Builds malformed files in a temporary folder and runs every reader through the subcommands
that use it. For each case that must be refused it checks: exit code 2, the first stderr
line names the file (and, where given, the problem), no output file is left behind (not
even a temporary), and memory stays bounded: in the Release run every command runs under
an address-space limit of 2 GB (ulimit -v); in the sanitizer build (UNBOX_SANITIZED=1)
under ASAN_OPTIONS=hard_rss_limit_mb=2048:allocator_may_return_null=1 instead, since
ASan reserves terabytes of shadow address space.

Usage: run_catalogue.py [-k SUBSTRING] [-v]   (env UNBOX = path of build/unbox)
Events are counted from 1 in every message (the first event of a file is event 1).
"""
import json
import math
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

UNBOX = os.environ.get("UNBOX", "build/unbox")
SANITIZED = os.environ.get("UNBOX_SANITIZED", "") not in ("", "0")
LIMIT = 2 * 1024**3
TIMEOUT = 120 if SANITIZED else 60


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run(args, cwd, env_extra=None):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "2"
    env.pop("UNBOX_MEMORY_BUDGET", None)
    if SANITIZED:
        env["ASAN_OPTIONS"] = "hard_rss_limit_mb=2048:allocator_may_return_null=1:detect_leaks=0"
    if env_extra:
        env.update(env_extra)
    return subprocess.run([UNBOX] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          preexec_fn=None if SANITIZED else limit_memory)


# ----------------------------------------------------------------------------------------
# Good inputs the bad ones are derived from

def good_table(n=40, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    return x, y


def write_csv(path, names, rows, newline="\n"):
    with open(path, "w", newline="") as f:
        f.write(",".join(names) + newline)
        for r in rows:
            f.write(",".join(str(v) for v in r) + newline)


def npy_bytes(descr, shape, payload, version=1):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    total = 10 + len(header) + 1
    header += " " * ((total + 63) // 64 * 64 - total) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def zip_bytes(members, lie_uncompressed=None):
    """A zip of (name, bytes) members, deflated; lie_uncompressed overrides the stated size."""
    out, cd = b"", b""
    for name, data in members:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        z = comp.compress(data) + comp.flush()
        crc = zlib.crc32(data)
        usize = lie_uncompressed if lie_uncompressed is not None else len(data)
        local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21, crc, len(z), usize & 0xFFFFFFFF,
                            len(name), 0) + name.encode()
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 0x031E, 20, 0, 8, 0, 0x21, crc, len(z),
                          usize & 0xFFFFFFFF, len(name), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += local + z
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(members), len(members), len(cd), len(out), 0)
    return out + cd + end


def unbox_model_parts(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[8:16])[0]
    return json.loads(b[16:16 + n]), b[16 + n:-4]


def unbox_model_bytes(header, blob):
    text = json.dumps(header).encode()
    body = b"UNBOXNN1" + struct.pack("<Q", len(text)) + text + blob
    return body + struct.pack("<I", zlib.crc32(body))


HEPMC_HEAD = "HepMC::Version 3.01.02\nHepMC::Asciiv3-START_EVENT_LISTING\n"
HEPMC_FOOT = "HepMC::Asciiv3-END_EVENT_LISTING\n"


def hepmc_event(number=1, vertex="V -1 0 [1,2]", w="W 1.0", units="U GEV MM", p3="11 50 10 5 51.2 0.000511",
                p4="-11 -50 -10 5 51.2 0.000511"):
    lines = [f"E {number} 1 4", units]
    if w:
        lines.append(w)
    # P lines: id parent pdg px py pz e m status
    lines += ["P 1 0 2212 0 0 6500 6500 0.938 4", "P 2 0 2212 0 0 -6500 6500 0.938 4", vertex,
              f"P 3 -1 {p3} 1", f"P 4 -1 {p4} 1"]
    return "\n".join(lines) + "\n"


def hepmc_file(*events):
    return HEPMC_HEAD + "".join(events) + HEPMC_FOOT


HEPMC2 = """HepMC::Version 2.06.09
HepMC::IO_GenEvent-START_EVENT_LISTING
E 1 -1 -1.0 -1.0 -1.0 0 0 1 1 2 0 1 1.0
N 1 "0"
U GEV MM
V -1 0 0 0 0 0 0 2 0
P 3 11 50 10 5 51.2 0.000511 1 0 0 0 0
P 4 -11 -50 -10 5 51.2 0.000511 1 0 0 0 0
HepMC::IO_GenEvent-END_EVENT_LISTING
"""


def lhe_file(events, init=True):
    head = "<LesHouchesEvents version=\"3.0\">\n<header>\n</header>\n"
    if init:
        head += "<init>\n2212 2212 6500 6500 0 0 0 0 3 1\n1.0 0.1 1.0 1\n</init>\n"
    return head + "".join(events) + "</LesHouchesEvents>\n"


def lhe_event(nup=4, weight="1.0", particles=None):
    ps = particles or [
        "21 -1 0 0 501 502 0 0 100 100 0 0 9",
        "21 -1 0 0 502 501 0 0 -100 100 0 0 9",
        "11 1 1 2 0 0 50 10 5 51.2 0.000511 0 9",
        "-11 1 1 2 0 0 -50 -10 5 51.2 0.000511 0 9",
    ]
    return f"<event>\n{nup} 1 {weight} 91 0.0078 0.118\n" + "\n".join(ps) + "\n</event>\n"


# ----------------------------------------------------------------------------------------
# The catalogue

class Case:
    def __init__(self, name, files, commands, expect="refuse", message=None, check=None):
        self.name = name
        self.files = files          # {file name: bytes or str}
        self.commands = commands    # list of argument lists; "{X}" is replaced by the first file
        self.expect = expect        # "refuse" or "accept"
        self.message = message      # substring(s) the first stderr line must hold (case-insensitive)
        self.check = check          # for "accept": f(folder, result) -> error text or None


def data_commands(f, label=True, out_ext="csv"):
    """The subcommands that read an event table, each with an output file."""
    lab = ["--label", "label"] if label else []
    return [
        ["predict", "--model", "MODEL", "--data", f, "--columns", "a,b,c", "--out", "out." + out_ext],
        ["train", "--data", f, "--label", "label", "--arch", "4", "--epochs", "1", "--columns", "a,b,c", "--out",
         "out.unbox", "--quiet"],
        ["eval", "--model", "MODEL", "--data", f, "--columns", "a,b,c"] + lab + ["--roc", "out_roc.csv"],
        ["lrp", "--model", "MODEL", "--data", f, "--columns", "a,b,c", "--out", "out.json"],
        ["attribute", "--model", "MODEL", "--data", f, "--columns", "a,b,c", "--out", "out.json"],
    ]


def model_commands(m):
    return [
        ["info", "--model", m],
        ["predict", "--model", m, "--data", "GOOD", "--columns", "a,b,c", "--out", "out.csv"],
        ["eval", "--model", m, "--data", "GOOD", "--columns", "a,b,c", "--label", "label", "--roc", "out_roc.csv"],
        ["lrp", "--model", m, "--data", "GOOD", "--columns", "a,b,c", "--out", "out.json"],
        ["attribute", "--model", m, "--data", "GOOD", "--columns", "a,b,c", "--out", "out.json"],
    ]


def event_commands(f):
    return [["physics", "features", "--data", f, "--out", "out.csv", "--quiet"]]


def build_cases(good_model):
    x, y = good_table()
    names = ["a", "b", "c", "label"]
    rows = [list(r) + [l] for r, l in zip(x, y)]
    csv_text = ",".join(names) + "\n" + "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)
    cases = []
    C = cases.append

    # --- CSV / TSV
    C(Case("csv_empty", {"empty.csv": ""}, data_commands("empty.csv"), message="empty"))
    C(Case("csv_header_only", {"header.csv": "a,b,c,label\n"}, data_commands("header.csv"), message="no events"))
    C(Case("csv_header_only_crlf", {"header2.csv": "a,b,c,label\r\n\r\n"}, data_commands("header2.csv"),
           message="no events"))
    cr = csv_text.replace("\n", "\r")

    def cr_reads(folder, result):
        out = os.path.join(folder, "out_cr.csv")
        if not os.path.exists(out):
            return "no output"
        n = sum(1 for _ in open(out)) - 1
        return None if n == len(rows) else f"read {n} events, expected {len(rows)}"

    C(Case("csv_cr_only_reads", {"cr.csv": cr},
           [["predict", "--model", "MODEL", "--data", "cr.csv", "--columns", "a,b,c", "--out", "out_cr.csv"]],
           expect="accept", check=cr_reads))
    nan_rows = [r[:] for r in rows]
    nan_rows[4][1] = float("nan")
    C(Case("csv_nan", {"nan.csv": ",".join(names) + "\n" + "".join(",".join(str(v) for v in r) + "\n"
                                                               for r in nan_rows)},
           data_commands("nan.csv"), message=["nan.csv:6", "nan"]))
    inf_rows = [r[:] for r in rows]
    inf_rows[2][0] = float("inf")
    C(Case("csv_inf_line", {"inf.csv": ",".join(names) + "\n" + "".join(",".join(str(v) for v in r) + "\n"
                                                               for r in inf_rows)},
           data_commands("inf.csv"), message=["inf.csv:4"]))
    C(Case("csv_bad_cell", {"cell.csv": csv_text.replace(repr(float(x[3, 2])), "abc", 1)},
           data_commands("cell.csv"), message="abc"))
    C(Case("csv_ragged", {"ragged.csv": csv_text + "1,2\n"}, data_commands("ragged.csv"), message="fields"))
    C(Case("tsv_header_only", {"h.tsv": "a\tb\tc\tlabel\n"}, data_commands("h.tsv"), message="no events"))
    C(Case("csv_binary", {"bin.csv": bytes(range(256)) * 4}, data_commands("bin.csv")))

    # --- npy / npz
    C(Case("npy_truncated", {"trunc.npy": npy_bytes("<f8", (1000, 4), b"\0" * 64)}, data_commands("trunc.npy"),
           message=["trunc.npy", "truncated"]))
    C(Case("npy_huge_shape", {"huge.npy": npy_bytes("<f8", (10**12, 4), b"\0" * 64)}, data_commands("huge.npy"),
           message=["huge.npy"]))
    C(Case("npy_overflow_shape", {"ovf.npy": npy_bytes("<f8", (2**62, 2**62), b"")}, data_commands("ovf.npy"),
           message=["ovf.npy"]))
    C(Case("npy_bad_magic", {"magic.npy": b"NOTNUMPY" + b"\0" * 100}, data_commands("magic.npy"),
           message="magic.npy"))
    C(Case("npy_header_only", {"empty.npy": npy_bytes("<f8", (0, 4), b"")}, data_commands("empty.npy"),
           message="no events"))
    good_npy = npy_bytes("<f8", (40, 4), np.column_stack([x, y]).astype("<f8").tobytes())
    C(Case("npz_huge_member", {"huge.npz": zip_bytes([("arr.npy", good_npy)], lie_uncompressed=0xFFFFFFF0)},
           data_commands("huge.npz"), message=["huge.npz"]))
    C(Case("npz_truncated", {"trunc.npz": zip_bytes([("arr.npy", good_npy)])[:-30]}, data_commands("trunc.npz"),
           message="trunc.npz"))
    inner_huge = npy_bytes("<f8", (10**11, 4), b"\0" * 128)
    C(Case("npz_member_claims_more", {"claims.npz": zip_bytes([("a.npy", inner_huge)])}, data_commands("claims.npz"),
           message="claims.npz"))

    # --- HDF5 (built with h5py when present)
    try:
        import h5py  # noqa: F401
        have_h5py = True
    except ImportError:
        have_h5py = False
    h5_cases = []
    if have_h5py:
        h5_cases = ["h5_huge_extent", "h5_string_column", "h5_empty_table"]
    C(Case("h5_not_hdf5", {"fake.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 200}, data_commands("fake.h5"),
           message="fake.h5"))
    for name in h5_cases:
        C(Case(name, {}, [], message=None))  # files written in materialize()

    # --- .unbox model files
    header, blob = unbox_model_parts(good_model)

    def model_with(mutate, blob_mutate=None):
        h = json.loads(json.dumps(header))
        mutate(h)
        b = blob_mutate(blob) if blob_mutate else blob
        return unbox_model_bytes(h, b)

    def dense_nodes(h):
        return [n for n in h["nodes"] if n.get("type") == "Dense"]

    def set_in(v):
        def f(h):
            dense_nodes(h)[0]["attributes"]["in"] = v
        return f

    C(Case("unbox_layer_huge", {"huge.unbox": model_with(set_in(10**12))}, model_commands("huge.unbox"),
           message="huge.unbox"))
    C(Case("unbox_layer_negative", {"neg.unbox": model_with(set_in(-3))}, model_commands("neg.unbox"),
           message="neg.unbox"))
    C(Case("unbox_layer_wide_shape", {"wide.unbox": model_with(
        lambda h: dense_nodes(h)[0]["tensors"][0].__setitem__("shape", [10**12, 10**12]))},
        model_commands("wide.unbox"), message="wide.unbox"))
    C(Case("unbox_metadata_type", {"meta.unbox": model_with(
        lambda h: h.__setitem__("metadata", {"architecture": 5, "training": "yes"}))},
        model_commands("meta.unbox"), message=["meta.unbox", "metadata"]))
    C(Case("unbox_nan_weights", {"nanw.unbox": model_with(lambda h: None,
                                                          lambda b: struct.pack("<d", float("nan")) + b[8:])},
           model_commands("nanw.unbox"), message=["nanw.unbox", "nan"]))
    C(Case("unbox_truncated", {"trunc.unbox": open(good_model, "rb").read()[:100]}, model_commands("trunc.unbox"),
           message="trunc.unbox"))
    C(Case("unbox_header_len", {"hlen.unbox": b"UNBOXNN1" + struct.pack("<Q", 2**63) + b"{}" + b"\0" * 8},
           model_commands("hlen.unbox"), message="hlen.unbox"))

    # --- ONNX (built with the onnx package)
    try:
        import onnx  # noqa: F401
        onnx_cases = ["onnx_huge_input", "onnx_node_order", "onnx_missing_tensor", "onnx_huge_initializer"]
    except ImportError:
        onnx_cases = []
    for name in onnx_cases:
        C(Case(name, {}, [], message=None))
    C(Case("onnx_garbage", {"junk.onnx": b"\x08\x07\x12\xff\xff\xff\xff\x0f" + b"\x01" * 50},
           model_commands("junk.onnx"), message="junk.onnx"))

    # --- HepMC3
    ev = hepmc_event()
    C(Case("hepmc_vertex_huge_id", {"vtx.hepmc": hepmc_file(hepmc_event(vertex="V -1 0 [1,2147483647]"))},
           event_commands("vtx.hepmc"), message=["vtx.hepmc", "2147483647"]))
    C(Case("hepmc_vertex_missing_id", {"vtx2.hepmc": hepmc_file(hepmc_event(vertex="V -1 0 [1,2,999]"))},
           event_commands("vtx2.hepmc"), message=["vtx2.hepmc", "999"]))
    C(Case("hepmc_vertex_negative_id", {"vtx3.hepmc": hepmc_file(hepmc_event(vertex="V -1 0 [1,-7]"))},
           event_commands("vtx3.hepmc"), message=["vtx3.hepmc"]))
    C(Case("hepmc_nonnumeric_momentum", {"mom.hepmc": hepmc_file(hepmc_event(p3="11 abc 10 5 51.2 0.000511"))},
           event_commands("mom.hepmc"), message=["mom.hepmc", "abc"]))
    C(Case("hepmc_nonnumeric_pdg", {"pdg.hepmc": hepmc_file(hepmc_event(p3="electron 50 10 5 51.2 0.000511"))},
           event_commands("pdg.hepmc"), message=["pdg.hepmc", "electron"]))
    C(Case("hepmc_weight_nan", {"wnan.hepmc": hepmc_file(hepmc_event(w="W nan"))}, event_commands("wnan.hepmc"),
           message=["wnan.hepmc", "weight"]))
    C(Case("hepmc_unknown_units", {"units.hepmc": hepmc_file(hepmc_event(units="U TEV MM"))},
           event_commands("units.hepmc"), message=["units.hepmc", "TEV"]))
    C(Case("hepmc2_file", {"old.hepmc": HEPMC2}, event_commands("old.hepmc"), message=["old.hepmc", "HepMC2"]))
    C(Case("hepmc2_body_under_hepmc3_header", {"mixed.hepmc": HEPMC_HEAD + HEPMC2.split("\n", 2)[2].replace(
        "HepMC::IO_GenEvent-END_EVENT_LISTING", "HepMC::Asciiv3-END_EVENT_LISTING")},
        event_commands("mixed.hepmc"), message=["mixed.hepmc"]))
    C(Case("hepmc_truncated", {"cut.hepmc": HEPMC_HEAD + ev + ev[:40]}, event_commands("cut.hepmc"),
           message=["cut.hepmc", "truncated"]))
    C(Case("hepmc_particle_count", {"count.hepmc": hepmc_file(ev.replace("E 1 1 4", "E 1 1 3"))},
           event_commands("count.hepmc"), message=["count.hepmc"]))
    C(Case("hepmc_nan_momentum", {"pnan.hepmc": hepmc_file(hepmc_event(p3="11 nan 10 5 51.2 0.000511"))},
           event_commands("pnan.hepmc"), message=["pnan.hepmc"]))

    def bom_reads(folder, result):
        return None if result.returncode == 0 else "BOM file refused: " + result.stderr.strip()

    C(Case("hepmc_bom_reads", {"bom.hepmc": "\ufeff" + hepmc_file(ev)},
           [["physics", "features", "--data", "bom.hepmc", "--out", "bom_out.csv", "--quiet", "--selection",
             "none"]], expect="accept", check=bom_reads))

    # --- LHE
    C(Case("lhe_nan_weight", {"wnan.lhe": lhe_file([lhe_event(weight="nan")])}, event_commands("wnan.lhe"),
           message=["wnan.lhe", "weight"]))
    C(Case("lhe_nup_too_small", {"nup.lhe": lhe_file([lhe_event(nup=2)])}, event_commands("nup.lhe"),
           message=["nup.lhe", "NUP"]))
    C(Case("lhe_nup_too_large", {"nup2.lhe": lhe_file([lhe_event(nup=6)])}, event_commands("nup2.lhe"),
           message=["nup2.lhe"]))
    C(Case("lhe_truncated", {"cut.lhe": lhe_file([lhe_event()])[:-60]}, event_commands("cut.lhe"),
           message=["cut.lhe"]))
    C(Case("lhe_nan_momentum", {"pnan.lhe": lhe_file([lhe_event(particles=[
        "21 -1 0 0 501 502 0 0 100 100 0 0 9", "21 -1 0 0 502 501 0 0 -100 100 0 0 9",
        "11 1 1 2 0 0 nan 10 5 51.2 0.000511 0 9", "-11 1 1 2 0 0 -50 -10 5 51.2 0.000511 0 9"])])},
        event_commands("pnan.lhe"), message=["pnan.lhe"]))

    # --- Events that cannot be used (train / eval), counted from 1
    one = ",".join(names) + "\n" + ",".join(str(v) for v in rows[0]) + "\n"
    train_cmd = lambda f: ["train", "--data", f, "--label", "label", "--arch", "4", "--epochs", "1", "--columns",
                           "a,b,c", "--out", "out.unbox", "--quiet"]
    C(Case("train_one_event", {"one.csv": one}, [train_cmd("one.csv")], message="one.csv"))
    single = [r[:3] + [1.0] for r in rows]
    C(Case("train_single_class", {"single.csv": ",".join(names) + "\n" + "".join(
        ",".join(str(v) for v in r) + "\n" for r in single)}, [train_cmd("single.csv")],
        message=["single.csv", "class"]))
    big = [r[:] for r in rows]
    big[6][2] = 1e300
    C(Case("train_huge_value", {"big.csv": ",".join(names) + "\n" + "".join(
        ",".join(repr(v) for v in r) + "\n" for r in big)}, [train_cmd("big.csv")],
        message=["big.csv", "event 7"]))
    wnames = names + ["w"]
    wrows = [r + [1.0] for r in rows]
    wrows[9][4] = float("nan")
    wtext = ",".join(wnames) + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in wrows)
    C(Case("nan_weight", {"wnan.csv": wtext}, [
        train_cmd("wnan.csv") + ["--weight", "w", "--allow-nan"],
        ["eval", "--model", "MODEL", "--data", "wnan.csv", "--columns", "a,b,c", "--label", "label", "--weight", "w",
         "--allow-nan", "--roc", "out_roc.csv"]], message=["wnan.csv", "event 10"]))
    blab = [r[:] for r in rows]
    blab[2][3] = 2.0
    btext = ",".join(names) + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in blab)
    C(Case("label_not_01_counted_from_1", {"lab.csv": btext}, [
        train_cmd("lab.csv"),
        ["eval", "--model", "MODEL", "--data", "lab.csv", "--columns", "a,b,c", "--label", "label", "--roc",
         "out_roc.csv"]], message=["lab.csv", "event 3"]))

    # --- mT2
    mt2_names = ["l1_pt", "l1_phi", "l1_m", "l2_pt", "l2_phi", "l2_m", "met", "met_phi"]
    mt2_rows = [[50, 0.1, 0, 40, 2.0, 0, 30, -1.0], [-20, 0.1, 0, 40, 2.0, 0, 30, -1.0]]
    C(Case("mt2_negative_pt", {"neg_pt.csv": ",".join(mt2_names) + "\n" + "".join(
        ",".join(str(v) for v in r) + "\n" for r in mt2_rows)},
        [["physics", "mt2", "--data", "neg_pt.csv", "--out", "out.csv"]], message=["neg_pt.csv", "event 2"]))
    return cases


def materialize_special(case, folder, good_model):
    """Cases whose files need h5py or onnx."""
    if case.name.startswith("h5_"):
        import h5py
        x, y = good_table()
        if case.name == "h5_huge_extent":
            with h5py.File(os.path.join(folder, "hugeext.h5"), "w") as f:
                f.create_dataset("a", shape=(10**12,), dtype="f8", chunks=(4096,))
                f.create_dataset("b", shape=(10**12,), dtype="f8", chunks=(4096,))
            case.commands = data_commands("hugeext.h5")
            case.message = ["hugeext.h5"]
        elif case.name == "h5_string_column":
            with h5py.File(os.path.join(folder, "strings.h5"), "w") as f:
                for j, n in enumerate("abc"):
                    f.create_dataset(n, data=x[:, j])
                f.create_dataset("label", data=y)
                f.create_dataset("sample", data=np.array([b"ttbar"] * len(y)))
            case.commands = [["predict", "--model", "MODEL", "--data", "strings.h5", "--columns", "a,b,sample",
                              "--out", "out.csv"]]
            case.message = ["strings.h5", "sample"]
        elif case.name == "h5_empty_table":
            with h5py.File(os.path.join(folder, "empty.h5"), "w") as f:
                for n in ["a", "b", "c", "label"]:
                    f.create_dataset(n, shape=(0,), dtype="f8")
            case.commands = data_commands("empty.h5")
            case.message = ["empty.h5", "no events"]
        return
    if case.name.startswith("onnx_") and case.name != "onnx_garbage":
        import onnx
        from onnx import TensorProto, helper
        W = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], [0.1, 0.2, 0.3])
        if case.name == "onnx_huge_input":
            g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10**12])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10**12])])
            name = "hugein.onnx"
        elif case.name == "onnx_huge_initializer":
            Wbig = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[3, 10**12])
            g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10**12])], [Wbig])
            name = "hugeinit.onnx"
        elif case.name == "onnx_node_order":
            g = helper.make_graph([helper.make_node("Sigmoid", ["h"], ["y"]),
                                   helper.make_node("MatMul", ["x", "W"], ["h"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], [W])
            name = "order.onnx"
        else:  # onnx_missing_tensor
            g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["h"]),
                                   helper.make_node("Add", ["h", "B_missing"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], [W])
            name = "missing.onnx"
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        open(os.path.join(folder, name), "wb").write(m.SerializeToString())
        case.commands = model_commands(name)
        case.message = [name] + ({"onnx_node_order": ["order"], "onnx_missing_tensor": ["B_missing"]}
                                 .get(case.name, []))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    unbox = os.path.abspath(UNBOX)
    globals()["UNBOX"] = unbox
    top = tempfile.mkdtemp(prefix="unbox_catalogue_")
    failures, runs = [], 0
    try:
        # A good table and a small model trained on it.
        x, y = good_table()
        base = os.path.join(top, "base")
        os.mkdir(base)
        good_csv = os.path.join(base, "good.csv")
        write_csv(good_csv, ["a", "b", "c", "label"], [list(r) + [l] for r, l in zip(x, y)])
        model = os.path.join(base, "model.unbox")
        r = run(["train", "--data", good_csv, "--label", "label", "--arch", "4", "--epochs", "1", "--seed", "1",
                 "--out", model, "--quiet"], base)
        if r.returncode != 0:
            print("cannot train the reference model:", r.stderr)
            return 1
        cases = [c for c in build_cases(model) if args.k in c.name]
        for case in cases:
            folder = os.path.join(top, case.name)
            os.mkdir(folder)
            for name, content in case.files.items():
                mode = "wb" if isinstance(content, bytes) else "w"
                with open(os.path.join(folder, name), mode, **({} if mode == "wb" else {"newline": ""})) as f:
                    f.write(content)
            materialize_special(case, folder, model)
            inputs = set(os.listdir(folder))
            bad_file = next(iter(case.files), None)
            for cmd in case.commands:
                cmd = [model if a == "MODEL" else good_csv if a == "GOOD" else a for a in cmd]
                runs += 1
                try:
                    res = run(cmd, folder)
                except subprocess.TimeoutExpired:
                    failures.append(f"{case.name}: {' '.join(cmd)}: timed out")
                    continue
                first = (res.stderr.strip().splitlines() or [""])[0]
                problems = []
                if case.expect == "refuse":
                    if res.returncode != 2:
                        problems.append(f"exit {res.returncode}, expected 2")
                    msgs = case.message if isinstance(case.message, list) else [case.message] if case.message else []
                    file_named = [m for m in msgs if "." in m and not m.startswith("event")]
                    if not file_named and bad_file:
                        msgs = [bad_file] + msgs
                    for m in msgs:
                        if m.lower() not in first.lower():
                            problems.append(f"first stderr line lacks '{m}'")
                    left = set(os.listdir(folder)) - inputs
                    if left:
                        problems.append(f"left files behind: {sorted(left)}")
                        for extra in left:
                            p = os.path.join(folder, extra)
                            (shutil.rmtree if os.path.isdir(p) else os.remove)(p)
                else:
                    why = case.check(folder, res)
                    if why:
                        problems.append(why)
                    tmp = [f for f in os.listdir(folder) if ".tmp" in f]
                    if tmp:
                        problems.append(f"temporaries left: {tmp}")
                if problems:
                    failures.append(f"{case.name}: unbox {' '.join(cmd)}: {'; '.join(problems)}\n"
                                    f"    stderr: {first[:300]}")
                elif args.v:
                    print(f"ok   {case.name}: {' '.join(cmd[:2])}: {first[:160]}")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    for f in failures:
        print("FAIL", f)
    print(f"bad-input catalogue: {runs} runs, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
