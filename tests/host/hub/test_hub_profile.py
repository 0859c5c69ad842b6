"""A hub judges each person with what their calibration learned, as monitor does."""

from __future__ import annotations

from pathlib import Path

from legpress.hub import Hub, HubConfig, MachineSpec
from legpress.storage.store import CalibrationRecord, SessionStore


def test_the_hub_uses_the_persons_calibration(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        store.add_person("Ana", rom_limit_mm=330)
        store.add_calibration(
            CalibrationRecord("Ana", 3, 2, 310.0, 0.35, 340.0, 20.0, detail={"depth_mm": []})
        )
        hub = Hub(HubConfig(machines=(MachineSpec("LP", "sim:realtime=0"),)), store)
        config = hub.detector_config("Ana")
        assert config.rom_limit_mm == 330  # the therapist's limit wins over the learned one
        assert config.lift_off_depth_mm == 310.0 and config.lift_off_floor == 0.35
        assert hub.detector_config(None).lift_off_floor is None
        assert hub.detector_config("nobody").rom_limit_mm is None
        # Calibrated on another machine since: each machine uses its own calibration.
        store.add_calibration(
            CalibrationRecord("Ana", 3, 2, 280.0, 0.3, 300.0, 20.0, detail={"machine": "LP 2"})
        )
        assert hub.detector_config("Ana", "LP 2").lift_off_depth_mm == 280.0
        assert hub.detector_config("Ana", "LP").lift_off_depth_mm == 280.0  # the newest
        store.add_calibration(
            CalibrationRecord("Ana", 3, 2, 320.0, 0.3, 340.0, 20.0, detail={"machine": "LP"})
        )
        store.add_calibration(
            CalibrationRecord("Ana", 3, 2, 290.0, 0.3, 310.0, 20.0, detail={"machine": "LP 2"})
        )
        assert hub.detector_config("Ana", "LP").lift_off_depth_mm == 320.0
        assert hub.detector_config("Ana", "LP 2").lift_off_depth_mm == 290.0
