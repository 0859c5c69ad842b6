"""Presence: sessions start when someone sits down and end when they leave or rest."""

from __future__ import annotations

import numpy as np
import pytest

from legpress.dsp.calibration import CalibratedBlock
from legpress.errors import ConfigError
from legpress.hub.presence import Presence, PresenceConfig, Transition

FS_HZ = 100.0


def block(segments: list[tuple[float, float, float]], n_cells: int = 8) -> CalibratedBlock:
    """Samples from ``(duration_s, load_counts_per_cell, depth_mm)`` segments."""
    loads, depths = [], []
    for duration_s, load, depth in segments:
        n = round(duration_s * FS_HZ)
        loads.append(np.full((n, n_cells), load))
        depths.append(np.full(n, depth))
    load_arr = np.concatenate(loads)
    depth_arr = np.concatenate(depths)
    n = depth_arr.size
    t = np.arange(n) / FS_HZ
    return CalibratedBlock(t, depth_arr, load_arr, np.ones(n, bool))


def kinds(found: list[Transition]) -> list[tuple[str, float, str]]:
    return [(t.kind, round(t.t_s, 2), t.reason) for t in found]


def feed_in_chunks(p: Presence, b: CalibratedBlock, size: int) -> list[Transition]:
    out = []
    for i in range(0, len(b), size):
        out += p.feed(b.slice(i, min(i + size, len(b))))
    return out


def test_sitting_down_starts_and_leaving_ends_a_session() -> None:
    cfg = PresenceConfig(sit_s=1.0, leave_s=5.0)
    b = block([(2.0, 0, 0), (10.0, 800, 0), (8.0, 0, 0)])
    found = Presence(cfg).feed(b)
    assert kinds(found) == [("sit", 3.0, "pad loaded"), ("leave", 17.0, "pad empty 5 s")]


def test_a_moving_sled_starts_a_session_at_once() -> None:
    b = block([(1.0, 0, 0), (0.5, 0, 80.0)])
    found = Presence().feed(b)
    assert kinds(found) == [("sit", 1.0, "sled moved")]
    assert found[0].index == 100


def test_a_brief_load_is_not_someone_sitting() -> None:
    b = block([(0.5, 900, 0), (2.0, 0, 0), (0.9, 900, 0), (3.0, 0, 0)])
    assert Presence(PresenceConfig(sit_s=1.0)).feed(b) == []


def test_sitting_without_moving_ends_after_the_rest_and_does_not_restart() -> None:
    cfg = PresenceConfig(sit_s=1.0, leave_s=5.0, rest_s=20.0)
    p = Presence(cfg)
    found = p.feed(block([(60.0, 800, 0)]))
    # Started at 1 s, ended 20 s later; the pad stayed loaded, so no new session after it.
    assert kinds(found) == [("sit", 1.0, "pad loaded"), ("leave", 21.0, "no movement 20 s")]
    # Moving the sled again starts a new one.
    later = block([(1.0, 800, 90.0)])
    later.t_s[:] += 60.0
    assert kinds(p.feed(later)) == [("sit", 60.0, "sled moved")]


def test_reps_keep_the_session_open_through_an_empty_looking_pad() -> None:
    # During a deep rep the lower cells unload; the moving sled keeps the person present.
    cfg = PresenceConfig(leave_s=3.0)
    b = block([(2.0, 800, 0)] + [(2.0, 0, 250.0), (1.0, 800, 0)] * 5)
    found = Presence(cfg).feed(b)
    assert [t.kind for t in found] == ["sit"]


def test_a_stop_by_hand_holds_until_the_pad_empties() -> None:
    p = Presence(PresenceConfig(sit_s=1.0))
    assert [t.kind for t in p.feed(block([(2.0, 800, 0)]))] == ["sit"]
    p.reset(occupied=False, t_s=2.0, hold=True)
    b = block([(3.0, 800, 100.0), (1.0, 0, 0), (2.0, 800, 0)])
    b.t_s[:] += 2.0
    assert kinds(p.feed(b)) == [("sit", 7.0, "pad loaded")]


def test_dead_or_flagged_samples_are_ignored() -> None:
    b = block([(3.0, 800, 200.0)])
    b.valid[:] = False
    assert Presence().feed(b) == []


@pytest.mark.parametrize("size", [1, 4, 7, 100])
def test_chunk_invariant(size: int) -> None:
    cfg = PresenceConfig(sit_s=1.0, leave_s=4.0, rest_s=12.0)
    b = block(
        [
            *[(2.0, 0, 0), (3.0, 800, 0), (2.0, 500, 120.0), (20.0, 800, 0), (6.0, 0, 0)],
            *[(0.3, 900, 0), (1.0, 0, 0), (1.5, 900, 0), (2.0, 900, 60.0), (6.0, 0, 0)],
        ]
    )
    whole = Presence(cfg).feed(b)
    assert len(whole) >= 4
    assert kinds(feed_in_chunks(Presence(cfg), b, size)) == kinds(whole)


def test_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="leave_s"):
        PresenceConfig(leave_s=0)
    with pytest.raises(ConfigError, match="rest_s"):
        PresenceConfig(leave_s=30, rest_s=10)
    with pytest.raises(ConfigError, match="min_loaded_cells"):
        PresenceConfig(min_loaded_cells=0)
