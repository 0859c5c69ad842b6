"""What a tare's readings say about the pad."""

from __future__ import annotations

from legpress.dsp.calibration import tare_check


def test_a_tare_that_reads_a_load_is_called_out() -> None:
    assert tare_check((0, 12, 190, 3)) == ""
    said = tare_check((0, 400, 3, 191))
    assert said.startswith("cells 1 (400), 3 (191) read more than 190 counts with nobody")
    assert "Fix the cause and tare again (hardware/calibration.md)" in said
    assert tare_check((250,)).startswith("cell 0 (250) read more than")
