"""Robustness conditions: one simulator parameter (or a few) per way a real pad, sensor or body
can differ from the nominal model, each with a range and its source.

The accuracy benchmark sweeps each condition on its own over a population of people, then all
of them together (``hard``). A condition draws its values per person from the person's seed, so
a row is reproducible and a person is the same person in every row. Sources: issue 12 (what
independent data showed), the research report (``§7.3``, ``§7.4``), or **[A]** an assumption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from legpress.sim.params import CellFault, ScenarioConfig
from legpress.sim.scenario import Scenario
from legpress.sim.scenarios import make_scenario

Apply = Callable[[ScenarioConfig, np.random.Generator], ScenarioConfig]


@dataclass(frozen=True, slots=True)
class Condition:
    """One way the world can differ from the nominal simulator.

    Attributes:
        name: row name in the benchmark.
        what: the condition, in words.
        values: the parameter(s) and range drawn per person.
        source: where the range comes from.
        apply: ``(config, rng) -> config`` with this condition's values drawn.
    """

    name: str
    what: str
    values: str
    source: str
    apply: Apply


def _residual(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    return replace(c, machine=replace(c.machine, seat_corner_frac=float(rng.uniform(0.0, 0.6))))


def _scale(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    s = float(np.exp(rng.uniform(np.log(0.5), np.log(3.0))))
    return replace(c, machine=replace(c.machine, pad_scale_at_depth=s))


def _crosstalk(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    return replace(c, sensor=replace(c.sensor, crosstalk_frac=float(rng.uniform(0.0, 0.15))))


def _drift(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    sensor = replace(
        c.sensor,
        material="velostat",
        drift_frac=0.1,
        hysteresis=float(rng.uniform(0.05, 0.15)),
    )
    return replace(c, sensor=sensor)


def _gain(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    return replace(c, sensor=replace(c.sensor, gain_range=(0.6, 1.5)))


def _dead(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    cell = int(rng.integers(0, c.n_cells))
    if rng.random() < 0.5:
        fault = CellFault(cell=cell, kind="open")
    else:
        fault = CellFault(cell=cell, kind="stuck", counts=int(rng.uniform(200, 2000)))
    return replace(c, sensor=replace(c.sensor, faults=(*c.sensor.faults, fault)))


def _offset(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    pitch = c.pitch_mm
    first = c.sensor.first_cell_mm + float(rng.uniform(-pitch, pitch))
    return replace(c, sensor=replace(c.sensor, first_cell_mm=first))


def _breathing(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    return replace(c, person=replace(c.person, breathing_mm=float(rng.uniform(1.5, 3.0))))


def _arms(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    person = replace(
        c.person,
        arm_pull_n=float(rng.uniform(60.0, 150.0)),
        arm_pelvis_frac=float(rng.uniform(0.3, 0.7)),
    )
    return replace(c, person=person)


def _slide(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    person = replace(c.person, seat_shift_sd_mm=10.0, seat_shift_max_mm=15.0)
    return replace(c, person=person)


def _strip(c: ScenarioConfig, rng: np.random.Generator) -> ScenarioConfig:
    pitch = int(rng.integers(25, 51))
    low = max(4, int(np.ceil(160.0 / pitch)))
    n = int(rng.integers(low, 17))
    return replace(c, n_cells=n, cell_pitch_mm=pitch)


CONDITIONS: Final[tuple[Condition, ...]] = (
    Condition(
        "cells_pitch",
        "another strip: 4 to 16 cells at 25-50 mm",
        "pitch U{25..50} mm, cells U{max(4, 160 mm / pitch)..16}",
        "issue 12; §7.3 (3-5 cm pitch). At least 160 mm of strip, so that cells lie above "
        "the sacrum",
        _strip,
    ),
    Condition(
        "sacral_residual",
        "sacral cells keep part of their load at lift-off (foam and cover, the pelvis pressed "
        "into the seat corner)",
        "seat_corner_frac U(0, 0.6) of each sacral cell's neutral load, growing with pad load",
        "issue 12: 0-60 % kept at a true lift-off",
        _residual,
    ),
    Condition(
        "leg_force_scale",
        "leg force scales every cell through the rep",
        "pad_scale_at_depth log-U(0.5, 3) at the target depth",
        "issue 12: 0.5-3x; §7.3 (pressure scales with sled force)",
        _scale,
    ),
    Condition(
        "crosstalk",
        "a neighbour's load reaches a cell",
        "crosstalk_frac U(0, 0.15) of each neighbour's force",
        "issue 12: up to 15 %",
        _crosstalk,
    ),
    Condition(
        "creep_drift",
        "velostat-like creep, drift and hysteresis",
        "material velostat (gain spread, creep, drift x3), drift_frac 0.1 per cell over the "
        "session, hysteresis U(5, 15) %",
        "issue 12: +-10 % over a session; §7.4 (velostat x2-5, hysteresis 5-15 %)",
        _drift,
    ),
    Condition(
        "cell_gain",
        "per-cell gain mismatch",
        "gain_range (0.6, 1.5), uniform per cell",
        "issue 12; §7.4 (15-25 % uncalibrated)",
        _gain,
    ),
    Condition(
        "dead_or_stuck",
        "one dead or stuck cell anywhere on the strip",
        "one cell open (reads 0) or stuck at U(200, 2000) counts, 50/50",
        "§7.4 (dead cell, stuck after compression); issue 12",
        _dead,
    ),
    Condition(
        "strip_offset",
        "strip fitted off the seat junction",
        "first_cell_mm 20 + U(-pitch, +pitch)",
        "issue 12: up to one cell off",
        _offset,
    ),
    Condition(
        "breathing",
        "deep breathing against the pad",
        "breathing_mm U(1.5, 3) (about +-10-18 % on the lowest cells at rest)",
        "§7.3 (+-3-8 %, doubled and more) [A]",
        _breathing,
    ),
    Condition(
        "arm_pull",
        "pulling hard on the handles, pressing the pelvis into the seat",
        "arm_pull_n U(60, 150), arm_pelvis_frac U(0.3, 0.7)",
        "§7.3 (arms raise upper cells); issue 12 [A]",
        _arms,
    ),
    Condition(
        "body_slide",
        "the body slides on the pad between sets",
        "seat shift sd 10 mm, within 0-15 mm",
        "issue 12: up to 15 mm [A]",
        _slide,
    ),
)
"""Every condition, in benchmark order (the strip first: the others draw on its cells)."""

CONDITION_NAMES: Final = ("nominal", *(c.name for c in CONDITIONS), "hard")


def condition_scenario(row: str, seed: int) -> Scenario:
    """The ``group`` person ``seed`` under a benchmark row: ``nominal`` (no condition), one
    condition's name, or ``hard`` (every condition at once).

    Raises:
        ValueError: an unknown row.
    """
    if row not in CONDITION_NAMES:
        raise ValueError(f"unknown condition {row!r}; allowed: {', '.join(CONDITION_NAMES)}")
    config = make_scenario("group", seed).config
    for k, cond in enumerate(CONDITIONS):
        if row in (cond.name, "hard"):
            config = cond.apply(config, np.random.default_rng([seed, 0xC0, k]))
    return Scenario(config)
