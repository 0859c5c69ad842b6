"""Firmware in the loop: the real ``legpress_fw`` sampler and packet encoder on simulated
hardware, under a simulated ``ticks_us`` clock.

The physics is computed beforehand for every instant the sampler will read; here a simulated
clock steps through those instants, the fake ADCs and encoder return that instant's readings,
and :class:`legpress_fw.sampler.Sampler` packs them into :class:`legpress_fw.ring.PacketRing`
slots exactly as on the device. A simulated BLE link drains the ring at connection events, so a
stalled link overflows the ring and the firmware's own DROPPED logic runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from legpress.protocol.spec import HEADER_SIZE, MsgType
from legpress.sim.params import LinkParams
from legpress_fw import VERSION as FW_VERSION
from legpress_fw.compat import TICKS_PERIOD_LOG2
from legpress_fw.device import LINK_BLE
from legpress_fw.device import Device as FirmwareDevice
from legpress_fw.pad import DirectPad
from legpress_fw.position import EncoderPosition
from legpress_fw.protocol import (
    DeviceClock,
    compact_into,
    compact_record_size,
    pack_header,
    pack_info_body,
)

TICKS_MASK: Final = (1 << 30) - 1
INFO_MAX_BODY: Final = 26 + 3 * 16 + 1 + 29  # DEVICE_INFO: 16 cells, a 29-byte name
POSITION_PCNT: Final = 1
ADC1_PINS: Final = (36, 37, 38, 39, 32, 33, 34, 35)  # classic ESP32 ADC1 channels 0-7


class SimClock:
    """The simulated ``time.ticks_us`` (2**30 wrap) and the index of the current instant."""

    __slots__ = ("index", "ticks")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks & TICKS_MASK
        self.index = 0

    def ticks_us(self) -> int:
        """Current tick count."""
        return self.ticks


class SimADC:
    """A pad cell's ADC: ``read_u16()`` returns the current instant's reading."""

    __slots__ = ("_clock", "_codes")

    def __init__(self, clock: SimClock, codes: Sequence[int]) -> None:
        self._clock = clock
        self._codes = codes

    def read_u16(self) -> int:
        """The 12-bit reading scaled to 16 bits, as MicroPython's ``ADC.read_u16``."""
        return self._codes[self._clock.index]


class SimEncoder:
    """The PCNT quadrature counter: ``value()`` reads, ``value(v)`` sets (like
    ``machine.Encoder``); counts come from the simulated sled."""

    __slots__ = ("_clock", "_counts", "_offset")

    def __init__(self, clock: SimClock, counts: Sequence[int]) -> None:
        self._clock = clock
        self._counts = counts
        self._offset = 0

    def value(self, v: int | None = None) -> int:
        """The count now; with ``v``, set the count to ``v`` and return the previous one."""
        now = self._counts[self._clock.index] - self._offset
        if v is not None:
            self._offset = self._counts[self._clock.index] - v
        return now


@dataclass(slots=True)
class InfoFields:
    """The DEVICE_INFO fields, as the attributes ``legpress_fw.protocol.pack_info_body`` reads (the
    firmware's ``Device`` keeps ``period_us``, ``batch_samples`` and ``mtu`` up to date)."""

    fw_version: tuple[int, int, int]
    period_us: int
    n_cells: int
    tick_period_log2: int
    encoder_counts_per_m: int
    position_sensor: int
    adc_bits: int
    cell_pitch_mm: int
    oversample: int
    batch_samples: int
    mtu: int
    device_id: bytes
    cell_channel: tuple[int, ...]
    tare: tuple[int, ...]
    name: bytes


class _FirmwareConfig:
    """The one configuration value the firmware's ``Device`` reads."""

    __slots__ = ("rate_hz",)

    def __init__(self, rate_hz: int) -> None:
        self.rate_hz = rate_hz


class _Unwired:
    """A pad and an encoder that are never read (for planning a batch only)."""

    def __init__(self, n_cells: int) -> None:
        self.n_cells = n_cells


def streaming_device(
    info: InfoFields,
    rate_hz: int,
    pad: Any,
    position: Any,
    ticks_us: Callable[[], int],
    ring_slots: int | None = 2,
) -> Any:
    """The firmware's own ``legpress_fw.device.Device`` on simulated hardware, connected over
    BLE at ``info.mtu`` and streaming there, as after a host's ``START``.

    Its sampler, ring and batch plan are the device's; ``info`` is updated as the device does
    (batch size, MTU); ``ring_slots`` None gives the firmware's own ring. ``device.compact``
    says whether the BLE link re-encodes each packet as
    ``SAMPLES_COMPACT``; ``device.mtu_too_small`` that not even that fits.
    """
    mtu = info.mtu
    dev = FirmwareDevice(
        _FirmwareConfig(rate_hz), info, pad, position, ticks_us, ring_slots=ring_slots
    )
    dev.on_ble_connect()
    dev.on_ble_mtu(mtu)
    dev.start(LINK_BLE)
    return dev


@functools.cache
def plan_batch(rate_hz: int, mtu: int, n_cells: int) -> tuple[int, bool]:
    """Records per packet and whether they go as SAMPLES_COMPACT, as the firmware's ``Device``
    plans them for a BLE link with this MTU.

    Raises:
        ValueError: not even one compact record fits (the device's MTU_TOO_SMALL fault).
    """
    info = _blank_info(1_000_000 // rate_hz, n_cells, mtu)
    unwired = _Unwired(n_cells)
    dev = streaming_device(info, rate_hz, unwired, unwired, lambda: 0)
    if dev.mtu_too_small:
        raise ValueError(
            f"mtu {mtu} cannot carry one sample record of {n_cells} cells (the device would "
            "raise MTU_TOO_SMALL and not stream)"
        )
    return int(info.batch_samples), bool(dev.compact)


def _blank_info(period_us: int, n_cells: int, mtu: int) -> InfoFields:
    return InfoFields(
        fw_version=(int(FW_VERSION[0]), int(FW_VERSION[1]), int(FW_VERSION[2])),
        period_us=period_us,
        n_cells=n_cells,
        tick_period_log2=int(TICKS_PERIOD_LOG2),
        encoder_counts_per_m=0,
        position_sensor=POSITION_PCNT,
        adc_bits=12,
        cell_pitch_mm=0,
        oversample=1,
        batch_samples=1,
        mtu=mtu,
        device_id=bytes(6),
        cell_channel=tuple(range(n_cells)),
        tare=(0,) * n_cells,
        name=b"",
    )


def make_info(
    period_us: int,
    n_cells: int,
    counts_per_mm: float,
    cell_pitch_mm: int,
    mtu: int,
    device_id: bytes,
    tare: tuple[int, ...],
) -> InfoFields:
    """DEVICE_INFO for a simulated device (direct ADC1 wiring up to 8 cells, else a mux)."""
    rate_hz = round(1e6 / period_us)
    channels = (
        tuple(ADC1_PINS[:n_cells])
        if n_cells <= len(ADC1_PINS)
        else tuple(0x80 | c for c in range(n_cells))
    )
    name = f"LegPress-{device_id[4]:02X}{device_id[5]:02X}".encode()
    return InfoFields(
        fw_version=(int(FW_VERSION[0]), int(FW_VERSION[1]), int(FW_VERSION[2])),
        period_us=period_us,
        n_cells=n_cells,
        tick_period_log2=int(TICKS_PERIOD_LOG2),
        encoder_counts_per_m=round(counts_per_mm * 1000),
        position_sensor=POSITION_PCNT,
        adc_bits=12,
        cell_pitch_mm=cell_pitch_mm,
        oversample=1,
        batch_samples=plan_batch(rate_hz, mtu, n_cells)[0],
        mtu=mtu,
        device_id=device_id,
        cell_channel=channels,
        tare=tare,
        name=name,
    )


def info_packet(info: InfoFields, ticks: int) -> bytes:
    """The DEVICE_INFO message bytes, packed by the firmware's own code (as its links do)."""
    buf = bytearray(HEADER_SIZE + INFO_MAX_BODY)
    clock = DeviceClock(lambda: ticks & TICKS_MASK)
    pack_header(buf, MsgType.DEVICE_INFO, 0, 0, clock, ticks & TICKS_MASK)
    n = pack_info_body(buf, HEADER_SIZE, info)
    return bytes(buf[:n])


def poll_schedule(
    n_slots: int, period_us: int, link: LinkParams, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """When the sampler task wakes, and which slot each wake-up samples (elapsed device
    microseconds from the first slot).

    Wake-ups are late by an exponential delay (``poll_late_mean_us``); with
    ``overrun_prob`` the task stalls for up to ``overrun_max_ms`` and the sampler skips the
    slots it missed (the firmware's OVERRUN logic, replayed here to know the read instants).
    """
    late = rng.exponential(max(link.poll_late_mean_us, 0.0), n_slots)
    late = np.minimum(late, 0.8 * period_us)
    spikes = rng.random(n_slots) < link.overrun_prob
    late[spikes] = rng.uniform(
        period_us, max(link.overrun_max_ms * 1000, period_us + 1), int(spikes.sum())
    )
    late_i = late.astype(np.int64)
    if not spikes.any():
        slots = np.arange(n_slots, dtype=np.int64) * period_us
        return slots + late_i, slots
    polls: list[int] = []
    slots_l: list[int] = []
    deadline = 0
    end = n_slots * period_us
    i = 0
    while deadline < end:
        lt = int(late_i[i % n_slots])
        poll = deadline + lt
        if lt >= period_us:
            skip = lt // period_us
            deadline += skip * period_us
        if deadline >= end:
            break
        polls.append(poll)
        slots_l.append(deadline)
        deadline += period_us
        i += 1
    return np.asarray(polls, dtype=np.int64), np.asarray(slots_l, dtype=np.int64)


@dataclass(slots=True)
class FirmwareStats:
    """What the firmware counted.

    Attributes:
        samples_total: samples taken.
        overruns: slots skipped.
        ring_dropped_samples: samples overwritten in the ring (link too slow).
        packets_sent: sample packets handed to the radio.
    """

    samples_total: int = 0
    overruns: int = 0
    ring_dropped_samples: int = 0
    packets_sent: int = 0


def run_firmware(
    codes: Sequence[Sequence[int]],
    enc_counts: Sequence[int],
    polls_us: npt.NDArray[np.int64],
    info: InfoFields,
    start_ticks: int,
    link: LinkParams,
    stalls: list[tuple[float, float]],
    stats: FirmwareStats,
) -> Iterator[tuple[int, bytes]]:
    """Run the real sampler over the precomputed readings; yield ``(send_us, packet)`` as the
    simulated radio sends them (``send_us``: elapsed device microseconds).

    Args:
        codes: per cell, the ``read_u16`` value at each read instant.
        enc_counts: encoder count at each read instant.
        polls_us: read instants (elapsed device microseconds from the first slot).
        info: the device configuration.
        start_ticks: ``ticks_us`` at the first slot.
        link: connection interval, packets per event, ring size.
        stalls: ``(start_us, end_us)`` windows in which the radio sends nothing.
        stats: filled in as the run goes.
    """
    clock = SimClock(start_ticks)
    pad = DirectPad([SimADC(clock, c) for c in codes])
    position = EncoderPosition(SimEncoder(clock, enc_counts))
    device = streaming_device(
        replace(info),
        round(1e6 / info.period_us),
        pad,
        position,
        clock.ticks_us,
        max(2, link.ring_slots) if link.ring_slots else None,
    )
    ring = device.ring
    sampler = device.sampler
    compact = bool(device.compact)
    compact_buf = bytearray(HEADER_SIZE + compact_record_size(info.n_cells))
    ce_us = max(1, round(link.conn_interval_ms * 1000))
    per_event = max(1, link.packets_per_event)
    next_ce = ce_us
    stall_i = 0
    n_stalls = len(stalls)

    def service(t_us: int) -> Iterator[tuple[int, bytes]]:
        nonlocal stall_i
        while stall_i < n_stalls and stalls[stall_i][1] <= t_us:
            stall_i += 1
        if stall_i < n_stalls and stalls[stall_i][0] <= t_us:
            return
        for _ in range(per_event):
            pkt = ring.peek()
            if pkt is None:
                return
            if compact:  # what the BLE link does on an MTU-23 link (legpress_fw.ble_link)
                n = compact_into(compact_buf, pkt, info.n_cells, 0, 0)
                data = bytes(compact_buf[:n])
            else:
                data = bytes(pkt)
            ring.pop()
            stats.packets_sent += 1
            yield t_us, data

    poll = sampler.poll
    polls = polls_us.tolist()
    for m, t_us in enumerate(polls):
        while next_ce <= t_us:
            if ring.pending():
                yield from service(next_ce)
            next_ce += ce_us
        clock.index = m
        clock.ticks = (start_ticks + t_us) & TICKS_MASK
        poll()
    device.stop(LINK_BLE)
    guard = 0
    while ring.pending() and guard < 1_000_000:
        yield from service(next_ce)
        next_ce += ce_us
        guard += 1
    stats.samples_total = sampler.samples_total
    stats.overruns = sampler.overruns
    stats.ring_dropped_samples = ring.dropped_samples


def radio_stalls(
    end_us: int, link: LinkParams, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Windows in which the radio sends nothing (interference, a busy phone) [I]."""
    out: list[tuple[float, float]] = []
    if link.stalls_per_min <= 0:
        return out
    t = 0.0
    mean_gap_us = 60e6 / link.stalls_per_min
    while True:
        t += float(rng.exponential(mean_gap_us))
        if t >= end_us:
            return out
        length = float(rng.uniform(link.stall_min_s, link.stall_max_s)) * 1e6
        out.append((t, t + length))
        t += length


def device_id_for(seed: int) -> bytes:
    """A deterministic, locally administered MAC-like id for a seed."""
    rng = np.random.default_rng([seed, 0x1E6])
    b = bytearray(int(x) for x in rng.integers(0, 256, 6))
    b[0] = (b[0] & 0xFC) | 0x02
    return bytes(b)


def start_ticks_for(rng: np.random.Generator) -> int:
    """A random ``ticks_us`` at the first sample, so long sessions cross the 2**30 wrap."""
    return int(rng.integers(0, 1 << 30))
