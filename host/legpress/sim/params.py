"""Simulator parameters: frozen dataclasses, every field with its unit in its name.

Sources are given as section numbers of ``shared/research/biomech_sensing.md`` (``§7.1``);
``[I]`` marks a design assumption, as in that report. docs/simulator.md has the full table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MachineKind = Literal["incline45", "horizontal"]
FaultKind = Literal["open", "short", "stuck", "offset", "intermittent"]
Material = Literal["fsr", "velostat"]


@dataclass(frozen=True, slots=True)
class MachineParams:
    """The leg-press machine and its back pad.

    Attributes:
        kind: ``incline45`` (plate-loaded 45-degree sled) or ``horizontal`` (seated, weight
            stack on a cable).
        rail_angle_deg: sled rail above horizontal (45 or 0).
        backrest_angle_deg: back pad above horizontal [I]; sets hip flexion at the top.
        sled_mass_kg: moving sled or carriage. 70 kg on a 45-degree sled gives the 49.6 kg
            effective unloaded load of the LE408 (§1.3): 70 x sin 45 = 49.5.
        load_kg: plates on the sled, or the stack weight on a horizontal machine.
        load_on_stack: the load hangs on a cable (horizontal machine): its full weight acts.
        friction_coeff: rail friction over the normal force [I].
        travel_max_mm: mechanical end of the sled travel from the top [I].
        pad_stiffness_kpa_per_mm: back-pad foam, contact pressure per mm of indentation [I].
        lumbar_support_mm: prominence of the pad's lumbar support; 7 mm is the shallow
            support, 21 mm the prominent one of Castonguay-Siu & Taylor 2022 (§1.2).
        lumbar_support_center_mm: height of that support above the seat junction (19 cm,
            §1.2).
        lumbar_support_width_mm: full width of the support bump along the pad [I].
        foam_recovery_s: time constant of the foam springing back after unloading [I]
            ("slow pad-foam recovery (seconds)", §7.3).
        foam_viscous_fraction: share of a retreat the foam does not follow at once [I].
        seat_corner_frac: load the pelvis presses into the seat-back corner, read by the
            lowest cells whether or not the sacrum touches the back pad: at the top of a rep a
            fraction of a sacral cell's neutral load, growing with the pad load. 0-0.6 [A]
            (issue 12: sacral cells keep 0-60 % of their load at a true lift-off).
        pad_scale_at_depth: every cell's load is multiplied by a factor that goes from 1 at
            the top to this at the target depth (how much of the leg force a given pad and
            harness route into the back); 0.5-3 [A] (issue 12: 0.5-3x through a rep).
    """

    kind: MachineKind = "incline45"
    rail_angle_deg: float = 45.0
    backrest_angle_deg: float = 30.0
    sled_mass_kg: float = 70.0
    load_kg: float = 40.0
    load_on_stack: bool = False
    friction_coeff: float = 0.03
    travel_max_mm: float = 600.0
    pad_stiffness_kpa_per_mm: float = 1.2
    lumbar_support_mm: float = 7.0
    lumbar_support_center_mm: float = 190.0
    lumbar_support_width_mm: float = 120.0
    foam_recovery_s: float = 1.5
    foam_viscous_fraction: float = 0.3
    seat_corner_frac: float = 0.0
    pad_scale_at_depth: float = 1.0


def horizontal_machine(load_kg: float = 30.0) -> MachineParams:
    """A seated horizontal leg press with a weight stack (rail 0 degrees, back 55 degrees)."""
    return MachineParams(
        kind="horizontal",
        rail_angle_deg=0.0,
        backrest_angle_deg=55.0,
        sled_mass_kg=15.0,
        load_kg=load_kg,
        load_on_stack=True,
        travel_max_mm=500.0,
    )


@dataclass(frozen=True, slots=True)
class PersonParams:
    """One person: body, back shape, pelvis, task limits and how they move.

    Anthropometry:
        label: a name for reports.
        sex: ``F`` or ``M``.
        body_mass_kg: body mass.
        thigh_mm, shank_mm: hip-knee and knee-ankle lengths; 0.40-0.46 m (§7.1).
        upper_body_fraction: share of body weight that leans on the back pad (times the cosine
            of the backrest angle) [I].
        back_width_mm: effective contact width of the back on the pad [I]; with the contact
            length it gives the 500 cm2 contact area of §3.5.
        foot_height_mm: foot placement along the plate, + = higher [I] (changes hip flexion at a
            given depth by about 10 degrees per 100 mm, §7.1).
        top_knee_deg: knee flexion at the top of a rep ("knees soft").

    Back shape along the pad (mm above the lowest point of back contact, the seat junction):
        sacrum_top_mm: top of the sacral zone; lift-off is defined over 0..this.
        pivot_mm: where the pelvis rolls on the pad at the start of a tilt (about L4-L5) [I].
        roll_radius_mm: lumbar rolling radius: the pivot climbs this many mm per radian of
            tilt as the lumbar spine flexes [I].
        lordosis_center_mm, lordosis_width_mm, lordosis_depth_mm: the lumbar hollow [I].
        thoracic_apex_mm: most prominent point of the thoracic kyphosis [I].
        shoulder_mm: top of back contact [I].
        kyphosis_gap_mm: how far the back curves away from the pad at the shoulders [I].

    Pelvis (§1.2, §7.2):
        tilt_rhythm_ratio: pelvifemoral rhythm before the onset, about 5 % of hip flexion.
        tilt_onset_hip_deg: hip flexion where posterior tilt begins to grow.
        tilt_slope_initial: degrees of tilt per degree of hip flexion just past the onset
            (10-30 %, §7.2).
        tilt_lock_span_deg: hip flexion past the onset where the hip reaches its end range
            and the pelvis follows the femur almost one to one [I].
        tilt_slope_locked: slope after that (the "butt wink") [I].
        tilt_max_deg: largest excess tilt; 10-50 degrees of pelvic swing (§7.2).
        tilt_lag_s: first-order lag of the tilt behind hip flexion (0-150 ms, §7.2).
        lordosis_flatten_deg: tilt at which the lumbar hollow has flattened as far as it goes
            [I].
        lordosis_flatten_frac: how much of the hollow flattens (the mid-lumbar cells' rise,
            10-40 %, §7.3) [I].
        lumbar_flexion_ratio: lumbar flexion per degree of excess tilt (10-30 degrees at full
            depth, §7.2).

    Task:
        rom_limit_mm: therapist's depth limit, sled travel from the zeroed top.
        target_depth_mm: the depth this person aims for.
        depth_sd_mm: rep-to-rep depth spread, 10-20 mm (§7.1).
        overshoot_prob: chance per rep of an overshoot episode (5-20 % non-compliant, §7.1).
        overshoot_min_mm, overshoot_max_mm: its extra depth (+30 to +100 mm, §7.1).

    Tempo (§7.1):
        lowering_s, pushing_s: mean eccentric and concentric durations.
        tempo_sd_frac: rep-to-rep spread of both, as a fraction.
        bottom_pause_s, top_pause_s: mean pauses.
        bounce_prob: chance per rep of a bouncing rep (fast lowering, rebound at the bottom).
        fatigue_velocity_loss: concentric velocity lost by the end of a set (10-30 %).
        fatigue_depth_drift_mm: extra depth by the end of a set (10-40 mm).

    Confounds (§7.3):
        breathing_hz: breathing rate (0.2-0.3 Hz).
        breathing_mm: chest expansion against the pad [I], tuned to a 3-8 % cell swing.
        arm_pull_n: extra normal load from pulling on the handles at full effort [I].
        arm_pelvis_frac: share of that pull which presses the pelvis down into the seat
            corner, loading the lowest cells even when the sacrum is off the pad [A].
        seat_shift_sd_mm: how far the person slides along the pad between sets [I].
        seat_shift_max_mm: the seat shift stays within 0..this (issue 12: up to 15 mm of
            sliding between sets) [A].
        top_drift_sd_mm: change of the sled top between sets (0-5 mm, §7.5).
    """

    label: str = "adult"
    sex: Literal["F", "M"] = "M"
    body_mass_kg: float = 75.0
    thigh_mm: float = 430.0
    shank_mm: float = 430.0
    upper_body_fraction: float = 0.5
    back_width_mm: float = 150.0
    foot_height_mm: float = 0.0
    top_knee_deg: float = 10.0
    sacrum_top_mm: float = 100.0
    pivot_mm: float = 160.0
    roll_radius_mm: float = 200.0
    lordosis_center_mm: float = 200.0
    lordosis_width_mm: float = 180.0
    lordosis_depth_mm: float = 10.0
    thoracic_apex_mm: float = 380.0
    shoulder_mm: float = 560.0
    kyphosis_gap_mm: float = 12.0
    tilt_rhythm_ratio: float = 0.05
    tilt_onset_hip_deg: float = 135.0
    tilt_slope_initial: float = 0.2
    tilt_lock_span_deg: float = 4.0
    tilt_slope_locked: float = 0.95
    tilt_max_deg: float = 30.0
    tilt_lag_s: float = 0.08
    lordosis_flatten_deg: float = 8.0
    lordosis_flatten_frac: float = 0.3
    lumbar_flexion_ratio: float = 0.7
    rom_limit_mm: float = 380.0
    target_depth_mm: float = 320.0
    depth_sd_mm: float = 12.0
    overshoot_prob: float = 0.0
    overshoot_min_mm: float = 30.0
    overshoot_max_mm: float = 100.0
    lowering_s: float = 2.0
    pushing_s: float = 1.5
    tempo_sd_frac: float = 0.1
    bottom_pause_s: float = 0.2
    top_pause_s: float = 1.0
    bounce_prob: float = 0.0
    fatigue_velocity_loss: float = 0.15
    fatigue_depth_drift_mm: float = 10.0
    breathing_hz: float = 0.25
    breathing_mm: float = 1.0
    arm_pull_n: float = 40.0
    arm_pelvis_frac: float = 0.0
    seat_shift_sd_mm: float = 6.0
    seat_shift_max_mm: float = 25.0
    top_drift_sd_mm: float = 2.5


@dataclass(frozen=True, slots=True)
class CellFault:
    """A failing pad cell.

    Attributes:
        cell: cell index, 0 at the seat.
        kind: ``open`` (broken lead: reads 0), ``short`` (reads 4095, the firmware flags
            SENSOR_FAULT), ``stuck`` (reads ``counts`` whatever the load), ``offset`` (layers
            stuck together after heavy compression: ``counts`` added), ``intermittent``
            (loose connector: drops to 0 for short bursts).
        t_s: when it starts, seconds from session start.
        counts: the stuck reading or the offset, ADC counts.
    """

    cell: int
    kind: FaultKind
    t_s: float = 0.0
    counts: int = 0


@dataclass(frozen=True, slots=True)
class SensorParams:
    """Force-sensitive cells and their readout (§3.1, §3.4, §7.4).

    Attributes:
        material: ``fsr`` (Interlink 400 series) or ``velostat`` (gain spread and drift x3,
            §7.4).
        cell_diameter_mm: active area diameter (FSR 402: 12.7 mm).
        first_cell_mm: height of cell 0's centre above the seat junction [I].
        r_ref_ohm, f_ref_n: resistance at the reference force (about 4.6 kOhm at 1 kg, §3.4).
        exponent: power law G ~ F**exponent, 0.9-1.1 (§7.4); per cell +-0.1.
        break_force_n: below this the cell is open (0.1-0.3 N, §7.4).
        gain_sd: cell-to-cell gain mismatch, 6 % single batch (§3.1).
        rep_gain_sd: rep-to-rep repeatability on a soft pad, 2-8 % (§7.4).
        hysteresis: unloading reads this much higher, 5-15 % (§3.1).
        creep_per_decade: conductance rise per decade of time under load, 2-5 % (§7.4).
        thermal_drift: conductance lost as the pad warms, 1-5 % (§7.4).
        thermal_tau_s: time constant of that warm-up [I] (10-20 min to settle).
        divider_supply_v, divider_r_ohm: divider supply and fixed resistor [I].
        adc_dead_zone_v: the ESP32 ADC at 11 dB reads 0 up to about 150 mV.
        adc_linear_top_v: end of its linear range (2.45 V at 11 dB).
        adc_full_scale_v: input giving 4095 [I] (compressed above the linear range).
        adc_gain_sd: chip-to-chip ADC gain error [I].
        noise_fs: white noise, fraction of full scale (0.2-0.5 %, §7.4).
        mains_fs: 50 Hz pickup amplitude, fraction of full scale [I].
        mains_hz: mains frequency.
        preload_n: force of the pad cover on an unloaded cell [I].
        gain_range: per-cell gain drawn uniformly from this range instead of N(1, gain_sd)
            (issue 12: 0.6-1.5x) [A].
        crosstalk_frac: share of each neighbour's force a cell also reads (the pad cover
            spreads load; shared leads), 0-0.15 [A] (issue 12).
        drift_frac: per-cell gain drift over the session, each cell drawn U(-x, x) and
            reached linearly at the session's end (velostat-like, issue 12: +-10 %) [A].
        faults: failing cells.
    """

    material: Material = "fsr"
    cell_diameter_mm: float = 12.7
    first_cell_mm: float = 20.0
    r_ref_ohm: float = 4600.0
    f_ref_n: float = 9.81
    exponent: float = 1.0
    break_force_n: float = 0.2
    gain_sd: float = 0.06
    rep_gain_sd: float = 0.03
    hysteresis: float = 0.10
    creep_per_decade: float = 0.035
    thermal_drift: float = 0.03
    thermal_tau_s: float = 300.0
    divider_supply_v: float = 3.3
    divider_r_ohm: float = 10_000.0
    adc_dead_zone_v: float = 0.15
    adc_linear_top_v: float = 2.45
    adc_full_scale_v: float = 3.1
    adc_gain_sd: float = 0.02
    noise_fs: float = 0.003
    mains_fs: float = 0.001
    mains_hz: float = 50.0
    preload_n: float = 0.05
    gain_range: tuple[float, float] | None = None
    crosstalk_frac: float = 0.0
    drift_frac: float = 0.0
    faults: tuple[CellFault, ...] = ()


@dataclass(frozen=True, slots=True)
class EncoderParams:
    """Sled position sensor: a draw-wire or pulley quadrature encoder (§4.1, §7.5).

    Attributes:
        counts_per_mm: 20 counts/mm = 0.05 mm per count: a 1024-line encoder decoded 4x on a
            204.8 mm drum circumference (§7.5: 0.05-0.2 mm per count).
        backlash_mm: play on direction reversal, 0.2-1 mm (§7.5).
        cable_stretch_frac: cable stretch as a fraction of travel, 0.1-0.5 % (§7.5).
        vibration_mm_s: bearing vibration, velocity noise amplitude 10-20 mm/s (§7.5).
        vibration_hz: its dominant frequency [I].
        zero_slip_sd_mm: count zero shift between sets (wire slip on the drum) [I].
    """

    counts_per_mm: float = 20.0
    backlash_mm: float = 0.5
    cable_stretch_frac: float = 0.003
    vibration_mm_s: float = 15.0
    vibration_hz: float = 18.0
    zero_slip_sd_mm: float = 0.3


@dataclass(frozen=True, slots=True)
class LinkParams:
    """The radio link and the host (BLE notifications; [I] unless noted).

    Attributes:
        mtu: ATT MTU; the payload is MTU - 3 (PROTOCOL.md). At 23 (no MTU exchange) the
            device sends one record per SAMPLES_COMPACT packet (up to 9 cells).
        ring_slots: packet slots in the firmware ring; 0: the firmware's own, fitted to the
            stream (``legpress_fw.device.ring_slots_for``: 0.5 s, 14 slots for 8 cells at
            100 Hz).
        conn_interval_ms: BLE connection interval.
        packets_per_event: notifications sent per connection event.
        latency_ms, latency_jitter_ms: host stack latency after the connection event.
        stalls_per_min: radio stalls (interference, phone busy) per minute.
        stall_min_s, stall_max_s: their duration; long ones overflow the ring (DROPPED).
        loss_prob: packets lost between radio and application.
        loss_burst_len: mean length of a loss burst (Gilbert-Elliott), packets.
        dup_prob: packets delivered twice.
        reorder_prob: packets delayed past later ones.
        reorder_delay_ms: how long such a packet is held.
        clock_ppm_sd: device crystal error against the host clock, ppm.
        host_start_ns: host clock at the session's first sample (deterministic).
        poll_late_mean_us: mean lateness of the sampler task's wake-ups.
        overrun_prob: chance per sample of a long stall of the sampling task (OVERRUN).
        overrun_max_ms: the longest such stall.
    """

    mtu: int = 247
    ring_slots: int = 0
    conn_interval_ms: float = 15.0
    packets_per_event: int = 4
    latency_ms: float = 2.0
    latency_jitter_ms: float = 1.5
    stalls_per_min: float = 0.0
    stall_min_s: float = 0.2
    stall_max_s: float = 2.0
    loss_prob: float = 0.0
    loss_burst_len: float = 1.5
    dup_prob: float = 0.0
    reorder_prob: float = 0.0
    reorder_delay_ms: float = 60.0
    clock_ppm_sd: float = 15.0
    host_start_ns: int = 1_750_000_000_000_000_000
    poll_late_mean_us: float = 40.0
    overrun_prob: float = 0.0
    overrun_max_ms: float = 35.0


@dataclass(frozen=True, slots=True)
class SessionParams:
    """What happens in the session.

    Attributes:
        n_sets: sets.
        reps_per_set: reps in each set (8-12, §7.1).
        rest_s: rest between sets, racked [I].
        lead_in_s: seated and racked before the first set.
        duration_s: stop the recording here (None: when the last set is racked). Longer than
            the plan repeats sets; shorter keeps only the reps that finish in time.
    """

    n_sets: int = 1
    reps_per_set: int = 10
    rest_s: float = 60.0
    lead_in_s: float = 1.5
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """Everything a scenario needs; :func:`legpress.sim.make_scenario` builds one.

    Attributes:
        name: scenario name.
        seed: random seed; everything random derives from it.
        description: one line.
        rate_hz: sample rate, 50-400 Hz (the firmware's SET_RATE range).
        n_cells: pad cells K, 1-16.
        cell_pitch_mm: distance between cell centres (None: 40 mm up to 8 cells, then
            320 mm / K, at least 15 mm).
        machine, person, sensor, encoder, link, session: the parts.
    """

    name: str = "custom"
    seed: int = 0
    description: str = ""
    rate_hz: int = 100
    n_cells: int = 8
    cell_pitch_mm: int | None = None
    machine: MachineParams = field(default_factory=MachineParams)
    person: PersonParams = field(default_factory=PersonParams)
    sensor: SensorParams = field(default_factory=SensorParams)
    encoder: EncoderParams = field(default_factory=EncoderParams)
    link: LinkParams = field(default_factory=LinkParams)
    session: SessionParams = field(default_factory=SessionParams)

    def __post_init__(self) -> None:
        if not 50 <= self.rate_hz <= 400:
            raise ValueError(f"rate_hz {self.rate_hz} is outside 50..400")
        if not 1 <= self.n_cells <= 16:
            raise ValueError(f"n_cells {self.n_cells} is outside 1..16")
        if self.cell_pitch_mm is not None and not 5 <= self.cell_pitch_mm <= 255:
            raise ValueError(f"cell_pitch_mm {self.cell_pitch_mm} is outside 5..255")
        for fault in self.sensor.faults:
            if not 0 <= fault.cell < self.n_cells:
                raise ValueError(f"fault on cell {fault.cell}, but there are {self.n_cells}")

    @property
    def pitch_mm(self) -> int:
        """Cell pitch in use: the configured one, or 40 mm, or 320 mm spread over the cells."""
        if self.cell_pitch_mm is not None:
            return self.cell_pitch_mm
        return int(min(40, max(15, round(320 / self.n_cells))))

    @property
    def period_us(self) -> int:
        """Sample period in microseconds, as the firmware computes it."""
        return 1_000_000 // self.rate_hz
