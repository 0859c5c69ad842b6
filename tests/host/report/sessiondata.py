"""Realistic session data for the store and report tests: synthetic streams run through the
real detectors (tests/host/detect/synth.py + legpress.detect.analyze_block)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from legpress.detect import DetectorConfig, analyze_block
from legpress.detect.analyzer import Analyzer
from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.storage.store import SessionStore
from tests.host.detect.synth import BASE_LOAD, FS_HZ, lift_off_limits, stream
from tests.host.detect.synth import Rep as SynthRep

LIMIT_MM = 360.0


def two_sets(deep: int = 2, seed: int = 0) -> list[SynthRep]:
    """Two sets of five reps with a 40 s rest between them; ``deep`` reps in the second set go
    past the limit with the lower back lifting, one of them lowered too fast."""
    first = [SynthRep(depth_mm=300 + 8 * i, top_pause_s=1.0) for i in range(5)]
    first[-1] = SynthRep(depth_mm=330, top_pause_s=40.0)
    second = [SynthRep(depth_mm=310 + 5 * i, top_pause_s=1.0) for i in range(5 - deep)]
    for k in range(deep):
        second.append(
            SynthRep(
                depth_mm=385 + 10 * k,
                lift_off_at_mm=345,
                lower_s=0.6 if k == deep - 1 else 2.0,
                top_pause_s=1.0,
            )
        )
    return first + second


def _sacral_lift(block: CalibratedBlock, reps: list[SynthRep], seed: int) -> CalibratedBlock:
    """Unload the whole sacral zone (cells 0-2) and the cell above it as each rep passes its
    lift-off depth, as a pelvis rolling off the pad does (the synth helper unloads two cells
    only, which is enough for some detector versions and not others)."""
    n = len(block)
    limits = lift_off_limits(n, reps)
    frac = np.clip((limits - block.depth_mm) / 60.0, 0.0, 1.0)
    rng = np.random.default_rng(seed + 1000)
    load = block.load.copy()
    for k, scale in ((0, frac), (1, frac), (2, frac), (3, np.clip(frac * 1.5, 0.0, 1.0))):
        load[:, k] = BASE_LOAD[k] * scale * (1 + 0.003 * rng.standard_normal(n))
    return CalibratedBlock(block.t_s, block.depth_mm, np.maximum(load, 0.0), block.valid)


def analysed(
    reps: list[SynthRep] | None = None, limit_mm: float | None = LIMIT_MM, seed: int = 0
) -> tuple[CalibratedBlock, Analyzer, DetectorConfig]:
    """A stream, its analysis and the config used."""
    reps = reps if reps is not None else two_sets()
    block, _ = stream(reps, seed=seed)
    block = _sacral_lift(block, reps, seed)
    config = DetectorConfig(rom_limit_mm=limit_mm)
    return block, analyze_block(block, config, period_s=1 / FS_HZ), config


CALIBRATION = Calibration(
    counts_per_mm=20.0, zero_counts=12, tare_counts=(5,) * 8, source="measured"
)


def populate(store: SessionStore, n_sessions: int = 3) -> list[int]:
    """Ana (limit 360 mm) with ``n_sessions`` weekly sessions that improve; Ben with one."""
    store.add_person("Ana", rom_limit_mm=LIMIT_MM, notes="post-op L4/L5")
    store.add_person("Ben")
    store.add_machine("Clinic 45", "incline45", counts_per_mm=20.0)
    t0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    ids = []
    for k in range(n_sessions):
        _, a, cfg = analysed(two_sets(deep=max(0, n_sessions - 1 - k)), seed=k)
        ids.append(
            store.import_analysis(
                "Ana",
                a.reps,
                a.events,
                machine="Clinic 45",
                started_at=t0 + timedelta(days=7 * k),
                ended_at=t0 + timedelta(days=7 * k, minutes=5),
                device_name="legpress-3F2A",
                device_url="ble:legpress-3F2A",
                config=cfg,
                calibration=CALIBRATION,
                summary={"link": {"packets": 2100, "lost_packets": k, "gaps": min(k, 1)}},
            )
        )
    _, a, cfg = analysed(two_sets(deep=0), limit_mm=None, seed=9)
    ids.append(store.import_analysis("Ben", a.reps, a.events, config=cfg))
    return ids
