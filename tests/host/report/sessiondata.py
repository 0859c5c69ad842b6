"""Realistic session data for the store and report tests: synthetic streams run through the
real detectors (tests/host/detect/synth.py + legpress.detect.analyze_block)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from legpress.detect import DetectorConfig, analyze_block
from legpress.detect.analyzer import Analyzer
from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.storage.store import SessionStore
from tests.host.detect.synth import FS_HZ, stream
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


def analysed(
    reps: list[SynthRep] | None = None, limit_mm: float | None = LIMIT_MM, seed: int = 0
) -> tuple[CalibratedBlock, Analyzer, DetectorConfig]:
    """A stream, its analysis and the config used."""
    block, _ = stream(reps if reps is not None else two_sets(), seed=seed)
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
