"""``ble:NAME-or-ADDRESS``: the leg press over Bluetooth LE (bleak).

Finds the leg press by its service UUID (and name or address), connects, reads the
``DEVICE_INFO`` message from the info characteristic (delivered as the first packet; the
device's decoder decodes it like every other) and subscribes to the stream, status and control
characteristics. Notification callbacks only timestamp, copy and enqueue. When the link drops,
a supervisor task rescans for the same device with backoff, reconnects and resubscribes; the
session goes on (``Disconnected`` then ``Connected``; lost packets show up as a sequence gap).

``backend=(ScannerClass, ClientClass)`` plugs any bleak backend in (bleak's ``backend=``
argument); the tests use one built on Bumble's virtual controllers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bleak import BleakClient, BleakScanner
from bleak.backends import BleakBackend
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from legpress.closing import stop_task
from legpress.errors import DeviceNotFoundError, LegPressError, TransportError
from legpress.protocol.spec import (
    CONTROL_UUID,
    INFO_UUID,
    SERVICE_UUID,
    STATUS_UUID,
    STREAM_UUID,
    MsgType,
)
from legpress.transport.base import Connected, Disconnected, Link, LinkFailed, LinkSink, RawPacket

__all__ = ["BLELink", "BackendPair", "ScanResult", "bleak_error", "scan"]

#: A bleak backend: scanner and client classes (bleak's ``backend=`` argument).
BackendPair = tuple[type[BaseBleakScanner], type[BaseBleakClient]]

_BACKOFF_S: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# Messages that can be longer than a notification at a small MTU (the stack cuts them to
# MTU - 3); the device keeps the whole message as the characteristic's value (PROTOCOL.md).
_WHOLE_BY_READ: Final = {STATUS_UUID: MsgType.STATUS, CONTROL_UUID: MsgType.REPLY}
_RESCAN_TIMEOUT_S: Final = 5.0
_AUTH_CODES: Final = frozenset(
    {
        BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHORIZATION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION_KEY_SIZE,
    }
)
_UNAVAILABLE: Final = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: (
        "no Bluetooth adapter found: plug one in, or connect the leg press by USB (serial:PORT)"
    ),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
        "the Bluetooth adapter cannot do Bluetooth Low Energy: use a Bluetooth 4.0+ adapter"
    ),
    BleakBluetoothNotAvailableReason.POWERED_OFF: "Bluetooth is off: turn it on and try again",
    BleakBluetoothNotAvailableReason.DENIED_BY_USER: (
        "this program may not use Bluetooth: allow it in the system's privacy settings"
    ),
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: (
        "the system denied access to Bluetooth (policy or D-Bus permissions): ask the "
        "administrator, or connect by USB (serial:PORT)"
    ),
    BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN: (
        "access to Bluetooth was denied: allow this program in the system's settings"
    ),
}


def bleak_error(exc: BaseException, action: str) -> LegPressError:
    """Turn a bleak (or OS) error raised while doing ``action`` into one that says what to do."""
    if isinstance(exc, LegPressError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        text = _UNAVAILABLE.get(exc.reason)
        return TransportError(text or f"Bluetooth is not available ({exc.args[0]})")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(
            f"the Bluetooth stack no longer knows {exc.identifier}: scan again (legpress scan)",
            exc.identifier,
        )
    if isinstance(exc, TimeoutError):
        return TransportError(
            f"timed out {action}: move closer, or switch the leg press off and on again"
        )
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return TransportError(
            "cannot reach the Bluetooth service (BlueZ over D-Bus): start it with "
            "`sudo systemctl start bluetooth`, or connect by USB (serial:PORT)"
        )
    if isinstance(exc, BleakGATTProtocolError) and exc.code in _AUTH_CODES:
        return TransportError(
            "the leg press accepts commands only over a paired link: pair it "
            "(open it with ble:NAME?pair=1, or `bluetoothctl pair ADDRESS`), "
            'or set "security": "open" in its configuration'
        )
    detail = str(exc) or type(exc).__name__
    return TransportError(f"Bluetooth error while {action}: {detail}")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A leg press seen advertising.

    Attributes:
        name: its advertised name (``LegPress-3A7F``), or ``""``.
        address: its address (a UUID on macOS).
        rssi: received signal strength, dBm.
    """

    name: str
    address: str
    rssi: int

    @property
    def url(self) -> str:
        """The URL that opens this device."""
        return f"ble:{self.address}"


def _is_legpress(adv: AdvertisementData) -> bool:
    return any(u.lower() == SERVICE_UUID for u in adv.service_uuids)


def _name(device: BLEDevice, adv: AdvertisementData) -> str:
    return adv.local_name or device.name or ""


async def scan(timeout_s: float = 5.0, *, backend: BackendPair | None = None) -> list[ScanResult]:
    """Leg presses advertising nearby (found by their service UUID), strongest first.

    Args:
        timeout_s: how long to listen.
        backend: bleak backend classes (default: the platform's).

    Raises:
        TransportError: Bluetooth is off, missing or unreachable.
    """
    try:
        if backend is None:
            found = await BleakScanner.discover(
                timeout=timeout_s, return_adv=True, service_uuids=[SERVICE_UUID]
            )
        else:
            found = await BleakScanner.discover(
                timeout=timeout_s,
                return_adv=True,
                service_uuids=[SERVICE_UUID],
                backend=backend[0],
            )
    except (BleakError, OSError) as exc:
        raise bleak_error(exc, "scanning") from None
    results = [
        ScanResult(_name(device, adv), device.address, adv.rssi)
        for device, adv in found.values()
        if _is_legpress(adv)
    ]
    return sorted(results, key=lambda r: (-r.rssi, r.name, r.address))


class BLELink(Link):
    """A leg press over Bluetooth LE.

    Args:
        url: the URL, for messages.
        identifier: advertised name or address; empty = the first leg press found.
        scan_timeout_s: how long to look for it.
        connect_timeout_s: how long a connection may take.
        reconnect: reconnect by itself after a loss.
        reconnect_timeout_s: give up reconnecting after this long (None: never).
        pair: pair before connecting (needed once if the device requires a bonded link).
        passkey: pair with this 6-digit code (``"security": "passkey"``: the code on the
            device label). bleak has no passkey API of its own: it goes to backends that take
            ``pair(passkey=...)``; with BlueZ, Windows or macOS the system asks for the code.
        backend: bleak backend classes (default: the platform's).
    """

    scheme = "ble"
    live = True
    reads_info = True

    def __init__(
        self,
        url: str,
        identifier: str,
        *,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        reconnect: bool = True,
        reconnect_timeout_s: float | None = None,
        pair: bool = False,
        passkey: str | None = None,
        backend: BackendPair | None = None,
    ) -> None:
        super().__init__(url)
        self.identifier = identifier.strip()
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect = reconnect
        self.reconnect_timeout_s = reconnect_timeout_s
        self.pair = pair
        self.passkey = passkey
        self._reads: set[asyncio.Task[None]] = set()
        self._scanner_cls = None if backend is None else backend[0]
        self._client_cls = None if backend is None else backend[1]
        self._client: BleakClient | None = None
        self._sink: LinkSink | None = None
        self._address = ""
        self._name = ""
        self._closing = False
        self._lost = asyncio.Event()
        self._down_ns = 0
        self._supervisor: asyncio.Task[None] | None = None

    def describe(self) -> str:
        """``LegPress-3A7F (C4:DE:E2:11:3A:7F)`` once known."""
        if self._name and self._address:
            return f"{self._name} ({self._address})"
        return self._name or self._address or self.identifier or "the leg press"

    @property
    def address(self) -> str:
        """The connected device's address (after :meth:`open`)."""
        return self._address

    # -- finding ----------------------------------------------------------------------------

    async def _find(
        self, matches: Callable[[BLEDevice, AdvertisementData], bool], timeout_s: float
    ) -> tuple[BLEDevice, AdvertisementData, dict[str, tuple[BLEDevice, AdvertisementData]]]:
        seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}
        found: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = (
            asyncio.get_running_loop().create_future()
        )

        def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
            if not _is_legpress(adv):
                return
            seen[device.address] = (device, adv)
            if not found.done() and matches(device, adv):
                found.set_result((device, adv))

        scanner = BleakScanner(
            on_advertisement, service_uuids=[SERVICE_UUID], backend=self._scanner_cls
        )
        try:
            async with scanner, asyncio.timeout(timeout_s):
                device, adv = await found
        except TimeoutError:
            return _NOT_FOUND, _NO_ADV, seen
        except (BleakError, OSError) as exc:
            raise bleak_error(exc, "scanning") from None
        return device, adv, seen

    def _matcher(self, identifier: str) -> Callable[[BLEDevice, AdvertisementData], bool]:
        wanted = identifier.lower()

        def matches(device: BLEDevice, adv: AdvertisementData) -> bool:
            if not wanted:
                return True
            return device.address.lower() == wanted or _name(device, adv).lower() == wanted

        return matches

    def _rematcher(self) -> Callable[[BLEDevice, AdvertisementData], bool]:
        address = self._address.lower()
        name = self._name.lower()

        def matches(device: BLEDevice, adv: AdvertisementData) -> bool:
            if device.address.lower() == address:
                return True
            return bool(name) and _name(device, adv).lower() == name

        return matches

    # -- connecting -----------------------------------------------------------------------------

    async def open(self, sink: LinkSink) -> None:
        """Find the leg press, connect, read ``DEVICE_INFO`` and subscribe."""
        self._sink = sink
        device, adv, seen = await self._find(self._matcher(self.identifier), self.scan_timeout_s)
        if device is _NOT_FOUND:
            raise self._not_found(seen)
        await self._connect(device, _name(device, adv), reconnect=False)
        self._supervisor = asyncio.create_task(
            self._supervise(), name=f"legpress-ble-supervisor:{self.identifier}"
        )

    def _not_found(self, seen: dict[str, tuple[BLEDevice, AdvertisementData]]) -> LegPressError:
        others = tuple(f"{_name(d, a) or '?'} ({d.address})" for d, a in seen.values())
        what = f"no leg press named {self.identifier!r}" if self.identifier else "no leg press"
        if others:
            return DeviceNotFoundError(
                f"{what} found in {self.scan_timeout_s:g} s; found instead: {', '.join(others)}",
                self.identifier,
                others,
            )
        return DeviceNotFoundError(
            f"{what} found in {self.scan_timeout_s:g} s: is it switched on, in range, and not "
            "connected to another phone or computer? (A board takes one connection: while a "
            "hub, `legpress serve`, holds it, use the hub's dashboard, where a machine's page "
            "also calibrates.)",
            self.identifier,
        )

    async def _connect(self, device: BLEDevice, name: str, *, reconnect: bool) -> None:
        sink = self._sink
        assert sink is not None
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self.connect_timeout_s,
            pair=self.pair,
            backend=self._client_cls,
        )
        action = f"connecting to {name or device.address}"
        try:
            await client.connect()
            if self.passkey and not reconnect:
                action = f"pairing with {name or device.address} (passkey entry)"
                await client.pair(passkey=int(self.passkey))
            if client.backend_id == BleakBackend.BLUEZ_DBUS:
                # BlueZ reports 23 until asked (bleak's examples/mtu_size.py).
                with contextlib.suppress(Exception):
                    await client._backend._acquire_mtu()  # type: ignore[attr-defined]
            mtu = client.mtu_size
            action = f"reading DEVICE_INFO from {name or device.address}"
            raw = await client.read_gatt_char(INFO_UUID)
            t_info = time.monotonic_ns()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            if isinstance(exc, BleakError | OSError):
                raise bleak_error(exc, action) from None
            raise
        self._client = client
        self._address = client.address
        self._name = name or self._name
        self.stats.mtu = mtu
        self.stats.connected = True
        self.stats.connects += 1
        self.stats.packets += 1
        self.stats.bytes += len(raw)
        sink.put(RawPacket(t_info, bytes(raw)))
        announced = False
        try:
            # Replies and status first, so that commands work as soon as Connected is seen; the
            # stream last, so that samples follow Connected.
            for uuid in (CONTROL_UUID, STATUS_UUID, STREAM_UUID):
                action = f"subscribing to {self.describe()}"
                if uuid == STREAM_UUID:
                    sink.put(Connected(time.monotonic_ns(), self._address, mtu, reconnect))
                    announced = True
                await client.start_notify(uuid, self._on_notify)
        except (BleakError, OSError) as exc:
            error = bleak_error(exc, action)
            if self._client is client:
                self._client = None
                self.stats.connected = False
                if announced:
                    sink.put(Disconnected(time.monotonic_ns(), str(error)))
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise error from None

    def _on_notify(self, char: BleakGATTCharacteristic, data: bytearray) -> None:
        # Timestamp, copy, enqueue: nothing else runs in the notification path.
        t = time.monotonic_ns()
        packet = bytes(data)
        stats = self.stats
        stats.packets += 1
        stats.bytes += len(packet)
        kind = _WHOLE_BY_READ.get(char.uuid)
        if kind is not None and len(packet) == stats.mtu - 3 and packet[1:2] == bytes((kind,)):
            # Maybe cut by the stack: the whole message is the characteristic's value.
            task = asyncio.get_running_loop().create_task(self._read_whole(char.uuid, t, packet))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)
            return
        sink = self._sink
        if sink is not None:
            sink.put(RawPacket(t, packet))

    async def _read_whole(self, uuid: str, t: int, cut: bytes) -> None:
        whole = cut
        client = self._client
        if client is not None:
            with contextlib.suppress(BleakError, OSError):
                value = bytes(await client.read_gatt_char(uuid))
                # A STATUS (it may be the next one), or the REPLY that was cut.
                same = value[:2] == cut[:2] if uuid == STATUS_UUID else value[: len(cut)] == cut
                if len(value) > len(cut) and same:
                    whole = value
                    self.stats.bytes += len(value) - len(cut)
        sink = self._sink
        if sink is not None:
            sink.put(RawPacket(t, whole))

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client or self._closing:
            return
        self._client = None
        self._down_ns = time.monotonic_ns()
        self.stats.connected = False
        self.stats.disconnects += 1
        if self._sink is not None:
            self._sink.put(Disconnected(self._down_ns, "Bluetooth link lost"))
        self._lost.set()

    # -- reconnecting ----------------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._closing

    async def _supervise(self) -> None:
        while not self._stopping():
            await self._lost.wait()
            self._lost.clear()
            if self._stopping():
                return
            if not self.reconnect:
                self._fail(TransportError(f"lost the Bluetooth link to {self.describe()}"))
                return
            if not await self._reconnect():
                return

    def _fail(self, error: LegPressError) -> None:
        if self._sink is not None:
            self._sink.put(LinkFailed(error))

    async def _reconnect(self) -> bool:
        down_ns = self._down_ns or time.monotonic_ns()
        attempt = 0
        last: LegPressError | None = None
        while not self._closing:
            await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
            attempt += 1
            try:
                device, adv, _ = await self._find(
                    self._rematcher(), min(self.scan_timeout_s, _RESCAN_TIMEOUT_S)
                )
                if device is not _NOT_FOUND:
                    await self._connect(device, _name(device, adv), reconnect=True)
                    self.stats.reconnects += 1
                    self.stats.downtime_s += (time.monotonic_ns() - down_ns) / 1e9
                    return True
                last = DeviceNotFoundError(f"{self.describe()} is not advertising")
            except LegPressError as exc:
                last = exc
                self.stats.last_error = str(exc)
                if self._client is None and self._lost.is_set():
                    self._lost.clear()  # a loss during our own attempt: keep trying here
            elapsed_s = (time.monotonic_ns() - down_ns) / 1e9
            if self.reconnect_timeout_s is not None and elapsed_s > self.reconnect_timeout_s:
                self._fail(
                    TransportError(
                        f"lost the Bluetooth link to {self.describe()} and could not reconnect "
                        f"in {self.reconnect_timeout_s:g} s ({last})"
                    )
                )
                return False
        return False

    # -- commands and closing ------------------------------------------------------------------

    async def send(self, packet: bytes) -> None:
        """Write one command to the control characteristic (with response)."""
        client = self._client
        if client is None or not client.is_connected:
            raise TransportError(f"not connected to {self.describe()} (reconnecting)")
        try:
            await client.write_gatt_char(CONTROL_UUID, packet, response=True)
        except (BleakError, OSError) as exc:
            raise bleak_error(exc, f"sending a command to {self.describe()}") from None
        self.stats.sent += 1

    async def close(self) -> None:
        """Stop reconnecting and disconnect."""
        self._closing = True
        self._lost.set()
        task, self._supervisor = self._supervisor, None
        if task is not None:
            await stop_task(task)
        for read in list(self._reads):
            read.cancel()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await client.disconnect()
        self.stats.connected = False
        self._sink = None


_NOT_FOUND: Final = BLEDevice("", None, None)
_NO_ADV: Final = AdvertisementData(None, {}, {}, [], None, -127, ())
