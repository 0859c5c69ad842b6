"""A runnable scenario: physics, sensors, firmware in the loop, link, ground truth."""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from legpress.sim.athlete import Plan, person_weight_on_pad_n, plan_session, rail_force_n
from legpress.sim.firmware import (
    FirmwareStats,
    InfoFields,
    device_id_for,
    info_packet,
    make_info,
    plan_batch,
    poll_schedule,
    radio_stalls,
    run_firmware,
    start_ticks_for,
)
from legpress.sim.geometry import LegGeometry
from legpress.sim.link import ChannelStats, LinkChannel
from legpress.sim.numerics import FloatArray, lowpass
from legpress.sim.params import MachineParams, PersonParams, ScenarioConfig
from legpress.sim.pelvis import (
    excess_tilt_deg,
    excess_tilt_static_deg,
    lumbar_flexion_deg,
    pelvic_tilt_deg,
)
from legpress.sim.pressure import BackPadModel, cell_area_mm2, readout_forces
from legpress.sim.sensors import EncoderModel, PadSensors, adc_code
from legpress.sim.truth import (
    GroundTruth,
    TruthSet,
    find_crossings,
    find_lift_offs,
    rep_truth,
)

ARM_TAU_S: Final = 0.15
INFO_LEAD_US: Final = 20_000  # DEVICE_INFO goes out this long before the first sample
# Independent random streams, so that changing one part's setting leaves the others' draws.
_STREAMS: Final = ("plan", "cells", "noise", "encoder", "timing", "link", "device", "breath")


@dataclass(frozen=True, slots=True)
class TrueSignals:
    """The simulated truth at every sample the device took, in order (``n`` samples).

    Attributes:
        t_s: scheduled device time of each sample (s from session start).
        t_read_s: when it was actually read (scheduled + task lateness).
        sled_mm, velocity_mm_s, accel_mm_s2: true sled travel and its derivatives.
        knee_deg, hip_deg: joint flexion.
        pelvic_tilt_deg: posterior pelvic tilt from the top position (rhythm + excess).
        tilt_excess_deg: the excess tilt, past the onset hip angle.
        lumbar_flexion_deg: lumbar flexion from the tilt.
        engaged: 1 holding the sled, 0 racked.
        seat_shift_mm: where the person sits along the pad.
        rail_force_n: the legs' force along the rail.
        leg_force_n: the legs' force along the hip-ankle line.
        pad_load_n: modelled normal load on the back pad (trunk + legs + arms).
        pad_force_n: the pressure model's integrated pad force (equals ``pad_load_n``).
        arm_force_n: the arms' share.
        sacral_load_n: load over the sacral zone.
        sacral_margin_mm: deepest indentation over the sacral zone (<= 0: lifted off).
        cop_mm: centre of pressure of the back (mm above the seat junction).
        contact_mm: contact length of the back.
        cell_force_n: true force on each cell ``(n, K)``.
        cell_counts_raw: ADC reading before quantisation (noise included) ``(n, K)``.
        cell_counts: the 12-bit counts the firmware read ``(n, K)``.
        encoder_mm: what the encoder saw (mm, before counting).
        encoder_counts: the counts the firmware read.
    """

    t_s: FloatArray
    t_read_s: FloatArray
    sled_mm: FloatArray
    velocity_mm_s: FloatArray
    accel_mm_s2: FloatArray
    knee_deg: FloatArray
    hip_deg: FloatArray
    pelvic_tilt_deg: FloatArray
    tilt_excess_deg: FloatArray
    lumbar_flexion_deg: FloatArray
    engaged: FloatArray
    seat_shift_mm: FloatArray
    rail_force_n: FloatArray
    leg_force_n: FloatArray
    pad_load_n: FloatArray
    pad_force_n: FloatArray
    arm_force_n: FloatArray
    sacral_load_n: FloatArray
    sacral_margin_mm: FloatArray
    cop_mm: FloatArray
    contact_mm: FloatArray
    cell_force_n: FloatArray
    cell_counts_raw: FloatArray
    cell_counts: npt.NDArray[np.int64]
    encoder_mm: FloatArray
    encoder_counts: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


@dataclass(frozen=True, slots=True)
class SimResult:
    """A finished run.

    Attributes:
        packets: ``(t_host_ns, packet bytes)`` in arrival order, after the link. The first is
            the DEVICE_INFO message (as a device sends it after ``START`` on serial), then the
            SAMPLES messages.
        info_packet: the DEVICE_INFO message alone.
        truth: the ground truth.
        signals: the true per-sample signals.
        config: the scenario configuration that was run.
        firmware: the firmware's counters.
        link: the link's counters.
    """

    packets: list[tuple[int, bytes]]
    info_packet: bytes
    truth: GroundTruth
    signals: TrueSignals
    config: ScenarioConfig
    firmware: FirmwareStats
    link: ChannelStats


@dataclass(frozen=True, slots=True)
class _Physics:
    plan: Plan
    signals: TrueSignals
    polls_us: npt.NDArray[np.int64]
    codes: list[array[int]]
    enc_counts: array[int]
    truth: GroundTruth


class LiftoffSweep:
    """Quasi-static lift-off depth of one person on one machine, for any tilt onset angle.

    Everything but the tilt is computed once on a 1 mm grid of sled travel, so trying many
    onset angles (:func:`legpress.sim.calibrate_liftoff`) is cheap.

    Args:
        machine: the machine.
        person: the person (their onset angle is ignored).
        shift_mm: where they sit along the pad.
    """

    def __init__(self, machine: MachineParams, person: PersonParams, shift_mm: float) -> None:
        self.person = person
        self.shift_mm = shift_mm
        geo = LegGeometry(machine, person)
        self.s = np.arange(0.0, geo.max_travel_mm() + 1.0, 1.0)
        ang = geo.angles(self.s, shift_mm)
        self.hip = ang.hip_deg
        zeros = np.zeros_like(self.s)
        rail = rail_force_n(machine, zeros, zeros, np.ones_like(self.s))
        _, pad_k = geo.leg_force_to_pad(ang.leg_line_rad)
        self.load = person_weight_on_pad_n(machine, person) + rail * pad_k
        self.model = BackPadModel(machine, person, np.zeros(1), 1.0)

    def depth_mm(self, onset_hip_deg: float) -> float | None:
        """Lift-off depth with this onset angle (None: never within reach)."""
        person = replace(self.person, tilt_onset_hip_deg=onset_hip_deg)
        excess = excess_tilt_static_deg(self.hip, person)
        live = np.flatnonzero(excess > 0)
        if live.size == 0:
            return None
        lo = max(int(live[0]) - 1, 0)
        margin, _ = self.model.static_sweep(excess[lo:], self.load[lo:], self.shift_mm)
        lifted = np.flatnonzero(margin <= 0.0)
        if lifted.size == 0:
            return None
        i = int(lifted[0])
        s = self.s[lo:]
        if i == 0:
            return float(s[0])
        f = float(margin[i - 1] / (margin[i - 1] - margin[i]))
        return float(s[i - 1] + f * (s[i] - s[i - 1]))


class Scenario:
    """A deterministic simulated session: same configuration and seed, same packets.

    Build one with :func:`legpress.sim.make_scenario`; :meth:`run` gives the packets and the
    ground truth at once, :meth:`stream` yields the packets lazily (optionally at their
    wall-clock times) for a live ``sim:`` device.

    Args:
        config: what to simulate.

    Raises:
        ValueError: the link's MTU cannot carry one sample record of this many cells.
    """

    def __init__(self, config: ScenarioConfig) -> None:
        plan_batch(config.rate_hz, config.link.mtu, config.n_cells)  # MTU too small: ValueError
        self.config = config
        seq = np.random.SeedSequence([config.seed, 0x5E55])
        self._seeds = dict(zip(_STREAMS, seq.spawn(len(_STREAMS)), strict=True))

    def __repr__(self) -> str:
        return f"Scenario({self.config.name!r}, seed={self.config.seed})"

    def _rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng(self._seeds[name])

    # -- device description -------------------------------------------------------------------

    @cached_property
    def geometry(self) -> LegGeometry:
        """The leg geometry of this person on this machine."""
        return LegGeometry(self.config.machine, self.config.person)

    @cached_property
    def start_ticks(self) -> int:
        """``ticks_us`` at the first sample (random, so that long sessions cross the wrap)."""
        return start_ticks_for(self._rng("device"))

    @cached_property
    def info(self) -> InfoFields:
        """The simulated device's DEVICE_INFO fields."""
        c = self.config
        sensors = PadSensors(c.sensor, c.n_cells, self._rng("cells"))
        return make_info(
            c.period_us,
            c.n_cells,
            c.encoder.counts_per_mm,
            c.pitch_mm,
            c.link.mtu,
            device_id_for(c.seed),
            sensors.tare(),
        )

    @property
    def info_packet(self) -> bytes:
        """The DEVICE_INFO message bytes (packed by the firmware's own code)."""
        return info_packet(self.info, self.start_ticks)

    def cell_y_mm(self) -> FloatArray:
        """Cell centres, mm above the seat junction."""
        c = self.config
        return c.sensor.first_cell_mm + c.pitch_mm * np.arange(c.n_cells, dtype=np.float64)

    # -- running ------------------------------------------------------------------------------

    def run(self, duration_s: float | None = None) -> SimResult:
        """Simulate the whole session as fast as possible.

        Args:
            duration_s: recording length; None uses the scenario's (its whole plan unless
                configured). A longer one repeats sets; a shorter one keeps the reps that
                finish in time.

        Returns:
            Packets after the link, the DEVICE_INFO packet, ground truth and true signals.
        """
        phys = self._physics(duration_s)
        fw = FirmwareStats()
        channel = self._channel()
        packets = list(self._arrivals(phys, channel, fw))
        stats = {
            "samples_total": fw.samples_total,
            "overruns": fw.overruns,
            "ring_dropped_samples": fw.ring_dropped_samples,
            "packets_sent": channel.stats.sent,
            "packets_delivered": channel.stats.delivered,
            "packets_lost": channel.stats.lost,
            "packets_duplicated": channel.stats.duplicated,
            "packets_delayed": channel.stats.delayed,
        }
        truth = replace(phys.truth, stats=stats)
        return SimResult(
            packets,
            self.info_packet,
            truth,
            phys.signals,
            self._config(duration_s),
            fw,
            channel.stats,
        )

    def stream(
        self, realtime: bool = False, duration_s: float | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """Yield ``(t_host_ns, packet)`` lazily: the same packets as :meth:`run`, DEVICE_INFO
        first.

        The physics of the whole session is computed first (vectorised, fast); the firmware
        and link then run packet by packet.

        Args:
            realtime: pace the packets at their simulated arrival times on the wall clock
                (``time.monotonic``); the yielded ``t_host_ns`` stay the simulated ones.
            duration_s: as for :meth:`run`.
        """
        phys = self._physics(duration_s)
        channel = self._channel()
        arrivals = self._arrivals(phys, channel, FirmwareStats())
        if not realtime:
            yield from arrivals
            return
        t0_wall = time.monotonic_ns()
        t0_host = self.config.link.host_start_ns
        for t_host, data in arrivals:
            wait = (t_host - t0_host) - (time.monotonic_ns() - t0_wall)
            if wait > 0:
                time.sleep(wait / 1e9)
            yield t_host, data

    async def astream(
        self, realtime: bool = True, duration_s: float | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        """Async version of :meth:`stream` (``asyncio.sleep`` between packets)."""
        phys = self._physics(duration_s)
        channel = self._channel()
        arrivals = self._arrivals(phys, channel, FirmwareStats())
        t0_wall = time.monotonic_ns()
        t0_host = self.config.link.host_start_ns
        for t_host, data in arrivals:
            if realtime:
                wait = (t_host - t0_host) - (time.monotonic_ns() - t0_wall)
                if wait > 0:
                    await asyncio.sleep(wait / 1e9)
            yield t_host, data

    def plan(self, duration_s: float | None = None) -> Plan:
        """The planned session: sets, reps and the continuous true trajectory
        (``plan.sled(t_s)`` gives position, velocity, acceleration at any instants)."""
        cfg = self._config(duration_s)
        return plan_session(
            cfg.machine,
            cfg.person,
            cfg.session,
            self.geometry,
            self._rng("plan"),
            cfg.encoder.zero_slip_sd_mm,
        )

    def truth(self, duration_s: float | None = None) -> GroundTruth:
        """Ground truth without running the firmware (link counters left empty)."""
        return self._physics(duration_s).truth

    # -- internals ----------------------------------------------------------------------------

    def _config(self, duration_s: float | None) -> ScenarioConfig:
        if duration_s is None:
            return self.config
        if not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s}")
        return replace(self.config, session=replace(self.config.session, duration_s=duration_s))

    def _channel(self) -> LinkChannel:
        rng = self._rng("link")
        ppm = float(rng.normal(0.0, self.config.link.clock_ppm_sd))
        return LinkChannel(self.config.link, rng, ppm)

    def _arrivals(
        self, phys: _Physics, channel: LinkChannel, fw: FirmwareStats
    ) -> Iterator[tuple[int, bytes]]:
        """DEVICE_INFO (sent on START, just before the first sample), then the samples."""
        yield channel.host_ns(-INFO_LEAD_US), self.info_packet
        yield from channel.deliver(self._sends(phys, fw))

    def _sends(self, phys: _Physics, fw: FirmwareStats) -> Iterator[tuple[int, bytes]]:
        end_us = int(phys.polls_us[-1]) + 1 if phys.polls_us.size else 0
        stalls = radio_stalls(end_us, self.config.link, self._rng("timing"))
        return run_firmware(
            phys.codes,
            phys.enc_counts,
            phys.polls_us,
            self.info,
            self.start_ticks,
            self.config.link,
            stalls,
            fw,
        )

    def _physics(self, duration_s: float | None) -> _Physics:
        cfg = self._config(duration_s)
        m, p = cfg.machine, cfg.person
        geo = self.geometry
        plan = self.plan(duration_s)
        period = cfg.period_us
        n_slots = max(1, math.ceil(plan.end_s * 1e6 / period))
        polls_us, slots_us = poll_schedule(n_slots, period, cfg.link, self._rng("timing"))
        t = polls_us.astype(np.float64) * 1e-6
        dt = period * 1e-6
        sled, vel, acc = plan.sled(t)
        shift = plan.seat_shift(t)
        engaged = plan.engaged(t)
        ang = geo.angles(sled, shift)
        excess = excess_tilt_deg(ang.hip_deg, dt, p)
        hip_top = float(geo.angles(np.array([0.0])).hip_deg[0])
        tilt = pelvic_tilt_deg(ang.hip_deg, hip_top, excess, p)
        rail = rail_force_n(m, vel, acc, engaged)
        leg_k, pad_k = geo.leg_force_to_pad(ang.leg_line_rad)
        leg = rail * leg_k
        load = person_weight_on_pad_n(m, p) + rail * pad_k
        arm = p.arm_pull_n * np.clip(lowpass(plan.effort(t), dt, ARM_TAU_S, 0.0), 0.0, 1.0)
        breath = self._breathing(t)
        area = cell_area_mm2(cfg.sensor.cell_diameter_mm)
        pad_model = BackPadModel(m, p, self.cell_y_mm(), area)
        pad = pad_model.run(t, excess, load, arm, breath, shift)
        felt = readout_forces(
            pad.cell_force_n, self.cell_y_mm(), sled, excess, load, arm, shift, m, p, area
        )
        sensors = PadSensors(cfg.sensor, cfg.n_cells, self._rng("cells"))
        rep_starts = np.array([r.t_start_s for r in plan.reps], dtype=np.float64)
        raw, counts = sensors.counts(felt, t, rep_starts, self._rng("noise"))
        enc = EncoderModel(cfg.encoder, self._rng("encoder"))
        enc_mm = enc.measure_mm(sled, vel, t, plan.zero_slip(t))
        enc_counts = enc.counts(enc_mm)
        signals = TrueSignals(
            t_s=slots_us.astype(np.float64) * 1e-6,
            t_read_s=t,
            sled_mm=sled,
            velocity_mm_s=vel,
            accel_mm_s2=acc,
            knee_deg=ang.knee_deg,
            hip_deg=ang.hip_deg,
            pelvic_tilt_deg=tilt,
            tilt_excess_deg=excess,
            lumbar_flexion_deg=lumbar_flexion_deg(excess, p),
            engaged=engaged,
            seat_shift_mm=shift,
            rail_force_n=rail,
            leg_force_n=leg,
            pad_load_n=pad.load_n,
            pad_force_n=pad.pad_force_n,
            arm_force_n=arm,
            sacral_load_n=pad.sacral_load_n,
            sacral_margin_mm=pad.sacral_margin_mm,
            cop_mm=pad.cop_mm,
            contact_mm=pad.contact_mm,
            cell_force_n=pad.cell_force_n,
            cell_counts_raw=raw,
            cell_counts=counts,
            encoder_mm=enc_mm,
            encoder_counts=enc_counts,
        )
        truth = self._truth(cfg, plan, signals, pad_model)
        enc_arr = array("q", enc_counts.astype(np.int64).tobytes())
        return _Physics(plan, signals, polls_us, adc_code(counts), enc_arr, truth)

    def _breathing(self, t: FloatArray) -> FloatArray:
        """Chest expansion against the pad (mm): 0.2-0.3 Hz with a slowly wandering rate."""
        p = self.config.person
        rng = self._rng("breath")
        ph = rng.uniform(0.0, 2 * math.pi, 3)
        wander = (
            1.0
            + 0.08 * np.sin(2 * math.pi * t / 37.0 + ph[0])
            + 0.05 * np.sin(2 * math.pi * t / 13.0 + ph[1])
        )
        phase = ph[2] + 2 * math.pi * p.breathing_hz * (t + 0.0)
        if t.size > 1:
            dt = np.diff(t, prepend=t[0])
            phase = ph[2] + 2 * math.pi * p.breathing_hz * np.cumsum(wander * dt)
        out: FloatArray = p.breathing_mm * np.sin(phase)
        return out

    def liftoff_depth_mm(self, shift_mm: float | None = None) -> float | None:
        """Sled travel at which the lower back leaves the pad in a slow rep at the working
        load (quasi-static: no lag, breathing, arms or foam memory); None if out of reach.

        Args:
            shift_mm: where the person sits along the pad (default 0).
        """
        cfg = self.config
        sweep = LiftoffSweep(cfg.machine, cfg.person, 0.0 if shift_mm is None else shift_mm)
        return sweep.depth_mm(cfg.person.tilt_onset_hip_deg)

    def _truth(
        self, cfg: ScenarioConfig, plan: Plan, sig: TrueSignals, model: BackPadModel
    ) -> GroundTruth:
        end_s = plan.end_s
        lift_offs = find_lift_offs(plan, sig.t_read_s, sig.sacral_margin_mm, end_s)
        crossings = find_crossings(plan, cfg.person.rom_limit_mm, end_s)
        reps = rep_truth(plan, lift_offs, sig.t_read_s, sig.tilt_excess_deg)
        first_shift = plan.first_shift_mm
        body_y = self.cell_y_mm() - first_shift
        sacral = [
            int(c) for c in np.flatnonzero((body_y >= 0) & (body_y <= cfg.person.sacrum_top_mm))
        ]
        sets = [
            TruthSet(
                s.index, s.t_unrack_s, min(s.t_rack_s + 0.6, end_s), s.top_mm, s.seat_shift_mm
            )
            for s in plan.sets
            if s.t_unrack_s < end_s
        ]
        return GroundTruth(
            scenario=cfg.name,
            seed=cfg.seed,
            duration_s=end_s,
            rate_hz=1e6 / cfg.period_us,
            period_us=cfg.period_us,
            n_cells=cfg.n_cells,
            counts_per_mm=cfg.encoder.counts_per_mm,
            rom_limit_mm=cfg.person.rom_limit_mm,
            liftoff_depth_mm=self.liftoff_depth_mm(first_shift),
            sacral_cells=sacral,
            person=cfg.person,
            machine=cfg.machine,
            reps=reps,
            lift_offs=lift_offs,
            rom_crossings=crossings,
            sets=sets,
        )
