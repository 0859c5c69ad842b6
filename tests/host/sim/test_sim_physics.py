"""Physical sanity of the simulator against the figures of the research report (§1, §3, §7)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from legpress.sim import MachineParams, PersonParams, SensorParams, SimResult, make_scenario
from legpress.sim.geometry import LegGeometry
from legpress.sim.numerics import decayed_running_max, iir1
from legpress.sim.params import EncoderParams
from legpress.sim.pelvis import excess_tilt_static_deg
from legpress.sim.pressure import cell_area_mm2
from legpress.sim.sensors import EncoderModel, PadSensors, backlash, hysteresis_state


@pytest.fixture(scope="module")
def clean() -> SimResult:
    return make_scenario("clean", seed=1).run(duration_s=40)


@pytest.fixture(scope="module")
def liftoff() -> SimResult:
    return make_scenario("liftoff", seed=2).run(duration_s=40)


# -- geometry ---------------------------------------------------------------------------------


def test_sled_travel_matches_the_geometric_table() -> None:
    # §1.1: 0.43 m segments, travel from 5 degrees of knee flexion: 11 / 25 / 43 / 57 cm.
    geo = LegGeometry(MachineParams(), PersonParams(top_knee_deg=5.0))
    for knee, cm in ((60, 11), (90, 25), (120, 43), (140, 57)):
        assert geo.travel_for_knee(knee) == pytest.approx(cm * 10, abs=6)


def test_foot_placement_changes_hip_flexion_by_about_ten_degrees() -> None:
    # §7.1: foot placement changes hip flexion at a given depth by about +-10-15 degrees.
    s = np.array([300.0])
    hip = [
        LegGeometry(MachineParams(), PersonParams(foot_height_mm=h)).angles(s).hip_deg[0]
        for h in (-100.0, 0.0, 100.0)
    ]
    assert 5 < hip[1] - hip[0] < 16
    assert 5 < hip[2] - hip[1] < 16


def test_hip_and_knee_flex_monotonically_with_depth() -> None:
    for machine in (MachineParams(), replace(MachineParams(), rail_angle_deg=0.0)):
        a = LegGeometry(machine, PersonParams()).angles(np.linspace(0, 450, 100))
        assert np.all(np.diff(a.knee_deg) > 0)
        assert np.all(np.diff(a.hip_deg) > 0)
        assert a.knee_deg[0] == pytest.approx(10.0, abs=0.01)


# -- kinematics -------------------------------------------------------------------------------


def _phase_means(result: SimResult) -> tuple[list[float], list[float], list[float]]:
    s = result.signals
    ecc, con, peak_ratio = [], [], []
    for rep in result.truth.reps:
        if rep.bounce:
            continue
        down = (s.t_read_s >= rep.t_start_s) & (s.t_read_s <= rep.t_bottom_s)
        up = (s.t_read_s >= rep.t_bottom_s) & (s.t_read_s <= rep.t_end_s)
        top0, top1 = s.sled_mm[down][0], s.sled_mm[up][-1]
        ecc.append((rep.depth_mm - top0) / (rep.t_bottom_s - rep.t_start_s) / 1000)
        push_s = rep.t_end_s - rep.t_bottom_s - 0.0
        con.append((rep.depth_mm - top1) / push_s / 1000)
        peak_ratio.append(s.velocity_mm_s[down].max() / 1000 / ecc[-1])
    return ecc, con, peak_ratio


def test_rep_kinematics_are_in_the_cited_ranges(clean: SimResult) -> None:
    ecc, con, ratio = _phase_means(clean)
    assert len(ecc) >= 5
    # §7.1: eccentric mean 0.12-0.35 m/s, concentric 0.2-0.6 m/s (the push includes the
    # bottom pause here, hence the lower bound), minimum-jerk peak 1.8-1.9 x mean.
    assert all(0.12 <= v <= 0.35 for v in ecc)
    assert all(0.12 <= v <= 0.6 for v in con)
    assert all(1.8 <= r <= 1.95 for r in ratio)
    for rep in clean.truth.reps:
        assert 1.0 <= rep.t_bottom_s - rep.t_start_s <= 3.0
        assert 250 <= rep.depth_mm <= 400  # §7.1: personal safe depth 25-40 cm
        assert rep.depth_mm < clean.truth.rom_limit_mm


def test_forces_are_plausible(clean: SimResult) -> None:
    s = clean.signals
    m = MachineParams()
    static = 9.81 * (m.sled_mass_kg + m.load_kg) * np.sin(np.radians(45))
    held = s.engaged > 0.999
    assert np.median(s.rail_force_n[held]) == pytest.approx(static, rel=0.05)
    assert s.rail_force_n[held].min() > 0.5 * static
    assert s.rail_force_n.max() < 2.0 * static
    assert np.all(s.rail_force_n[s.engaged == 0] == 0)
    # §7.3: contact pressure 5-20 kPa on average, peaks up to about 40 kPa; FSR 402 cells
    # then stay within their 0.2-20 N range (§3.4 sizing check).
    kpa = s.cell_force_n / (cell_area_mm2(12.7) * 1e-3)
    loaded = kpa[held]
    assert 5 <= np.median(loaded[loaded > 0]) <= 20
    assert kpa.max() <= 45
    assert s.cell_force_n.max() < 20


def test_fatigue_makes_reps_slower_and_deeper() -> None:
    result = make_scenario("fatigue", seed=3).run(duration_s=75)
    reps = [r for r in result.truth.reps if r.set_index == 0]
    assert len(reps) == 12
    push = np.array([r.t_end_s - r.t_bottom_s for r in reps])
    depth = np.array([r.depth_mm for r in reps])
    x = np.arange(len(reps))
    assert np.polyfit(x, push, 1)[0] > 0.02  # s per rep
    assert np.polyfit(x, depth, 1)[0] > 1.0  # mm per rep


def test_bouncing_reps_reverse_fast() -> None:
    result = make_scenario("bouncing", seed=0).run(duration_s=20)
    s = result.signals
    bounces = [r for r in result.truth.reps if r.bounce]
    assert bounces
    for r in bounces:
        assert r.t_bottom_s - r.t_start_s < 1.0
        near = np.abs(s.t_read_s - r.t_bottom_s) < 0.05
        # a rebound: no pause, the sled is already moving up 50 ms after the bottom
        after = (s.t_read_s > r.t_bottom_s + 0.04) & (s.t_read_s < r.t_bottom_s + 0.06)
        assert near.any() and after.any()
        assert s.velocity_mm_s[after].max() < -20


# -- pelvis and pad ---------------------------------------------------------------------------


def test_tilt_only_past_the_personal_onset(liftoff: SimResult) -> None:
    p = liftoff.truth.person
    hip = np.linspace(60, 150, 400)
    static = excess_tilt_static_deg(hip, p)
    assert np.all(static[hip <= p.tilt_onset_hip_deg] == 0)
    assert np.all(np.diff(static) >= 0)
    s = liftoff.signals
    assert s.tilt_excess_deg.max() > 5
    # with the lag: where hip flexion has stayed below the onset for the last 0.5 s, no tilt
    n = int(0.5 * liftoff.truth.rate_hz)
    below = s.hip_deg < p.tilt_onset_hip_deg
    window = np.convolve(below.astype(float), np.ones(n), mode="full")[: below.size] >= n
    assert np.all(s.tilt_excess_deg[window] < 0.05)


def test_pad_force_equals_the_modelled_load(liftoff: SimResult) -> None:
    s = liftoff.signals
    err = np.abs(s.pad_force_n - s.pad_load_n) / s.pad_load_n
    assert err.max() < 1e-3


def test_lift_off_is_the_lowest_cells_reaching_zero(liftoff: SimResult) -> None:
    truth = liftoff.truth
    s = liftoff.signals
    assert truth.lift_offs
    sacral = truth.sacral_cells
    assert sacral and sacral[0] == 0
    for lo in truth.lift_offs:
        rep = truth.reps[lo.rep]
        during = (s.t_read_s > lo.t_onset_s + 0.01) & (s.t_read_s < lo.t_end_s - 0.01)
        assert during.any()
        assert np.all(s.sacral_load_n[during] == 0)
        assert np.all(s.cell_force_n[during][:, sacral] < 1e-9)
        # before onset the lowest cells' load falls progressively as the tilt grows
        t_ref = rep.t_start_s + 0.2
        times = [t_ref, lo.t_onset_s - 0.3, lo.t_onset_s - 0.15, lo.t_onset_s - 0.03]
        loads = [float(np.interp(t, s.t_read_s, s.sacral_load_n)) for t in times]
        assert loads[0] > loads[1] > loads[2] > loads[3] > 0
        # the centre of pressure moves up the strip (§7.3: 2-8 cm) and the contact shortens
        cop0 = float(np.interp(t_ref, s.t_read_s, s.cop_mm))
        cop1 = float(np.interp(lo.t_onset_s, s.t_read_s, s.cop_mm))
        assert 20 <= cop1 - cop0 <= 120
        c0 = float(np.interp(t_ref, s.t_read_s, s.contact_mm))
        c1 = float(np.interp(lo.t_onset_s, s.t_read_s, s.contact_mm))
        assert c1 < c0 - 30
        # and it recovers on the way up
        back = (s.t_read_s > lo.t_end_s + 0.05) & (s.t_read_s < rep.t_end_s)
        assert np.all(s.sacral_load_n[back] > 0)


def test_mid_lumbar_cells_first_rise(liftoff: SimResult) -> None:
    truth = liftoff.truth
    s = liftoff.signals
    lo = truth.lift_offs[0]
    rep = truth.reps[lo.rep]
    top = (s.t_read_s > rep.t_start_s) & (s.t_read_s < rep.t_start_s + 0.2)
    onset = np.abs(s.t_read_s - lo.t_onset_s) < 0.02
    mid = [c for c in range(3, 6)]
    rise = s.cell_force_n[onset][:, mid].mean(0) / s.cell_force_n[top][:, mid].mean(0)
    assert rise.max() > 1.1


def test_no_lift_off_in_the_clean_set(clean: SimResult) -> None:
    assert clean.truth.lift_offs == []
    assert clean.truth.liftoff_depth_mm is None
    assert clean.signals.sacral_margin_mm.min() > 0
    assert not any(r.lift_off for r in clean.truth.reps)


def test_liftoff_depth_matches_the_reps(liftoff: SimResult) -> None:
    truth = liftoff.truth
    assert truth.liftoff_depth_mm is not None
    for lo in truth.lift_offs:
        assert lo.depth_at_onset_mm == pytest.approx(truth.liftoff_depth_mm, abs=40)
    for rep in truth.reps:
        if rep.depth_mm < truth.liftoff_depth_mm - 40:
            assert not rep.lift_off


# -- sensors ----------------------------------------------------------------------------------


def test_fsr_chain_dead_zone_and_power_law() -> None:
    sensors = PadSensors(SensorParams(gain_sd=0.0), 1, np.random.default_rng(0))
    f = np.array([[0.0], [0.05], [0.5], [1.0], [2.0], [5.0], [10.0], [20.0]])
    g = sensors.conductance_s(f)[:, 0]
    assert g[0] == 0 and g[1] == 0  # below the break force: open
    assert np.all(np.diff(g[2:]) > 0)
    # conductance roughly proportional to force (alpha 0.9-1.1)
    assert g[6] / g[3] == pytest.approx(10, rel=0.3)
    counts = sensors.adc_float(sensors.volts(g))
    assert counts[0] == 0 and counts[1] == 0  # the ~150 mV dead zone reads 0
    assert np.all(np.diff(counts[2:]) > 0)
    assert counts[-1] <= 4095


def test_cell_gain_mismatch_is_about_six_percent() -> None:
    sensors = PadSensors(SensorParams(), 4000, np.random.default_rng(1))
    assert np.std(sensors.gain) == pytest.approx(0.06, rel=0.1)
    velostat = PadSensors(SensorParams(material="velostat"), 4000, np.random.default_rng(1))
    assert np.std(velostat.gain) > 2 * np.std(sensors.gain)


def test_hysteresis_unloading_reads_higher() -> None:
    f = np.concatenate([np.linspace(0, 5, 100), np.linspace(5, 0, 100)])[:, None]
    h = hysteresis_state(f)[:, 0]
    assert np.all(h[:100] == 0)
    i_up = int(np.argmin(np.abs(f[:100, 0] - 2.0)))
    i_down = 100 + int(np.argmin(np.abs(f[100:, 0] - 2.0)))
    assert h[i_down] == pytest.approx(1.0)
    assert h[i_up] == 0.0


def test_creep_under_constant_load() -> None:
    # §7.4: over a 60 s set, about +4-9 % conductance relative to the 1 s value.
    sensors = PadSensors(SensorParams(), 1, np.random.default_rng(2))
    dt = 0.01
    f = np.concatenate([np.zeros(100), np.full(6100, 3.0)])[:, None]
    creep = sensors._creep(f, dt)[:, 0]  # white-box: one mechanism alone
    rel = (1 + creep[100 + 6000]) / (1 + creep[100 + 100]) - 1
    assert 0.02 <= rel <= 0.12


def test_noise_is_about_the_cited_level(clean: SimResult) -> None:
    s = clean.signals
    rest = (s.engaged == 0) & (s.t_read_s > 0.3)
    cells = [c for c in range(8) if s.cell_counts[rest, c].mean() > 300]
    assert cells
    # first differences remove the slow parts; white noise of 0.3 % FS is ~12 counts
    d = np.diff(s.cell_counts_raw[rest][:, cells], axis=0)
    sigma = np.std(d, axis=0) / np.sqrt(2)
    assert np.all((sigma > 4) & (sigma < 25))


def test_encoder_backlash_and_counting() -> None:
    x = np.concatenate([np.linspace(0, 10, 50), np.linspace(10, 0, 50)])
    y = backlash(x, 1.0)
    assert y[49] == pytest.approx(9.5)  # lags half the play while moving down the rail
    assert y[60] == pytest.approx(x[60] + 0.5)
    enc = EncoderModel(EncoderParams(vibration_mm_s=0.0), np.random.default_rng(0))
    measured = enc.measure_mm(x, np.zeros_like(x), np.zeros_like(x), np.zeros_like(x))
    counts = enc.counts(measured)
    assert np.all(np.abs(counts / 20.0 - measured) <= 0.5 / 20 + 1e-9)


def test_sled_encoder_error_budget(clean: SimResult) -> None:
    s = clean.signals
    err = s.encoder_counts / clean.truth.counts_per_mm - s.sled_mm
    # §7.5 / §8.2: backlash 0.5 mm, stretch 0.3 % of travel, vibration, slip: under 2 mm
    assert np.abs(err).max() < 2.0


# -- numerics ---------------------------------------------------------------------------------


def test_iir_scan_matches_the_recursion() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 3))
    a = np.array([0.5, 0.9, 0.999])
    y = iir1(x, a, 1.0)
    ref = np.empty_like(x)
    prev = np.ones(3)
    for i in range(1000):
        prev = a * prev + x[i]
        ref[i] = prev
    assert np.allclose(y, ref)


def test_decayed_running_max_in_chunks() -> None:
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=500))
    t = np.arange(500) * 0.01
    whole, _ = decayed_running_max(x, t, 0.5)
    a, carry = decayed_running_max(x[:200], t[:200], 0.5)
    b, _ = decayed_running_max(x[200:], t[200:], 0.5, carry)
    assert np.allclose(np.concatenate([a, b]), whole)
    ref = [max(x[k] * np.exp(-(t[n] - t[k]) / 0.5) for k in range(n + 1)) for n in range(500)]
    assert np.allclose(whole, ref)
