"""The shape of the code: modules and functions small enough to read (outside train/)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jpegsal"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _core_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "train" not in p.relative_to(PACKAGE).parts]


def test_modules_are_at_most_300_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _core_modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_at_most_60_lines() -> None:
    long = {}
    for p in _core_modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{p.relative_to(PACKAGE)}:{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_core_never_imports_train() -> None:
    for p in _core_modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "train" not in node.module.split("."), f"{p} imports {node.module}"


def test_doctests_of_the_pure_modules() -> None:
    import doctest

    import jpegsal._check
    import jpegsal.bench.data
    import jpegsal.bench.stats
    import jpegsal.checks
    import jpegsal.codec.chroma
    import jpegsal.codec.coefficients
    import jpegsal.codec.dct_writer
    import jpegsal.codec.machine
    import jpegsal.codec.markers
    import jpegsal.codec.quantise
    import jpegsal.codec.tables
    import jpegsal.codec.turbojpeg
    import jpegsal.maps.contract
    import jpegsal.rateslope

    modules = (
        jpegsal._check,
        jpegsal.maps.contract,
        jpegsal.codec.chroma,
        jpegsal.codec.coefficients,
        jpegsal.codec.machine,
        jpegsal.codec.markers,
        jpegsal.codec.quantise,
        jpegsal.codec.tables,
        jpegsal.bench.stats,
        jpegsal.bench.data,
        jpegsal.checks,
        jpegsal.rateslope,
    )
    for module in (*modules, jpegsal.codec.turbojpeg):
        failed, tried = doctest.testmod(module)
        assert tried > 0, module.__name__
        assert failed == 0, module.__name__
