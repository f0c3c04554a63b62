"""Many files, streamed chunks, `unbox merge` and MPI ranks (issue 20).

References: the single run on the concatenated file (the same events in one process, read
whole). Merged and streamed sums are the same sums added in another order, so they agree to
1e-12 relative; where the order is the same (MPI ranks vs `unbox merge` of the same
per-range results) the bits agree.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from dist_cli import COLS, MPIRUN, UNBOX, mpirun, needs_mpi, run, write_csv  # noqa: E402,F401


def sample(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, len(COLS))) + 0.7 * y[:, None] * np.array([1, -0.5, 0.3, 0, 0.2])
    x[:, 3] = x[:, 0] * x[:, 1] + 0.1 * rng.normal(size=n)
    w = rng.uniform(0.5, 1.5, n)
    return x, y, w


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("dist")
    parts = []
    xs, ys, ws = [], [], []
    for k, n in enumerate([3000, 2500, 3500]):
        x, y, w = sample(n, 10 + k)
        p = d / f"part{k}.csv"
        write_csv(p, x, y, w)
        parts.append(str(p))
        xs.append(x), ys.append(y), ws.append(w)
    whole = d / "whole.csv"
    write_csv(whole, np.vstack(xs), np.concatenate(ys), np.concatenate(ws))
    model = d / "m.unbox"
    run("train", "--data", parts[0], "--label", "label", "--columns", ",".join(COLS), "--arch", "8,8", "--activation",
        "tanh", "--epochs", "2", "--seed", "3", "--out", model)
    return {"dir": d, "parts": parts, "whole": str(whole), "model": str(model)}


def taylor(s, data, *extra, out):
    run("taylor", "--model", s["model"], "--data", data, "--weight", "weight", "--order", "2", "--out", out, "--quiet",
        *extra)
    return json.load(open(out))


def sums(j):
    st = j["state"]["sums"]
    return np.array(st["all"] + st["signal"] + st["background"] +
                    [st["weight"], st["weight_signal"], st["weight_background"], st["events"]])


def close(a, b, rel=1e-12):
    np.testing.assert_allclose(sums(a), sums(b), rtol=rel, atol=0)
    fa = {f["name"]: f["value"] for f in a["features"]}
    fb = {f["name"]: f["value"] for f in b["features"]}
    assert fa.keys() == fb.keys()
    for k in fa:
        assert fa[k] == pytest.approx(fb[k], rel=rel, abs=0)


def test_file_list_and_glob_read_the_concatenation(setup, tmp_path):
    s = setup
    ref = taylor(s, s["whole"], out=tmp_path / "ref.json")
    assert ref["events"] == 9000
    listed = taylor(s, ",".join(s["parts"]), out=tmp_path / "list.json")
    globbed = taylor(s, str(s["dir"] / "part*.csv"), out=tmp_path / "glob.json")
    # One process, the same events in the same order, read whole: the same bits.
    assert sums(listed).tolist() == sums(ref).tolist()
    assert sums(globbed).tolist() == sums(ref).tolist()


def test_glob_without_match_is_an_error(setup):
    p = run("taylor", "--model", setup["model"], "--data", str(setup["dir"] / "nothing*.csv"), check=False)
    assert p.returncode == 2 and "no file matches" in p.stderr and p.stderr.count("\n") == 1


def test_merge_of_per_file_results_equals_the_single_run(setup, tmp_path):
    s = setup
    ref = taylor(s, s["whole"], out=tmp_path / "ref.json")
    outs = [tmp_path / f"p{k}.json" for k in range(3)]
    for p, o in zip(s["parts"], outs):
        taylor(s, p, out=o)
    run("merge", *outs, "--out", tmp_path / "merged.json", "--quiet")
    merged = json.load(open(tmp_path / "merged.json"))
    close(merged, ref)
    assert merged["events"] == 9000
    # Merging is associative in the given order: merge(merge(0,1),2) has the same bits.
    run("merge", outs[0], outs[1], "--out", tmp_path / "m01.json", "--quiet")
    run("merge", tmp_path / "m01.json", outs[2], "--out", tmp_path / "m012.json", "--quiet")
    assert sums(json.load(open(tmp_path / "m012.json"))).tolist() == sums(merged).tolist()


def test_merge_refuses_other_options_models_and_types(setup, tmp_path):
    s = setup
    taylor(s, s["parts"][0], out=tmp_path / "o2.json")
    taylor(s, s["parts"][1], "--convention", "derivative", out=tmp_path / "conv.json")
    p = run("merge", tmp_path / "o2.json", tmp_path / "conv.json", check=False)
    assert p.returncode == 2 and "'convention'" in p.stderr
    other = tmp_path / "other.unbox"
    run("train", "--data", s["parts"][1], "--label", "label", "--columns", ",".join(COLS), "--arch", "4", "--epochs",
        "1", "--seed", "5", "--out", other)
    run("taylor", "--model", other, "--data", s["parts"][1], "--order", "2", "--weight", "weight", "--out",
        tmp_path / "om.json", "--quiet")
    p = run("merge", tmp_path / "o2.json", tmp_path / "om.json", check=False)
    assert p.returncode == 2 and "'model'" in p.stderr
    run("eval", "--model", s["model"], "--data", s["parts"][0], "--out", tmp_path / "eval.json")
    p = run("merge", tmp_path / "o2.json", tmp_path / "eval.json", check=False)
    assert p.returncode == 2 and "only results of one method merge" in p.stderr
    # A result without a merge state (the terminal's --json of eval) names its type.
    p = run("eval", "--model", s["model"], "--data", s["parts"][0], "--json")
    open(tmp_path / "printed.json", "w").write(p.stdout)
    p = run("merge", tmp_path / "o2.json", tmp_path / "printed.json", check=False)
    assert p.returncode == 2 and "'eval' result cannot be merged" in p.stderr


def test_chunks_equal_reading_all_at_once(setup, tmp_path):
    s = setup
    ref = taylor(s, s["whole"], out=tmp_path / "ref.json")
    for chunk in (1000, 777):
        streamed = taylor(s, s["whole"], "--chunk", chunk, out=tmp_path / f"c{chunk}.json")
        close(streamed, ref)
    # Chunks over several files (never across a file boundary) and --events.
    streamed = taylor(s, ",".join(s["parts"]), "--chunk", 1000, out=tmp_path / "cl.json")
    close(streamed, ref)
    first = taylor(s, s["whole"], "--events", 4000, out=tmp_path / "first.json")
    streamed = taylor(s, ",".join(s["parts"]), "--chunk", 1000, "--events", 4000, out=tmp_path / "cf.json")
    close(streamed, first)


@pytest.mark.parametrize("fmt", ["npy", "h5"])
def test_chunked_npy_and_hdf5_equal_whole(setup, tmp_path, fmt):
    s = setup
    x, y, w = sample(5000, 99)
    if fmt == "npy":
        # A 2-D .npy names its columns c0, c1, ...: bind by --columns.
        data = tmp_path / "x.npy"
        np.save(data, np.column_stack([x, y, w]))
        args = ["--columns", "c0,c1,c2,c3,c4", "--label", "c5", "--weight", "c6"]
    else:
        import h5py
        data = tmp_path / "x.h5"
        with h5py.File(data, "w") as f:
            for k, c in enumerate(COLS):
                f[c] = x[:, k]
            f["label"] = y.astype(float)
            f["weight"] = w
        args = ["--weight", "weight"]
    base = ["taylor", "--model", s["model"], "--data", data, "--order", "2", "--quiet", *args]
    run(*base, "--out", tmp_path / "whole.json")
    run(*base, "--chunk", 1000, "--out", tmp_path / "chunk.json")
    close(json.load(open(tmp_path / "chunk.json")), json.load(open(tmp_path / "whole.json")))


def peak_rss_kb(args):
    p = subprocess.run(["/usr/bin/time", "-v", UNBOX, *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1])
    raise AssertionError("no RSS in /usr/bin/time output")


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="/usr/bin/time not installed")
def test_chunked_memory_is_bounded(setup, tmp_path):
    """200k events (10x the 20k chunk): the streamed run's peak RSS stays within 25 MB of a
    run on 1000 events, while reading whole grows with the file."""
    if os.environ.get("UNBOX_SANITIZED") == "1":
        pytest.skip("under ASan the peak RSS is the sanitizer's shadow memory and quarantine")
    s = setup
    x, y, w = sample(200000, 7)
    big = tmp_path / "big.csv"
    write_csv(big, x, y, w)
    small = tmp_path / "small.csv"
    write_csv(small, x[:1000], y[:1000], w[:1000])
    common = ["taylor", "--model", s["model"], "--order", "2", "--weight", "weight", "--quiet", "--threads", "1"]
    base = peak_rss_kb([*common, "--data", small])
    streamed = peak_rss_kb([*common, "--data", big, "--chunk", 20000])
    whole = peak_rss_kb([*common, "--data", big])
    print(f"peak RSS: 1000 events {base} kB, 200k streamed {streamed} kB, 200k whole {whole} kB")
    assert streamed < base + 25 * 1024
    assert whole > streamed + 20 * 1024




@needs_mpi
def test_mpi_three_ranks_equal_one_process(setup, tmp_path):
    s = setup
    ref = taylor(s, s["whole"], out=tmp_path / "ref.json")
    files = ",".join(s["parts"])
    mpirun(3, "taylor", "--model", s["model"], "--data", files, "--weight", "weight", "--order", "2", "--out",
           tmp_path / "mpi.json", "--quiet")
    got = json.load(open(tmp_path / "mpi.json"))
    close(got, ref)
    # Each rank's range: events [0, 3000) = part0, [3000, 6000) = part1 and the first 500
    # of part2 (a rank reads a file boundary as two chunks), [6000, 9000) = the rest of
    # part2. The same pieces run one by one and merged as the ranks merge them (chunks in
    # order on a rank, then the ranks in order at rank 0) give the same bits.
    lines = open(s["parts"][2]).read().splitlines()
    open(tmp_path / "p2a.csv", "w").write("\n".join(lines[:501]) + "\n")
    open(tmp_path / "p2b.csv", "w").write("\n".join([lines[0]] + lines[501:]) + "\n")
    pieces = {}
    for name, data in [("p0", s["parts"][0]), ("p1", s["parts"][1]), ("p2a", tmp_path / "p2a.csv"),
                       ("p2b", tmp_path / "p2b.csv")]:
        pieces[name] = tmp_path / f"{name}.json"
        taylor(s, data, out=pieces[name])
    run("merge", pieces["p1"], pieces["p2a"], "--out", tmp_path / "rank1.json", "--quiet")
    run("merge", pieces["p0"], tmp_path / "rank1.json", pieces["p2b"], "--out", tmp_path / "ranks.json", "--quiet")
    assert sums(got).tolist() == sums(json.load(open(tmp_path / "ranks.json"))).tolist()
    # Streamed ranks (--chunk) agree to round-off.
    mpirun(2, "taylor", "--model", s["model"], "--data", files, "--weight", "weight", "--order", "2", "--chunk", 1000,
           "--out", tmp_path / "mpi2.json", "--quiet")
    close(json.load(open(tmp_path / "mpi2.json")), ref)


@needs_mpi
def test_mpi_error_on_a_rank_is_one_clear_error(setup, tmp_path):
    s = setup
    p = mpirun(2, "taylor", "--model", s["model"], "--data", ",".join(s["parts"]), "--label", "nope", check=False)
    assert p.returncode != 0 and "no column 'nope'" in p.stderr


def read_csv_rows(path):
    return open(path).read().splitlines()


def same_table(got, ref):
    """Same header and rows; values to 1e-13 (the evaluation batches differ)."""
    g, r = read_csv_rows(got), read_csv_rows(ref)
    assert g[0] == r[0] and len(g) == len(r)
    np.testing.assert_allclose(np.loadtxt(got, delimiter=",", skiprows=1), np.loadtxt(ref, delimiter=",", skiprows=1),
                               rtol=1e-13, atol=1e-15)


def test_predict_streamed_writes_the_same_rows(setup, tmp_path):
    s = setup
    base = ["predict", "--model", s["model"], "--neurons", "output,L1N0", "--keep", "label,weight", "--quiet"]
    run(*base, "--data", s["whole"], "--out", tmp_path / "whole.csv")
    run(*base, "--data", ",".join(s["parts"]), "--chunk", 1000, "--out", tmp_path / "chunks.csv")
    same_table(tmp_path / "chunks.csv", tmp_path / "whole.csv")
    p = run(*base, "--data", s["whole"], "--chunk", 1000, "--out", tmp_path / "x.h5", check=False)
    assert p.returncode == 2 and "CSV or TSV" in p.stderr and not (tmp_path / "x.h5").exists()


@needs_mpi
def test_mpi_predict_joins_the_ranks_parts_in_order(setup, tmp_path):
    s = setup
    base = ["predict", "--model", s["model"], "--neurons", "output", "--keep", "label", "--quiet"]
    run(*base, "--data", s["whole"], "--out", tmp_path / "one.csv")
    mpirun(3, *base, "--data", ",".join(s["parts"]), "--chunk", 700, "--out", tmp_path / "three.csv")
    same_table(tmp_path / "three.csv", tmp_path / "one.csv")
    assert not list(tmp_path.glob("three.csv.rank*"))


def hepmc_events(path):
    """The event records (E, W, U, P, V, A lines), without header and footer."""
    lines = open(path).read().splitlines()
    return [l for l in lines if l[:2] in ("E ", "W ", "U ", "P ", "V ", "A ")]


@needs_mpi
def test_mpi_generate_gives_the_same_events_on_1_and_3_ranks(tmp_path):
    gen = ["generate", "physics", "ttbar", "--events", "300", "--seed", "4", "--quiet", "--threads", "1"]
    run(*gen, "--out", tmp_path / "one.hepmc")
    mpirun(3, *gen, "--out", tmp_path / "three.hepmc")
    one, three = hepmc_events(tmp_path / "one.hepmc"), hepmc_events(tmp_path / "three.hepmc")
    assert sum(l.startswith("E ") for l in one) == 300
    assert three == one
    assert open(tmp_path / "three.hepmc").read().splitlines()[:2] == open(tmp_path / "one.hepmc").read().splitlines()[:2]
    assert not list(tmp_path.glob("three.hepmc.rank*"))


@needs_mpi
def test_mpi_refuses_commands_that_do_not_split(setup):
    p = mpirun(2, "ado", "--model", setup["model"], "--data", setup["whole"], check=False)
    assert p.returncode != 0 and "does not run across MPI ranks" in p.stderr
    assert p.stderr.count("does not run across") == 1  # only rank 0 speaks
