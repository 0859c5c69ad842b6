"""The third world's generator (tests/bench/bench_world3.py) writes CSV files that ``legpress
analyze`` reads, with a truth that holds together. One session per population; accuracy is the
benchmark's business, not this test's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_world3.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("legpress_bench_world3", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize("population", ["standard", "hard"])
def test_one_session_imports_and_analyses(tmp_path: Path, population: str) -> None:
    w3 = _load()
    session = w3.generate_session(w3.SEEDS[population], hard=population == "hard")
    path = tmp_path / f"{population}.csv"
    w3.write_csv(session, path)

    code, lines = w3.analyze(path, session.pitch_mm, session.rom_limit_mm)

    assert code == 0
    assert any(line["type"] == "rep" for line in lines)
    assert all("type" in line for line in lines)
    # the truth: reps in time order, every onset inside its own rep, every rep classified
    assert session.reps
    assert session.cells.shape == (len(session.t_s), session.person.cells)
    assert np.all(np.diff(session.t_s) > 0)
    for before, after in zip(session.reps, session.reps[1:], strict=False):
        assert before.t_end_s <= after.t_start_s
    for rep in session.reps:
        assert rep.kind in ("lift_off", "clean", "near_miss")
        assert (rep.onset_s is not None) == (rep.kind == "lift_off")
        if rep.onset_s is not None:
            assert rep.t_start_s <= rep.onset_s <= rep.t_end_s
            assert rep.clearance_max_mm > w3.LIFT_MM


def test_each_rep_gets_a_mark_from_the_events_in_its_span() -> None:
    w3 = _load()
    reps = [
        w3.Rep(0.0, 1.0, 2.0, 250.0, "lift_off", onset_s=0.8),
        w3.Rep(3.0, 4.0, 5.0, 200.0, "clean"),
        w3.Rep(6.0, 7.0, 8.0, 240.0, "near_miss"),
    ]
    session = w3.Session(np.arange(3.0), np.zeros(3), np.zeros((3, 8)), reps, 40.0, 400.0, None)
    events = [
        {"type": "tilt_warning", "t_s": 0.5},
        {"type": "lift_off", "t_s": 0.85},
        {"type": "tilt_warning", "t_s": 7.5},
        {"type": "lift_off", "t_s": 8.2},  # within 0.3 s of the near miss's end: its own
    ]
    tally = w3.Tally()
    assert w3.score(session, events, tally) == "L!w . n!w"
    assert tally.hits == 1 and tally.warned_early == 1 and tally.false_alarms == 0
