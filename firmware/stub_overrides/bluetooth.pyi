"""Type stub for MicroPython 1.29's `bluetooth` module (ESP32, NimBLE), used by pyright instead
of the one in micropython-esp32-stubs 1.29.0.post1, whose signatures are wrong where it matters:

* handles are typed `memoryview` everywhere; they are ints (connection and attribute handles);
* `gatts_notify(value_handle, data)` lacks `conn_handle`; the real signature is
  `gatts_notify(conn_handle, value_handle, data=None, /)`;
* `gatts_register_services` returns a tuple (per service) of tuples of int value handles.

Written from docs/library/bluetooth.rst and extmod/modbluetooth.c (MicroPython v1.29).
"""

from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, overload

from _typeshed import ReadableBuffer

FLAG_READ: Final[int] = 0x0002
FLAG_WRITE_NO_RESPONSE: Final[int] = 0x0004
FLAG_WRITE: Final[int] = 0x0008
FLAG_NOTIFY: Final[int] = 0x0010
FLAG_INDICATE: Final[int] = 0x0020

class UUID:
    """A 16-bit (int), 128-bit (str) or 2/4/16-byte (buffer) UUID."""

    def __init__(self, value: int | str | ReadableBuffer | UUID, /) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

_Descriptor = tuple[UUID, int]
_Characteristic = tuple[UUID, int] | tuple[UUID, int, Sequence[_Descriptor]]
_Service = tuple[UUID, Sequence[_Characteristic]]

class BLE:
    """The BLE radio (a singleton)."""

    def __init__(self) -> None: ...
    @overload
    def active(self) -> bool: ...
    @overload
    def active(self, active: bool, /) -> bool: ...
    @overload
    def config(self, param: Literal["mac"], /) -> tuple[int, bytes]: ...
    @overload
    def config(self, param: Literal["gap_name"], /) -> bytes: ...
    @overload
    def config(self, param: Literal["mtu", "rxbuf"], /) -> int: ...
    @overload
    def config(self, param: str, /) -> Any: ...
    @overload
    def config(
        self,
        *,
        gap_name: str | bytes = ...,
        mtu: int = ...,
        rxbuf: int = ...,
        addr_mode: int = ...,
        bond: bool = ...,
        mitm: bool = ...,
        io: int = ...,
        le_secure: bool = ...,
    ) -> None: ...
    def irq(self, handler: Callable[[int, tuple[Any, ...]], Any] | None, /) -> None: ...

    # GAP
    def gap_advertise(
        self,
        interval_us: int | None = 500000,
        adv_data: ReadableBuffer | None = None,
        *,
        resp_data: ReadableBuffer | None = None,
        connectable: bool = True,
    ) -> None: ...
    def gap_scan(
        self,
        duration_ms: int | None,
        interval_us: int = 1280000,
        window_us: int = 11250,
        active: bool = False,
        /,
    ) -> None: ...
    def gap_connect(
        self,
        addr_type: int | None,
        addr: ReadableBuffer = ...,
        scan_duration_ms: int = 2000,
        min_conn_interval_us: int | None = None,
        max_conn_interval_us: int | None = None,
        /,
    ) -> None: ...
    def gap_disconnect(self, conn_handle: int, /) -> bool: ...
    def gap_pair(self, conn_handle: int, /) -> None: ...
    def gap_passkey(self, conn_handle: int, action: int, passkey: int, /) -> None: ...

    # GATT server
    def gatts_register_services(
        self, services_definition: Sequence[_Service], /
    ) -> tuple[tuple[int, ...], ...]: ...
    def gatts_read(self, value_handle: int, /) -> bytes: ...
    def gatts_write(
        self, value_handle: int, data: ReadableBuffer, send_update: bool = False, /
    ) -> None: ...
    def gatts_notify(
        self, conn_handle: int, value_handle: int, data: ReadableBuffer | None = None, /
    ) -> None: ...
    def gatts_indicate(
        self, conn_handle: int, value_handle: int, data: ReadableBuffer | None = None, /
    ) -> None: ...
    def gatts_set_buffer(self, value_handle: int, len: int, append: bool = False, /) -> None: ...

    # GATT client
    def gattc_discover_services(self, conn_handle: int, uuid: UUID | None = None, /) -> None: ...
    def gattc_discover_characteristics(
        self, conn_handle: int, start_handle: int, end_handle: int, uuid: UUID | None = None, /
    ) -> None: ...
    def gattc_discover_descriptors(
        self, conn_handle: int, start_handle: int, end_handle: int, /
    ) -> None: ...
    def gattc_read(self, conn_handle: int, value_handle: int, /) -> None: ...
    def gattc_write(
        self, conn_handle: int, value_handle: int, data: ReadableBuffer, mode: int = 0, /
    ) -> None: ...
    def gattc_exchange_mtu(self, conn_handle: int, /) -> None: ...
