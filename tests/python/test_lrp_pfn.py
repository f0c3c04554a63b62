"""`unbox lrp` on a Particle Flow Network trained by `unbox train --arch pfn:16:16`.

Padded particles (pt exactly 0) must get exactly 0 relevance under every rule; the
per-event relevances add up to what the conservation report says; the particle map is
laid out particles x quantities from the p{i}_{q} columns; every ParticleDense layer is
listed as a layer with its rule.
"""
import csv
import json

import numpy as np


def write_padded_jets(run_unbox, tmp_path):
    src = tmp_path / "jets.csv"
    run_unbox("generate", "toy", "xaug-jets", "--events", 600, "--seed", 3, "--out", src)
    with open(src) as f:
        rows = list(csv.reader(f))
    header, data = rows[0], np.array(rows[1:], dtype=float)
    cols = [c for c in header if c.startswith("p") and "_" in c]
    particles = sorted({int(c.split("_")[0][1:]) for c in cols})
    rng = np.random.default_rng(5)
    real = rng.integers(3, len(particles) + 1, size=len(data))  # 3..20 real particles
    padded = np.zeros((len(data), len(particles)), dtype=bool)
    for e, n in enumerate(real):
        for p in particles[n:]:
            padded[e, p] = True
            for c in cols:
                if c.startswith(f"p{p}_"):
                    data[e, header.index(c)] = 0.0
    out = tmp_path / "padded.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in data:
            w.writerow([repr(float(v)) for v in r])
    return out, cols, padded


def test_lrp_on_a_trained_pfn(run_unbox, tmp_path):
    data, cols, padded = write_padded_jets(run_unbox, tmp_path)
    model = tmp_path / "pfn.unbox"
    run_unbox("train", "--data", data, "--label", "label", "--columns", ",".join(cols), "--arch", "pfn:16:16",
              "--epochs", 3, "--seed", 1, "--out", model)
    for args in (["--rule", "zplus"], ["--rule", "epsilon"], ["--composite", "epsilon-gamma-box"],
                 ["--rule", "0", "--layer-rule", "L1=zbox,L2=gamma"]):
        per_event = tmp_path / "rel.csv"
        out = tmp_path / "lrp.json"
        run_unbox("lrp", "--model", model, "--data", data, *args, "--per-event", per_event, "--out", out)
        j = json.loads(out.read_text())
        assert j["layer_rules"][0].startswith("L1 (ParticleDense 'phi1'): ")
        if "--layer-rule" in args:
            assert j["layer_rules"][0].endswith(": zbox") and j["layer_rules"][1].endswith(": gamma")
        assert j["map"]["rows"] == [f"p{i}" for i in range(20)]
        assert j["map"]["cols"] == ["pt", "eta", "phi", "z", "theta"]
        assert len(j["map"]["all"]) == 100 and max(j["map"]["all"]) > 0
        assert j["conservation"]["max_abs_unexplained"] < 1e-10
        with open(per_event) as f:
            rows = list(csv.reader(f))
        h = rows[0]
        v = np.array(rows[1:], dtype=float)
        assert len(v) == len(padded)
        R = v[:, [h.index("R_" + c) for c in cols]]
        # padded particles: exactly zero relevance in every column of theirs
        for k, c in enumerate(cols):
            p = int(c.split("_")[0][1:])
            assert np.all(R[padded[:, p], k] == 0.0), (args, c)
        assert np.abs(R).sum() > 0 and padded.any()
        np.testing.assert_allclose(R.sum(axis=1), v[:, h.index("R_input_sum")], rtol=1e-9, atol=1e-9)
        book = v[:, h.index("R_output")] - v[:, h.index("R_input_sum")] - v[:, h.index("R_bias")] \
            - v[:, h.index("R_epsilon")] - v[:, h.index("R_other")]
        np.testing.assert_allclose(book, 0.0, atol=1e-9)
