"""Malformed CSV files and recordings never make ``legpress`` fail with an internal error.

A sample of the inputs of tests/host/cli/malformed.py (tests/bench/bench_malformed.py runs
more than a thousand): every command ends with exit 0 (what could be read was) or a one-line
error and its exit code, never exit 70 or a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.host.cli.malformed import run_all


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "count"), [("csv", 80), ("recording", 24)])
def test_malformed_inputs_never_give_an_internal_error(
    tmp_path: Path, kind: str, count: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    tally = run_all(tmp_path, {kind: count}, seed=1)
    print(
        f"{kind}: {tally.inputs[kind]} inputs, {tally.runs} runs, exit codes {dict(tally.codes)}"
    )
    assert tally.inputs[kind] == count
    assert tally.bad == [] and tally.internal_errors == 0
    assert tally.codes[6] > 0  # most are refused as unreadable
