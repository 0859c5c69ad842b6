"""The vectorised batch decoder gives, to the bit, what the per-packet path gives.

``Decoder.decode_batch`` decodes most packets in vectorised stretches and sends the awkward ones
through ``Decoder.feed``'s per-packet bookkeeping. These streams are long (minutes: the clock
model's full minute of fits, more packets than the duplicate memory holds) and awkward on
purpose: sequence counter and device clock wraps, lost, duplicated, late and corrupt packets,
restarts and reboots, device clock stamps that step back, silences longer than half a clock
wrap, sample period changes, compact packets, other messages in between. Every sample, gap,
counter and the decoder's whole state afterwards must be the same as feeding the packets one by
one, whole or in any pieces, with or without receive times.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from legpress.protocol.decoder import Decoder, Gap, SampleBlock, _ClockModel
from legpress.protocol.messages import DeviceInfo, Log, Reply, Status
from legpress.protocol.spec import HEADER, SEQ_WRAP, TIME_WRAP_US, Command, Flag, Result

N_CELLS = 6
INFO = DeviceInfo((1, 0, 0), 10_000, N_CELLS, name="LegPress-VEC")


@dataclass
class _Stream:
    """A device that sends sample packets and other messages, and a link that mangles them."""

    rng: random.Random
    seq: int = 65_000  # the sequence counter wraps within a minute
    t_us: int = TIME_WRAP_US - 20_000_000  # the device clock wraps after 20 s
    t_host_ns: int = 9_000_000_000
    period_us: int = INFO.period_us
    dropped: int = 0
    packets: list[bytes] = field(default_factory=list)
    times: list[int] = field(default_factory=list)

    def send(self, packet: bytes, jitter_ns: int | None = None) -> None:
        jitter = self.rng.randint(1_000_000, 9_000_000) if jitter_ns is None else jitter_ns
        self.packets.append(packet)
        self.times.append(self.t_host_ns + jitter)

    def sample_packet(self, n: int, compact: bool, flags: int) -> bytes:
        head = HEADER.pack(1, 2 if compact else 1, flags, self.seq, self.t_us % TIME_WRAP_US)
        body = bytearray()
        for _ in range(n):
            cells = [self.rng.randrange(256 if compact else 4096) for _ in range(N_CELLS)]
            position = self.rng.randrange(-200, 20_000)
            if compact:
                body += bytes(cells) + struct.pack("<h", position)
            else:
                body += struct.pack(f"<{N_CELLS}Hi", *cells, position)
        return head + bytes(body)

    def advance(self, n: int) -> None:
        self.seq = (self.seq + 1) % SEQ_WRAP
        self.t_us += n * self.period_us
        self.t_host_ns += n * self.period_us * 1000

    def other(self) -> bytes:
        return Log("note", self.seq, self.t_us % TIME_WRAP_US).to_bytes()


def awkward_stream(
    seed: int, packets: int = 6000, timed: bool = True
) -> tuple[list[bytes], list[int]]:
    """A long stream with every awkward thing a link and a device can do. ``timed``: also
    what only receive times make sense of (silences longer than half a device clock wrap,
    reboots that set the device clock back); without them, the device clock reads as if it
    went back, and every packet after that goes the per-packet way."""
    rng = random.Random(seed)
    s = _Stream(rng)
    s.send(INFO.to_bytes(), 0)
    held: list[bytes] = []
    restart = Flag.RESTART
    for i in range(packets):
        r = rng.random()
        n = rng.choice((1, 2, 3, 4, 4, 4, 4)) if rng.random() < 0.2 else 4
        compact = rng.random() < 0.05
        flags = int(restart)
        if rng.random() < 0.02:
            flags |= rng.choice((Flag.DROPPED, Flag.OVERRUN, Flag.SENSOR_FAULT, Flag.CLIPPED))
        packet = s.sample_packet(n, compact, flags)
        if r < 0.03:  # lost on the link (one to many packets)
            for _ in range(rng.choice((1, 1, 2, 5, 40))):
                s.advance(4)
            continue
        if r < 0.035:  # delivered later
            held.append(packet)
            s.advance(n)
            continue
        s.send(packet)
        restart = Flag(0)  # the device flags its first packet after a restart that it sends
        if rng.random() < 0.01:
            s.send(packet)  # duplicated
        if held and rng.random() < 0.1:
            s.send(held.pop(0))
        if rng.random() < 0.01:  # corrupt: cut short, a bad version, a ragged or empty body
            kind = rng.randrange(5)
            bad = [
                packet[: rng.randrange(0, 9)],
                b"\x02" + packet[1:],
                packet + b"\x00",
                packet[:9],
                packet[:-1],
            ][kind]
            s.send(bad)
        s.advance(n)
        if rng.random() < 0.002:  # the stamp steps back a little (a reordered timestamp)
            s.t_us -= rng.randint(1, 3) * s.period_us
        if rng.random() < 0.004:  # the link restarts: a STATUS, then a RESTART after a pause
            s.dropped += rng.randint(0, 300)
            s.send(Status(samples_dropped=s.dropped).to_bytes(s.seq, s.t_us % TIME_WRAP_US))
            pause = rng.randint(1, 4) * 1_000_000
            s.t_us += pause
            s.t_host_ns += pause * 1000
            s.seq = (s.seq + rng.randint(0, 3)) % SEQ_WRAP
            restart = Flag.RESTART
        if 1024 <= s.seq < 30_000 and rng.random() < 0.002:
            # A reboot: numbering from 0, a new device clock. (Not within 512 packets of the
            # counter's wrap, where the decoder would take the new numbers for duplicates.)
            s.seq = 0
            s.t_us = rng.randrange(TIME_WRAP_US) if timed else s.t_us + 5_000_000
            s.t_host_ns += 2_000_000_000
            restart = Flag.RESTART
        if timed and rng.random() < 0.0007:  # silent for longer than half a clock wrap
            pause = TIME_WRAP_US // 2 + rng.randint(1, 600) * 1_000_000
            s.t_us += pause
            s.t_host_ns += pause * 1000
        if rng.random() < 0.003:
            s.send(s.other())
        if rng.random() < 0.001:  # the sample period changes (a SET_RATE reply)
            s.period_us = rng.choice((5_000, 10_000, 20_000))
            payload = struct.pack("<I", s.period_us)
            reply = Reply(i, Command.SET_RATE, Result.OK, payload, s.seq, s.t_us % TIME_WRAP_US)
            s.send(reply.to_bytes())
        if rng.random() < 0.001:
            s.send(INFO.to_bytes(s.seq, s.t_us % TIME_WRAP_US))  # DEVICE_INFO again
            s.period_us = INFO.period_us
        if i == packets // 2:
            s.send(b"\x01\x7f" + bytes(12))  # a type the host does not know
    return s.packets, s.times


class _Counting(Decoder):
    """A decoder that counts the packets that went through the per-packet bookkeeping."""

    one_by_one = 0

    def _accept(self, *args: Any) -> tuple[int, int, Gap | None] | None:
        self.one_by_one += 1
        return super()._accept(*args)


def _feed(
    dec: Decoder, packets: list[bytes], times: list[int] | None
) -> tuple[list[SampleBlock], list[Gap]]:
    blocks: list[SampleBlock] = []
    gaps: list[Gap] = []
    for i, p in enumerate(packets):
        for item in dec.feed(p, times[i] if times is not None else None):
            if isinstance(item, SampleBlock):
                blocks.append(item)
            elif isinstance(item, Gap):
                gaps.append(item)
    return blocks, gaps


def _state(dec: Decoder) -> dict[str, Any]:
    """Everything a decoder carries from one packet to the next."""
    clock: _ClockModel = dec._clock
    return {
        "stats": dec.stats,
        "info": dec.info,
        "last_seq": dec._last_seq,
        "recent": list(dec._recent),
        "recent_count": dec._recent_count,
        "last_t32": dec._last_t32,
        "last_dev_us": dec._last_dev_us,
        "last_host_ns": dec._last_host_ns,
        "origin_us": dec._origin_us,
        "next_dev_us": dec._next_dev_us,
        "dev_dropped": (dec._dev_dropped, dec._dev_dropped_at_last),
        "period_us": dec._period_us,
        "clock": repr((clock.a, clock.b, clock.bin_start_us, clock.bin_min, clock.bin_t_us)),
        "points": list(clock.points),
    }


def _same_samples(a: SampleBlock, b: SampleBlock) -> None:
    for name in ("t_s", "t_host_s", "cells", "position", "flags", "seq"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)


@pytest.mark.parametrize("with_times", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_batch_equals_packet_by_packet_on_awkward_streams(seed: int, with_times: bool) -> None:
    packets, all_times = awkward_stream(seed, timed=with_times)
    times = all_times if with_times else None
    live = Decoder()
    blocks, live_gaps = _feed(live, packets, times)
    batch = _Counting()
    block, gaps = batch.decode_batch(packets, times)
    _same_samples(SampleBlock.concat(blocks), block)
    assert gaps == live_gaps
    assert _state(batch) == _state(live)
    s = live.stats
    assert s.gaps > 50 and s.duplicates and s.late and s.corrupt and s.restarts > 5
    assert s.unknown and s.device_dropped and s.overruns and s.sensor_faults
    assert len(live._clock.points) == (60 if with_times else 0)  # a full minute of fits
    assert batch.one_by_one < s.sample_packets / 10  # most went the vectorised way
    # and both carry on the same
    more, more_times = awkward_stream(seed + 100, 300)
    tail_live, _ = _feed(live, more[1:], more_times[1:] if with_times else None)
    tail, _ = batch.decode_batch(more[1:], more_times[1:] if with_times else None)
    _same_samples(SampleBlock.concat(tail_live, N_CELLS), tail)
    assert _state(batch) == _state(live)


@pytest.mark.parametrize("seed", range(3))
def test_batch_in_pieces_mixed_with_feed(seed: int) -> None:
    packets, times = awkward_stream(10 + seed, 3000)
    live = Decoder()
    blocks, live_gaps = _feed(live, packets, times)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(packets)), 40))
    dec = Decoder()
    got: list[SampleBlock] = []
    gaps: list[Gap] = []
    for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(packets)], strict=True)):
        if k % 5 == 4:  # some pieces packet by packet
            more, more_gaps = _feed(dec, packets[a:b], times[a:b])
            got += more
            gaps += more_gaps
        else:
            block, g = dec.decode_batch(packets[a:b], times[a:b])
            got.append(block)
            gaps += g
        assert _state(dec)["stats"].packets == b
    _same_samples(SampleBlock.concat(blocks), SampleBlock.concat(got))
    assert gaps == live_gaps
    assert _state(dec) == _state(live)


def test_receive_times_that_are_not_integers_go_packet_by_packet() -> None:
    packets, times = awkward_stream(3, 400)
    live = Decoder()
    blocks, live_gaps = _feed(live, packets, times)
    batch = Decoder()
    block, gaps = batch.decode_batch(packets, [float(t) for t in times])  # type: ignore[misc]
    _same_samples(SampleBlock.concat(blocks), block)
    assert gaps == live_gaps and batch.stats == live.stats


def test_clock_model_run_equals_update() -> None:
    rng = np.random.default_rng(4)
    for start_points in (0, 2, 59, 60):
        model = _ClockModel()
        for k in range(start_points):  # a model part way through its first minute
            model.update(k * 1_000_000, 100.0 + k + 0.001 * k)
        twin = _ClockModel(model.a, model.b, model.bin_start_us, model.bin_min, model.bin_t_us)
        twin.points.extend(model.points)
        steps = rng.integers(1, 90_000, 5000)
        steps[rng.random(5000) < 0.01] = 3_000_000  # a pause longer than a bin
        dev = start_points * 1_000_000 + np.cumsum(steps)
        dev[rng.random(5000) < 0.05] -= 30_000  # not monotonic (fewer records in a packet)
        host = 100.0 + dev / 1e6 + rng.uniform(0.002, 0.02, dev.size)
        a, b = twin.run(dev, host)
        for k, (u, h) in enumerate(zip(dev.tolist(), host.tolist(), strict=True)):
            model.update(u, h)
            assert (a[k], b[k]) == (model.a, model.b), k
        assert repr(twin) == repr(model)
