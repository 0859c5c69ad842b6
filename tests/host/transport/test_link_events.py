"""Link events have one record form, and a recording's events come back as the same events."""

from __future__ import annotations

from legpress.transport.base import Connected, Disconnected, link_event_from_record


def test_round_trip() -> None:
    for event in (Connected(5, "AA", 247, True), Connected(6), Disconnected(7, "lost")):
        assert link_event_from_record(event.t_host_ns, event.to_record()) == event


def test_other_and_malformed_records() -> None:
    assert link_event_from_record(1, {"event": "note"}) is None
    assert link_event_from_record(1, {}) is None
    assert link_event_from_record(1, {"event": "connected", "mtu": "x"}) == Connected(1)
