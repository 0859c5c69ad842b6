"""The scenario catalogue, its ground truth, overrides and the ``sim:`` URL options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legpress.sim import (
    SCENARIOS,
    GroundTruth,
    make_scenario,
    parse_sim_url,
    population,
    scenario_from_url,
)
from legpress.sim.pelvis import excess_tilt_static_deg


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_runs_with_consistent_truth(name: str) -> None:
    result = make_scenario(name, seed=11).run(duration_s=12)
    truth = result.truth
    assert truth.scenario == name
    assert truth.duration_s == 12
    assert result.packets[0][1] == result.info_packet
    assert len(result.packets) > 50
    starts = [r.t_start_s for r in truth.reps]
    assert starts == sorted(starts)
    for r in truth.reps:
        assert 0 < r.t_start_s < r.t_bottom_s < r.t_end_s <= truth.duration_s
        assert r.depth_mm > 50
    for lo in truth.lift_offs:
        assert lo.rep >= 0
        rep = truth.reps[lo.rep]
        assert rep.lift_off
        assert rep.t_start_s < lo.t_onset_s < lo.t_end_s
    for c in truth.rom_crossings:
        assert c.limit_mm == truth.rom_limit_mm
        assert c.depth_mm >= c.limit_mm
    # the sampled truth agrees with the trajectory at the reps' bottoms
    s = result.signals
    for r in truth.reps:
        near = np.abs(s.t_read_s - r.t_bottom_s) < 0.011
        assert np.all(np.abs(s.sled_mm[near] - r.depth_mm) < 3.0)


def test_truth_round_trips_through_json(tmp_path: Path) -> None:
    truth = make_scenario("rom_overshoot", seed=2).run(duration_s=30).truth
    path = tmp_path / "truth.json"
    truth.save(path)
    again = GroundTruth.load(path)
    assert again == truth
    d = truth.to_dict()
    assert d["format"] == "legpress-sim-truth"
    assert {"reps", "lift_offs", "rom_crossings", "person", "counts_per_mm"} <= set(d)


def test_rom_crossings_are_where_the_sled_passes_the_limit() -> None:
    sc = make_scenario("rom_overshoot", seed=1)
    truth = sc.run(duration_s=60).truth
    assert truth.rom_crossings
    plan_sled = sc.plan(60.0).sled
    for c in truth.rom_crossings:
        x = plan_sled(np.array([c.t_s - 0.002, c.t_s, c.t_s + 0.002]))[0]
        assert x[1] == pytest.approx(c.limit_mm, abs=0.2)
        assert x[0] < c.limit_mm < x[2]
        assert c.t_exit_s is not None and c.t_exit_s > c.t_s
    deep = {r.index for r in truth.reps if r.depth_mm > truth.rom_limit_mm}
    assert deep == {c.rep for c in truth.rom_crossings}


def test_liftoff_scenario_lifts_off_in_most_reps() -> None:
    truth = make_scenario("liftoff", seed=0).run().truth
    assert len(truth.reps) == 10
    assert sum(r.lift_off for r in truth.reps) >= 6
    assert truth.liftoff_depth_mm is not None
    assert truth.liftoff_depth_mm < max(r.depth_mm for r in truth.reps)


def test_dead_cell_reads_zero() -> None:
    sc = make_scenario("dead_cell", seed=5)
    result = sc.run(duration_s=10)
    dead = [f.cell for f in sc.config.sensor.faults if f.kind == "open"]
    assert len(dead) == 1
    assert np.all(result.signals.cell_counts[:, dead[0]] == 0)
    assert result.signals.cell_force_n[:, dead[0]].max() > 0.5  # the body still presses on it


def test_rehab_patient_has_a_low_limit_on_a_horizontal_machine() -> None:
    sc = make_scenario("rehab", seed=3)
    p = sc.config.person
    assert sc.config.machine.kind == "horizontal"
    assert p.rom_limit_mm < 220
    assert p.lowering_s >= 3.0
    truth = sc.run(duration_s=40).truth
    assert max(r.t_bottom_s - r.t_start_s for r in truth.reps) > 2.5


def test_a_group_of_varied_people() -> None:
    people = population(5, seed=20)
    persons = [sc.config.person for sc in people]
    assert len({p.label for p in persons}) == 5
    assert len({p.body_mass_kg for p in persons}) == 5
    assert len({round(p.rom_limit_mm) for p in persons}) >= 4
    for sc in people:
        p = sc.config.person
        assert 380 <= p.thigh_mm <= 480
        hip = np.array([sc.geometry.angles(np.array([p.target_depth_mm])).hip_deg[0]])
        assert excess_tilt_static_deg(hip, p).shape == (1,)


def test_a_longer_duration_repeats_sets_and_a_shorter_one_keeps_whole_reps() -> None:
    long = make_scenario("clean", seed=0).run(duration_s=150).truth
    assert len({r.set_index for r in long.reps}) >= 2
    assert long.reps[-1].t_end_s <= 150
    short = make_scenario("clean", seed=0).run(duration_s=20).truth
    assert short.reps == long.reps[: len(short.reps)]
    assert all(r.t_end_s <= 20 for r in short.reps)


def test_overrides() -> None:
    sc = make_scenario("dead_cell", seed=1, n_cells=1, rate_hz=50, rom_limit_mm=250.0)
    assert sc.config.n_cells == 1
    assert sc.config.period_us == 20_000
    assert sc.config.person.rom_limit_mm == 250.0
    assert all(f.cell < 1 for f in sc.config.sensor.faults)
    with pytest.raises(ValueError, match="unknown simulator option 'colour'"):
        make_scenario("clean", colour="red")
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        make_scenario("nope")
    with pytest.raises(ValueError, match="rate_hz"):
        make_scenario("clean", rate_hz=1000)
    with pytest.raises(ValueError, match="seed"):
        make_scenario("clean", seed=-1)


def test_parse_sim_url() -> None:
    opts = parse_sim_url("scenario=liftoff,seed=3,rate=100,cells=8,realtime=1")
    assert opts == {
        "scenario": "liftoff",
        "seed": 3,
        "rate_hz": 100,
        "n_cells": 8,
        "realtime": True,
        "duration_s": None,
    }
    assert parse_sim_url("")["scenario"] == "demo"
    assert parse_sim_url("sim:rehab,realtime=off,duration=30") == {
        "scenario": "rehab",
        "seed": 0,
        "realtime": False,
        "duration_s": 30.0,
    }
    assert parse_sim_url("loss=0.1,limit=300,sets=2,reps=5")["loss_prob"] == 0.1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate=1000", "sim: bad rate '1000'; allowed: an integer 50-400"),
        ("cells=0", "sim: bad cells '0'; allowed: an integer 1-16"),
        ("scenario=moon", "sim: bad scenario 'moon'; allowed: demo, clean"),
        ("realtime=maybe", "sim: bad realtime 'maybe'; allowed: 1/0"),
        ("speed=2", "sim: unknown option 'speed'; allowed: scenario, seed"),
        ("seed=1,seed=2", "sim: option 'seed' given twice"),
        ("liftoff,fast", "sim: option 'fast' needs a value"),
        ("seed=x", "sim: bad seed 'x'"),
        ("duration=0", "sim: bad duration '0'; allowed: seconds > 0"),
    ],
)
def test_parse_sim_url_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_sim_url(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_scenario_from_url() -> None:
    sc, realtime = scenario_from_url("liftoff,seed=2,rate=200,realtime=0,duration=5")
    assert not realtime
    assert sc.config.name == "liftoff"
    assert sc.config.seed == 2
    assert sc.config.rate_hz == 200
    assert sc.config.session.duration_s == 5.0
    result = sc.run()
    assert result.truth.duration_s == 5.0
