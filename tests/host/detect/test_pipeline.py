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


def test_calibration_learns_the_clean_share_over_the_safe_depths(tmp_path: Path) -> None:
    block, _ = stream(
        [SynthRep(300, lower_s=3.0, lift_off_at_mm=h) for h in (270, 262, 275)],
        leg_force_gain=0.5,
    )
    analyzer = analyze_block(block)
    profile = learn_profile(
        "ana", analyzer.reps, margin_mm=20, shares=analyzer.rep_shares, bin_mm=10.0
    )
    shares = profile.clean_share_by_depth
    assert shares is not None and profile.lift_off_depth_mm is not None
    # Down to the learned limit (the lift-off depth less the margin), not deeper.
    assert len(shares) == int(profile.effective_limit_mm // 10)  # type: ignore[operator]
    # Each bin: the mean over the three reps of their lowest share there.
    rows = np.full((3, len(shares)), np.nan)
    for k, (bins, lift, _) in enumerate(analyzer.rep_shares):
        assert lift is not None  # each lifted off: counted up to the limit only
        rows[k, : min(bins.size, len(shares))] = bins[: len(shares)]
    known = np.isfinite(rows).any(axis=0)
    assert known[-1] and not known[0]  # the rep begins 15 mm down; nothing shallower
    got = np.array([np.nan if x is None else x for x in shares])
    assert (np.isfinite(got) == known).all()
    expected = np.nanmean(rows[:, known], axis=0)
    np.testing.assert_allclose(got[known], expected, atol=1e-4)
    # It travels with the profile (JSON), and into the detector's settings.
    path = tmp_path / "ana.json"
    profile.save(path)
    assert Profile.load(path) == profile
    assert profile.detector_config().clean_share_by_depth == shares
    # In other depth bins: each takes the profile's bin that holds its middle.
    coarse = profile.detector_config(DetectorConfig(reference_bin_mm=20.0))
    assert coarse.clean_share_by_depth == shares[1::2][: len(shares) // 2]


def test_a_rep_on_its_way_to_lifting_off_teaches_no_clean_share() -> None:
    lifted = (np.array([1.0, 0.9, 0.8]), 260.0, False)
    suspect = (np.array([0.2, 0.2, 0.2, 0.2]), None, False)  # fell toward lift-off, unfired
    clean = (np.array([1.0, 0.7, 0.6, 0.5]), None, True)
    reps = analyze_block(stream([SynthRep(300, lift_off_at_mm=260)])[0]).reps
    lift = reps[0].lift_off_depth_mm
    assert lift is not None
    # Safe: shallower than the lift-off depth less the margin (here 25 mm: two bins), for
    # every rep; the one whose share fell toward lift-off without firing does not count.
    profile = learn_profile("x", reps, margin_mm=lift - 25, shares=[lifted, suspect, clean])
    assert profile.clean_share_by_depth == (1.0, 0.8)
    assert learn_profile("x", reps, shares=[suspect]).clean_share_by_depth is None
    # Nothing lifted: every depth of the clean reps.
    reps = analyze_block(stream([SynthRep(300)])[0]).reps
    assert learn_profile("x", reps, shares=[clean]).clean_share_by_depth == (1.0, 0.7, 0.6, 0.5)


def test_the_first_rep_is_compared_with_the_calibrated_clean_share() -> None:
    block, _ = stream([SynthRep(300, lift_off_at_mm=250)])
    fresh = analyze_block(block)
    (ev,) = [e for e in fresh.events if e.type == "lift_off"]
    assert ev.evidence["clean_share"] == pytest.approx(1.0)  # nothing known: its own top
    prior = DetectorConfig(clean_share_by_depth=[0.8] * 20 + [None] * 5)  # type: ignore[arg-type]
    assert prior.clean_share_by_depth == (0.8,) * 20 + (None,) * 5  # a list becomes a tuple
    calibrated = analyze_block(block, prior)
    (ev,) = [e for e in calibrated.events if e.type == "lift_off"]
    # Deeper than calibration reached: its deepest bin, carried on.
    assert ev.evidence["clean_share"] == pytest.approx(0.8)
    # The rule in words (report, sessions show) says what the first reps were compared with.
    assert "the rep's own top until the session has one" in DetectorConfig().lift_off_rule()
    assert "below 30% until a clean rep" in DetectorConfig().lift_off_rule()
    rule = prior.lift_off_rule()
    assert "calibration's, learned down to 200 mm" in rule and "until a clean rep" not in rule
    with pytest.raises(ConfigError, match="clean_share_by_depth"):
        DetectorConfig(clean_share_by_depth=(0.5, -1.0))
    with pytest.raises(ConfigError, match="clean_share_by_depth"):
        Profile("x", clean_share_by_depth="0.5")  # type: ignore[arg-type]


def test_profile_without_lift_off_keeps_the_margin_from_the_deepest_rep() -> None:
    # Asked to go down to where the back starts to lift, and none seen: the likelier reason is
    # a lift-off the pad did not show, so the margin is kept from the deepest rep.
    block, _ = stream([SynthRep(280), SynthRep(300)])
    analyzer = analyze_block(block)
    profile = learn_profile("ben", analyzer.reps, shares=analyzer.rep_shares)
    assert profile.lift_off_depth_mm is None
    assert profile.max_calibrated_depth_mm == pytest.approx(300, abs=1)
    assert profile.effective_limit_mm == pytest.approx(300 - 20, abs=1)
    # Its clean share stops there too (10 mm bins short of the limit).
    assert profile.clean_share_by_depth is not None
    assert len(profile.clean_share_by_depth) * 10 <= profile.effective_limit_mm
    assert learn_profile("ben", analyze_block(block).reps, margin_mm=0).effective_limit_mm == (
        pytest.approx(300, abs=1)
    )
    assert Profile("ben", max_calibrated_depth_mm=10.0).learned_limit_mm == 1.0
    assert Profile("ben").learned_limit_mm is None


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
