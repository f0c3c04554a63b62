"""unbox report on the result file of every method: each subcommand runs on a small toy, its
--out (or --json) file goes to `unbox report`, and each figure's data are checked against the
result file (and NumPy where the file's numbers come from the data); the whole page renders in
Debian's headless Chromium with one SVG per figure and no console message."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd
import pytest

N = 1200


@pytest.fixture(scope="module")
def toy(tmp_path_factory, unbox_bin):
    """Every method's result file on one toy (columns named like two particles' features, so
    that relevance maps have a particle x feature layout)."""
    d = tmp_path_factory.mktemp("methods")
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 2, N).astype(float)
    df = pd.DataFrame({"p0_pt": rng.normal(0, 1, N) + lab, "p0_eta": rng.normal(0, 1, N) - 0.5 * lab,
                       "p1_pt": rng.normal(0, 1, N), "p1_eta": rng.exponential(1, N) + 0.5 * lab, "label": lab})
    data = d / "toy.csv"
    df.to_csv(data, index=False, float_format="%.17g")
    res = d / "results"
    res.mkdir()

    def run(*args, stdout=None):
        p = subprocess.run([unbox_bin, *map(str, args)], capture_output=True, text=True)
        assert p.returncode == 0, f"unbox {' '.join(map(str, args))}: {p.stderr}"
        if stdout:
            (res / stdout).write_text(p.stdout)
        return p

    model = d / "m.unbox"
    run("train", "--data", data, "--arch", "8,6", "--epochs", "8", "--out", model, "--json", "--quiet", "--threads",
        "1", "--track-taylor", "all", "--track-out", res / "taylor_curve.csv", stdout="train.json")
    run("taylor", "--model", model, "--data", data, "--out", res / "taylor.json", "-q", "--threads", "1")
    out = run("eval", "--model", model, "--data", data, "--json", "--roc", res / "roc.csv").stdout
    (res / "eval.json").write_text(out)
    # The output's 80th percentile as the maximization threshold.
    pred = d / "pred.csv"
    run("predict", "--model", model, "--data", data, "--out", pred)
    thr = float(np.quantile(pd.read_csv(pred).iloc[:, -1], 0.8))
    run("maximize", "--model", model, "--data", data, "--threshold", f"{thr:.6f}", "--points", "400", "--out",
        d / "pop.csv", "--histograms", res / "maximize.json", "--threads", "1", "--heatmaps", "0")
    run("caveman", "--model", model, "--data", data, "--population", d / "pop.csv", "--json", "--threads", "1",
        stdout="caveman.json")
    run("ado", "--data", data, "--score", "p0_pt", "--against", "p1_eta", "--out", res / "ado.json")
    run("ado", "search", "--data", data, "--target", "p0_pt", "--base", "p0_eta", "--pool", "p1_pt,p1_eta",
        "--epochs", "3", "--steps", "2", "--threads", "1", "--out", res / "ado_search.json")
    run("ad", "--model", model, "--data", data, "--bootstrap", "10", "--out", res / "ad.json", "--threads", "1")
    run("lrp", "--model", model, "--data", data, "--out", res / "lrp.json", "--threads", "1")
    run("attribute", "--model", model, "--data", data, "--out", res / "ig.json", "--threads", "1")
    run("mi", "--model", model, "--data", data, "--out", res / "mi.json", "--threads", "1")
    run("hist", "--data", data, "--x", "p0_pt", "--bins", "12", "--named-cut", "high=p1_eta > 1",
        "--named-cut", "low=p1_eta <= 1 && p0_eta < 0.5", "--out", res / "hist_named.json")
    run("hist", "--data", data, "--x", "p0_pt", "--y", "p0_eta", "--bins", "6", "--named-cut", "high=p1_eta > 1",
        "--out", res / "hist_2d_named.json")
    sample = d / "s.hepmc"
    maker = os.path.join(os.path.dirname(unbox_bin), "make_hepmc_sample")
    cutflow = os.path.exists(maker)
    if cutflow:
        subprocess.run([maker, str(sample)], check=True, capture_output=True)
        run("physics", "features", "--data", sample, "--out", d / "f.csv", "--cutflow", res / "cutflow.json")
    figs = d / "figs"
    p = run("report", res, "--out", d / "report.html", "--figures", figs, "--no-png")
    index = json.loads((figs / "figures.json").read_text())
    return {"dir": d, "res": res, "cutflow": cutflow, "df": df, "figs": figs, "index": index, "stdout": p.stdout,
            "html": (d / "report.html").read_text()}


def spec_of(toy, title_part):
    hits = [f for f in toy["index"] if title_part in f["title"]]
    assert hits, [f["title"] for f in toy["index"]]
    return json.loads((toy["figs"] / f"{hits[0]['id']}.vl.json").read_text()), hits[0]


def load(toy, name):
    return json.loads((toy["res"] / name).read_text())


def test_every_result_file_has_its_section_and_nothing_is_left_unread(toy):
    assert "not shown" not in toy["stdout"], toy["stdout"]
    page = toy["html"]
    for title in ("Training curves", "Taylor coefficients of output", "Taylor coefficients during training",
                  "Maximization populations", "Caveman variable", "ADO: p0_pt against p1_eta", "ADO guided search",
                  "Activation differences", "Relevance: lrp", "Relevance: ig", "Mutual information",
                  "Histogram of p0_pt", "ROC curve", "Classifier performance"):
        assert f"{title}" in page, title
    # Every kind given (the cut-flow needs the test sample's maker): nothing else listed as absent.
    absent = re.findall(r"<li>([^<]*): no such result file given</li>", page)
    assert absent == ([] if toy["cutflow"] else ["Cut-flow (unbox physics features --cutflow)"])
    # Every figure was exported to SVG by Vega in node (the 3-D scatter included).
    for f in toy["index"]:
        svg = (toy["figs"] / f"{f['id']}.svg").read_text()
        assert svg.startswith("<svg") and "<path" in svg, f["title"]
        assert f["caption"], f["title"]


def test_training_and_taylor_learning_curves_are_the_files_numbers(toy):
    train = load(toy, "train.json")
    spec, fig = spec_of(toy, "Loss per epoch")
    rows = spec["data"]["values"]
    assert [r["value"] for r in rows if r["curve"] == "training loss"] == [h["loss"] for h in train["history"]]
    assert [r["value"] for r in rows if r["curve"] == "validation loss"] == [h["val_loss"] for h in train["history"]]
    assert f"seed {train['seed']}" in fig["caption"]
    curve = pd.read_csv(toy["res"] / "taylor_curve.csv")
    spec, _ = spec_of(toy, "Learning curves of the Taylor coefficients")
    rows = spec["data"]["values"]
    last = curve.drop(columns=["step", "epoch"]).iloc[-1].sort_values(ascending=False)
    drawn = list(dict.fromkeys(r["coefficient"] for r in rows))
    assert drawn == list(last.index[:8])
    top = drawn[0]
    np.testing.assert_allclose([r["value"] for r in rows if r["coefficient"] == top], curve[top], rtol=1e-15)
    np.testing.assert_array_equal([r["step"] for r in rows if r["coefficient"] == top], curve["step"])


def test_taylor_ranking_is_the_files_ranking(toy):
    t = load(toy, "taylor.json")
    spec, _ = spec_of(toy, "Largest Taylor coefficients")
    rows = spec["data"]["values"]
    want = sorted(t["features"], key=lambda f: -f["value"])[:15]
    got = [r for r in rows if r["class"] == "signal"]
    assert [r["feature"] for r in sorted(got, key=lambda r: r["rank"])] == [f["name"] for f in want]
    by = {f["name"]: f for f in t["features"]}
    for r in rows:
        assert r["value"] == by[r["feature"]][r["class"]]


def test_maximization_ranks_counts_and_the_rotatable_3d_cells(toy):
    h = load(toy, "maximize.json")
    spec, _ = spec_of(toy, "single inputs, ranked")
    rows = spec["data"]["values"]
    first = h["one"]["histograms"][0]
    counts = np.array(first["counts"], dtype=float)
    np.testing.assert_allclose([r["value"] for r in rows if r["rank"] == 1], counts / counts.sum(), rtol=1e-15)
    assert rows[0]["lo"] == first["lo"][0]
    # 3-D: one circle per non-empty cell of the top triple, at the cell's centre, sized by its share.
    tri = h["three"]["histograms"][0]
    b = tri["bins"]
    c = np.array(tri["counts"], dtype=float).reshape(b, b, b)
    spec, fig = spec_of(toy, "(#1 by total correlation)")
    cells = spec["layer"][1]["data"]["values"]
    assert len(cells) == int((c > 0).sum())
    for r in cells:
        assert r["value"] == pytest.approx(c[r["i"], r["j"], r["k"]] / c.sum(), rel=1e-15)
        assert r["u"] == pytest.approx((r["i"] + 0.5) / b - 0.5)
        lo, hi = tri["lo"][2], tri["hi"][2]
        assert r["z"] == pytest.approx(lo + (hi - lo) * (r["k"] + 0.5) / b)
    params = {p["name"]: p for p in spec["params"]}
    assert params["azimuth"]["bind"]["input"] == "range" and params["elevation"]["bind"]["input"] == "range"
    assert all(v in fig["title"] for v in tri["variables"])
    # Triples are ranked as the file ranks them.
    n3 = min(3, len(h["three"]["histograms"]))
    for k in range(1, n3 + 1):
        spec_of(toy, f"(#{k} by total correlation)")


def test_caveman_roc_of_formula_and_neuron_in_one_plot(toy):
    c = load(toy, "caveman.json")
    spec, fig = spec_of(toy, "Caveman formula against")
    rows = spec["layer"][1]["data"]["values"]
    for key, auc_key in (("neuron", c["neuron_auc"]), ("caveman", c["auc"]), ("linear", c["linear"]["auc"])):
        pts = [r for r in rows if r["key"] == key]
        assert [r["fpr"] for r in pts] == c["roc"][key]["fpr"]
        assert [r["tpr"] for r in pts] == c["roc"][key]["tpr"]
        assert pts[0]["fpr"] == 0 and pts[-1]["fpr"] == pytest.approx(1) and pts[-1]["tpr"] == pytest.approx(1)
        # The thinned curve's trapezoid area is the AUC the result reports.
        assert np.trapz([r["tpr"] for r in pts], [r["fpr"] for r in pts]) == pytest.approx(auc_key, abs=0.01)
        assert f"{auc_key:.3f}" in pts[0]["curve"]
    assert f"{c['test_events']} held-out events" in fig["caption"]
    assert c["formula"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in toy["html"]


def test_ado_search_steps_table_and_line(toy):
    j = load(toy, "ado_search.json")
    spec, fig = spec_of(toy, "ADO and AUC after each step")
    rows = spec["layer"][0]["data"]["values"]
    assert [r["value"] for r in rows if r["measure"] == "ADO with the target"] == [s["ado"] for s in j["steps"]]
    assert [r["value"] for r in rows if r["measure"] == "AUC"] == [s["auc"] for s in j["steps"]]
    assert [r["added"] for r in rows if r["measure"] == "AUC"] == ["(base)"] + [s["added"] for s in j["steps"][1:]]
    for s in j["steps"][1:]:
        assert f"<td>{s['added']}</td><td>-</td><td>{', '.join(s['features'])}</td><td>{s['ado']:.4f}</td>" in toy["html"]
    ado = load(toy, "ado.json")
    assert f"<td>{ado['ado']:.4f}</td>" in toy["html"]


def test_ad_bars_and_error_bars(toy):
    j = load(toy, "ad.json")
    spec, fig = spec_of(toy, "Activation differences of")
    rows = spec["data"]["values"]
    assert [r["variable"] for r in rows] == [r["variable"] for r in j["ranking"]]
    for r, w in zip(rows, j["ranking"]):
        assert r["ad"] == w["ad"] and r["lo"] == pytest.approx(w["ad"] - w["err"]) and r["hi"] == pytest.approx(w["ad"] + w["err"])
    assert "10 bootstrap replicas" in fig["caption"]


def test_relevance_profiles_and_particle_map(toy):
    j = load(toy, "lrp.json")
    spec, _ = spec_of(toy, "lrp relevance profiles")
    rows = spec["data"]["values"]
    top = sorted(j["mean_normalized_relevance"], key=lambda k: -j["mean_normalized_relevance"][k])[0]
    p = j["profiles"][top]
    keep = [i for i, n in enumerate(p["count"]) if n > 0]
    assert [r["mean"] for r in rows if r["feature"] == top] == [p["mean"][i] for i in keep]
    centres = [(p["edges"][i] + p["edges"][i + 1]) / 2 for i in keep]
    np.testing.assert_allclose([r["x"] for r in rows if r["feature"] == top], centres, rtol=1e-15)
    spec, _ = spec_of(toy, "Mean lrp relevance map of particles")
    cells = {(r["row"], r["col"]): r["mnr"] for r in spec["data"]["values"]}
    assert cells == {(int(k[1]), k.split("_")[1]): v for k, v in j["mean_normalized_relevance"].items()}


def test_named_cuts_overlay_equals_numpy(toy):
    df = toy["df"]
    j = load(toy, "hist_named.json")
    edges = np.array(j["x"]["edges"])
    spec, fig = spec_of(toy, "p0_pt per named cut")
    sig_panel, bkg_panel = spec["hconcat"]
    for name, sel in (("high", df.p1_eta > 1), ("low", (df.p1_eta <= 1) & (df.p0_eta < 0.5))):
        for cls, panel, lab in (("signal", sig_panel, 1), ("background", bkg_panel, 0)):
            h, _ = np.histogram(df.p0_pt[sel & (df.label == lab)], bins=edges)
            got = [r["value"] for r in panel["data"]["values"] if r["class"] == name]
            np.testing.assert_allclose(got, h / h.sum(), rtol=1e-12)
        entry = next(c for c in j["named_cuts"] if c["name"] == name)
        assert entry["events"] == int(sel.sum())
        assert f"signal {int((sel & (df.label == 1)).sum())} events" in fig["caption"]
    # 2-D: one heat-map figure per named cut, after the cut.
    spec, fig = spec_of(toy, "p0_eta against p0_pt after high: p1_eta > 1")
    sel = (df.p1_eta > 1) & (df.label == 1)
    j2 = load(toy, "hist_2d_named.json")
    h, _, _ = np.histogram2d(df.p0_pt[sel], df.p0_eta[sel], bins=[j2["x"]["edges"], j2["y"]["edges"]])
    got = np.array([r["value"] for r in spec["hconcat"][0]["data"]["values"]]).reshape(h.shape)
    np.testing.assert_allclose(got, h / h.sum(), rtol=1e-12)


def test_partial_inputs_list_the_absent_sections(toy, run_unbox, tmp_path):
    p = run_unbox("report", toy["res"] / "ad.json", toy["res"] / "lrp.json", "--out", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "Sections absent" in page
    assert "<li>Caveman formula and ROC (unbox caveman --json): no such result file given</li>" in page
    assert "Activation differences (unbox ad --out)" not in page
    assert "section absent: Taylor coefficients (unbox taylor --out)" in p.stdout


def test_malformed_named_cut_exits_2(toy, run_unbox):
    data = toy["dir"] / "toy.csv"
    p = run_unbox("hist", "--data", data, "--x", "p0_pt", "--named-cut", "p1_eta > 1", check=False)
    assert p.returncode == 2 and "expected NAME=EXPRESSION" in p.stderr
    p = run_unbox("hist", "--data", data, "--x", "p0_pt", "--named-cut", "hi=p1_eta >> 1", check=False)
    assert p.returncode == 2 and "p1_eta >> 1" in p.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_every_method_figure_renders_in_headless_chromium(toy):
    html = toy["dir"] / "report.html"
    profile = tempfile.mkdtemp(prefix="unbox-chromium-")
    try:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=30000"]
        dom = subprocess.run(cmd + ["--dump-dom", f"file://{html}"], capture_output=True, text=True, timeout=180)
        shot = os.environ.get("UNBOX_ARTIFACTS", str(toy["dir"]))
        subprocess.run(cmd + ["--window-size=1100,4000", f"--screenshot={os.path.join(shot, 'report_methods.png')}",
                              f"file://{html}"], capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = dom.stdout
    n = len(toy["index"])
    assert f'data-figures-done="{n}"' in out, dom.stderr[-2000:]
    for f in toy["index"]:
        m = re.search(rf'<div ([^>]*id="{f["id"]}"[^>]*)>(.*?)</figure>', out, re.S)
        assert m and 'data-rendered="yes"' in m.group(1), f"{f['title']} not rendered"
        assert "<svg" in m.group(2) and "<path" in m.group(2), f"{f['title']} has no SVG marks"
        if "by total correlation" in f["title"]:  # the rotation sliders
            assert m.group(2).count('type="range"') == 2, f["title"]
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l]
    assert console == [], console
