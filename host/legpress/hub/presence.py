"""Who is on the machine: a session starts when someone sits down and ends after a rest.

Sans-I/O and per sample, like the detectors: fed one block or packet by packet it finds the
same transitions at the same sample times. Only what was known at each sample is used.

A person **sits down** when the pad stays loaded for ``sit_s`` (at least ``min_loaded_cells``
cells above ``load_counts`` tared counts) or the sled leaves the top by ``move_mm``. They have
**left** when the pad has been empty and the sled at the top for ``leave_s``; a session also
ends after ``rest_s`` without the sled moving (someone sitting and chatting, a bag on the seat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from legpress.dsp.calibration import CalibratedBlock
from legpress.errors import ConfigError

__all__ = ["Presence", "PresenceConfig", "Transition"]

_NEVER: Final = -math.inf


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """When a session starts and ends.

    Attributes:
        load_counts: a cell is loaded above this many tared ADC counts.
        min_loaded_cells: the pad is loaded when at least this many valid cells are.
        move_mm: the sled is moving when it is deeper than this from the top.
        sit_s: the pad loaded this long starts a session (a moving sled starts one at once).
        leave_s: the pad empty and the sled at the top this long ends it.
        rest_s: the sled at the top this long ends it even with the pad loaded.
    """

    load_counts: float = 150.0
    min_loaded_cells: int = 2
    move_mm: float = 30.0
    sit_s: float = 1.0
    leave_s: float = 15.0
    rest_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("load_counts", "move_mm", "sit_s", "leave_s", "rest_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"presence {name} must be a positive number, got {value}")
        if self.min_loaded_cells < 1:
            raise ConfigError(
                f"presence min_loaded_cells must be at least 1, got {self.min_loaded_cells}"
            )
        if self.rest_s < self.leave_s:
            raise ConfigError(
                f"presence rest_s ({self.rest_s}) must be at least leave_s ({self.leave_s})"
            )


@dataclass(frozen=True, slots=True)
class Transition:
    """Someone sat down or left.

    Attributes:
        kind: ``"sit"`` or ``"leave"``.
        t_s: the stream time of the sample where it was decided.
        index: that sample's index in the block that was fed.
        reason: why, for a person (``"pad loaded"``, ``"sled moved"``, ``"pad empty 15 s"``,
            ``"no movement 300 s"``).
    """

    kind: Literal["sit", "leave"]
    t_s: float
    index: int
    reason: str


class Presence:
    """Follows whether someone is on the machine.

    Args:
        config: thresholds.
    """

    def __init__(self, config: PresenceConfig | None = None) -> None:
        self.config = config or PresenceConfig()
        self.occupied = False
        self._loaded_since = _NEVER  # start of the current run of loaded samples
        self._last_loaded = _NEVER
        self._last_moving = _NEVER
        self._started_at = _NEVER
        # After a session ended on a loaded pad, the pad must empty before it starts another.
        self._need_empty = False
        # After a session was stopped by hand, nothing starts one until the pad empties.
        self._held = False

    def reset(
        self, occupied: bool = False, t_s: float | None = None, *, hold: bool = False
    ) -> None:
        """Start over at ``t_s``, e.g. after a session was started or stopped by hand.

        Args:
            occupied: whether a session is now open.
            t_s: the stream time of the reset (None: no time known yet).
            hold: start no session until the pad empties (after a stop by hand).
        """
        self.occupied = occupied
        self._loaded_since = _NEVER
        now = _NEVER if t_s is None else t_s
        self._last_loaded = self._last_moving = self._started_at = now
        self._need_empty = self._held = hold and not occupied

    def feed(self, block: CalibratedBlock) -> list[Transition]:
        """The transitions within this block, in order."""
        n = len(block)
        if not n:
            return []
        cfg = self.config
        loaded_cells = (block.load > cfg.load_counts).sum(axis=1)
        loaded = (loaded_cells >= cfg.min_loaded_cells) & block.valid
        moving = (block.depth_mm > cfg.move_mm) & block.valid
        out: list[Transition] = []
        t = block.t_s
        for i in np.flatnonzero(block.valid):
            ti = float(t[i])
            if loaded[i]:
                if self._loaded_since == _NEVER and not self._need_empty:
                    self._loaded_since = ti
                self._last_loaded = ti
            else:
                self._loaded_since = _NEVER
                self._need_empty = self._held = False
            if moving[i]:
                self._last_moving = ti
            if not self.occupied:
                reason = ""
                if self._held:
                    continue
                if moving[i]:
                    reason = "sled moved"
                elif self._loaded_since != _NEVER and ti - self._loaded_since >= cfg.sit_s:
                    reason = "pad loaded"
                if reason:
                    self.occupied = True
                    self._started_at = ti
                    out.append(Transition("sit", ti, int(i), reason))
                continue
            active = max(self._last_moving, self._started_at)
            present = max(self._last_loaded, active)
            if ti - present >= cfg.leave_s:
                out.append(Transition("leave", ti, int(i), f"pad empty {cfg.leave_s:g} s"))
            elif ti - active >= cfg.rest_s:
                out.append(Transition("leave", ti, int(i), f"no movement {cfg.rest_s:g} s"))
            else:
                continue
            self.occupied = False
            self._loaded_since = _NEVER
            self._need_empty = bool(loaded[i])
        return out
