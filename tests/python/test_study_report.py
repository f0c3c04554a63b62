"""The report of a stop study (`unbox study stop --out DIR` writes DIR/report.html): sections in
the paper's order with the paper's numbers, figure data equal to the result files (bin
contents, ranks, NMI values against NumPy), partial results listing the absent sections, and
the whole page in Debian's headless Chromium (every figure an SVG with marks, no console
message, a screenshot kept as a test artifact)."""
import html
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


@pytest.fixture(scope="module")
def study(tmp_path_factory, unbox_bin):
    """A small toy-source study (machinery only; ~10 s on one core) and its report."""
    d = tmp_path_factory.mktemp("study") / "stop"
    p = subprocess.run([unbox_bin, "study", "stop", "--source", "toy", "--events", "2500", "--epochs", "3",
                        "--bootstrap", "20", "--explain-events", "600", "--maximize-points", "150", "--seed", "3",
                        "--quiet", "--out", str(d)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return d, p.stdout


def _csv(path):
    return pd.read_csv(path, float_precision="round_trip")


def _specs(page):
    """Figure title -> Vega-Lite spec, read back from the page itself."""
    specs = json.loads(re.search(r'<script type="application/json" id="unbox-specs">(.*?)</script>', page,
                                 re.S).group(1))
    titles = re.findall(r'<div class="figure" id="(fig-\d+)"></div><figcaption><b>(.*?)\.</b>', page)
    return {html.unescape(t): specs[i] for i, t in titles}


def test_study_writes_its_report_in_the_papers_order(study):
    d, stdout = study
    page = (d / "report.html").read_text()
    assert str(d / "report.html") in stdout  # the path is printed
    assert "<script src" not in page and "https://" not in page.split("<script")[0]
    titles = re.findall(r"<section id=\"sec-\d+\">\n<h2>([^<]*)</h2>", page)
    order = ["Summary", "Events", "Model and training", "Figure 8", "Figure 9", "Tables 1-4", "Figures 10-12",
             "Figure 13", "Figure 16", "Figure 19", "Figure 20", "Figures 26-27", "Taylor", "LRP", "ADO"]
    pos = [next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order]
    assert pos == sorted(pos), titles
    # The paper's numbers beside ours ((750, 1) is the default point).
    summary = json.loads((d / "summary.json").read_text())
    assert "<td>1.72</td>" in page and "<td>1.56</td>" in page and "<td>156</td>" in page
    assert f"{summary['ams_network']:.2f} ± {summary['ams_network_err']:.2f}" in page
    # Fig. 9 NMI table: the paper's 0.31, 0.31, 0.20 beside ours.
    for v in ("0.31", "0.20", "0.13", "0.36"):
        assert f"<td>{v}</td>" in page
    # Every figure has a caption saying how it was made.
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert len(captions) == page.count('<div class="figure"') >= 25
    assert all(len(c) > 80 for c in captions)
    assert "Sections absent" not in page
    # The maximization triples are named by the paper's symbols, which the study wrote.
    assert summary["symbols"]["l1_dphi"] == "phi_l1"
    triples = re.search(r"triples of inputs ranked by total correlation</h3>\n(.*?)</table>", page, re.S).group(1)
    cells = re.findall(r"<tr><td>\d+</td><td>([^<]*)</td>", triples)
    assert cells, triples
    for cell in cells:
        for name in cell.split(", "):
            assert name in summary["symbols"].values(), cell


def test_figure_data_match_the_result_files(study):
    d, _ = study
    specs = _specs((d / "report.html").read_text())

    # Figure 20: each slice normalized to unit sum, bin by bin from fig20_isr.csv.
    f20 = _csv(d / "fig20_isr.csv")
    spec = specs["ISR pT for the most signal-like, middle and most background-like events"]
    rows = spec["data"]["values"]
    got = [r["value"] for r in rows if r["class"] == "most signal-like 10 %"]
    np.testing.assert_allclose(got, f20.signal_like / f20.signal_like.sum(), rtol=1e-12)
    assert [r["lo"] for r in rows if r["class"] == "middle 10 %"] == list(f20.lo)

    # The NMI heat map holds nmi.csv's values.
    nmi = _csv(d / "nmi.csv").set_index("neuron")
    heat = specs["NMI of every hidden neuron with mT2ll, MET and the output"]["data"]["values"]
    assert len(heat) == 3 * len(nmi)
    for r in heat[::17]:
        assert r["nmi"] == pytest.approx(nmi.loc[r["neuron"], r["variable"]], rel=1e-12)

    # Activation differences: the output's inputs in ad_output.csv's order.
    ad = _csv(d / "ad_output.csv")
    bars = [r for r in specs["The largest activation differences"]["data"]["values"] if r["neuron"] == "output:pre"]
    assert [r["variable"] for r in sorted(bars, key=lambda r: r["rank"])] == list(ad.symbol[:8])
    np.testing.assert_allclose([r["ad"] for r in bars], ad.ad[:8], rtol=1e-12)

    # Maximization: ranked as the analysis ranked them, counts normalized.
    mx = json.loads((d / "maximize_L2_histograms.json").read_text())
    neuron = mx["summary"]["neuron"]
    one = specs[f"Maximization of {neuron}: single inputs, ranked"]["data"]["values"]
    h0 = mx["histograms"]["one"]["histograms"][0]
    first = [r["value"] for r in one if r["rank"] == 1]
    np.testing.assert_allclose(first, np.array(h0["counts"]) / np.sum(h0["counts"]), rtol=1e-12)
    scores = [h["score"] for h in mx["histograms"]["one"]["histograms"]]
    assert scores == sorted(scores, reverse=True)
    # The top triple as a rotatable 3-D scatter: one circle per non-empty cell, its fraction.
    t0 = mx["histograms"]["three"]["histograms"][0]
    b = t0["bins"]
    c = np.array(t0["counts"], dtype=float).reshape(b, b, b)
    tri = next(s for t, s in specs.items() if t.startswith(f"Maximization of {neuron}:") and "(#1 by total" in t)
    cells = tri["layer"][1]["data"]["values"]
    assert len(cells) == int((c > 0).sum())
    for r in cells[::7]:
        assert r["value"] == pytest.approx(c[r["i"], r["j"], r["k"]] / c.sum(), rel=1e-12)
    assert [p["name"] for p in tri["params"]] == ["azimuth", "elevation"]
    # The caveman variable's ROC against its neuron's, from caveman.json's held-out curves.
    cv = json.loads((d / "caveman.json").read_text())
    roc = specs[f"Caveman formula against {cv['neuron']}: ROC"]["layer"][1]["data"]["values"]
    for key in ("neuron", "caveman"):
        assert [r["tpr"] for r in roc if r["key"] == key] == cv["roc"][key]["tpr"]

    # Figure 8's view: the output before tanh per class, as numpy.histogram on test_events.csv.
    view = json.loads((d / "views" / "fig08_output.json").read_text())
    ev = _csv(d / "test_events.csv")
    edges = np.array(view["x"]["edges"])
    for cls, lab in (("signal", 1), ("background", 0)):
        sel = ev[ev.label == lab]
        h, _ = np.histogram(sel.score, bins=edges, weights=sel.weight)
        np.testing.assert_allclose(view["classes"][cls]["normalized"], h / h.sum(), rtol=1e-9, atol=1e-15)
    f8 = specs["output_pre: signal and background"]["vconcat"][0]
    assert f8["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"  # Figure 8 on a log axis
    assert [r["value"] for r in f8["data"]["values"] if r["class"] == "signal"] == view["classes"]["signal"]["normalized"]

    # Figure 27 after the paper's cuts: the cut-flow equals NumPy's on the same cuts.
    v27 = json.loads((d / "views" / "fig27_eta_cuts.json").read_text())
    c1 = np.cos(ev.l1_dphi) < -0.5
    c2 = c1 & (np.cos(ev.l2_dphi) < -0.5)
    c3 = c2 & (ev.met > 110)
    assert [c["events"] for c in v27["provenance"]["cuts"]] == [c1.sum(), c2.sum(), c3.sum()]
    # Figure 19's NMI is computed on the defined variable.
    assert 0 < json.loads((d / "views" / "fig19_v_output.json").read_text())["nmi"] < 1


def test_partial_results_list_the_absent_sections(study, run_unbox, tmp_path):
    d, _ = study
    part = tmp_path / "partial"
    shutil.copytree(d, part)
    for f in ("nmi.csv", "nmi.json", "caveman.json", "maximize_L2_histograms.json", "maximize_L5_histograms.json",
              "taylor.csv", "report.html"):
        (part / f).unlink()
    shutil.rmtree(part / "views")
    p = run_unbox("report", part, "--out", tmp_path / "partial.html")
    for what in ("Figure 9 (NMI): nmi.csv", "Figures 10-12", "Taylor coefficients: taylor.csv",
                 "Figure 16: lepton angles below and above MET = 245 GeV: views/fig16_*.json",
                 "Model summary: views/model.json"):
        assert f"section absent: {what}" in p.stdout, p.stdout
    page = (tmp_path / "partial.html").read_text()
    assert "Sections absent" in page and "nmi.csv not in" in page
    assert "Figure 9:" not in page and "Figure 20: ISR" in page and "Figure 13:" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_study_report_renders_in_headless_chromium(study, tmp_path):
    d, _ = study
    html = d / "report.html"
    page = html.read_text()
    n = page.count('<div class="figure"')
    profile = tempfile.mkdtemp(prefix="unbox-chromium-")
    art = os.environ.get("UNBOX_ARTIFACTS", str(tmp_path))
    os.makedirs(art, exist_ok=True)
    try:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=30000"]
        dom = subprocess.run(cmd + ["--dump-dom", f"file://{html}"], capture_output=True, text=True, timeout=120)
        subprocess.run(cmd + ["--window-size=1100,2400", f"--screenshot={os.path.join(art, 'study_report.png')}",
                              f"file://{html}"], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = dom.stdout
    assert f'data-figures-done="{n}"' in out, dom.stderr[-2000:]
    for k in range(1, n + 1):
        m = re.search(rf'<div ([^>]*id="fig-{k}"[^>]*)>(.*?)</figure>', out, re.S)
        assert m and 'data-rendered="yes"' in m.group(1), f"fig-{k} not rendered"
        assert "<svg" in m.group(2) and "<path" in m.group(2), f"fig-{k} has no SVG marks"
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l]
    assert console == [], console
    assert os.path.getsize(os.path.join(art, "study_report.png")) > 10000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_figures_export_png_of_the_svg_size(tmp_path, run_unbox):
    rng = np.random.default_rng(5)
    n = 400
    pd.DataFrame({"met": rng.exponential(60, n), "label": rng.integers(0, 2, n)}).to_csv(tmp_path / "e.csv", index=False)
    run_unbox("hist", "--data", tmp_path / "e.csv", "--x", "met", "--bins", "12", "--out", tmp_path / "h.json")
    figs = tmp_path / "figs"
    p = run_unbox("report", tmp_path / "h.json", "--out", tmp_path / "r.html", "--figures", figs)
    assert "SVG and PNG" in p.stdout
    svg = (figs / "fig-1.svg").read_text()
    w = float(re.search(r'<svg[^>]*\swidth="([0-9.]+)"', svg).group(1))
    h = float(re.search(r'<svg[^>]*\sheight="([0-9.]+)"', svg).group(1))
    png = (figs / "fig-1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pw, ph = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (pw, ph) == (2 * int(np.ceil(w)), 2 * int(np.ceil(h)))  # device scale 2
    assert not [f for f in os.listdir(figs) if "tmp" in f]  # written atomically, nothing left over
