"""`unbox generate physics` from the command line: the feature table with truth columns read
back with pandas (row counts, the selected column, weights summing to best sigma x BR),
the HepMC3 output read back by `unbox physics features`, same seed same table on 1 and 2
threads, and one-line errors with exit code 2."""
import numpy as np
import pandas as pd


def test_features_truth_no_cuts(run_unbox, tmp_path):
    out = tmp_path / "t.csv"
    proc = run_unbox("generate", "physics", "ttbar", "--events", 400, "--no-cuts", "--features", "--truth",
                     "--detector", "truth", "--out", out)
    assert "LO cross section 580.7" in proc.stdout
    d = pd.read_csv(out)
    assert len(d) == 400
    for c in ["truth_mt2ll", "truth_mbl1", "truth_mbl2", "w_cos_star1", "w_cos_star2", "hel_cos1", "hel_cos2",
              "pt_system", "m_system", "process", "selected", "weight", "label"]:
        assert c in d.columns, c
    # every event has a row; features NaN exactly where the selection failed
    assert set(np.unique(d.selected)) <= {0.0, 1.0}
    assert np.isnan(d.loc[d.selected == 0, "met"]).all()
    assert np.isfinite(d.loc[d.selected == 1, "met"]).all()
    # expected events per fb^-1: 831.76 pb x (0.1071 + 0.1063)^2 x 1000, shared by 400 events
    assert abs(d.weight.sum() - 831.76 * (0.1071 + 0.1063) ** 2 * 1000) < 1e-6 * d.weight.sum()
    assert (d.process == 0).all() and (d.label == 0).all()
    assert (d.truth_mbl1 < 180).all()


def test_same_seed_same_table_on_one_and_two_threads(run_unbox, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for out, threads in ((a, 1), (b, 2)):
        run_unbox("generate", "physics", "stop:750,1", "--events", 300, "--features", "--truth", "--seed", 5,
                  "--threads", threads, "--out", out, "-q")
    assert a.read_bytes() == b.read_bytes()
    d = pd.read_csv(a)
    assert (d.label == 1).all() and (d.process == 3).all()


def test_hepmc_output_feeds_physics_features(run_unbox, tmp_path):
    ev = tmp_path / "e.hepmc"
    run_unbox("generate", "physics", "tw", "--events", 100, "--out", ev, "-q")
    assert ev.read_text().startswith("HepMC::Version")
    out = tmp_path / "f.csv"
    run_unbox("physics", "features", "--data", ev, "--out", out, "--selection", "none", "-q")
    d = pd.read_csv(out)
    assert len(d) > 0
    # the generator's weights travel through the file: all equal, summing over the 100 written
    # events to best sigma x BR x the cut efficiency (between 20 % and 100 %)
    total = 71.7 * (0.1071 + 0.1063) ** 2 * 1000
    assert np.allclose(d.weight, d.weight[0])
    assert 0.2 * total < 100 * d.weight[0] < total


def test_errors_are_one_line(run_unbox, tmp_path):
    for args in (["stop:350"], ["zz"], ["stop:100,50"]):
        proc = run_unbox("generate", "physics", *args, "--out", tmp_path / "x.hepmc", check=False)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    proc = run_unbox("generate", "physics", "ttbar", "--truth", "--out", tmp_path / "x.hepmc", check=False)
    assert proc.returncode == 2
    assert not (tmp_path / "x.hepmc").exists()
