"""Shared fixtures for the Python cross-checks: the path of build/unbox and a runner."""
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def unbox_bin():
    path = os.environ.get("UNBOX")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "unbox")
    assert os.path.exists(path), f"unbox binary not found at {path}; build first"
    return path


@pytest.fixture
def run_unbox(unbox_bin):
    """run_unbox(*args, check=True) -> CompletedProcess with text stdout/stderr."""

    def run(*args, check=True):
        proc = subprocess.run([unbox_bin, *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"unbox {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr}")
        return proc

    return run
