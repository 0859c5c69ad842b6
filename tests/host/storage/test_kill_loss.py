"""Kill loss: one promise (KILL_LOSS_S), stated the same everywhere, and kept under load.

Real ``SIGKILL``\\ s of ``legpress record`` and of a bare writer, at random moments of the
writer's cycle, while busy processes compete for every core.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from legpress.cli.main import build_parser
from legpress.storage.recording import KILL_LOSS_S
from tests.host.storage.killing import REPO, cpu_load, kill_loss, record_command, writer_command

KILLS = 4


def test_the_promise_is_the_same_in_the_help_and_the_docs() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    record_help = sub.choices["record"].description  # type: ignore[union-attr]
    figures = set(re.findall(r"loses at most the last ([\d.]+) s", record_help))
    assert figures == {f"{KILL_LOSS_S:g}"}, record_help
    doc = (REPO / "docs" / "recording-format.md").read_text()
    stated = set(re.findall(r"loses at most the last ([\d.]+) s", doc.replace("\n  ", " ")))
    assert stated == {f"{KILL_LOSS_S:g}"}, stated
    assert "second" not in record_help.split("Crash-safe")[1].split(".")[0]


@pytest.mark.slow
def test_sigkill_under_load_loses_at_most_the_promise(tmp_path: Path) -> None:
    rng = random.Random(14)
    losses: dict[str, list[float]] = {"writer": [], "legpress record": []}
    with cpu_load():
        for i in range(KILLS):
            path = tmp_path / f"writer{i}.lprec"
            losses["writer"].append(kill_loss(writer_command(path), path, rng))
            path = tmp_path / f"record{i}.lprec"
            losses["legpress record"].append(kill_loss(record_command(path, i), path, rng))
    for what, values in losses.items():
        print(f"{what}: {len(values)} SIGKILLs under load, lost up to {max(values):.3f} s")
        assert max(values) <= KILL_LOSS_S, (what, values)
        assert min(values) >= 0
