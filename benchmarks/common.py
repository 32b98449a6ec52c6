"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], repeat: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``fn`` in milliseconds over ``repeat`` calls (after one warm-up)."""
    if warm_up:
        fn()  # session creation, first-run allocations
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2)


def machine() -> str:
    return f"{platform.machine()}, python {platform.python_version()}"
