"""Pipeline glue, offline analysis and per-person profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legpress.detect import (
    DetectorConfig,
    Pipeline,
    Profile,
    analyze_block,
    learn_profile,
)
from legpress.errors import ConfigError
from legpress.protocol import Decoder, DeviceInfo, SampleBlock, SamplesMessage

from .synth import Rep as SynthRep
from .synth import stream


def test_pipeline_calibrates_counts_to_mm_and_tares() -> None:
    info = DeviceInfo((0, 1, 0), 10_000, 2, encoder_counts_per_m=20_000, tare=(100, 50))
    msg = SamplesMessage(0, 0, ((1100, 50), (1200, 40)), (2000, 4000), 0x10)
    (block,) = Decoder(info).feed(msg.to_bytes(), 0)
    assert isinstance(block, SampleBlock)
    cal, _ = Pipeline(info).feed(block)
    np.testing.assert_allclose(cal.depth_mm, [100.0, 200.0])
    np.testing.assert_allclose(cal.load, [[1000.0, 0.0], [1100.0, 0.0]])


def test_offline_analysis_estimates_the_period() -> None:
    block, _ = stream([SynthRep(300), SynthRep(320, lift_off_at_mm=280)])
    a = analyze_block(block, DetectorConfig(rom_limit_mm=310))
    assert a.period_s == pytest.approx(0.01)
    assert [r.rom_exceeded for r in a.reps] == [False, True]
    assert [r.lift_off for r in a.reps] == [False, True]


def test_offline_analysis_refuses_garbage_time() -> None:
    block, _ = stream([SynthRep(300)])
    with pytest.raises(ConfigError, match="increase"):
        analyze_block(type(block)(block.t_s * 0, block.depth_mm, block.load, block.valid))


def test_profile_learned_from_calibration_reps(tmp_path: Path) -> None:
    block, _ = stream([SynthRep(300, lower_s=3.0, lift_off_at_mm=h) for h in (270, 262, 275)])
    reps = analyze_block(block).reps
    profile = learn_profile("ana", reps, margin_mm=20)
    assert profile.lift_off_depth_mm is not None
    assert 255 <= profile.lift_off_depth_mm <= 268
    assert profile.effective_limit_mm == pytest.approx(profile.lift_off_depth_mm - 20)
    # A therapist's limit wins over the learned one.
    assert Profile("ana", rom_limit_mm=200, lift_off_depth_mm=260).effective_limit_mm == 200
    path = tmp_path / "profiles" / "ana.json"
    profile.save(path)
    assert Profile.load(path) == profile


def test_profile_without_lift_off_is_bounded_by_the_deepest_rep() -> None:
    block, _ = stream([SynthRep(280), SynthRep(300)])
    profile = learn_profile("ben", analyze_block(block).reps)
    assert profile.lift_off_depth_mm is None
    assert profile.effective_limit_mm == pytest.approx(300, abs=1)


def test_profile_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="legpress calibrate"):
        Profile.load(tmp_path / "nobody.json")
    with pytest.raises(ConfigError, match="slow reps"):
        learn_profile("x", [])
    (tmp_path / "bad.json").write_text('{"person": "x", "colour": 3}')
    with pytest.raises(ConfigError, match="colour"):
        Profile.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="margin_mm"):
        Profile("x", margin_mm=-1)
