"""The Session record: sets, totals, link quality, its JSON form, and who produces it."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from legpress.detect import Profile
from legpress.live import LiveSession
from legpress.session import (
    LinkQuality,
    Person,
    Session,
    SessionRep,
    assign_sets,
    compute_stats,
)
from legpress.storage.store import SessionStore
from tests.host.report.sessiondata import analysed, two_sets


def test_a_person_is_a_profile_with_an_identity() -> None:
    ana = Person("Ana", rom_limit_mm=320.0, notes="knee", id=4, created="2025-01-01T00:00:00")
    assert isinstance(ana, Profile) and ana.name == "Ana"
    assert ana.profile == Profile("Ana", rom_limit_mm=320.0, notes="knee")
    assert ana.to_dict()["effective_limit_mm"] == 320.0 and ana.to_dict()["name"] == "Ana"


def test_assign_sets_splits_like_the_store(tmp_path: Path) -> None:
    _, a, cfg = analysed(two_sets())
    reps, sets = assign_sets(reversed(a.reps))  # any order in, start order out
    assert [r.index for r in reps] == sorted(r.index for r in a.reps)
    assert [r.rep for r in reps] == a.reps
    with SessionStore(tmp_path / "s.db") as store:
        stored = store.get_session(store.import_analysis(None, a.reps, a.events, config=cfg))
    assert sets == stored.sets and [r.set for r in reps] == [r.set for r in stored.reps]
    assert compute_stats(reps, a.events) == stored.stats


def test_stats_leave_unknown_numbers_out() -> None:
    _, a, _ = analysed(two_sets())
    reps, _ = assign_sets(a.reps)
    odd = [replace(reps[0], lowering_s=math.nan, lumbar_contact_min=None), *reps[1:]]
    st = compute_stats(odd, [])
    assert st.mean_lowering_s == pytest.approx(sum(r.lowering_s for r in reps[1:]) / 9)
    assert st.min_lumbar_contact == min(r.lumbar_contact_min for r in reps[1:])  # type: ignore[type-var]
    assert st.rom_warnings == st.form_events == 0 and st.events_by_type == {}
    empty = compute_stats([], [])
    assert empty.reps == 0 and empty.max_depth_mm is None and empty.active_s == 0.0


def test_link_quality_from_a_summary() -> None:
    assert LinkQuality.from_summary({"link": {"samples": 9, "lost_packets": 2}}) == LinkQuality(
        2, None, 9
    )
    assert LinkQuality.from_summary({"lost": 0, "received": 70}) == LinkQuality(0, 70)
    assert LinkQuality.from_summary({"source": "x.csv"}) is None
    assert LinkQuality(3, 40, 120).to_dict() == {"samples": 120, "lost_packets": 3, "packets": 40}


def test_json_form_round_trips() -> None:
    _, a, _ = analysed(two_sets())
    reps, sets = assign_sets(a.reps)
    s = Session(
        person=Person("Ana"),
        started_at="2025-01-01T10:00:00+00:00",
        config={"rom_limit_mm": 360.0},
        summary={"link": {"lost_packets": 1}},
        sets=sets,
        reps=reps,
        events=tuple(a.events),
        link=LinkQuality(1),
    )
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    back = Session.from_dict(d)
    assert back == s
    assert isinstance(back.reps[0], SessionRep) and back.rom_limit_mm == 360.0
    assert d["stats"]["reps"] == 10 and d["person"] == "Ana"


def test_live_session_produces_a_session() -> None:
    live = LiveSession("sim:scenario=liftoff,seed=3,realtime=0,duration=20", person="Sim")
    import asyncio

    result = asyncio.run(live.run())
    s = live.session
    assert [r.rep for r in s.reps] == result.reps and list(s.events) == result.events
    assert s.reps and sum(x.reps for x in s.sets) == len(s.reps)
    assert s.person == Person("Sim") and s.device_url.startswith("sim:")
    assert s.link == LinkQuality(result.lost_packets, samples=result.samples)
    assert s.started_at is not None and s.ended_at is not None
    # The view marks where this person's back lifted: the shallowest of their recent lift-offs.
    lifted = [r.lift_off_depth_mm for r in result.reps if r.lift_off_depth_mm is not None]
    assert lifted and live.view.lift_depth_mm == min(lifted[-5:])


def test_the_demo_is_stored_as_three_sets_of_eight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 sets of 8 with 20 s racked rests: the detector (its own set tops), the live session
    and the store split them by the one rule, DetectorConfig.starts_new_set."""
    from legpress.cli.main import main

    db = tmp_path / "s.db"
    assert (
        main(["demo", "--fast", "--person", "ana", "--new-person", "--db", str(db), "--json"]) == 0
    )
    capsys.readouterr()
    with SessionStore(db) as store:
        stored = store.get_session(1)
        row = store.list_sessions()[0]
    assert [s.reps for s in stored.sets] == [8, 8, 8] and row.sets == 3
    live = LiveSession("sim:scenario=demo,seed=1,realtime=0")
    import asyncio

    asyncio.run(live.run())
    assert live.session.sets == stored.sets
    analyzer = live.pipeline.analyzer if live.pipeline is not None else None
    assert analyzer is not None and analyzer.set_starts == [0, 8, 16]


def test_sets_split_by_the_sessions_own_rule(tmp_path: Path) -> None:
    from legpress.detect import DetectorConfig

    _, a, cfg = analysed(two_sets())
    _, sets = assign_sets(a.reps, cfg)
    assert len(sets) == 2
    _, one = assign_sets(a.reps, DetectorConfig(set_gap_s=60.0))
    assert len(one) == 1
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.import_analysis(None, a.reps, a.events, config=DetectorConfig(set_gap_s=60.0))
        assert len(store.get_session(sid).sets) == 1
        live = store.start_session(config=DetectorConfig(set_gap_s=60.0))
        assert {store.add_rep(live, r) for r in a.reps} == {0}


def test_reps_are_numbered_on_when_detection_restarts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new DEVICE_INFO mid-session (a reboot, a new rate) restarts detection: its reps must
    not be numbered from 0 again (the store would refuse rep 0 of the session twice)."""
    from legpress.cli.main import main
    from legpress.device import InfoEvent
    from legpress.storage.recording import decode_recording, read_recording

    rec = tmp_path / "s.lprec"
    assert main(["record", "sim:scenario=demo,realtime=0,duration=40", "-o", str(rec), "-q"]) == 0
    capsys.readouterr()
    info = read_recording(rec).info
    samples = decode_recording(rec).samples
    half = len(samples) // 2
    with SessionStore(tmp_path / "x.db") as store:
        sid = store.start_session()
        live = LiveSession(
            f"replay:{rec}", on_rep=lambda r: store.add_rep(sid, r), on_event=lambda e: None
        )
        live._info = info
        live._samples(samples.slice(0, half))
        before = len(live.result.reps)
        live._device_event(InfoEvent(info))
        live._samples(samples.slice(half, len(samples)))
        stored = store.get_session(sid)
    indices = [r.index for r in live.result.reps]
    assert before >= 2 and len(indices) > before
    assert indices == sorted(set(indices)) and len(stored.reps) == len(indices)
    assert all(e.rep >= indices[before - 1] + 1 for e in live.result.events[-3:])
