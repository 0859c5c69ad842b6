"""Glue from decoded samples to detector output, live or offline, and profile learning."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np

from legpress.detect.analyzer import Analyzer
from legpress.detect.config import DetectorConfig, Profile
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
        ConfigError: fewer than two samples, or times that do not increase.
    """
    if period_s is None:
        if len(block) < 2:
            raise ConfigError("need at least two samples to analyze")
        steps = np.diff(block.t_s)
        period_s = float(np.median(steps))
        if not period_s > 0:
            raise ConfigError("sample times must increase")
    if cell_pitch_mm is None:
        cell_pitch_mm = block.cell_pitch_mm if block.cell_pitch_mm else DEFAULT_CELL_PITCH_MM
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
) -> Profile:
    """A profile from slow calibration reps.

    The lift-off depth is the shallowest depth at which the lower back left the pad in any
    calibration rep; the learned limit is that minus ``margin_mm``. When no rep lifted off, the
    deepest calibration rep bounds the limit (nothing deeper was shown to be safe). The floor
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
    return Profile(
        person=person,
        rom_limit_mm=rom_limit_mm,
        lift_off_depth_mm=min(lifts) if lifts else None,
        margin_mm=margin_mm,
        max_calibrated_depth_mm=max(r.depth_mm for r in reps),
        notes=notes,
        lift_off_floor=min(float(statistics.median(floors)), 0.99) if floors and lifts else None,
    )
