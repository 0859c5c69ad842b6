# Fake `bluetooth` module (MicroPython 1.29, NimBLE on ESP32) for running firmware off-board.
#
# Imports under MicroPython and CPython. Behaviour follows extmod/modbluetooth.c and
# extmod/nimble/modbluetooth_nimble.c:
#   * BLE() is a singleton; most calls raise OSError(ENODEV) until active(True).
#   * gatts_register_services() returns a tuple (per service) of tuples of int value handles,
#     characteristics and their descriptors flattened in definition order; it fails with
#     OSError(EBUSY) while advertising or connected (NimBLE's ble_gatts_reset()).
#   * gatts_notify(conn_handle, value_handle, data=None) raises OSError(ENOTCONN) for an
#     unknown connection; what the central receives is truncated to ATT MTU - 3 bytes.
#   * Client writes are truncated to the attribute's buffer (20 bytes unless a local
#     gatts_write or gatts_set_buffer made it larger).
#   * A connection stops advertising.
#   * gatts_notify() sends whether or not the client subscribed (see `unsolicited`);
#     gatts_write(..., send_update=True) notifies/indicates subscribed clients only.
#
# The module exports only the flags the real module exports (FLAG_READ, FLAG_WRITE,
# FLAG_NOTIFY, FLAG_INDICATE, FLAG_WRITE_NO_RESPONSE). The others exist only as documented
# values that firmware must define itself with const(), e.g.
#   _FLAG_WRITE_ENCRYPTED = const(0x1000)    _FLAG_READ_ENCRYPTED = const(0x0200)
#
# Test hooks on the BLE object (not part of the real API):
#   connect(conn_handle=0, addr=..., addr_type=0)      central connects (_IRQ_CENTRAL_CONNECT)
#   disconnect(conn_handle=0)                          central goes away (_IRQ_CENTRAL_DISCONNECT)
#   client_write(conn_handle, value_handle, data)      central writes (_IRQ_GATTS_WRITE)
#   exchange_mtu(conn_handle, peer_mtu)                MTU exchange (_IRQ_MTU_EXCHANGED)
#   inject(event, data)                                any other IRQ; returns the handler's result
#   fail_notify(count=1, errno=ENOMEM)                 the next `count` gatts_notify calls raise
#   subscribe(conn_handle, value_handle, notify=True, indicate=False)
#                                                      central writes the CCCD. NimBLE keeps
#                                                      CCCDs to itself: no IRQ, unless
#                                                      `report_cccd` is True (stacks that report
#                                                      it as _IRQ_GATTS_WRITE on handle + 1)
#   subscriptions   {(conn_handle, value_handle): 1 notify | 2 indicate}
#   unsolicited     gatts_notify calls to a client that did not subscribe (as notifications)
#   report_cccd     see subscribe(); False by default, as on the ESP32
#   notifications   list of (conn_handle, value_handle, bytes received by the central)
#   indications     list of (conn_handle, value_handle)
#   passkeys        list of (conn_handle, action, passkey) per gap_passkey
#   adverts         list of (interval_us, adv_data, resp_data, connectable) per gap_advertise
#   advertising     True while advertising
#   connections     {conn_handle: mtu}
#   values          {value_handle: bytes} local attribute values
#   services        the definition passed to the last gatts_register_services
#   stack_starts    active(True) calls (each one restarts NimBLE on the ESP32)
#   reset()         back to the power-on state (for CPython tests sharing the singleton)
#   keep            True (the default): record what the central receives (`notifications`,
#                   `unsolicited`, `indications`) and copy written values. False: record
#                   nothing and keep written values by reference, so the fake allocates
#                   nothing per call, as the board's radio, which copies into NimBLE's own
#                   buffers (tests/bench/bench_memory.py)

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21

ENOMEM = 12
EBUSY = 16
ENODEV = 19
EINVAL = 22
ENOTCONN = 107

_DEFAULT_MTU = 23  # MP_BLUETOOTH_DEFAULT_ATTR_LEN + 3
_MAX_MTU = 527  # NimBLE's BLE_ATT_MTU_MAX
_DEFAULT_ATTR_LEN = 20
_MAC = b"\x24\x0a\xc4\x5e\x1e\x92"
# The GAP (0x1800) and GATT (0x1801) services NimBLE registers first take the low handles.
_FIRST_HANDLE = 10


def _hex(data):
    return "".join("%02x" % b for b in data)


class UUID:
    """A 16-, 32- or 128-bit UUID, constructed from an int, a string or 2/4/16 bytes."""

    def __init__(self, value):
        if isinstance(value, UUID):
            self._data = value._data
        elif isinstance(value, int):
            if value < 0 or value > 0xFFFF:
                raise ValueError("invalid UUID")
            self._data = bytes((value & 0xFF, value >> 8))
        elif isinstance(value, (bytes, bytearray, memoryview)) and len(value) in (2, 4, 16):
            self._data = bytes(value)
        else:
            text = value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
            digits = text.replace("-", "")
            if len(digits) > 32:
                raise ValueError("UUID too long")
            if len(digits) < 32:
                raise ValueError("UUID too short")
            try:
                big_endian = bytes(int(digits[i : i + 2], 16) for i in range(0, 32, 2))
            except ValueError:
                raise ValueError("invalid char in UUID") from None
            self._data = bytes(reversed(big_endian))

    def __eq__(self, other):
        return isinstance(other, UUID) and self._data == other._data

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self._data)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        digits = _hex(reversed(self._data))
        if len(self._data) <= 4:
            return "UUID(0x%s)" % digits
        parts = (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])
        return "UUID('%s')" % "-".join(parts)

    __str__ = __repr__

    def __bytes__(self):
        # CPython only; on the device `bytes(uuid)` uses the buffer protocol.
        return self._data


_instance = None


class BLE:
    """The BLE radio (singleton). See the module comment for the test hooks."""

    def __new__(cls):
        global _instance
        if _instance is None:
            _instance = object.__new__(cls)
            _instance.reset()
        return _instance

    def reset(self):
        """Test hook: back to the power-on state."""
        self._active = False
        self.stack_starts = 0  # active(True) calls: each restarts NimBLE on the ESP32
        self._handler = None
        self._gap_name = b"MPY ESP32"
        self._mtu = _DEFAULT_MTU
        self._fail = []
        self._buffers = {}
        self.values = {}
        self.services = None
        self.connections = {}
        self.notifications = []
        self.indications = []
        self.adverts = []
        self.advertising = False
        self.disconnects = []
        self.passkeys = []
        self.subscriptions = {}
        self.unsolicited = []
        self.report_cccd = False
        self.keep = True
        self._adv_data = None
        self._resp_data = None

    # --- configuration -------------------------------------------------------------

    def _check_active(self):
        if not self._active:
            raise OSError(ENODEV)

    def active(self, active=None):
        if active is not None:
            if active:
                # The real port's mp_bluetooth_init() begins with a deinit: every call restarts
                # the stack, even one that is running.
                self.stack_starts += 1
            if active and not self._active:
                self._active = True
            elif not active and self._active:
                handler = self._handler
                self.reset()
                self._handler = handler
        return self._active

    def config(self, *args, **kwargs):
        if not kwargs:
            if len(args) != 1:
                raise TypeError("must query one param")
            name = args[0]
            if name == "gap_name":
                return self._gap_name
            if name == "mac":
                self._check_active()
                return (0, _MAC)
            if name == "mtu":
                return self._mtu
            raise ValueError("unknown config param")
        if args:
            raise TypeError("can't specify pos and kw args")
        for name in kwargs:
            value = kwargs[name]
            if name == "gap_name":
                self._gap_name = value.encode() if isinstance(value, str) else bytes(value)
            elif name == "mtu":
                self._check_active()
                if not _DEFAULT_MTU <= value <= _MAX_MTU:
                    raise OSError(EINVAL)
                self._mtu = value
            elif name in ("addr_mode", "bond", "mitm", "io", "le_secure"):
                pass
            else:
                raise ValueError("unknown config param")
        return None

    def irq(self, handler):
        self._handler = handler

    # --- GAP -----------------------------------------------------------------------

    def gap_advertise(
        self, interval_us=500000, adv_data=None, *, resp_data=None, connectable=True
    ):
        self._check_active()
        if interval_us is None:
            self.advertising = False
            self.adverts.append((None, None, None, connectable))
            return
        if adv_data is not None:
            self._adv_data = bytes(adv_data)
        if resp_data is not None:
            self._resp_data = bytes(resp_data)
        self.advertising = True
        self.adverts.append((interval_us, self._adv_data, self._resp_data, connectable))

    def gap_passkey(self, conn_handle, action, passkey):
        """Answers a passkey action (_IRQ_PASSKEY_ACTION); recorded in `passkeys`."""
        self._check_active()
        if conn_handle not in self.connections:
            raise OSError(ENOTCONN)
        self.passkeys.append((conn_handle, action, passkey))

    def gap_disconnect(self, conn_handle):
        """Returns False for an unknown connection; otherwise disconnects and raises the IRQ."""
        self._check_active()
        if conn_handle not in self.connections:
            return False
        self.disconnects.append(conn_handle)
        self.disconnect(conn_handle)
        return True

    # --- GATT server ---------------------------------------------------------------

    def gatts_register_services(self, services_definition):
        self._check_active()
        if self.advertising or self.connections:
            raise OSError(EBUSY)
        self.services = services_definition
        self.values = {}
        self._buffers = {}
        handle = _FIRST_HANDLE
        result = []
        for service in services_definition:
            _uuid, characteristics = service
            handle += 1  # service declaration
            handles = []
            for characteristic in characteristics:
                flags = characteristic[1]
                handle += 2  # declaration, value
                handles.append(handle)
                self._add_attribute(handle)
                if flags & (FLAG_NOTIFY | FLAG_INDICATE):
                    handle += 1  # CCCD, added by the stack and not returned
                descriptors = characteristic[2] if len(characteristic) > 2 else ()
                for _descriptor in descriptors:
                    handle += 1
                    handles.append(handle)
                    self._add_attribute(handle)
            result.append(tuple(handles))
        return tuple(result)

    def _add_attribute(self, handle):
        self.values[handle] = b""
        self._buffers[handle] = [_DEFAULT_ATTR_LEN, False]

    def _attribute(self, value_handle):
        self._check_active()
        if value_handle not in self.values:
            raise OSError(EINVAL)

    def gatts_read(self, value_handle):
        self._attribute(value_handle)
        value = self.values[value_handle]
        if self._buffers[value_handle][1]:  # append mode: reading consumes
            self.values[value_handle] = b""
        return value

    def gatts_write(self, value_handle, data, send_update=False):
        self._attribute(value_handle)
        if not self.keep:
            self.values[value_handle] = data
            return
        data = bytes(data)
        self.values[value_handle] = data
        buffer = self._buffers[value_handle]
        buffer[0] = max(buffer[0], len(data))
        if send_update:  # NimBLE's ble_gatts_chr_updated(): subscribed clients only
            for conn_handle in self.connections:
                cccd = self.subscriptions.get((conn_handle, value_handle), 0)
                if cccd & 1:
                    self.notifications.append(
                        (conn_handle, value_handle, self._clip(conn_handle, data))
                    )
                elif cccd & 2:
                    self.indications.append((conn_handle, value_handle))

    def gatts_set_buffer(self, value_handle, length, append=False):
        self._attribute(value_handle)
        self._buffers[value_handle] = [length, bool(append)]

    def gatts_notify(self, conn_handle, value_handle, data=None):
        self._check_active()
        if self._fail:
            count, errno = self._fail[0]
            if count <= 1:
                self._fail.pop(0)
            else:
                self._fail[0] = (count - 1, errno)
            raise OSError(errno)
        if conn_handle not in self.connections:
            raise OSError(ENOTCONN)
        if not self.keep:
            return
        if data is None:
            self._attribute(value_handle)
            data = self.values[value_handle]
        sent = (conn_handle, value_handle, self._clip(conn_handle, data))
        self.notifications.append(sent)
        if not self.subscriptions.get((conn_handle, value_handle), 0) & 1:
            self.unsolicited.append(sent)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        self._check_active()
        if conn_handle not in self.connections:
            raise OSError(ENOTCONN)
        self.indications.append((conn_handle, value_handle))

    def _clip(self, conn_handle, data):
        return bytes(data[: self.connections[conn_handle] - 3])

    # --- test hooks ----------------------------------------------------------------

    def inject(self, event, data):
        """Test hook: deliver an IRQ to the registered handler; returns its result."""
        if self._handler is None:
            return None
        return self._handler(event, data)

    def connect(self, conn_handle=0, addr=b"\xc0\xff\xee\x00\x00\x01", addr_type=0):
        """Test hook: a central connects (advertising stops, as on NimBLE)."""
        self._check_active()
        self.connections[conn_handle] = _DEFAULT_MTU
        self.advertising = False
        return self.inject(_IRQ_CENTRAL_CONNECT, (conn_handle, addr_type, memoryview(addr)))

    def disconnect(self, conn_handle=0, addr=b"\xc0\xff\xee\x00\x00\x01", addr_type=0):
        """Test hook: the central disconnects."""
        del self.connections[conn_handle]
        for key in [k for k in self.subscriptions if k[0] == conn_handle]:
            del self.subscriptions[key]
        return self.inject(_IRQ_CENTRAL_DISCONNECT, (conn_handle, addr_type, memoryview(addr)))

    def client_write(self, conn_handle, value_handle, data):
        """Test hook: the central writes `data` (truncated to the attribute's buffer)."""
        self._attribute(value_handle)
        if conn_handle not in self.connections:
            raise OSError(ENOTCONN)
        length, append = self._buffers[value_handle]
        data = bytes(data)
        if append:
            data = (self.values[value_handle] + data)[:length]
        self.values[value_handle] = data[:length]
        return self.inject(_IRQ_GATTS_WRITE, (conn_handle, value_handle))

    def exchange_mtu(self, conn_handle, peer_mtu):
        """Test hook: ATT MTU exchange; the connection's MTU becomes min(ours, peer's)."""
        mtu = min(self._mtu, peer_mtu)
        self.connections[conn_handle] = mtu
        return self.inject(_IRQ_MTU_EXCHANGED, (conn_handle, mtu))

    def subscribe(self, conn_handle, value_handle, notify=True, indicate=False):
        """Test hook: the central writes the CCCD of `value_handle` (see the module comment)."""
        if conn_handle not in self.connections:
            raise OSError(ENOTCONN)
        flags = (1 if notify else 0) | (2 if indicate else 0)
        if flags:
            self.subscriptions[(conn_handle, value_handle)] = flags
        else:
            self.subscriptions.pop((conn_handle, value_handle), None)
        if not self.report_cccd:
            return None
        cccd = value_handle + 1
        self.values[cccd] = bytes((flags, 0))
        self._buffers[cccd] = [2, False]
        return self.inject(_IRQ_GATTS_WRITE, (conn_handle, cccd))

    def fail_notify(self, count=1, errno=ENOMEM):
        """Test hook: the next `count` gatts_notify calls raise OSError(errno)."""
        self._fail.append((count, errno))
