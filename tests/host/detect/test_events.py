"""EventType: one place that says what each event type is and how it is shown."""

from __future__ import annotations

import json

import pytest

from legpress.detect.events import (
    EVENT_TYPES,
    FORM_EVENT_TYPES,
    Event,
    EventType,
    Severity,
)


def test_every_type_carries_its_presentation() -> None:
    for t in EventType:
        assert t.value == str(t) == f"{t}"
        assert t.label and t.phrase and t.alert, t
        assert t.phrase == t.phrase.lower(), t
        assert isinstance(t.severity, Severity), t
        assert t.marks_rep == bool(t.flag)


def test_derived_tables() -> None:
    names = (
        "lift_off",
        "tilt_warning",
        "rom_warning",
        "rom_exceeded",
        "fast_lowering",
        "bounce",
        "knee_lock",
        "pad_unjudged",
        "cell_fault",
        "rep_not_counted",
    )
    assert names == EVENT_TYPES
    assert set(FORM_EVENT_TYPES) == {"fast_lowering", "bounce", "knee_lock"}
    assert {t for t in EventType if t.loud} == {
        "lift_off",
        "tilt_warning",
        "rom_exceeded",
        "rom_warning",
    }
    assert not EventType.TILT_WARNING.marks_rep
    assert EventType.PAD_UNJUDGED.marks_rep and not EventType.PAD_UNJUDGED.loud
    assert not EventType.CELL_FAULT.marks_rep and not EventType.CELL_FAULT.loud
    assert not EventType.REP_NOT_COUNTED.marks_rep and not EventType.REP_NOT_COUNTED.loud
    assert not EventType.ROM_WARNING.marks_rep
    assert EventType.LIFT_OFF.severity > EventType.ROM_WARNING.severity > EventType.BOUNCE.severity


def test_event_takes_a_plain_name_and_refuses_an_unknown_one() -> None:
    ev = Event("lift_off", 1.0, 0, "why")
    assert ev.type is EventType.LIFT_OFF
    assert json.loads(json.dumps(ev.to_dict()))["type"] == "lift_off"
    with pytest.raises(ValueError):
        Event("tilt", 1.0, 0, "why")
