"""Scoring against the simulator's truth: near misses are "don't care", and steady clear reps
(the lower back did not start to unload) are told apart from the rest for the tilt warning."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from legpress.detect.evaluate import score_session
from legpress.sim.truth import TruthRep


def _rep(i: int, start: float) -> TruthRep:
    return TruthRep(i, start, start + 1.5, start + 3.0, 250.0, lift_off=False)


def _four_clear_reps() -> tuple[SimpleNamespace, np.ndarray]:
    """Four reps without a lift-off, 4 s apart (bottoms at 1.5, 5.5, 9.5 and 13.5 s), and the
    time axis of their sacral margin."""
    reps = [_rep(0, 0.0), _rep(1, 4.0), _rep(2, 8.0), _rep(3, 12.0)]
    truth = SimpleNamespace(reps=reps, lift_offs=[], rom_limit_mm=None)
    return truth, np.arange(0.0, 16.0, 0.01)


def test_near_misses_are_dont_care_and_steady_reps_are_counted_apart() -> None:
    truth, t_s = _four_clear_reps()
    margin = np.full(t_s.size, 10.0)  # 10 mm into the foam at the top of every rep
    margin[np.abs(t_s - 1.5) < 0.5] = 7.0  # rep 0: kept 7 of 10 mm: steady
    margin[np.abs(t_s - 5.5) < 0.5] = 4.0  # rep 1: down to 4 mm: clear, but unloading
    margin[np.abs(t_s - 9.5) < 0.5] = 2.0  # rep 2: within 3 mm: a near miss
    warn = "tilt_warning"
    events = [  # rep 3: none
        SimpleNamespace(type=warn, t_s=t, evidence={"path": path})
        for t, path in ((1.4, "depth"), (1.45, "level"), (5.4, "level"), (9.4, "trend"))
    ]
    s = score_session(truth, [], events, margin=(t_s, margin)).summary()
    assert s["near_misses"] == 1
    assert s["tilt_warning_false_rate"] == round(2 / 3, 4)  # reps 0 and 1 of the 3 clear
    # ... each by its first warning's path (rep 2's is a near miss's: not counted).
    third = round(1 / 3, 4)
    assert s["tilt_warning_false_rate_by_path"] == {"level": third, "trend": 0.0, "depth": third}
    assert s["steady_reps"] == 2  # reps 0 and 3
    assert s["tilt_warning_false_rate_steady"] == 0.5  # rep 0 of them


def test_clear_reps_are_counted_by_how_near_they_came_to_lifting_off() -> None:
    truth, t_s = _four_clear_reps()
    margin = np.full(t_s.size, 12.0)
    margin[np.abs(t_s - 1.5) < 0.5] = 3.5  # rep 0: 3.5 mm, alerted and warned
    margin[np.abs(t_s - 5.5) < 0.5] = 3.8  # rep 1: 3.8 mm, warned only
    margin[np.abs(t_s - 9.5) < 0.5] = 7.0  # rep 2: 7 mm, nothing
    # rep 3 keeps 12 mm: the open-ended band
    events = [
        SimpleNamespace(type="lift_off", t_s=1.6),
        SimpleNamespace(type="tilt_warning", t_s=1.4, evidence={"path": "level"}),
        SimpleNamespace(type="tilt_warning", t_s=5.4, evidence={"path": "level"}),
    ]
    s = score_session(truth, [], events, margin=(t_s, margin))
    bands = s.summary()["by_margin"]
    assert bands["3-4"] == {"reps": 2, "alerted": 0.5, "warned": 1.0}
    assert bands["6-8"] == {"reps": 1, "alerted": 0.0, "warned": 0.0}
    assert bands["10+"] == {"reps": 1, "alerted": 0.0, "warned": 0.0}
    assert bands["4-5"] == {"reps": 0, "alerted": None, "warned": None}
    # Scores add up band by band.
    assert (s + s).summary()["by_margin"]["3-4"]["reps"] == 4
