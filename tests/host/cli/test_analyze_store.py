"""`legpress analyze FILE --store`: the stored session keeps when it was trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from legpress.cli.main import main
from legpress.protocol import DeviceInfo
from legpress.sim import make_scenario
from legpress.storage.recording import RecordingWriter, make_header
from legpress.storage.store import SessionStore


def test_a_stored_recording_is_dated_when_it_was_made_not_when_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = make_scenario("liftoff", 3).run(duration_s=20)
    info = DeviceInfo.from_bytes(result.info_packet)
    header = make_header(info, url="sim:liftoff", person="Ana")
    header["created"] = "2026-03-02T09:15:00.250Z"  # made in March, analysed today
    rec = tmp_path / "march.lprec"
    with RecordingWriter(rec, header) as w:
        for t_ns, packet in result.packets:
            w.write_packet(t_ns, packet)
    db = tmp_path / "s.db"
    assert main(["analyze", str(rec), "--store", "--new-person", "--db", str(db)]) == 0
    assert "stored as session 1" in capsys.readouterr().err
    with SessionStore(db, readonly=True) as store:
        session = store.get_session(1)
    assert session.started_at == "2026-03-02T09:15:00+00:00"
    assert session.ended_at is not None and session.ended_at.startswith("2026-03-02T09:15:")
    # A CSV does not say when it was made: dated when it was stored.
    csv = tmp_path / "s.csv"
    assert main(["export", str(rec), "--csv", str(csv)]) == 0
    assert main(["analyze", str(csv), "--store", "--person", "Ana", "--db", str(db)]) == 0
    with SessionStore(db, readonly=True) as store:
        started = store.get_session(2).started_at
    assert started is not None and not started.startswith("2026-03-02")
