"""Device events on their own: every fault the device can raise is explained to the user."""

from __future__ import annotations

from legpress.device.events import FaultEvent
from legpress.protocol.messages import Status
from legpress.protocol.spec import Fault


def test_every_fault_says_what_it_means_and_what_to_do() -> None:
    for fault in Fault:
        if fault is Fault.NONE:
            continue
        line = FaultEvent(fault, fault, Fault.NONE, Status()).describe()
        assert line.startswith(f"{fault.name}: ") and "unknown fault" not in line, line
    tare = FaultEvent(Fault.TARE, Fault.TARE, Fault.NONE, Status()).describe()
    assert "tare the pad again" in tare


def test_a_view_shows_the_faults_still_active_when_one_clears() -> None:
    event = FaultEvent(Fault.CELL, Fault.NONE, Fault.TARE, Status())
    assert event.describe() == "faults cleared: TARE"
    assert event.describe_active().startswith("CELL: a pad cell reads at a rail")
    assert "TARE" not in event.describe_active()
    assert FaultEvent(Fault.NONE, Fault.NONE, Fault.CELL, Status()).describe_active() == ""
