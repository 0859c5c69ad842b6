"""The readout conditions of issue 12 (legpress.sim.conditions): each does what it says, and
none changes the ground truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from legpress.sim import SimResult, make_scenario
from legpress.sim.conditions import CONDITION_NAMES, CONDITIONS, condition_scenario
from legpress.sim.scenario import Scenario
from legpress.sim.sensors import crosstalk


@pytest.fixture(scope="module")
def nominal() -> SimResult:
    return make_scenario("liftoff", seed=2).run(duration_s=30)


def _with(res: SimResult, **parts: object) -> SimResult:
    return Scenario(replace(res.config, **parts)).run()  # type: ignore[arg-type]


def _during_lift_off(res: SimResult) -> np.ndarray:
    t = res.signals.t_s
    mask = np.zeros(t.size, bool)
    for lo in res.truth.lift_offs:
        mask |= (t >= lo.t_onset_s + 0.05) & (t <= lo.t_end_s - 0.05)
    assert mask.any()
    return mask


def test_seat_corner_keeps_the_sacral_cells_loaded_through_a_lift_off(
    nominal: SimResult,
) -> None:
    corner = _with(nominal, machine=replace(nominal.config.machine, seat_corner_frac=0.5))
    off = _during_lift_off(nominal)
    sacral = nominal.truth.sacral_cells
    assert nominal.signals.cell_counts[off][:, sacral[0]].max() == 0  # an ideal pad reads 0
    held = corner.signals.cell_counts[off][:, sacral[0]]
    top = corner.signals.cell_counts[corner.signals.sled_mm < 5][:, sacral[0]]
    assert 0.25 < np.median(held) / np.median(top) < 1.2  # kept a good part of its load
    assert corner.truth.lift_offs == nominal.truth.lift_offs  # the truth does not move


def test_pad_scale_at_depth_multiplies_every_cell(nominal: SimResult) -> None:
    scaled = _with(nominal, machine=replace(nominal.config.machine, pad_scale_at_depth=2.5))
    deep = nominal.signals.sled_mm > 250
    top_cell = nominal.config.n_cells // 2
    ratio = scaled.signals.cell_counts[deep, top_cell] / np.maximum(
        nominal.signals.cell_counts[deep, top_cell], 1
    )
    assert np.median(ratio) > 1.5  # through the FSR and ADC, so not exactly 2.5x


def test_crosstalk_adds_each_neighbours_share() -> None:
    f = np.array([[10.0, 0.0, 0.0, 4.0]])
    assert crosstalk(f, 0.1).tolist() == [[10.0, 1.0, 0.4, 4.0]]
    assert crosstalk(f, 0.0) is f


def test_gain_range_and_drift_are_drawn_per_cell(nominal: SimResult) -> None:
    from legpress.sim.sensors import PadSensors

    params = replace(nominal.config.sensor, gain_range=(0.6, 1.5), drift_frac=0.1)
    s = PadSensors(params, 16, np.random.default_rng(3))
    assert s.gain.min() >= 0.6 and s.gain.max() <= 1.5 and np.ptp(s.gain) > 0.4
    assert np.abs(s.drift).max() <= 0.1 and np.ptp(s.drift) > 0.05


@pytest.mark.parametrize("row", CONDITION_NAMES)
def test_every_row_builds_a_different_person_reproducibly(row: str) -> None:
    a = condition_scenario(row, 1001).config
    assert a == condition_scenario(row, 1001).config
    if row != "nominal":
        assert a != condition_scenario("nominal", 1001).config
    assert a.person == condition_scenario("nominal", 1001).config.person or row in (
        "breathing",
        "arm_pull",
        "body_slide",
        "hard",
    )


def test_every_condition_says_where_its_range_comes_from() -> None:
    for c in CONDITIONS:
        assert c.what and c.values and c.source, c.name
    with pytest.raises(ValueError, match="unknown condition"):
        condition_scenario("nope", 1)
