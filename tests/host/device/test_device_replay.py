"""The Device API against recordings (``replay:``): items, events, commands, flow control."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import legpress
from legpress import (
    Connected,
    Disconnected,
    FaultEvent,
    GapEvent,
    InfoEvent,
    LogEvent,
    SampleBlock,
    StatusEvent,
)
from legpress.errors import RecordingError, UsageError
from legpress.protocol.spec import Fault
from legpress.storage.recording import RecordingWriter, make_header, read_recording
from tests.host.transport.fake_legpress import (
    INFO,
    FakeLegPress,
    expected_cells,
    expected_position,
)


def make_session(path: Path, n_packets: int = 200, *, dt_ns: int = 40_000_000) -> list[int]:
    """A recording with a gap, a link loss, a fault and a log line; returns the sample indices."""
    dev = FakeLegPress()
    dev.streaming = True
    t = 10_000_000_000
    indices: list[int] = []
    header = make_header(replace(INFO, mtu=247), url="ble:LegPress-0001")
    with RecordingWriter(path, header) as w:
        w.write_event(t, {"event": "connected", "address": "AA", "mtu": 247, "reconnect": False})
        w.write_packet(t, dev.info_message(247))
        for i in range(n_packets):
            t += dt_ns
            if i == 50:
                dev.skip(3, 4)  # three packets lost on the air
            if i == 100:
                w.write_event(t, {"event": "disconnected", "reason": "Bluetooth link lost"})
                dev.skip(10, 4)
                t += 400_000_000
                up = {"event": "connected", "address": "AA", "mtu": 247, "reconnect": True}
                w.write_event(t, up)
            if i == 120:
                dev.faults = Fault.CELL
                w.write_packet(t, dev.status_message())
            if i == 130:
                w.write_packet(t, dev.log_message("boot: ok"))
            indices.extend(range(dev.index, dev.index + 4))
            w.write_packet(t, dev.samples(4))
    return indices


async def collect(url: str, **options: object) -> tuple[list[object], legpress.Device]:
    items: list[object] = []
    async with legpress.open_device(url, **options) as dev:
        async for item in dev:
            items.append(item)
    return items, dev


async def test_replay_yields_samples_and_events(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    indices = make_session(path)
    items, dev = await collect(f"replay:{path}")
    assert dev.info == replace(INFO, mtu=247)
    assert isinstance(items[0], Connected) and not items[0].reconnect
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    joined = SampleBlock.concat(blocks)
    np.testing.assert_array_equal(joined.cells, expected_cells(indices, 8))
    np.testing.assert_array_equal(joined.position, expected_position(indices))
    kinds = [type(i).__name__ for i in items if not isinstance(i, SampleBlock)]
    assert kinds == [
        "Connected",
        "GapEvent",
        "Disconnected",
        "Connected",
        "GapEvent",
        "StatusEvent",
        "FaultEvent",
        "LogEvent",
    ]
    gaps = [i.gap for i in items if isinstance(i, GapEvent)]
    assert [g.lost_packets for g in gaps] == [3, 10]
    assert [g.lost_samples for g in gaps] == [12, 40]
    fault = next(i for i in items if isinstance(i, FaultEvent))
    assert fault.new == Fault.CELL and "rail" in fault.describe()
    assert next(i for i in items if isinstance(i, LogEvent)).text == "boot: ok"
    assert isinstance(next(i for i in items if isinstance(i, StatusEvent)).status.faults, Fault)
    stats = dev.stats
    assert stats.decoder.samples == len(indices) and stats.decoder.lost_packets == 13
    assert stats.link.reconnects == 1 and stats.reconnects == 1
    assert dev.ended


async def test_replay_matches_batch_decode(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    make_session(path)
    items, _ = await collect(f"replay:{path}")
    live = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    batch = legpress.storage.recording.decode_recording(path).samples
    np.testing.assert_array_equal(live.t_s, batch.t_s)
    np.testing.assert_array_equal(live.t_host_s, batch.t_host_s)
    np.testing.assert_array_equal(live.cells, batch.cells)


async def test_realtime_replay_is_paced(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    make_session(path, 60, dt_ns=10_000_000)  # 0.6 s of session
    start = time.monotonic()
    await collect(f"replay:{path}?realtime=1&speed=2")
    elapsed = time.monotonic() - start
    assert 0.28 < elapsed < 1.0
    start = time.monotonic()
    await collect(f"replay:{path}", realtime=True, speed=20)
    assert time.monotonic() - start < 0.5


async def test_commands_on_a_replay(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    make_session(path, 10)
    async with legpress.open_device(f"replay:{path}") as dev:
        status = await dev.status()
        assert status.streaming
        await dev.stop()
        assert not (await dev.status()).streaming
        await dev.identify(2)
        assert (await dev.get_info()) == replace(INFO, mtu=247)
        with pytest.raises(UsageError, match="TARE needs a live leg press"):
            await dev.tare()
        with pytest.raises(UsageError, match="ZERO needs a live leg press"):
            await dev.zero()


async def test_unread_finite_source_pauses_and_commands_still_work(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    make_session(path, 400)
    async with legpress.open_device(f"replay:{path}") as dev:
        await asyncio.sleep(0.1)
        fed = dev.stats.decoder.packets
        assert fed < 200  # paused, not read to the end
        await dev.status()  # no deadlock with a full backlog
        items = await dev.read(1.0)
        assert items and len(items) < 100
        n = sum(len(i) for i in items if isinstance(i, SampleBlock))
        async for item in dev:
            if isinstance(item, SampleBlock):
                n += len(item)
        assert n == dev.stats.decoder.samples
    assert await dev.read(0.01) == []


async def test_recording_a_replay_copies_its_packets(tmp_path: Path) -> None:
    src = tmp_path / "s.lprec"
    dst = tmp_path / "copy.lprec"
    make_session(src, 120)
    await collect(
        f"replay:{src}", record=dst, header={"person": "bo", "machine": "m1", "note": "copy"}
    )
    a, b = read_recording(src), read_recording(dst)
    assert [p for p in b.packets if p[1] != 0x06] == a.packets  # without replies to START
    assert b.header["person"] == "bo" and b.header["note"] == "copy"
    assert b.header["url"] == f"replay:{src}"
    # the source was written with the pre-2026-12 key ("event"); the copy has the one schema
    assert [e["type"] for _, e in b.events] == ["connected", "disconnected", "connected"]
    assert {p[1] for _, p in b.host_packets} == {0x05}  # the START sent by autostart


def test_blocking_wrapper(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    indices = make_session(path, 80)
    with legpress.open_blocking(f"replay:{path}") as dev:
        assert dev.info.name == "LegPress-0001"
        assert dev.status().streaming
        blocks = [i for i in dev if isinstance(i, SampleBlock)]
        assert dev.ended
        assert dev.read(0.01) == []
    joined = SampleBlock.concat(blocks)
    np.testing.assert_array_equal(joined.cells, expected_cells(indices, 8))
    dev.close()  # twice is fine


async def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown device URL"):
        legpress.open_device("usb:/dev/x")
    with pytest.raises(UsageError, match="did you mean replay:"):
        legpress.open_device("session.lprec")
    with pytest.raises(UsageError, match="does not take option 'fast'"):
        legpress.open_device(f"replay:{tmp_path}/x.lprec?fast=1")
    with pytest.raises(UsageError, match="realtime"):
        legpress.open_device(f"replay:{tmp_path}/x.lprec?realtime=maybe")
    with pytest.raises(RecordingError, match="not found"):
        async with legpress.open_device(f"replay:{tmp_path}/missing.lprec"):
            pass
    dev = legpress.open_device(f"replay:{tmp_path}/x.lprec")
    with pytest.raises(UsageError, match="not open"):
        _ = dev.info
    with pytest.raises(UsageError, match="not open"):
        await dev.start()


async def test_info_event_after_set_rate_reply_in_a_recording(tmp_path: Path) -> None:
    """A SET_RATE reply in the stream changes the period for what follows (live and replay)."""
    path = tmp_path / "rate.lprec"
    dev = FakeLegPress()
    dev.streaming = True
    t = 1_000_000_000
    from legpress.protocol.messages import encode_command
    from legpress.protocol.spec import Command

    with RecordingWriter(path, make_header(INFO)) as w:
        for _ in range(10):
            t += 40_000_000
            w.write_packet(t, dev.samples(4))
        reply = dev.handle(encode_command(Command.SET_RATE, (200).to_bytes(2, "little"), 9))
        assert reply is not None
        w.write_packet(t, reply)
        for _ in range(10):
            t += 20_000_000
            w.write_packet(t, dev.samples(4))
    items, _ = await collect(f"replay:{path}", autostart=False)
    info = next(i for i in items if isinstance(i, InfoEvent)).info
    assert info.period_us == 5_000
    live = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    batch = legpress.storage.recording.decode_recording(path).samples
    np.testing.assert_allclose(np.diff(live.t_s[-8:]), 0.005)
    np.testing.assert_array_equal(live.t_s, batch.t_s)
    assert not [i for i in items if isinstance(i, Disconnected)]
