"""Library messages speak of options by their meaning, never by a CLI flag: a Python or C++
user of the library never typed `--top`. Scans every C++ string literal of the library
(src/ and include/, comments left out) for a flag such as `--neuron`."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The report describes which CLI commands wrote the files it reads ("unbox eval --json",
# "unbox study stop --point"), and figure export builds Chromium's command line: that text
# is about command lines, by design.
ALLOWED = {"src/report/report.cpp", "src/report/study_report.cpp", "src/report/figure_export.cpp"}
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def literals(text):
    # Blank the comments (keeping string literals that contain "//" intact is not needed
    # here: no library literal holds a URL-like "//" before a flag).
    out = []
    for m in STRING.finditer(COMMENT.sub(lambda c: " " * len(c.group(0)), text)):
        out.append(m.group(0))
    return out


def test_no_library_string_quotes_a_cli_flag():
    bad = []
    for folder in ("src", "include"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h") or str(path.relative_to(ROOT)) in ALLOWED:
                continue
            for lit in literals(path.read_text(errors="replace")):
                if FLAG.search(lit):
                    bad.append(f"{path.relative_to(ROOT)}: {lit}")
    assert not bad, "library strings quoting CLI flags:\n" + "\n".join(bad)


def test_the_scan_finds_a_flag():
    assert literals('throw Error("use --top 5"); // --not-this') == ['"use --top 5"']
    assert FLAG.search('"use --top 5"') and not FLAG.search('"x-->y"')
