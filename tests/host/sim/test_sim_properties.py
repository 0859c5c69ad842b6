"""Property tests of the simulator's building blocks (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from legpress.sim import MachineParams, PersonParams, parse_sim_url
from legpress.sim.numerics import iir1
from legpress.sim.pressure import BackPadModel
from legpress.sim.sensors import backlash

_floats = st.floats(min_value=-50.0, max_value=50.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    excess=st.lists(st.floats(0.0, 30.0), min_size=1, max_size=20),
    load=st.floats(50.0, 4000.0),
    shift=st.floats(0.0, 25.0),
    breath=st.floats(-3.0, 3.0),
)
def test_force_balance_holds_for_any_tilt_and_load(
    excess: list[float], load: float, shift: float, breath: float
) -> None:
    model = BackPadModel(MachineParams(), PersonParams(), np.array([20.0, 60.0, 100.0]), 127.0)
    e = np.asarray(excess)
    n = e.shape[0]
    gap = model.gaps(e, np.full(n, breath), np.full(n, shift))
    loads = np.full(n, load)
    z = model.settle(gap, loads)
    carried = model.kw * (np.maximum(z[:, None] - gap, 0.0) @ model.wt)
    assert np.allclose(carried, loads, rtol=1e-9)
    # more load, deeper settling
    z2 = model.settle(gap, loads * 1.5)
    assert np.all(z2 > z)


@settings(max_examples=40, deadline=None)
@given(st.lists(_floats, min_size=1, max_size=200), st.floats(0.0, 0.999))
def test_iir_scan_is_the_recursion(x: list[float], a: float) -> None:
    xs = np.asarray(x)
    y = iir1(xs, a, 0.5)
    prev = 0.5
    for i, v in enumerate(x):
        prev = a * prev + v
        assert abs(y[i] - prev) <= 1e-9 * max(1.0, abs(prev))


@settings(max_examples=40, deadline=None)
@given(st.lists(_floats, min_size=1, max_size=200), st.floats(0.0, 3.0))
def test_backlash_stays_within_half_the_play(x: list[float], play: float) -> None:
    xs = np.asarray(x)
    y = backlash(xs, play)
    assert np.all(np.abs(y - xs) <= 0.5 * play + 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**9),
    rate=st.integers(50, 400),
    cells=st.integers(1, 16),
    realtime=st.booleans(),
)
def test_sim_url_round_trip(seed: int, rate: int, cells: int, realtime: bool) -> None:
    text = f"scenario=rehab,seed={seed},rate={rate},cells={cells},realtime={int(realtime)}"
    assert parse_sim_url(text) == {
        "scenario": "rehab",
        "seed": seed,
        "rate_hz": rate,
        "n_cells": cells,
        "realtime": realtime,
        "duration_s": None,
    }
