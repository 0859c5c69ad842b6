"""A test-only bleak backend over Bumble's virtual controllers (no radio, no kernel, no BlueZ).

:class:`VirtualAir` is one Bumble ``LocalLink`` (a virtual "air") with a central Bumble
``Device``. :meth:`VirtualAir.backend` returns a ``(BaseBleakScanner, BaseBleakClient)`` pair of
classes bound to that air, to pass to bleak's ``backend=`` argument, so production code that
uses bleak's public API (``BleakScanner``, ``BleakClient``) scans, connects, reads, writes and
subscribes through Bumble's real link layer, ATT and GATT implementations. Peripherals (see
``virtual_legpress.py``) are other Bumble devices on the same air, or external hosts behind a
controller of their own (:meth:`VirtualAir.add_controller`: the real firmware over NimBLE,
``tests/e2e``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import core, hci, ll
from bumble.att import ATT_Error
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy, ServiceProxy
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

_UUID_LISTS = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_PROPERTIES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def uuid_str(uuid: core.UUID) -> str:
    """A Bumble UUID as bleak spells it (lower case, 128-bit with dashes)."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


class VirtualAir:
    """A virtual radio environment: one LocalLink and the host's (central's) Bumble device."""

    def __init__(self, central_address: str = "F1:F1:F1:F1:F1:F1") -> None:
        self.link = LocalLink()
        self.devices: dict[str, Device] = {}
        self.controllers: dict[str, Controller] = {}
        self._controller_of: dict[str, Controller] = {}  # of the Bumble devices
        self._central_address = central_address
        self.central = self.make_device("host", central_address)
        self._central_controller = self._controller_of[central_address.upper()]
        self._scanners = 0

    def make_device(self, name: str, address: str) -> Device:
        """A Bumble device with its own virtual controller on this air."""
        controller = Controller(name, link=self.link, public_address=address)
        device = Device(
            name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
        )
        self.devices[address.upper()] = device
        self._controller_of[address.upper()] = controller
        return device

    def add_controller(
        self, name: str, address: str, *, host_source: Any = None, host_sink: Any = None
    ) -> Controller:
        """A controller on this air for an external host (e.g. NimBLE over an HCI transport).

        ``host_source``/``host_sink`` are the HCI transport's (``bumble.transport``), as in
        ``Controller(name, host_source=t.source, host_sink=t.sink, link=...)``.
        """
        controller = Controller(
            name,
            host_source=host_source,
            host_sink=host_sink,
            link=self.link,
            public_address=address,
        )
        # LocalLink sends LE ACL data from the sender's random address (Bumble 0.0.23x): make
        # it the public one, so that the central's connection finds this controller.
        controller.random_address = Address(address, Address.PUBLIC_DEVICE_ADDRESS)
        self.controllers[address.upper()] = controller
        return controller

    def remove_controller(
        self, controller: Controller, reason: int = hci.HCI_CONNECTION_TIMEOUT_ERROR
    ) -> None:
        """Take a controller off the air (power cut, reset): its peers see the link time out."""
        for connection in list(controller.le_connections.values()):
            with contextlib.suppress(Exception):
                connection.send_ll_control_pdu(ll.TerminateInd(reason))
        controller.le_connections.clear()
        with contextlib.suppress(KeyError):
            self.link.remove_controller(controller)
        for key, value in list(self.controllers.items()):
            if value is controller:
                del self.controllers[key]

    def drop_links(self, controller: Controller) -> None:
        """The radio link of every connection of ``controller`` is lost (out of range): both
        ends see a supervision timeout; the controller stays on the air."""
        reason = hci.HCI_CONNECTION_TIMEOUT_ERROR
        for connection in list(controller.le_connections.values()):
            peer = self.link.find_le_controller(connection.peer_address)
            if peer is not None:
                peer_connection = peer.le_connections.get(connection.self_address)
                if peer_connection is not None:
                    peer.on_le_disconnected(peer_connection, reason)
            controller.on_le_disconnected(connection, reason)

    def scan_response(self, address: Address) -> AdvertisingData | None:
        """What the device at ``address`` answers a scan request with.

        Bumble's virtual controller answers an active scan with the advertising data again
        (controller.py builds its SCAN_RSP report from the advertising PDU), so the scanner
        backend fills in the peripheral's real scan response data here: a Bumble device's,
        or what an external host set on its controller (HCI LE Set Scan Response Data).
        """
        key = address.to_string(with_type_qualifier=False)
        data = b""
        if (device := self.devices.get(key)) is not None:
            data = device.scan_response_data
        elif (controller := self.controllers.get(key)) is not None:
            data = bytes(controller.le_legacy_advertiser.scan_response_data)
        return AdvertisingData.from_bytes(data) if data else None

    async def start(self) -> None:
        """Power the central on."""
        await self.central.power_on()
        # The central connects from its public address (BumbleClient.connect); LocalLink sends
        # LE ACL data from the controller's random address, so make that the public one.
        self._central_controller.random_address = Address(
            self._central_address, Address.PUBLIC_DEVICE_ADDRESS
        )

    async def scan_start(self) -> None:
        """Start scanning (shared by concurrent scanners)."""
        self._scanners += 1
        if self._scanners == 1:
            await self.central.start_scanning(active=True, filter_duplicates=False)

    async def scan_stop(self) -> None:
        """Stop scanning when the last scanner stops."""
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0:
            with contextlib.suppress(Exception):
                await self.central.stop_scanning()

    def backend(
        self, *, request_mtu: int | None = 247
    ) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        """Scanner and client classes bound to this air.

        Args:
            request_mtu: the ATT MTU the client asks for after connecting; None: no MTU
                exchange (the link stays at the default 23).
        """
        return _bind(self._ready, request_mtu)

    async def _ready(self) -> VirtualAir:
        return self


class LazyAir:
    """A virtual air created on first use in whichever event loop uses it.

    For code that runs its own loop (the CLI's ``asyncio.run``): the air and its peripherals,
    made by ``setup``, must live in that loop.

    Args:
        setup: makes and starts the peripherals on a new air.
    """

    def __init__(self, setup: Callable[[VirtualAir], Awaitable[None]]) -> None:
        self._setup = setup
        self.air: VirtualAir | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self) -> VirtualAir:
        """The air of the running loop (made and set up on first use)."""
        loop = asyncio.get_running_loop()
        if self.air is None or self._loop is not loop:
            air = VirtualAir()
            await air.start()
            await self._setup(air)
            self.air, self._loop = air, loop
        return self.air

    def backend(
        self, *, request_mtu: int | None = 247
    ) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        """Scanner and client classes that use this lazily made air."""
        return _bind(self.get, request_mtu)


def _bind(
    get_air: Callable[[], Awaitable[VirtualAir]], request_mtu: int | None
) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    class Scanner(BumbleScanner):
        _get_air = staticmethod(get_air)

    class Client(BumbleClient):
        _get_air = staticmethod(get_air)
        _request_mtu = request_mtu

    return Scanner, Client


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: advertisements seen by the air's central device."""

    _get_air: ClassVar[Callable[[], Awaitable[VirtualAir]]]

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        self._air = await self._get_air()
        self._air.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._listening = True
        await self._air.scan_start()

    async def stop(self) -> None:
        if self._listening:
            self._air.central.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._listening = False
            await self._air.scan_stop()

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = adv.data
        if adv.is_scan_response and (response := self._air.scan_response(adv.address)):
            data = AdvertisingData(data.ad_structures + response.ad_structures)
        uuids: list[str] = []
        for kind in _UUID_LISTS:
            for value in data.get_all(kind):
                uuids.extend(uuid_str(u) for u in (value if isinstance(value, list) else [value]))
        if not self.is_allowed_uuid(uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        local_name = name if isinstance(name, str) else None
        advertisement = AdvertisementData(
            local_name=local_name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        address = adv.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, local_name, adv.address, advertisement
        )
        self.call_detection_callbacks(device, advertisement)


class _PasskeyEntry(PairingDelegate):
    """The host types the peripheral's passkey (printed on its label)."""

    def __init__(self, passkey: int) -> None:
        super().__init__(io_capability=PairingDelegate.KEYBOARD_INPUT_ONLY)
        self._passkey = passkey

    async def get_number(self) -> int | None:
        return self._passkey


_AUTH_ERRORS = frozenset({0x05, 0x0F})  # ATT INSUFFICIENT_AUTHENTICATION / _ENCRYPTION


class BumbleClient(BaseBleakClient):
    """bleak client backend: a GATT client over a Bumble connection.

    Security as a desktop stack (BlueZ) does it: ``connect(pair=True)`` or :meth:`pair` pairs
    (LE Secure Connections, bonded; Just Works, or passkey entry with ``pair(passkey=N)``);
    the central keeps the keys (its key store lives as long as the air), and a write refused
    for want of security on a bonded peer encrypts the link with the stored keys and is
    tried once more. Nothing pairs by itself: an unpaired write fails with bleak's
    ``BleakGATTProtocolError``.
    """

    _get_air: ClassVar[Callable[[], Awaitable[VirtualAir]]]
    _request_mtu: ClassVar[int | None] = 247

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        if isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            self._peer: Address = (
                details if isinstance(details, Address) else Address(self.address)
            )
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer = Address(address_or_ble_device)
            self._name = address_or_ble_device
        self._connection: Connection | None = None
        self._closing = False
        self._disconnected = asyncio.Event()
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            raise BleakError("Client is already connected")
        air = await self._get_air()
        try:
            # From the public (identity) address, as a desktop's adapter connects: a peer that
            # bonded finds its keys under the address it connects from.
            connection = await air.central.connect(
                self._peer, own_address_type=hci.OwnAddressType.PUBLIC, timeout=self._timeout
            )
        except core.TimeoutError:
            raise BleakDeviceNotFoundError(self.address, "connection timed out") from None
        except core.BaseBumbleError as exc:
            raise BleakError(f"connection failed: {exc}") from None
        self._disconnected.clear()
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._connection = connection
        try:
            if self._request_mtu is not None:
                await connection.gatt_client.request_mtu(self._request_mtu)
            if pair:
                await self.pair()
            self.services = await self._discover(connection)
        except BaseException:
            await self.disconnect()
            raise

    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        collection = BleakGATTServiceCollection()
        services: list[ServiceProxy] = await client.discover_services()
        for service in services:
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            characteristics: list[
                CharacteristicProxy[bytes]
            ] = await client.discover_characteristics([], service)
            for ch in characteristics:
                props = [name for bit, name in _PROPERTIES.items() if ch.properties & bit]
                bleak_char = BleakGATTCharacteristic(
                    ch, ch.handle, uuid_str(ch.uuid), props, self._max_write, bleak_service
                )
                collection.add_characteristic(bleak_char)
                descriptors: list[DescriptorProxy] = await client.discover_descriptors(ch)
                for d in descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(d, d.handle, uuid_str(d.type), bleak_char)
                    )
        return collection

    def _max_write(self) -> int:
        return self.mtu_size - 3

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._disconnected.set()
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        with contextlib.suppress(Exception):
            await connection.disconnect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._disconnected.wait()
        self._connection = None

    async def pair(self, *args: Any, passkey: int | None = None, **kwargs: Any) -> None:
        """Pair and bond: Just Works, or passkey entry when ``passkey`` is given."""
        connection = self._conn()
        air = await self._get_air()
        delegate = PairingDelegate() if passkey is None else _PasskeyEntry(passkey)
        config = PairingConfig(sc=True, mitm=passkey is not None, bonding=True, delegate=delegate)
        air.central.pairing_config_factory = lambda _connection: config
        try:
            await connection.pair()
        except core.BaseBumbleError as exc:
            raise BleakError(f"pairing failed: {exc}") from None

    async def _bonded(self) -> bool:
        air = await self._get_air()
        keystore = air.central.keystore
        return keystore is not None and await keystore.get(str(self._peer)) is not None

    async def unpair(self) -> None:
        return None

    def _conn(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        value = await self._conn().gatt_client.read_value(characteristic.obj)
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._conn().gatt_client.read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        for attempt in range(2):
            connection = self._conn()
            try:
                await connection.gatt_client.write_value(
                    characteristic.obj, bytes(data), with_response=response
                )
                return
            except ATT_Error as exc:
                retry = (
                    attempt == 0
                    and exc.error_code in _AUTH_ERRORS
                    and not connection.is_encrypted
                    and await self._bonded()
                )
                if not retry:
                    raise BleakGATTProtocolError(exc.error_code) from None
            try:
                await connection.encrypt()
            except core.BaseBumbleError as exc:
                raise BleakError(f"encrypting with the stored keys failed: {exc}") from None

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._conn().gatt_client.write_value(descriptor.obj, bytes(data), True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        self._conn()

        def on_value(value: bytes, _callback: Callable[[bytearray], None] = callback) -> None:
            _callback(bytearray(value))

        self._subscribers[characteristic.handle] = on_value
        await proxy.subscribe(on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await proxy.unsubscribe(self._subscribers.pop(characteristic.handle, None))
