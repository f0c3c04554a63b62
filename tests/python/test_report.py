"""unbox report: Vega-Lite figures rendered to SVG by node (no browser), and the whole page
in Debian's headless Chromium: every figure becomes an SVG with data, no console message."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT_DIR = os.path.join(HERE, "..", "..", "report")


def _events(tmp_path, n=1500, seed=11):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n).astype(float)
    met = rng.exponential(60.0, n) + 40.0 * label
    df = pd.DataFrame({"met": met, "mt2": 0.5 * met + rng.normal(0, 20, n), "isr_pt": rng.exponential(100.0, n),
                       "score": label + rng.normal(0, 0.7, n), "label": label, "weight": rng.uniform(0.5, 2, n)})
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return path, df


def _results(tmp_path, run_unbox, unbox_bin=None):
    path, df = _events(tmp_path)
    res = tmp_path / "results"
    res.mkdir()
    run_unbox("hist", "--data", path, "--x", "met", "--bins", "16", "--weight", "weight", "--out", res / "a_met.json")
    run_unbox("hist", "--data", path, "--x", "isr_pt", "--bins", "10", "--slices-of", "score",
              "--cut", "met > 20", "--out", res / "b_isr.json")
    run_unbox("hist", "--data", path, "--x", "met", "--y", "mt2", "--bins", "8", "--out", res / "c_2d.json")
    ev = run_unbox("eval", "--data", path, "--score", "score", "--json", "--roc", res / "d_roc.csv")
    (res / "e_eval.json").write_text(ev.stdout)
    (res / "notes.txt").write_text("not a result\n")
    if unbox_bin:  # a real cut-flow: the hand-built HepMC3 sample through physics features
        sample = tmp_path / "s.hepmc"
        subprocess.run([os.path.join(os.path.dirname(unbox_bin), "make_hepmc_sample"), str(sample)], check=True,
                       capture_output=True)
        run_unbox("physics", "features", "--data", sample, "--out", tmp_path / "f.csv", "--cutflow",
                  res / "f_cutflow.json")
    return res


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_histogram_spec_renders_to_svg_with_one_bar_per_bin_and_class(tmp_path, run_unbox):
    res = _results(tmp_path, run_unbox)
    figs = tmp_path / "figs"
    run_unbox("report", res / "a_met.json", "--out", tmp_path / "r.html", "--figures", figs, "--no-png")
    spec = json.loads((figs / "fig-1.vl.json").read_text())
    result = json.loads((res / "a_met.json").read_text())
    # The figure's data are the result file's normalized contents, bin by bin.
    rows = spec["vconcat"][0]["data"]["values"]
    sig = [r["value"] for r in rows if r["class"] == "signal"]
    assert sig == result["classes"]["signal"]["normalized"]
    assert [r["lo"] for r in rows if r["class"] == "background"] == result["x"]["edges"][:-1]
    svg = (figs / "fig-1.svg").read_text()
    assert svg.startswith("<svg")
    # Vega draws each rect mark item as one <path> in the rect mark's group.
    group = re.search(r'<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    assert group, svg[:500]
    assert group.group(1).count("<path") == 2 * 16
    # The ratio panel: one point per bin with background.
    n_ratio = sum(1 for v in result["ratio"] if v is not None)
    sym = re.search(r'<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    assert sym and sym.group(1).count("<path") == n_ratio


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_every_figure_in_headless_chromium(tmp_path, run_unbox, unbox_bin):
    res = _results(tmp_path, run_unbox, unbox_bin)
    html = tmp_path / "report.html"
    p = run_unbox("report", res, "--out", html, "--title", "test report")
    assert "not shown (no section reads it): " in p.stdout and "notes.txt" in p.stdout
    page = html.read_text()
    assert "<script src" not in page and "https://cdn" not in page  # self-contained
    # Sections in file order: 1-D, slices (2 figures), 2-D, ROC, eval table, cut-flow; the
    # unread file listed.
    assert page.count('<div class="figure"') == 6
    cutflow = json.loads((res / "f_cutflow.json").read_text())["cutflow"]
    first = cutflow["cuts"][0]
    assert f"<td>{first['name']}</td>" in page and f"<td>{first['events']}</td>" in page
    assert "Files not shown" in page and "notes.txt" in page
    profile = tempfile.mkdtemp(prefix="unbox-chromium-")
    try:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000"]
        dom = subprocess.run(cmd + ["--dump-dom", f"file://{html}"], capture_output=True, text=True, timeout=120)
        shot = os.environ.get("UNBOX_ARTIFACTS", str(tmp_path))
        subprocess.run(cmd + ["--window-size=1100,3000", f"--screenshot={os.path.join(shot, 'report.png')}",
                              f"file://{html}"], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = dom.stdout
    assert 'data-figures-done="6"' in out, dom.stderr[-2000:]
    for k in range(1, 7):
        m = re.search(rf'<div ([^>]*id="fig-{k}"[^>]*)>(.*?)</figure>', out, re.S)
        assert m and 'data-rendered="yes"' in m.group(1), f"fig-{k} not rendered"
        assert "<svg" in m.group(2) and "<path" in m.group(2), f"fig-{k} has no SVG marks"
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l]
    assert console == [], console
    assert "AUC" in out


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_log_y_draws_only_nonempty_bins_on_a_log_axis(tmp_path, run_unbox):
    path, _ = _events(tmp_path)
    h = tmp_path / "h.json"
    run_unbox("hist", "--data", path, "--x", "met", "--bins", "30", "--log-y", "--out", h)
    result = json.loads(h.read_text())
    assert result["log_y"] is True
    figs = tmp_path / "figs"
    run_unbox("report", h, "--out", tmp_path / "r.html", "--figures", figs, "--no-png")
    spec = json.loads((figs / "fig-1.vl.json").read_text())
    assert spec["vconcat"][0]["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    nonempty = sum(v > 0 for c in ("signal", "background") for v in result["classes"][c]["normalized"])
    assert nonempty < 60  # the exponential tail leaves empty bins
    svg = (figs / "fig-1.svg").read_text()
    group = re.search(r'<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    assert group and group.group(1).count("<path") == nonempty


def test_mi_and_lrp_results_become_a_heat_map_and_a_ranking(tmp_path, run_unbox):
    path, _ = _events(tmp_path)
    model = tmp_path / "m.unbox"
    run_unbox("train", "--data", path, "--label", "label", "--columns", "met,mt2,isr_pt", "--arch", "6,4",
              "--epochs", "2", "--out", model)
    run_unbox("mi", "--model", model, "--data", path, "--variables", "met,mt2,isr_pt", "--out", tmp_path / "mi.json")
    run_unbox("lrp", "--model", model, "--data", path, "--out", tmp_path / "lrp.json")
    figs = tmp_path / "figs"
    p = run_unbox("report", tmp_path / "mi.json", tmp_path / "lrp.json", "--out", tmp_path / "r.html",
                  "--figures", figs, "--no-png")
    assert "not shown" not in p.stdout
    mi = json.loads((tmp_path / "mi.json").read_text())
    heat = json.loads((figs / "fig-1.vl.json").read_text())["data"]["values"]
    assert len(heat) == len(mi["neurons"]) * len(mi["variables"])
    for r in heat:
        n, v = mi["neurons"].index(r["neuron"]), mi["variables"].index(r["variable"])
        assert r["nmi"] == mi["nmi"][n][v]
    lrp = json.loads((tmp_path / "lrp.json").read_text())
    bars = json.loads((figs / "fig-2.vl.json").read_text())["data"]["values"]
    want = sorted(lrp["mean_normalized_relevance"], key=lambda k: -lrp["mean_normalized_relevance"][k])
    ranked = [r["feature"] for r in sorted(bars, key=lambda r: r["rank"]) if r["class"] == "signal"]
    assert ranked == want
    for r in bars:
        assert r["mnr"] == lrp["mean_normalized_relevance_per_class"][r["class"]][r["feature"]]
    assert (figs / "fig-2.svg").read_text().startswith("<svg")
