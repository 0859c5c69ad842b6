"""A virtual leg press: a Bumble peripheral serving the real GATT layout of PROTOCOL.md.

Service ``6c700001-…`` with the stream (notify), info (read), status (read, notify) and control
(write, notify) characteristics. Commands written to control are answered by
:class:`~tests.host.transport.fake_legpress.FakeLegPress` (or a stand-in); while streaming, sample
packets are notified on the stream characteristic, ``SAMPLES`` or, when the link's MTU is too
small, ``SAMPLES_COMPACT``, batched for the MTU by the firmware's own plan. Packets can also
come from a list (e.g. the simulator's). Tests drop packets (sequence gaps) and disconnect from
the peripheral side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import replace

from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from legpress.protocol.spec import (
    CONTROL_UUID,
    INFO_UUID,
    SERVICE_UUID,
    STATUS_UUID,
    STREAM_UUID,
    MsgType,
)
from tests.host.transport.bumble_backend import VirtualAir
from tests.host.transport.fake_legpress import FakeLegPress


class VirtualLegPress:
    """A leg press on the virtual air.

    Args:
        air: the air to live on.
        fake: the protocol logic (commands, sample values).
        address: its public address.
        interval_s: time between sample packets (the virtual air has no timing of its own).
        packets: send these sample packets (in order) instead of the fake's.
    """

    def __init__(
        self,
        air: VirtualAir,
        fake: FakeLegPress | None = None,
        *,
        address: str = "F0:F0:F0:F0:F0:01",
        interval_s: float = 0.002,
        packets: list[bytes] | None = None,
    ) -> None:
        self.fake = fake or FakeLegPress()
        self.name = self.fake.info.name
        self.device: Device = air.make_device(self.name, address)
        self.address = address
        self.interval_s = interval_s
        self._packets: Iterator[bytes] | None = iter(packets) if packets is not None else None
        self.connection: Connection | None = None
        self.subscribed = False
        self.drop_next = 0
        self.sent_packets = 0
        self.lost_packets = 0
        self.lost_samples = 0
        self.connections = 0
        self._last_mtu = 23
        self._task: asyncio.Task[None] | None = None
        self.stream = Characteristic(
            STREAM_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.info = Characteristic(
            INFO_UUID,
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=self._read_info),
        )
        self.status = Characteristic(
            STATUS_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _conn: self.fake.status_message()),
        )
        self.control = Characteristic(
            CONTROL_UUID,
            Characteristic.Properties.WRITE | Characteristic.Properties.NOTIFY,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self.stream.on(Characteristic.EVENT_SUBSCRIPTION, self._on_stream_subscription)
        self.device.add_services(
            [Service(SERVICE_UUID, [self.stream, self.info, self.status, self.control])]
        )
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        # Flags and the 128-bit service UUID in the advertisement; the name in the scan response
        # (all three do not fit in 31 bytes).
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID(SERVICE_UUID)),
                    ),
                ]
            )
        )
        self.device.scan_response_data = bytes(
            AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())])
        )

    async def start(self) -> None:
        """Power on, advertise (again after every disconnection), and start the sampler."""
        await self.device.power_on()
        await self.device.start_advertising(
            auto_restart=True, advertising_interval_min=20, advertising_interval_max=20
        )
        self._task = asyncio.create_task(self._sampler())

    async def stop(self) -> None:
        """Stop sampling and switch off."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.disconnect()

    # -- GATT callbacks -------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self.connection = None
        self.subscribed = False

    def _on_stream_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.subscribed = notify

    def _mtu(self) -> int:
        # While disconnected the device keeps the batch size of its last link.
        if self.connection is not None:
            self._last_mtu = self.connection.att_mtu
        return self._last_mtu

    def _batch(self) -> tuple[int, bool]:
        return self.fake.plan(self._mtu())

    def _read_info(self, _connection: Connection) -> bytes:
        n, _ = self._batch()
        return self.fake.info_message(self._mtu(), n)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        reply = self.fake.handle(bytes(value))
        if reply is not None:
            asyncio.get_running_loop().create_task(
                self.device.notify_subscriber(connection, self.control, reply)
            )

    # -- sampling -------------------------------------------------------------------------------

    def _next_packet(self) -> bytes | None:
        if self._packets is not None:
            for packet in self._packets:
                if len(packet) > 1 and packet[1] in (MsgType.SAMPLES, MsgType.SAMPLES_COMPACT):
                    return packet
            return None
        n, compact = self._batch()
        return self.fake.samples(n, compact)

    async def _sampler(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if not self.fake.streaming:
                continue
            packet = self._next_packet()
            if packet is None:
                continue
            if self.drop_next > 0 or self.connection is None or not self.subscribed:
                # sampled but never delivered: the host must see a sequence gap
                self.drop_next = max(0, self.drop_next - 1)
                self.lost_packets += 1
                k = self.fake.info.n_cells
                size = k + 2 if packet[1] == MsgType.SAMPLES_COMPACT else 2 * k + 4
                self.lost_samples += (len(packet) - 9) // size
                continue
            await self.device.notify_subscriber(self.connection, self.stream, packet)
            self.sent_packets += 1

    async def notify_status(self) -> None:
        """Send STATUS to a subscribed host (the firmware does once per second)."""
        if self.connection is not None:
            await self.device.notify_subscriber(
                self.connection, self.status, self.fake.status_message()
            )

    async def disconnect(self) -> None:
        """Drop the link from the peripheral side (as when the device moves out of range)."""
        if self.connection is not None:
            await self.connection.disconnect()

    def set_name(self, name: str) -> None:
        """Rename (DEVICE_INFO and advertising)."""
        self.fake.info = replace(self.fake.info, name=name)
        self.name = name
