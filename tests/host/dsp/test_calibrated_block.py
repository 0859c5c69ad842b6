"""CalibratedBlock takes a caller's own arrays (lists, integers, float32) and holds float64, so
detection is the same however the samples are cut into blocks; wrong shapes are named."""

from __future__ import annotations

import numpy as np
import pytest

from legpress.detect import DetectorConfig
from legpress.detect.analyzer import Analyzer
from legpress.detect.events import Event, Rep
from legpress.dsp.calibration import CalibratedBlock
from legpress.errors import UsageError
from tests.host.detect.synth import FS_HZ, stream
from tests.host.detect.synth import Rep as SynthRep


def _events(blocks: list[CalibratedBlock]) -> list[Rep | Event]:
    a = Analyzer(DetectorConfig(rom_limit_mm=330), 1 / FS_HZ, blocks[0].n_cells)
    out: list[Rep | Event] = []
    for b in blocks:
        out += a.update(b)
    return out


def _cut(
    t: object, d: object, load: object, valid: object, sizes: list[int]
) -> list[CalibratedBlock]:
    n = len(t)  # type: ignore[arg-type]
    out, i, k = [], 0, 0
    while i < n:
        j = min(n, i + sizes[k % len(sizes)])
        out.append(CalibratedBlock(t[i:j], d[i:j], load[i:j], valid[i:j]))  # type: ignore[index]
        i, k = j, k + 1
    return out


def test_float32_data_gives_the_same_events_in_one_block_or_many() -> None:
    ref, _ = stream([SynthRep(300, lift_off_at_mm=250), SynthRep(360)], seed=3, breathing=0.05)
    t, d = ref.t_s.astype(np.float32), ref.depth_mm.astype(np.float32)
    load, valid = ref.load.astype(np.float32), ref.valid
    whole = _events([CalibratedBlock(t, d, load, valid)])
    assert any(isinstance(e, Event) and e.type == "lift_off" for e in whole)
    for sizes in ([1], [7, 50, 3], [400]):
        assert _events(_cut(t, d, load, valid, sizes)) == whole, sizes
    # ... and the same as the float64 values of that data.
    as64 = CalibratedBlock(
        t.astype(np.float64), d.astype(np.float64), load.astype(np.float64), valid
    )
    assert _events([as64]) == whole


def test_lists_and_integer_counts_are_taken() -> None:
    block = CalibratedBlock([0.0, 0.01], [0, 1], [[800, 900], [801, 899]], [1, 0])
    assert block.t_s.dtype == block.depth_mm.dtype == block.load.dtype == np.float64
    assert block.valid.tolist() == [True, False] and block.n_cells == 2
    t = np.arange(3, dtype=np.float64)
    load = np.ones((3, 4))
    same = CalibratedBlock(t, t, load, np.ones(3, bool))
    assert same.t_s is t and same.load is load  # float64 arrays are kept, not copied


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([[0.0, 1.0]], [0.0], [[1.0]], [True]), "t_s: one time per sample"),
        (
            ([0.0, 1.0], [0.0], [[1.0], [1.0]], [True, True]),
            r"depth_mm: one depth per sample \(2\)",
        ),
        (([0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [True, True]), "load: shape .samples, cells."),
        (([0.0, 1.0], [0.0, 1.0], np.ones((2, 0)), [True, True]), "at least one cell"),
        (([0.0, 1.0], [0.0, 1.0], [[1.0], [1.0]], [True]), r"valid: one flag per sample \(2\)"),
    ],
)
def test_wrong_shapes_are_named(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        CalibratedBlock(*args)  # type: ignore[arg-type]
