"""Glue from decoded samples to detector output, live or offline, and profile learning."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from legpress.detect.analyzer import Analyzer
from legpress.detect.config import PROFILE_BIN_MM, DetectorConfig, Profile, rebin_shares
from legpress.detect.events import Event, Rep
from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.errors import ConfigError
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.messages import DeviceInfo

DEFAULT_CELL_PITCH_MM = 40.0
"""The reference strip's pitch (hardware/README.md), for samples that do not say theirs."""


class Pipeline:
    """Calibrates decoded blocks and runs the analyzer on them.

    Args:
        info: the device's ``DEVICE_INFO`` (sample period, cell count, cell pitch).
        calibration: counts to millimetres and tare; defaults from the device info.
        config: detector thresholds (with the person's ROM limit).
    """

    def __init__(
        self,
        info: DeviceInfo,
        calibration: Calibration | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        self.info = info
        self.calibration = calibration if calibration is not None else Calibration.from_info(info)
        self.analyzer = Analyzer(
            config if config is not None else DetectorConfig(),
            info.period_us / 1e6,
            info.n_cells,
            float(info.cell_pitch_mm or DEFAULT_CELL_PITCH_MM),
        )

    def feed(self, block: SampleBlock) -> tuple[CalibratedBlock, list[Rep | Event]]:
        """Calibrate one decoded block and analyze it."""
        cal = self.calibration.apply(block, self.analyzer.cell_pitch_mm)
        return cal, self.analyzer.update(cal)


def analyze_block(
    block: CalibratedBlock,
    config: DetectorConfig | None = None,
    period_s: float | None = None,
    cell_pitch_mm: float | None = None,
) -> Analyzer:
    """Analyze a whole calibrated recording at once (the same result as streaming it).

    Args:
        block: the samples.
        config: thresholds.
        period_s: the sample period; estimated from the median time step when None.
        cell_pitch_mm: distance between cell centres; default the block's own, else 40 mm.

    Raises:
        ConfigError: fewer than two samples, or a median time step that is not positive (the
            period cannot be estimated); or a cell pitch that is not a positive distance.
    """
    if period_s is None:
        if len(block) < 2:
            raise ConfigError("need at least two samples to analyze")
        steps = np.diff(block.t_s)
        steps = steps[np.isfinite(steps)]  # a time that is not a number is left out (update)
        period_s = float(np.median(steps)) if steps.size else math.nan
        if not period_s > 0:
            raise ConfigError("sample times must increase (their median step is not positive)")
    if cell_pitch_mm is None:
        cell_pitch_mm = block.cell_pitch_mm if block.cell_pitch_mm else DEFAULT_CELL_PITCH_MM
    if not 0 < cell_pitch_mm < math.inf:
        raise ConfigError(f"cell_pitch_mm must be a positive distance, got {cell_pitch_mm}")
    analyzer = Analyzer(config or DetectorConfig(), period_s, block.n_cells, cell_pitch_mm)
    analyzer.update(block)
    return analyzer


def learn_profile(
    person: str,
    reps: list[Rep],
    margin_mm: float = 20.0,
    rom_limit_mm: float | None = None,
    notes: str = "",
    floors: Sequence[float] = (),
    shares: Sequence[tuple[npt.NDArray[np.float64], float | None, bool]] = (),
    bin_mm: float = PROFILE_BIN_MM,
) -> Profile:
    """A profile from slow calibration reps.

    ``shares`` are the calibration analyzer's :attr:`Analyzer.rep_shares` (in its
    ``reference_bin_mm``, ``bin_mm``): this person's clean lower-back share per depth is
    learned from them over the depths calibration found safe, shallower than the learned limit.

    The lift-off depth is the shallowest depth at which the lower back left the pad in any
    calibration rep; the learned limit is that minus ``margin_mm``. When no rep lifted off, it
    is the deepest calibration rep minus ``margin_mm`` (:attr:`Profile.learned_limit_mm`), and
    the clean share is learned down to there too. The floor
    is the median of ``floors``, the lower-back shares the analyzer saw while the back was off
    the pad in those reps (:attr:`Analyzer.floors`).

    Raises:
        ConfigError: no reps to learn from.
    """
    if not reps:
        raise ConfigError(
            "no complete reps in the calibration: do 3 slow reps, each down to where the lower "
            "back starts to lift, and back to the top"
        )
    lifts = [r.lift_off_depth_mm for r in reps if r.lift_off and r.lift_off_depth_mm is not None]
    lift_depth = min(lifts) if lifts else None
    deepest = max(r.depth_mm for r in reps)
    return Profile(
        person=person,
        rom_limit_mm=rom_limit_mm,
        lift_off_depth_mm=lift_depth,
        margin_mm=margin_mm,
        max_calibrated_depth_mm=deepest,
        notes=notes,
        lift_off_floor=min(float(statistics.median(floors)), 0.99) if floors and lifts else None,
        # Learned over the depths found safe: short of the learned limit, as is the limit.
        clean_share_by_depth=_clean_shares(
            shares, lift_depth if lift_depth is not None else deepest, margin_mm, bin_mm
        ),
    )


def _clean_shares(
    shares: Sequence[tuple[npt.NDArray[np.float64], float | None, bool]],
    lift_depth_mm: float | None,
    margin_mm: float,
    bin_mm: float,
) -> tuple[float | None, ...] | None:
    """This person's clean lower-back share per depth bin from calibration reps (as
    :attr:`Analyzer.rep_shares` keeps them): the mean over the reps of each bin's lowest share,
    over the depths calibration found safe (shallower than ``lift_depth_mm`` less
    ``margin_mm``, the learned limit: the lift-off depth, or the deepest rep when nothing
    lifted). Reps that
    lifted off count up to there; reps that did not, yet were not clean (the load moved up and
    the share fell toward lift-off), do not count. None when no bin is known."""
    rows: list[npt.NDArray[np.float64]] = []
    for bins, lift, clean in shares:
        if lift is None and not clean:
            continue
        if lift_depth_mm is not None:
            bins = bins[: max(int((lift_depth_mm - margin_mm) // bin_mm), 0)]
        if bins.size and np.isfinite(bins).any():
            rows.append(bins)
    if not rows:
        return None
    table = np.full((len(rows), max(b.size for b in rows)), np.nan)
    for k, b in enumerate(rows):
        table[k, : b.size] = b
    known = np.isfinite(table)
    counts = known.sum(axis=0)
    mean = np.where(known, table, 0.0).sum(axis=0) / np.maximum(counts, 1)
    out = tuple(round(float(m), 4) if n else None for m, n in zip(mean, counts, strict=True))
    return rebin_shares(out, bin_mm, PROFILE_BIN_MM)
