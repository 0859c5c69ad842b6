"""The device clock extends any port's ticks to a 32-bit t_us that never jumps.

The ESP32's ticks wrap at 2**30; the unix port's (the real-stack tests run on it) at 2**62.
A tick value with bits above 30 set used to leak into the epoch bits of t_us, so the stamp
jumped by 2**31 us at the moment the unix counter crossed 2**32 (seen once in
tests/e2e/test_cli.py).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
STEP_US = 10_000
# (start, width of the port's tick counter): just before a 30-bit wrap on the ESP32, and just
# before the unix counter reaches 2**32 and 2**33 (both a 30-bit wrap too).
CASES = [((1 << 30) - 300 * STEP_US, 30), ((1 << 32) - 300 * STEP_US, 62), ((3 << 31) - 5, 62)]

MPY_CODE = f"""
import json
import hostio
import clock_fw
cases = json.loads(hostio.input)
hostio.emit(json.dumps([clock_fw.stamps(s, bits, {STEP_US}, 600) for s, bits in cases]))
"""


def _check(runs: list[list[int]]) -> None:
    for (start, bits), t_us in zip(CASES, runs, strict=True):
        steps = {(b - a) % (1 << 32) for a, b in itertools.pairwise(t_us)}
        assert steps == {STEP_US}, (start, bits, sorted(steps)[:5])


def test_under_micropython(micropython: Callable[..., Any]) -> None:
    result = micropython(MPY_CODE, input=CASES, mounts={HERE: "/tf"})
    _check(result.last)


def test_under_cpython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop("clock_fw", None)
    import clock_fw  # type: ignore[import-not-found]

    _check([clock_fw.stamps(s, bits, STEP_US, 600) for s, bits in CASES])
