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
@pytest.mark.parametrize(
    ("kind", "count"), [("csv", 80), ("recording", 24), ("database", 24), ("export", 60)]
)
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
    assert tally.codes[6] + tally.codes[7] > 0  # some are refused, as they should be


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01garbage\xff" * 40, "neither a legpress recording"),
        (b"LEGPRESS-RECORDING 3\n{}\n", "version 3 recording"),
        (b"LEGPRESS-REC", "not a legpress recording"),
        (b"t_s,depth_mm,cell0\n0,1,2\n", "1 data rows"),
    ],
)
def test_analyze_tells_recordings_and_csv_apart_by_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    from legpress.cli.main import main

    path = tmp_path / "session.lprec"
    path.write_bytes(content)
    code = main(["analyze", str(path)])
    err = capsys.readouterr().err
    assert code == 6 and message in err, err
    assert "line" not in err or content.startswith(b"t_s")  # no CSV parse error
