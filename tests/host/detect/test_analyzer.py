"""The streaming analyzer: reps, lift-off, ROM and form checks; causal and chunk-invariant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legpress.detect.analyzer import Analyzer
from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, Rep
from legpress.dsp.calibration import CalibratedBlock
from legpress.errors import ConfigError

from .synth import FS_HZ, chunks, stream
from .synth import Rep as SynthRep


def run(block, config=None, sizes=None):  # type: ignore[no-untyped-def]
    a = Analyzer(config or DetectorConfig(), 1 / FS_HZ, block.n_cells)
    out: list[Rep | Event] = []
    for part in chunks(block, sizes) if sizes else [block]:
        out += a.update(part)
    return a, out


def events(out, etype):  # type: ignore[no-untyped-def]
    return [e for e in out if isinstance(e, Event) and e.type == etype]


def test_counts_reps_and_measures_them() -> None:
    block, _ = stream([SynthRep(depth_mm=d) for d in (250, 300, 350)])
    a, _ = run(block)
    assert [round(r.depth_mm) for r in a.reps] == [250, 300, 350]
    for r in a.reps:
        # Phases are timed from leaving the top (5 mm) to the bottom and back to 20 % of the
        # travel: the slow first and last few millimetres of a minimum-jerk move fall outside.
        assert 1.6 <= r.lowering_s <= 2.0
        assert 1.1 <= r.pushing_s <= 1.5
        assert r.pushing_peak_mm_s > r.pushing_mean_mm_s > 0
        assert r.lumbar_contact_min == pytest.approx(1.0, abs=0.05)
        assert not r.lift_off and not r.rom_exceeded
    assert not a.events


def test_lift_off_fires_once_per_episode_with_evidence() -> None:
    block, onsets = stream(
        [SynthRep(300, lift_off_at_mm=270), SynthRep(250), SynthRep(320, lift_off_at_mm=280)]
    )
    a, out = run(block)
    lifts = events(out, "lift_off")
    assert [e.rep for e in lifts] == [0, 2]
    for e, onset in zip(lifts, onsets, strict=True):
        assert onset - 0.1 <= e.t_s <= onset + 0.1
        assert e.evidence["cells"] == [0, 1, 2]
        assert e.evidence["front_cell"] == 3
        ev = e.evidence
        assert ev["position"] < ev["threshold"] or ev["front_share"] < ev["front_threshold"]
        assert ev["share"] < 0.2 and ev["clean_share"] > 0.9
        assert "lower back" in e.message
    assert [r.lift_off for r in a.reps] == [True, False, True]
    assert a.reps[0].lift_off_s > 0.2
    assert a.reps[0].lift_off_depth_mm is not None and a.reps[0].lift_off_depth_mm < 300


@pytest.mark.parametrize(
    "kwargs",
    [
        {"leg_force_gain": 0.5},
        {"leg_force_gain": -0.5},
        {"drift_per_s": 0.01},
        {"drift_per_s": -0.005},
        {"breathing": 0.08},
        {"gains": np.array([0.6, 1.4, 1.0, 0.8, 1.2, 1.1, 0.7, 1.3])},
    ],
    ids=["force_up", "force_down", "drift_up", "drift_down", "breathing", "gains"],
)
def test_no_false_alarm_and_still_detects_under_confounds(kwargs) -> None:  # type: ignore[no-untyped-def]
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, onsets = stream(reps, seed=3, **kwargs)
    _, out = run(block)
    lifts = events(out, "lift_off")
    assert [e.rep for e in lifts] == [1]
    assert abs(lifts[0].t_s - onsets[0]) <= 0.1


def test_dead_lowest_cell_is_left_out_and_next_cells_used() -> None:
    block, _ = stream([SynthRep(300, lift_off_at_mm=260)], dead_cell=0)
    _, out = run(block)
    (e,) = events(out, "lift_off")
    assert e.evidence["cells"] == [1, 2]
    assert 0 in e.evidence["left_out"]


def test_nobody_on_the_pad_is_said_not_passed_silently() -> None:
    block, _ = stream([SynthRep(300, lift_off_at_mm=260), SynthRep(300)])
    empty = type(block)(block.t_s, block.depth_mm, block.load * 0.0, block.valid)
    _, out = run(empty)
    assert not events(out, "lift_off")
    unjudged = events(out, "pad_unjudged")
    assert [e.rep for e in unjudged] == [0, 1]
    assert all(e.evidence["reason"] == "no_load" for e in unjudged)
    assert "cannot be judged" in unjudged[0].message


def test_leaving_the_pad_mid_session_is_judged_against_the_session() -> None:
    block, _ = stream([SynthRep(300), SynthRep(300), SynthRep(300, lift_off_at_mm=260)])
    load = block.load.copy()
    second = block.t_s > 5.5  # from the second rep on, the person sits up off the pad
    load[second] *= 0.03
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    unjudged = events(out, "pad_unjudged")
    assert [e.rep for e in unjudged] == [1, 2]
    assert {e.evidence["reason"] for e in unjudged} == {"load_low"}
    assert not events(out, "lift_off")


def test_one_cell_in_contact_cannot_be_judged() -> None:
    block, _ = stream([SynthRep(300, lift_off_at_mm=260)])
    load = block.load.copy()
    load[:, 1:] = 0.0
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    (e,) = events(out, "pad_unjudged")
    assert e.evidence["reason"] == "too_few_cells"


@pytest.mark.parametrize("unit", [1.0, 0.01, 1000.0, 0.0098, 7.5])
def test_same_events_in_any_unit(unit: float) -> None:
    # counts, x0.01, x1000, "newtons" and "kPa": the detector works on ratios of loads only.
    reps = [
        SynthRep(300),
        SynthRep(300, lift_off_at_mm=260),
        SynthRep(280),
        SynthRep(320, lift_off_at_mm=270),
    ]
    block, _ = stream(reps, seed=4, leg_force_gain=0.6, breathing=0.04)
    cfg = DetectorConfig(rom_limit_mm=310)
    _, ref = run(block, cfg)
    scaled = type(block)(block.t_s, block.depth_mm, block.load * unit, block.valid)
    _, out = run(scaled, cfg)
    key = [(e.type, e.rep, e.t_s) for e in out if isinstance(e, Event)]
    assert key == [(e.type, e.rep, e.t_s) for e in ref if isinstance(e, Event)]
    assert [e.rep for e in events(out, "lift_off")] == [1, 3]
    assert [r.lift_off for r in out if isinstance(r, Rep)] == [False, True, False, True]


def test_tilt_warning_comes_before_the_lift_off() -> None:
    block, _ = stream([SynthRep(300), SynthRep(300, lift_off_at_mm=260)], seed=2)
    _, out = run(block)
    (warn,) = events(out, "tilt_warning")
    (lift,) = events(out, "lift_off")
    assert warn.rep == lift.rep == 1
    assert warn.t_s < lift.t_s
    ev = warn.evidence
    assert ev["position"] < ev["threshold"] or (
        ev["position"] < ev["start"] and ev["time_to_lift_off_s"] < ev["lead_s"]
    )
    assert "lower back" in warn.message
    # The warning reads its numbers on the lift-off alert's scale (floor 0, usual rep 1).
    assert (
        f"{ev['position']:.0%} of the way from this person's floor to a usual rep at this "
        f"depth (lift-off below {ev['liftoff_threshold']:.0%})"
    ) in warn.message
    assert f"{lift.evidence['position']:.0%} of the way from this person's floor" in lift.message


def test_stuck_cell_is_left_out_from_the_next_rep() -> None:
    block, _ = stream([SynthRep(300), SynthRep(300, lift_off_at_mm=260)], seed=1)
    load = block.load.copy()
    load[:, 1] = 777.0  # stuck after compression: reads the same whatever the load
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    (e,) = events(out, "lift_off")
    assert e.rep == 1
    assert 1 not in e.evidence["cells"] and 1 in e.evidence["left_out"]
    # ... and said, once, at the end of the first rep that showed it.
    (fault,) = events(out, "cell_fault")
    assert fault.rep == 0 and fault.evidence["cell"] == 1 and fault.evidence["fault"] == "stuck"
    assert fault.evidence["reading"] == 777.0
    assert "pad cell 1 read 777" in fault.message and "connector" in fault.message


def test_a_stuck_cell_is_said_again_if_it_sticks_again_and_a_silent_one_is_not_said() -> None:
    reps = [SynthRep(300), SynthRep(300), SynthRep(300), SynthRep(300)]
    block, _ = stream(reps, seed=2)
    load = block.load.copy()
    load[:, 4] = 500.0
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    assert [(e.rep, e.evidence["cell"]) for e in events(out, "cell_fault")] == [(0, 4)]
    # It reads again through the third rep (a connector wiggled back), then sticks again.
    third = [r for r in out if isinstance(r, Rep)][2]
    during = (block.t_s >= third.t_start_s) & (block.t_s <= third.t_end_s)
    load[during, 4] = block.load[during, 4]
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    assert [e.rep for e in events(out, "cell_fault")] == [0, 3]
    # A cell reading 0 all along (an open wire, which the device reports, or nobody pressing
    # there: under the lumbar arch, below the seat junction) is left out without a word.
    for cell in (0, 2):
        block, _ = stream(reps[:2], seed=2, dead_cell=cell)
        _, out = run(block)
        assert not events(out, "cell_fault")


def test_rom_warning_then_alert_at_the_limit() -> None:
    block, _ = stream([SynthRep(300), SynthRep(360), SynthRep(250)])
    a, out = run(block, DetectorConfig(rom_limit_mm=320))
    warn = events(out, "rom_warning")
    rom = events(out, "rom_exceeded")
    assert [e.rep for e in rom] == [1]
    assert rom[0].evidence["depth_mm"] >= 320
    i = int(np.searchsorted(block.t_s, rom[0].t_s))
    assert block.depth_mm[i] >= 320 and block.depth_mm[i - 1] < 320  # the instant it crossed
    assert any(w.rep == 1 and w.t_s < rom[0].t_s for w in warn)
    assert [r.rom_exceeded for r in a.reps] == [False, True, False]


def test_rom_warning_lead_scales_with_speed() -> None:
    slow, _ = stream([SynthRep(400, lower_s=3.0)])
    fast, _ = stream([SynthRep(400, lower_s=1.2)])
    cfg = DetectorConfig(rom_limit_mm=350)
    (ws,) = events(run(slow, cfg)[1], "rom_warning")
    (wf,) = events(run(fast, cfg)[1], "rom_warning")
    assert 350 - wf.evidence["depth_mm"] > 350 - ws.evidence["depth_mm"] >= 15


def test_form_checks() -> None:
    block, _ = stream(
        [
            SynthRep(300, lower_s=0.9, bottom_pause_s=0.0, bounce=True),
            SynthRep(300, lower_s=2.5),
        ]
    )
    _, out = run(block)
    assert [e.rep for e in events(out, "fast_lowering")] == [0]
    assert [e.rep for e in events(out, "bounce")] == [0]
    # After the first rep, the knees straighten at the top: the sled 12 mm past the set's top.
    after = (block.depth_mm < 1) & (block.t_s > 4.5)
    locked = type(block)(
        block.t_s, np.where(after, -12.0, block.depth_mm), block.load, block.valid
    )
    _, out = run(locked)
    assert events(out, "knee_lock")
    assert events(out, "knee_lock")[0].evidence["set_top_mm"] == pytest.approx(0.0, abs=1.0)


def test_knee_lock_is_judged_against_each_sets_own_top() -> None:
    # Two sets, the second one sitting 6 mm higher (its top at -6 mm): no knee lock.
    first, _ = stream([SynthRep(300), SynthRep(300)])
    second, _ = stream([SynthRep(300), SynthRep(300)])
    gap = 20.0
    t = np.concatenate([first.t_s, second.t_s + first.t_s[-1] + gap])
    d = np.concatenate([first.depth_mm, second.depth_mm - 6.0])
    load = np.concatenate([first.load, second.load])
    block = type(first)(t, d, load, np.ones(t.size, bool))
    a, out = run(block)
    assert not events(out, "knee_lock")
    assert a.set_starts == [0, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 97), min_size=1, max_size=12))
def test_chunk_invariance(sizes: list[int]) -> None:
    block, _ = stream(
        [
            SynthRep(300, lift_off_at_mm=250),
            SynthRep(360, lower_s=0.7, bottom_pause_s=0.0, bounce=True),
        ],
        seed=7,
        breathing=0.05,
    )
    cfg = DetectorConfig(rom_limit_mm=330)
    _, whole = run(block, cfg)
    _, parts = run(block, cfg, sizes)
    assert whole == parts
    assert len(whole) >= 6


def test_causal_events_do_not_change_when_the_future_is_cut_off() -> None:
    block, _ = stream([SynthRep(300, lift_off_at_mm=250), SynthRep(360)], seed=5)
    cfg = DetectorConfig(rom_limit_mm=330)
    _, full = run(block, cfg)
    for e in [x for x in full if isinstance(x, Event)]:
        cut = int(np.searchsorted(block.t_s, e.t_s)) + 1
        _, prefix = run(block.slice(0, cut), cfg)
        assert e in prefix


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="liftoff_position"):
        DetectorConfig(liftoff_position=0.8, liftoff_recover_position=0.5)
    with pytest.raises(ConfigError, match="tilt_warning_position"):
        DetectorConfig(tilt_warning_position=0.05)
    with pytest.raises(ConfigError, match="rom_limit_mm"):
        DetectorConfig(rom_limit_mm=-3)
    with pytest.raises(ConfigError, match="finite"):
        DetectorConfig(reverse_mm=float("nan"))


def test_decision_trace_is_what_the_rule_fired_on() -> None:
    block, _ = stream([SynthRep(300), SynthRep(300, lift_off_at_mm=260)], seed=6)
    a = Analyzer(DetectorConfig(), 1 / FS_HZ, block.n_cells, trace=True)
    for part in chunks(block, [37, 5, 120]):
        a.update(part)
    position, threshold, front = a.decision_trace(len(block))
    (lift,) = [e for e in a.events if e.type == "lift_off"]
    i = int(np.searchsorted(block.t_s, lift.t_s))
    assert position[i] == pytest.approx(lift.evidence["position"])
    assert threshold[i] == pytest.approx(lift.evidence["threshold"])
    assert front[i] == pytest.approx(lift.evidence["front_share"])
    assert np.isnan(position[:50]).all()  # before the first rep: nothing judged
    with pytest.raises(ValueError):
        Analyzer(DetectorConfig(), 1 / FS_HZ, block.n_cells).decision_trace(10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=40), st.integers(0, 6), st.integers(1, 6))
def test_first_run_agrees_with_counting_sample_by_sample(
    cond: list[bool], carry: int, m: int
) -> None:
    # The analyzer finds where a run of samples reaches its length with a few numpy passes;
    # counting one sample at a time must give the same place and the same carried run.
    from legpress.detect.analyzer import _first_run

    run, where = carry, len(cond)
    for k, c in enumerate(cond):
        run = run + 1 if c else 0
        if run >= m:
            where = k
            break
    k, tail = _first_run(np.array(cond, bool), carry, m)
    assert k == where
    if where == len(cond):
        assert tail == run


def test_lift_off_seen_at_the_contact_front_when_the_lowest_cells_keep_load() -> None:
    # The pelvis pressed into the seat corner (or foam, or a strip fitted above the junction):
    # the two lowest cells keep 45 % of their load through the lift-off, and the cell above
    # the lower back does not unload. The highest lower-back cell empties: that is the front.
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, onsets = stream(reps, seed=8)
    load = block.load.copy()
    base = load[:50].mean(axis=0)
    load[:, :2] = np.maximum(load[:, :2], 0.45 * base[:2])
    load[:, 3] = base[3]
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    (lift,) = events(out, "lift_off")
    assert lift.rep == 1 and abs(lift.t_s - onsets[0]) <= 0.1
    assert lift.evidence["front_share"] < lift.evidence["front_threshold"]
    assert lift.evidence["position"] > DetectorConfig().liftoff_position  # not the share
    # With the highest lower-back cell keeping load too, there is nothing to see.
    load[:, 2] = np.maximum(load[:, 2], 0.45 * base[2])
    _, out = run(type(block)(block.t_s, block.depth_mm, load, block.valid))
    assert not events(out, "lift_off")


def test_a_falling_trend_warns_only_toward_a_lift_off_this_person_has_shown() -> None:
    # Reps that come close (the lower back partly unloaded, falling fast) before and after
    # this person's back was seen to lift at 260 mm: only the later one is warned.
    block, _ = stream(
        [
            SynthRep(300),
            SynthRep(300, lift_off_at_mm=335),
            SynthRep(300, lift_off_at_mm=260),
            SynthRep(300, lift_off_at_mm=320),
        ],
        seed=9,
    )
    a, out = run(block)
    assert [e.rep for e in events(out, "lift_off")] == [2]
    assert [e.rep for e in events(out, "tilt_warning")] == [2, 3]
    assert a.lift_off_depth_mm is not None and a.lift_off_depth_mm < 300


def _kept(block, keep: float, cells: slice, leg_force_gain: float):  # type: ignore[no-untyped-def]
    """``block`` with the lower-back cells keeping ``keep`` of their load (scaled by the leg
    force as the rest of the back is) through every lift-off, and the cell above them left
    as it was at that depth: the contact front never shows, only the share falls."""
    load = block.load.copy()
    base = load[:50].mean(axis=0)
    scale = 1 + leg_force_gain * (block.depth_mm / 300.0)
    load[:, cells] = np.maximum(load[:, cells], keep * base[cells] * scale[:, None])
    load[:, 3] = base[3] * scale
    return type(block)(block.t_s, block.depth_mm, load, block.valid)


def test_lift_off_seen_when_the_legs_press_the_back_in_and_the_load_moves_up() -> None:
    # Foam, crosstalk and the seat corner: the lower back keeps 45 % of its load at lift-off
    # while the legs press the whole back 1.8 times harder into the pad at the bottom. The
    # share never collapses to the floor; the load has moved up the back.
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, onsets = stream(reps, seed=8, leg_force_gain=0.8)
    block = _kept(block, 0.45, slice(0, 3), 0.8)
    _, out = run(block)
    (lift,) = events(out, "lift_off")
    ev = lift.evidence
    assert lift.rep == 1 and abs(lift.t_s - onsets[0]) <= 0.15
    assert ev["path"] == "shift" and ev["load_moved_up"]
    assert ev["pad_total"] >= ev["shift_total"]
    # The clean rep before it stayed at its usual share: the level is the most sensitive one.
    assert ev["threshold"] == DetectorConfig().liftoff_shift_max_position
    assert DetectorConfig().liftoff_position < ev["position"] < ev["threshold"]
    assert "moved up" in lift.message
    # That path is what saw it: the collapse and the front alone miss it.
    low = DetectorConfig().liftoff_position
    cfg = DetectorConfig(
        liftoff_shift_first_position=low,
        liftoff_shift_position=low,
        liftoff_shift_max_position=low,
    )
    _, out = run(block, cfg)
    assert not events(out, "lift_off")
    # The first rep of a session has only its own top to be compared with: the stricter
    # first level, which a lower back keeping 45 % does not cross, and one keeping 15 % does
    # (pressed in harder, so that the pad carries more than at the top).
    first, _ = stream(reps[1:], seed=8, leg_force_gain=0.8)
    _, out = run(_kept(first, 0.45, slice(0, 3), 0.8))
    assert [e.rep for e in events(out, "lift_off")] == []
    first, _ = stream(reps[1:], seed=8, leg_force_gain=1.5)
    _, out = run(_kept(first, 0.15, slice(0, 3), 1.5))
    (lift,) = events(out, "lift_off")
    assert lift.rep == 0 and lift.evidence["path"] == "shift"
    assert lift.evidence["threshold"] == DetectorConfig().liftoff_shift_first_position


def test_evidence_says_how_deep_this_persons_clean_reps_have_been() -> None:
    # A first rep has no clean rep of this person to be compared with; a rep deeper than
    # their clean ones is compared with the deepest, which the evidence names.
    def lift(reps: list[SynthRep]) -> Event:
        block, _ = stream(reps, seed=3)
        _, out = run(block)
        (ev,) = events(out, "lift_off")
        return ev

    first = lift([SynthRep(300, lift_off_at_mm=260)])
    assert first.evidence["deepest_clean_mm"] is None
    assert not first.evidence["clean_reps_at_depth"]
    deeper = lift([SynthRep(200), SynthRep(300, lift_off_at_mm=260)])
    assert deeper.evidence["deepest_clean_mm"] == 200.0  # the lower edge of its 10 mm bin
    assert not deeper.evidence["clean_reps_at_depth"]  # it was True past the deepest bin
    seen = lift([SynthRep(300), SynthRep(300, lift_off_at_mm=260)])
    assert seen.evidence["clean_reps_at_depth"] and seen.evidence["deepest_clean_mm"] >= 290


def test_a_back_easing_off_in_one_piece_is_no_lift_off() -> None:
    # The same 45 % kept by the lower back, but nobody presses the back into the pad (the
    # pad's load does not rise): a lower back easing off with the rest is not lift-off.
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, _ = stream(reps, seed=8)
    _, out = run(_kept(block, 0.45, slice(0, 3), 0.0))
    assert not events(out, "lift_off")


def test_past_the_depth_where_this_persons_back_lifted_the_share_alone_decides() -> None:
    # The back easing off of the test above, at 45 %, with nobody pressing it into the pad:
    # no lift-off for a person of whom nothing is known. Calibrated to lift at 280 mm, the
    # share falling past halfway to the floor there is one, whether or not the load moved up.
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, _ = stream(reps, seed=8)
    block = _kept(block, 0.45, slice(0, 3), 0.0)
    _, out = run(block, DetectorConfig(lift_off_depth_mm=280.0))
    (lift,) = events(out, "lift_off")
    ev = lift.evidence
    assert lift.rep == 1 and ev["path"] == "depth"
    assert ev["past_lift_off_depth"] and not ev["load_moved_up"]
    assert ev["lift_off_depth_mm"] == 280.0 and ev["depth_mm"] >= 280.0
    assert ev["pad_total"] < ev["shift_total"]
    assert DetectorConfig().liftoff_position < ev["position"] < ev["threshold"]
    assert "past 280 mm, where this person's lower back lifted before" in lift.message
    # The clean reps went as deep with the pad untouched: nothing there.
    assert not [e for e in events(out, "lift_off") if e.rep != 1]
    # Short of that depth (calibrated deeper than this rep goes), the share alone is not
    # enough.
    _, out = run(block, DetectorConfig(lift_off_depth_mm=320.0))
    assert not events(out, "lift_off")
    # The same in any chunking.
    _, chunked = run(block, DetectorConfig(lift_off_depth_mm=280.0), sizes=[1, 37, 500])
    assert [(e.t_s, e.evidence["path"]) for e in events(chunked, "lift_off")] == [
        (lift.t_s, "depth")
    ]
    # The rule in words (report, sessions show, monitor) says so.
    assert "whatever the pad carries, once the sled is past the depth" in (
        DetectorConfig().lift_off_rule()
    )


def test_shift_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="liftoff_shift_position"):
        DetectorConfig(liftoff_shift_position=0.9)
    with pytest.raises(ConfigError, match="liftoff_shift_position"):
        DetectorConfig(liftoff_shift_position=0.05)
    with pytest.raises(ConfigError, match="tilt_warning_shift_position"):
        DetectorConfig(tilt_warning_shift_position=0.3)
    with pytest.raises(ConfigError, match="liftoff_shift_total"):
        DetectorConfig(liftoff_shift_total=0.9)
    with pytest.raises(ConfigError, match="floor_max"):
        DetectorConfig(floor_max=1.0)
    with pytest.raises(ConfigError, match="liftoff_shift_first_position"):
        DetectorConfig(liftoff_shift_first_position=0.6)


def test_the_shift_path_waits_for_the_depth_where_this_person_lifts_off() -> None:
    # The same falling share with the legs pressing in, 80 mm short of where this person's
    # back is known to lift (calibration: 300 mm): their usual way of loading the pad.
    reps = [SynthRep(300), SynthRep(220, lift_off_at_mm=150), SynthRep(300)]
    block, _ = stream(reps, seed=8, leg_force_gain=1.2)
    block = _kept(block, 0.45, slice(0, 3), 1.2)
    _, out = run(block)
    assert [e.rep for e in events(out, "lift_off")] == [1]
    _, out = run(block, DetectorConfig(lift_off_depth_mm=300.0))
    assert not events(out, "lift_off")


def test_the_shift_level_follows_how_far_this_persons_clean_reps_dip() -> None:
    cfg = DetectorConfig()
    a = Analyzer(cfg, 1 / FS_HZ, 8)
    assert a.shift_levels == (cfg.liftoff_shift_position, cfg.tilt_warning_shift_position)
    a.clean_dips += [0.02, 0.2]  # their clean reps went 20 % below usual at worst
    level, warn = a.shift_levels
    assert level == pytest.approx(1 - cfg.liftoff_shift_dip_factor * 0.2)
    assert warn == pytest.approx(
        level + cfg.tilt_warning_shift_position - cfg.liftoff_shift_position
    )
    a.clean_dips.append(0.4)  # one that dipped far: back to the strictest level
    assert a.shift_levels[0] == cfg.liftoff_shift_position
    a.clean_dips += [0.0] * 5  # ... until it is no longer among the last 5
    assert a.shift_levels[0] == cfg.liftoff_shift_max_position


def test_nearing_the_depth_where_this_persons_back_lifted_warns_ahead() -> None:
    # Rep 0 lifts off; rep 1 goes as deep with the pad untouched; rep 2 stays well short.
    block, _ = stream([SynthRep(300, lift_off_at_mm=260), SynthRep(300), SynthRep(200)], seed=4)
    a, out = run(block)
    deep = a.lift_off_depth_mm
    assert deep is not None and 250 < deep < 290
    (warn,) = [e for e in events(out, "tilt_warning") if e.rep == 1]
    assert warn.evidence["path"] == "depth"
    assert warn.evidence["lift_off_depth_mm"] == deep
    assert "nearing lift-off depth" in warn.message
    # Ahead of the sled reaching that depth by about tilt_warning_depth_lead_s, never after.
    reached = block.t_s[(block.t_s > warn.t_s) & (block.depth_mm >= deep)][0]
    lead = DetectorConfig().tilt_warning_depth_lead_s
    assert 0.5 * lead <= reached - warn.t_s <= 3 * lead
    assert warn.evidence["depth_mm"] < deep
    assert not [e for e in events(out, "tilt_warning") if e.rep == 2]
    assert [e.rep for e in events(out, "lift_off")] == [0]

    _, out = run(block, DetectorConfig(tilt_warning_depth_lead_s=0.0))
    assert not [e for e in events(out, "tilt_warning") if e.rep == 1]

    # From calibration, before the session has shown a lift-off.
    clean, _ = stream([SynthRep(300)], seed=4)
    _, out = run(clean, DetectorConfig(lift_off_depth_mm=270.0))
    (warn,) = events(out, "tilt_warning")
    assert warn.evidence["path"] == "depth" and warn.evidence["depth_mm"] < 270
    with pytest.raises(ConfigError, match="tilt_warning_depth_lead_s"):
        DetectorConfig(tilt_warning_depth_lead_s=-0.1)


def test_the_callers_samples_are_left_as_they_were() -> None:
    # The first block is analysed in place (no history to put before it): nothing the analyzer
    # does may write into it, whole or in parts.
    reps = [SynthRep(300), SynthRep(300, lift_off_at_mm=260), SynthRep(300)]
    block, _ = stream(reps, seed=5)
    before = (block.t_s.copy(), block.depth_mm.copy(), block.load.copy())
    _, whole = run(block)
    _, parts = run(block, sizes=[1, 37, 500])
    assert np.array_equal(block.t_s, before[0])
    assert np.array_equal(block.depth_mm, before[1])
    assert np.array_equal(block.load, before[2])
    assert [repr(x) for x in whole] == [repr(x) for x in parts]
    assert events(whole, "lift_off")


def test_values_that_are_not_numbers_are_left_out_not_guessed() -> None:
    # A caller's own data with holes: a dead cell as NaN, dropped frames, an encoder gap.
    block, _ = stream([SynthRep(300, lift_off_at_mm=250), SynthRep(360)], seed=3)
    cfg = DetectorConfig(rom_limit_mm=330)
    dead = block.load.copy()
    dead[:, 1] = 0.0
    _, expected = run(CalibratedBlock(block.t_s, block.depth_mm, dead, block.valid), cfg)
    assert events(expected, "lift_off")
    holes = dead.copy()
    holes[:, 1] = np.nan  # the dead cell reads NaN instead of 0 ...
    holes[::40, 3] = np.inf  # ... a live cell now and then nothing readable ...
    zeroed = dead.copy()
    zeroed[::40, 3] = 0.0
    a, got = run(CalibratedBlock(block.t_s, block.depth_mm, holes, block.valid), cfg, [1, 13, 80])
    assert got == run(CalibratedBlock(block.t_s, block.depth_mm, zeroed, block.valid), cfg)[1]
    assert (
        a.unreadable_cell_values == len(block) + len(block.t_s[::40]) and a.unreadable_samples == 0
    )
    # ... and samples whose depth is not a number are as if lost.
    depth = block.depth_mm.copy()
    depth[5::50] = np.nan
    keep = np.isfinite(depth)
    lost = CalibratedBlock(block.t_s[keep], depth[keep], dead[keep], block.valid[keep])
    a, got = run(CalibratedBlock(block.t_s, depth, dead, block.valid), cfg, [7, 300])
    assert got == run(lost, cfg)[1] and events(got, "lift_off")
    assert a.unreadable_samples == int((~keep).sum())


def test_a_rep_too_long_to_count_is_said_when_it_is_dropped() -> None:
    # A 25 s hold at the bottom: past max_rep_s (20 s) the rep is dropped, and said, at once.
    block, _ = stream([SynthRep(300), SynthRep(280, bottom_pause_s=25.0), SynthRep(300)], seed=2)
    for sizes in (None, [1], [64, 3]):
        a, out = run(block, DetectorConfig(), sizes)
        (note,) = events(out, "rep_not_counted")
        assert [round(r.depth_mm) for r in a.reps] == [300, 300] and a.abandoned_reps == 1
        assert note.rep == 1 and round(note.evidence["deepest_mm"]) == 280  # type: ignore[arg-type]
        at_top = (block.t_s < note.t_s) & (block.depth_mm <= 5.0)  # near_top_mm of the top
        assert 20.0 < note.t_s - block.t_s[at_top][-1] < 20.1  # raised as soon as it is known
        assert "not counted as a rep: 20 s have passed" in note.message


def test_a_stream_that_begins_mid_rep_judges_the_set_from_the_next_top() -> None:
    # A trimmed file, or a monitor started while someone trains: the stream begins 100 mm down
    # the first rep's lowering. That rep is counted, but its top and its lowering time were not
    # seen: no knee lock against a "top" of 100 mm, no fast lowering from a lowering cut short.
    block, _ = stream([SynthRep(300), SynthRep(300), SynthRep(300)], seed=4)
    k = int(np.argmax(block.depth_mm > 100.0))
    cut = block.slice(k, len(block))
    for sizes in (None, [1], [50, 7]):
        a, out = run(cut, DetectorConfig(), sizes)
        assert len(a.reps) == 3 and a.set_starts == [0]
        assert not events(out, "knee_lock") and not events(out, "fast_lowering")
    # The set's top is then the next rep's: knees locked later in the set are still seen.
    after = (cut.depth_mm < 1) & (cut.t_s > a.reps[1].t_end_s)
    locked = type(cut)(cut.t_s, np.where(after, -12.0, cut.depth_mm), cut.load, cut.valid)
    _, out = run(locked)
    lock = events(out, "knee_lock")[0]
    assert lock.evidence["set_top_mm"] == pytest.approx(0.0, abs=1.0)
    assert lock.t_s > a.reps[1].t_end_s


def test_negative_loads_are_not_called_zeros() -> None:
    # Pressure counted as negative by another system (or a pad tared while loaded).
    block, _ = stream([SynthRep(300)], seed=1)
    neg = CalibratedBlock(block.t_s, block.depth_mm, -block.load, block.valid)
    (note,) = events(run(neg)[1], "pad_unjudged")
    assert note.evidence["reason"] == "no_load"
    assert "no cell reads a positive load" in note.message and "negate the cells" in note.message
    zero = CalibratedBlock(block.t_s, block.depth_mm, 0 * block.load, block.valid)
    (note,) = events(run(zero)[1], "pad_unjudged")
    assert "every cell reads 0" in note.message
