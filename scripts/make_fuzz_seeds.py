#!/usr/bin/python3
"""Writes the fuzzers' seed corpora, fuzz/corpus/NAME/, from the test inputs: a valid small
file per format and every malformed file of the bad-input catalogue
(tests/bad_input/run_catalogue.py). Run once, commit the result; crashes the fuzzers find
are added to the same folders as regression seeds.

Usage: UNBOX=build/unbox scripts/make_fuzz_seeds.py   (the binary trains the seed model)
"""
import os
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "bad_input"))
import run_catalogue as cat  # noqa: E402

EXT = {"csv": "csv", "tsv": "csv", "txt": "csv", "npy": "npy", "npz": "npz", "h5": "hdf5", "unbox": "model",
       "onnx": "onnx", "hepmc": "hepmc", "lhe": "lhe"}


def main():
    unbox = os.path.abspath(os.environ.get("UNBOX", os.path.join(root, "build", "unbox")))
    out = os.path.join(root, "fuzz", "corpus")
    with tempfile.TemporaryDirectory() as tmp:
        x, y = cat.good_table(12)
        good_csv = os.path.join(tmp, "good.csv")
        cat.write_csv(good_csv, ["a", "b", "c", "label"], [list(r) + [l] for r, l in zip(x, y)])
        model = os.path.join(tmp, "model.unbox")
        subprocess.run([unbox, "train", "--data", good_csv, "--label", "label", "--arch", "3", "--epochs", "1",
                        "--seed", "1", "--out", model, "--quiet"], check=True)
        for fmt in ["npy", "npz", "h5"]:
            subprocess.run([unbox, "predict", "--model", model, "--data", good_csv, "--columns", "a,b,c", "--keep",
                            "label", "--out", os.path.join(tmp, "good." + fmt)], check=True)
        subprocess.run([unbox, "export", "--model", model, "--out", os.path.join(tmp, "good.onnx")], check=True)
        files = {}
        for name in ["good.csv", "good.npy", "good.npz", "good.h5", "good.onnx"]:
            files[name] = open(os.path.join(tmp, name), "rb").read()
        files["good.unbox"] = open(model, "rb").read()
        files["good.hepmc"] = cat.hepmc_file(cat.hepmc_event(), cat.hepmc_event(number=2)).encode()
        files["good.lhe"] = cat.lhe_file([cat.lhe_event(), cat.lhe_event(weight="0.5")]).encode()
        files["good.tsv"] = b"a\tb\n1\t2\n3\t4\n"
        for case in cat.build_cases(model):
            folder = os.path.join(tmp, case.name)
            os.mkdir(folder)
            cat.materialize_special(case, folder, model)
            for fname, content in case.files.items():
                files[case.name + "_" + fname] = content.encode() if isinstance(content, str) else content
            for fname in os.listdir(folder):
                files[case.name + "_" + fname] = open(os.path.join(folder, fname), "rb").read()
        n = 0
        for fname, content in files.items():
            kind = EXT.get(fname.rsplit(".", 1)[-1])
            if not kind or len(content) > 65536:
                continue
            os.makedirs(os.path.join(out, kind), exist_ok=True)
            with open(os.path.join(out, kind, fname), "wb") as f:
                f.write(content)
            n += 1
        print(f"wrote {n} seeds under {out}")


if __name__ == "__main__":
    main()
