"""Numbers in alert messages read right: a depth past a limit never reads as the limit, and
there is no minus zero."""

from __future__ import annotations

from legpress.detect.events import mm_text, mm_texts
from legpress.report.html import num


def test_a_depth_past_the_limit_never_reads_as_the_limit() -> None:
    assert mm_texts(300.4, 300.0) == ("300.4", "300.0")
    assert mm_texts(300.04, 300.0) == ("300.04", "300.00")
    assert mm_texts(312.6, 300.0) == ("313", "300")
    assert mm_text(300.0) == "300"
    # A learned limit is seldom whole: both to the same decimals, never 83.9 past 84.
    assert mm_texts(83.9, 83.6) == ("83.9", "83.6")


def test_no_minus_zero() -> None:
    assert mm_text(-0.3) == "0" and mm_text(-5.2) == "-5"
    assert num(-0.3) == "0" and num(-0.04, 1) == "0.0" and num(-3) == "\u22123"
