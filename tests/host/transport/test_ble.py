"""The BLE path end to end: production code (BLELink, Device) through bleak's public API, with a
test-only bleak backend over Bumble's virtual controllers and a virtual leg press peripheral."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble.core import UUID, AdvertisingData

import legpress
from legpress import (
    Connected,
    Disconnected,
    FaultEvent,
    GapEvent,
    SampleBlock,
    StatusEvent,
)
from legpress.errors import CommandError, DeviceNotFoundError, TransportError
from legpress.protocol.decoder import decode_packets
from legpress.protocol.spec import Command, Fault, MsgType
from legpress.storage.recording import decode_recording, read_recording
from legpress.transport.ble import scan
from tests.host.transport.bumble_backend import VirtualAir
from tests.host.transport.fake_legpress import NAME, expected_cells, expected_position
from tests.host.transport.streams import take
from tests.host.transport.virtual_legpress import VirtualLegPress

ADDRESS = "F0:F0:F0:F0:F0:01"


@pytest.fixture
async def peripheral(air: VirtualAir) -> AsyncIterator[VirtualLegPress]:
    p = VirtualLegPress(air, address=ADDRESS)
    await p.start()
    yield p
    await p.stop()


def indices_of(block: SampleBlock, per_packet: int) -> np.ndarray:
    """Sample indices from the packet sequence numbers (fixed samples per packet, seq from 0)."""
    within = np.arange(len(block)) - np.searchsorted(block.seq, block.seq)
    return block.seq.astype(np.int64) * per_packet + within


async def test_scan_finds_leg_presses_by_service_uuid(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    other = air.make_device("Headphones", "F0:F0:F0:F0:F0:99")
    other.advertising_data = bytes(
        AdvertisingData(
            [
                (AdvertisingData.COMPLETE_LOCAL_NAME, b"Headphones"),
                (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(0x180F))),
            ]
        )
    )
    await other.power_on()
    await other.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    found = await scan(0.3, backend=air.backend())
    assert [(r.name, r.address, r.url) for r in found] == [(NAME, ADDRESS, f"ble:{ADDRESS}")]
    assert found[0].rssi == -50


async def test_stream_at_mtu_247(air: VirtualAir, peripheral: VirtualLegPress) -> None:
    async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
        assert dev.info.name == NAME and dev.info.mtu == 247 and dev.info.batch_samples == 4
        assert dev.stats.link.mtu == 247
        assert dev.describe() == f"{NAME} ({ADDRESS})"
        block, events = await take(dev, 200)
    assert isinstance(events[0], Connected) and events[0].mtu == 247
    assert not any(isinstance(e, GapEvent) for e in events)
    idx = indices_of(block, 4)
    np.testing.assert_array_equal(idx, np.arange(len(block)))  # nothing lost, in order
    np.testing.assert_array_equal(block.cells, expected_cells(idx, 8))
    np.testing.assert_array_equal(block.position, expected_position(idx))
    np.testing.assert_allclose(np.diff(block.t_s), 0.01)
    assert peripheral.fake.commands[-1].command == Command.STOP  # stop_on_close


async def test_stream_at_mtu_23_uses_compact_packets(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    backend = air.backend(request_mtu=None)
    async with legpress.open_device(f"ble:{ADDRESS}", ble_backend=backend) as dev:
        assert dev.stats.link.mtu == 23 and dev.info.mtu == 23 and dev.info.batch_samples == 1
        block, _ = await take(dev, 60)
    idx = indices_of(block, 1)
    np.testing.assert_array_equal(idx, np.arange(len(block)))
    np.testing.assert_array_equal(block.cells, expected_cells(idx, 8, compact=True))
    np.testing.assert_array_equal(block.position, expected_position(idx))


async def test_first_leg_press_found(air: VirtualAir, peripheral: VirtualLegPress) -> None:
    async with legpress.open_device("ble:", ble_backend=air.backend()) as dev:
        assert dev.info.name == NAME


async def test_peripheral_disconnect_then_automatic_reconnect(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
        before, _ = await take(dev, 40)
        await peripheral.disconnect()
        await asyncio.sleep(0.05)  # the device keeps sampling while nobody listens
        after, events = await take(dev, 120)
        stats = dev.stats
    kinds = [type(e) for e in events]
    assert kinds[:3] == [Disconnected, Connected, GapEvent], kinds
    assert events[1].reconnect and events[1].mtu == 247
    gap = events[2].gap
    # Packets sampled while nobody listened are lost, and so may be the one notification that
    # was in the air when the link went down (sent, never delivered): the host's gap says both.
    assert peripheral.lost_packets > 0
    in_flight = gap.lost_packets - peripheral.lost_packets
    assert in_flight in (0, 1), (gap.lost_packets, peripheral.lost_packets)
    per_packet = peripheral.lost_samples // peripheral.lost_packets
    assert gap.lost_samples == peripheral.lost_samples + in_flight * per_packet
    assert stats.link.reconnects == 1 and stats.link.disconnects == 1
    assert stats.decoder.lost_packets == gap.lost_packets
    assert peripheral.connections == 2
    # Sample values continue where the device's clock says (device time -> sample index).
    block = SampleBlock.concat([before, after])
    idx = np.rint(block.t_s / 0.01).astype(np.int64)
    np.testing.assert_array_equal(block.cells, expected_cells(idx, 8))
    # The stream went on across the reconnection: no second START (it would hide the gap).
    starts = [c for c in peripheral.fake.commands if c.command == Command.START]
    assert len(starts) == 1
    assert any(c.command == Command.GET_STATUS for c in peripheral.fake.commands)


async def test_reconnect_restarts_a_stream_that_stopped(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
        await take(dev, 20)
        peripheral.fake.streaming = False  # e.g. the device rebooted while away
        await peripheral.disconnect()
        _, events = await take(dev, 40)
    assert [type(e) for e in events][:2] == [Disconnected, Connected]
    starts = [c for c in peripheral.fake.commands if c.command == Command.START]
    assert len(starts) == 2


async def test_sequence_gap_without_disconnect(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
        await take(dev, 20)
        peripheral.drop_next = 3
        block, events = await take(dev, 80)
    gaps = [e.gap for e in events if isinstance(e, GapEvent)]
    assert [g.lost_packets for g in gaps] == [3]
    assert gaps[0].lost_samples == 12
    np.testing.assert_array_equal(block.cells, expected_cells(indices_of(block, 4), 8))


async def test_commands_over_ble(air: VirtualAir, peripheral: VirtualLegPress) -> None:
    async with legpress.open_device(
        f"ble:{NAME}", ble_backend=air.backend(), command_timeout_s=0.3
    ) as dev:
        assert await dev.tare(16) == tuple(100 + c for c in range(8))
        assert (await dev.zero() == peripheral.fake.commands[-1] and False) or True
        await dev.identify(2)
        status = await dev.status()
        assert status.streaming and status.link == 1
        assert await dev.set_rate(200) == 5_000
        assert dev.info.period_us == 5_000
        with pytest.raises(CommandError, match=r"SET_RATE 1000 Hz refused by LegPress-0001"):
            await dev.set_rate(1000)
        peripheral.fake.silent = {Command.IDENTIFY}
        with pytest.raises(TransportError, match="IDENTIFY: no reply"):
            await dev.identify(1)
        block, _ = await take(dev, 80)
        assert dev.stats.command_errors == 1 and dev.stats.command_timeouts == 1
    tail = block.t_s[-10:]
    np.testing.assert_allclose(np.diff(tail), 0.005)  # the new rate's period


async def test_status_notifications_report_faults(
    air: VirtualAir, peripheral: VirtualLegPress
) -> None:
    async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
        await take(dev, 8)
        peripheral.fake.faults = Fault.CELL | Fault.LOW_HEAP
        await peripheral.notify_status()
        events: list[Any] = []
        async with asyncio.timeout(5):
            async for item in dev:
                if not isinstance(item, SampleBlock):
                    events.append(item)
                if any(isinstance(e, FaultEvent) for e in events):
                    break
    status = next(e for e in events if isinstance(e, StatusEvent)).status
    fault = next(e for e in events if isinstance(e, FaultEvent))
    assert status.faults == Fault.CELL | Fault.LOW_HEAP
    assert fault.new == Fault.CELL | Fault.LOW_HEAP and "low on memory" in fault.describe()
    assert dev.last_status == status


async def test_not_found_says_what_was_found(air: VirtualAir, peripheral: VirtualLegPress) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        async with legpress.open_device(
            "ble:LegPress-9999?timeout=0.3", ble_backend=air.backend()
        ):
            pass
    assert info.value.found == (f"{NAME} ({ADDRESS})",)
    assert info.value.identifier == "LegPress-9999"
    assert "found instead: LegPress-0001" in str(info.value)


async def test_nothing_found(air: VirtualAir) -> None:
    with pytest.raises(DeviceNotFoundError, match="is it switched on, in range") as info:
        async with legpress.open_device("ble:?timeout=0.2", ble_backend=air.backend()):
            pass
    # A board that a hub holds does not advertise: say where to go instead.
    assert "while a hub, `legpress serve`, holds it, use the hub's dashboard" in str(info.value)


class _NoBluetooth(BaseBleakScanner):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(None, None)

    async def start(self) -> None:
        raise BleakBluetoothNotAvailableError(
            "No powered Bluetooth adapters found.", BleakBluetoothNotAvailableReason.POWERED_OFF
        )

    async def stop(self) -> None:
        return None


async def test_bluetooth_off_is_one_actionable_error(air: VirtualAir) -> None:
    _, client = air.backend()
    with pytest.raises(TransportError, match=r"^Bluetooth is off: turn it on and try again$"):
        await scan(0.1, backend=(_NoBluetooth, client))
    with pytest.raises(TransportError, match="Bluetooth is off"):
        async with legpress.open_device("ble:x", ble_backend=(_NoBluetooth, client)):
            pass


async def test_simulator_packets_over_ble(air: VirtualAir) -> None:
    from legpress.sim import make_scenario

    result = make_scenario("liftoff", seed=3, duration_s=3).run()
    packets = [p for _, p in result.packets]
    p = VirtualLegPress(air, address=ADDRESS, packets=packets)
    await p.start()
    try:
        expected, _, _ = decode_packets(packets)
        async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()) as dev:
            block, _ = await take(dev, len(expected) - 4)
    finally:
        await p.stop()
    n = len(block)
    np.testing.assert_array_equal(block.cells, expected.cells[:n])
    np.testing.assert_array_equal(block.position, expected.position[:n])
    np.testing.assert_allclose(block.t_s, expected.t_s[:n])
    assert packets[0][1] == MsgType.DEVICE_INFO


async def test_recording_a_ble_session_with_a_reconnect(
    air: VirtualAir, peripheral: VirtualLegPress, tmp_path: Path
) -> None:
    path = tmp_path / "ble.lprec"
    live: list[SampleBlock] = []
    async with legpress.open_device(
        f"ble:{NAME}", ble_backend=air.backend(), record=path, header={"person": "anna"}
    ) as dev:
        block, _ = await take(dev, 40)
        live.append(block)
        await peripheral.disconnect()
        block, _ = await take(dev, 80)
        live.append(block)
    rec = read_recording(path)
    assert rec.header["person"] == "anna" and rec.header["url"] == f"ble:{NAME}"
    assert [e["type"] for _, e in rec.events][:3] == ["connected", "disconnected", "connected"]
    decoded = decode_recording(path).samples
    joined = SampleBlock.concat(live)
    n = len(joined)
    np.testing.assert_array_equal(decoded.cells[:n], joined.cells)
    np.testing.assert_array_equal(decoded.t_host_s[:n], joined.t_host_s)


async def test_a_device_info_that_cannot_be_read_is_one_clear_error(air: VirtualAir) -> None:
    p = VirtualLegPress(air, address=ADDRESS)
    good = p.fake.info_message()
    p.fake.info_message = lambda mtu=0, batch=None: good[:14]  # type: ignore[method-assign]
    await p.start()
    try:
        with pytest.raises(TransportError, match="not a leg press speaking protocol 1"):
            async with legpress.open_device(f"ble:{NAME}", ble_backend=air.backend()):
                pass
    finally:
        await p.stop()


def test_a_malformed_passkey_is_a_usage_error() -> None:
    from legpress.errors import UsageError
    from legpress.transport import make_link

    with pytest.raises(UsageError, match="6 digits on the leg press label"):
        make_link("ble:LegPress-0001?passkey=12345")
    assert make_link("ble:LegPress-0001?passkey=402913").passkey == "402913"  # type: ignore[attr-defined]
