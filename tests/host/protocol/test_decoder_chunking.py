"""Same input, same result: serial bytes in any chunking, and the batch decoder versus the live
decoder packet by packet, on captures with gaps, duplicates, reordering, wraps and corruption."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from legpress.protocol.decoder import Decoder, Gap, SampleBlock, decode_packets
from legpress.protocol.framing import FrameDecoder, encode_frame
from legpress.protocol.messages import encode_command
from legpress.protocol.spec import Command, Fault, Flag
from tests.host.transport.fake_legpress import INFO, FakeLegPress


def capture(seed: int = 0, n: int = 400) -> tuple[list[bytes], list[int]]:
    """A messy capture: (packets, host receive times)."""
    rng = random.Random(seed)
    dev = FakeLegPress(info=replace(INFO, period_us=5_000))
    dev.streaming = True
    dev.seq = 65_500  # wraps during the capture
    dev.t_us = (1 << 32) - 400_000  # device clock wraps too
    t = 7_000_000_000
    packets: list[bytes] = [dev.info_message()]
    times: list[int] = [t]
    held: list[tuple[int, bytes]] = []
    for i in range(n):
        t += 20_000_000 + rng.randint(0, 6_000_000)
        r = rng.random()
        if r < 0.04:
            dev.skip(rng.randint(1, 5), 4)  # lost on the link
        compact = rng.random() < 0.1
        flags = Flag.SENSOR_FAULT if rng.random() < 0.03 else 0
        packet = dev.samples(1 if compact else 4, compact, flags)
        if r > 0.97:
            held.append((t, packet))  # delivered late
            continue
        packets.append(packet)
        times.append(t)
        if rng.random() < 0.03:
            packets.append(packet)  # duplicated
            times.append(t + 1000)
        if held and rng.random() < 0.5:
            packets.append(held.pop()[1])
            times.append(t + 2000)
        if rng.random() < 0.03:
            packets.append(bytes(packet[: rng.randint(0, len(packet) - 1)]))  # truncated
            times.append(t + 3000)
        if rng.random() < 0.02:
            dev.faults = Fault.CELL if dev.faults == Fault(0) else Fault(0)
            packets.append(dev.status_message())
            times.append(t + 4000)
        if rng.random() < 0.02:
            reply = dev.handle(encode_command(Command.IDENTIFY, b"\x02", i))
            assert reply is not None
            packets.append(reply)
            times.append(t + 5000)
        if i == n // 2:
            packets.append(dev.log_message("mid-session note"))
            times.append(t + 6000)
            packets.append(dev.info_message())  # DEVICE_INFO again (same cells)
            times.append(t + 7000)
            packets.append(b"\x02\x01" + bytes(20))  # another protocol version
            times.append(t + 8000)
            packets.append(b"\x01\x7f" + bytes(20))  # unknown type
            times.append(t + 9000)
    return packets, times


def _feed_all(
    packets: list[bytes], times: list[int] | list[None]
) -> tuple[SampleBlock, list[Gap], Decoder]:
    dec = Decoder()
    blocks: list[SampleBlock] = []
    gaps: list[Gap] = []
    for p, t in zip(packets, times, strict=True):
        for item in dec.feed(p, t):
            if isinstance(item, SampleBlock):
                blocks.append(item)
            elif isinstance(item, Gap):
                gaps.append(item)
    return SampleBlock.concat(blocks, INFO.n_cells), gaps, dec


def _assert_same(a: SampleBlock, b: SampleBlock) -> None:
    for name in ("t_s", "t_host_s", "cells", "position", "flags", "seq"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("seed", range(4))
def test_batch_decoder_equals_live_decoder(seed: int) -> None:
    packets, times = capture(seed)
    live, live_gaps, live_dec = _feed_all(packets, times)
    batch, batch_gaps, batch_dec = decode_packets(packets, times)
    _assert_same(live, batch)
    assert live_gaps == batch_gaps
    assert live_dec.stats == batch_dec.stats
    s = live_dec.stats
    assert s.gaps and s.duplicates and s.late and s.corrupt and s.unknown and s.sensor_faults


@pytest.mark.parametrize("seed", range(4))
def test_batch_decoder_in_random_pieces(seed: int) -> None:
    packets, times = capture(seed)
    whole, whole_gaps, whole_dec = decode_packets(packets, times)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(packets)), 12))
    dec: Decoder | None = None
    blocks: list[SampleBlock] = []
    gaps: list[Gap] = []
    for a, b in zip([0, *cuts], [*cuts, len(packets)], strict=True):
        block, g, dec = decode_packets(packets[a:b], times[a:b], decoder=dec)
        blocks.append(block)
        gaps.extend(g)
    _assert_same(whole, SampleBlock.concat(blocks))
    assert gaps == whole_gaps
    assert dec is not None and dec.stats == whole_dec.stats


def test_batch_decoder_on_the_simulator() -> None:
    from legpress.sim import make_scenario

    result = make_scenario("liftoff", seed=5, duration_s=20, loss_prob=0.05).run()
    times = [t for t, _ in result.packets]
    packets = [p for _, p in result.packets]
    live, live_gaps, _ = _feed_all(packets, times)
    batch, batch_gaps, _ = decode_packets(packets, times)
    _assert_same(live, batch)
    assert live_gaps == batch_gaps and live_gaps


def serial_capture(seed: int) -> bytes:
    rng = random.Random(seed)
    packets, _ = capture(seed, 150)
    out = bytearray(b"MicroPython v1.24.1 on 2024-11-29; ESP32\r\n>>> \x00")
    for p in packets:
        r = rng.random()
        if r < 0.05:
            out += b"Traceback (most recent call last):\r\n" + b"\x00"  # text, then a zero
        elif r < 0.08:
            out += bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 30)))  # glued
        elif r < 0.09:
            out += bytes(rng.randrange(1, 256) for _ in range(2000)) + b"\x00"  # too long
        frame = bytearray(encode_frame(p))
        if rng.random() < 0.03:
            frame[rng.randrange(len(frame) - 1)] ^= 0x10  # corrupted in flight
        out += frame
    return bytes(out)


@pytest.mark.parametrize("seed", range(4))
def test_serial_bytes_in_random_chunks(seed: int) -> None:
    data = serial_capture(seed)
    whole = FrameDecoder()
    expected = whole.feed(data)
    assert len(expected) > 100 and whole.stats.bad_frames > 0
    rng = random.Random(100 + seed)
    for max_chunk in (1, 2, 7, 64, 1500):
        dec = FrameDecoder()
        got: list[bytes] = []
        i = 0
        while i < len(data):
            n = rng.randint(1, max_chunk)
            got.extend(dec.feed(data[i : i + n]))
            i += n
        assert got == expected
        assert dec.stats == whole.stats
    # and the messages decode to the same samples whatever the chunking
    batch, _, _ = decode_packets(expected)
    live, _, _ = _feed_all(expected, [None] * len(expected))
    _assert_same(batch, live)


def test_replies_change_device_info_the_same_live_and_in_a_batch() -> None:
    dev = FakeLegPress()
    dev.streaming = True
    packets, times = [dev.info_message()], [1_000_000_000]
    for i in range(30):
        if i == 10:
            packets.append(dev.handle(encode_command(Command.SET_RATE, b"\xc8\x00", 3)) or b"")
            times.append(times[-1])
        if i == 20:
            packets.append(dev.handle(encode_command(Command.TARE, b"\x10", 4)) or b"")
            times.append(times[-1])
        packets.append(dev.samples(4))
        times.append(times[-1] + 40_000_000)
    live, _, live_dec = _feed_all(packets, times)
    batch, _, batch_dec = decode_packets(packets, times)
    _assert_same(live, batch)
    np.testing.assert_allclose(np.diff(batch.t_s[-8:]), 0.005)  # SET_RATE 200 Hz applied
    assert live_dec.info == batch_dec.info
    assert batch_dec.info is not None and batch_dec.info.tare == tuple(100 + c for c in range(8))
