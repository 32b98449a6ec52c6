"""Pillow's own JPEG tests, with every JPEG save routed through jpegsal's Pillow plugin.

The suite lives in ``../shared/compat/pillow`` (Pillow 13's ``Tests/test_file_jpeg.py``,
its helpers and images). It is copied to a temporary folder (some tests write next to
themselves) and run in a child pytest whose plugin calls :func:`jpegsal.register_pillow`
before any test, so ``Image.save(..., "JPEG")`` is ``Encoder().encode``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[2] / "shared" / "compat" / "pillow"

# Tests that stock Pillow passes and jpegsal fails on purpose; each is listed, with the
# reason, in the README's "Deliberate differences from Pillow". Empty today.
DELIBERATE: frozenset[str] = frozenset()

_PLUGIN = """
import jpegsal
from PIL import Image


def pytest_configure(config):
    jpegsal.register_pillow()
    assert Image.SAVE["JPEG"].__module__ == "jpegsal.plugin"
"""


def _run_suite(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "pillow"
    shutil.copytree(SUITE, work)
    (work / "jpegsal_route.py").write_text(_PLUGIN)
    cmd = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"]
    cmd += ["-p", "jpegsal_route", "Tests/test_file_jpeg.py"]
    env = dict(os.environ, PYTHONPATH=str(work))
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.skipif(not SUITE.is_dir(), reason=f"Pillow's test suite not found at {SUITE}")
def test_pillows_jpeg_suite_passes_through_the_plugin(tmp_path: Path) -> None:
    result = _run_suite(tmp_path)
    out = result.stdout + result.stderr
    failed = set(re.findall(r"^(?:FAILED|ERROR) \S+::(\S+)", out, re.MULTILINE))
    passed = re.search(r"(\d+) passed", out)
    assert passed is not None, out[-4000:]
    assert failed <= DELIBERATE, f"{sorted(failed - DELIBERATE)}\n{out[-6000:]}"
    # Stock Pillow 13: 101 passed, 2 skipped; nothing may drop out as skipped instead.
    assert int(passed.group(1)) + len(failed) >= 101, out[-2000:]
