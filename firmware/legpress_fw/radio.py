# The radio: the only module that imports `bluetooth`. A thin layer over MicroPython's
# low-level BLE API (NimBLE on the ESP32): starting the stack, GATT registration (the legpress
# service and the Device Information Service), advertising, the IRQ handler, pairing,
# notifications and bond storage. The streaming logic is in ble_link.py.
#
# Security ("security" in config.json): "open" takes commands from anyone; "bonded" (Just
# Works LE Secure Connections, bonded) and "passkey" (LE Secure Connections with passkey
# entry: the host types the 6-digit code printed on the device label, so the link is
# authenticated against a man in the middle) take commands only over an encrypted link.
# The GATT flags make NimBLE refuse other writes (INSUFFICIENT_AUTHENTICATION), and the IRQ
# handler checks the link's encryption itself too, so a write can't get through a stack or
# flag that does not enforce it; those refusals count in `refused`.
#
# The IRQ handler only records: it copies command writes into a small queue and bumps
# counters (connects, disconnects, MTU exchanges) that only it writes, so the link task reads
# them without a lock. `on_event` (an asyncio.ThreadSafeFlag's set on the device) wakes the
# link task.
#
# Subscriptions. gatts_notify() sends whether or not the client subscribed, so the firmware
# tracks the CCCDs itself. Where the stack reports CCCD writes as _IRQ_GATTS_WRITE on the
# descriptor handle (value handle + 1), those decide. NimBLE on the ESP32 keeps CCCDs to
# itself (extmod/nimble/modbluetooth_nimble.c drops BLE_GAP_EVENT_SUBSCRIBE), so there the
# client's own requests stand in for them: a START on this connection means it subscribed to
# the stream (the host subscribes before it sends START), and a command written to control
# means it listens there for the reply. STATUS goes out with gatts_write(send_update=True),
# which NimBLE notifies to subscribed clients only. On a stack known to report every CCCD
# write, pass cccd_events=True and only the CCCDs count.

import binascii
import json

import bluetooth

from .compat import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)
_PASSKEY_ACTION_DISPLAY = const(3)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_READ_AUTHENTICATED = const(0x0400)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_FLAG_WRITE_AUTHENTICATED = const(0x2000)

_IO_CAPABILITY_DISPLAY_ONLY = const(0)
_IO_CAPABILITY_NO_INPUT_OUTPUT = const(3)

# Security levels (config.json "security").
_SECURITY_OPEN = const(0)
_SECURITY_BONDED = const(1)
_SECURITY_PASSKEY = const(2)

SECURITY_LEVELS = {
    "open": _SECURITY_OPEN,
    "bonded": _SECURITY_BONDED,
    "passkey": _SECURITY_PASSKEY,
}

# Subscription bits (CCCD-style), one per notifying characteristic.
_SUB_STREAM = const(1)
_SUB_STATUS = const(2)
_SUB_CONTROL = const(4)

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_NAME = const(0x09)
_ADV_FLAGS_LE_GENERAL_NO_BREDR = const(0x06)
_ADV_INTERVAL_US = const(200_000)

_MTU = const(247)
# The control value holds a command as written, then the reply (at most 117 bytes, for a host
# whose MTU cuts the notification). Longer writes are cut here, then rejected as BAD_LENGTH.
_CONTROL_MAX = const(128)
_QUEUE_MAX = const(4)
_SECRETS_MAX = const(48)

SERVICE_UUID = "6c700001-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
_STREAM_UUID = "6c700002-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
_INFO_UUID = "6c700003-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
_STATUS_UUID = "6c700004-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
_CONTROL_UUID = "6c700005-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
# Device Information Service: what phones, OS settings and generic BLE tools show.
_DIS_UUID = const(0x180A)
_MODEL_UUID = const(0x2A24)
_SERIAL_UUID = const(0x2A25)
_FIRMWARE_UUID = const(0x2A26)
_MANUFACTURER_UUID = const(0x2A29)
MANUFACTURER = "legpress (open hardware)"


def uuid_le(text):
    # A 128-bit UUID string as the 16 little-endian bytes advertising data carries.
    return bytes(reversed(binascii.unhexlify(text.replace("-", ""))))


def adv_field(kind, data):
    return bytes((len(data) + 1, kind)) + data


def mac_of(ble):
    return bytes(ble.config("mac")[1])


def start():
    # The BLE object with the stack running. main.py starts it first, and build() gets the same
    # running stack: on the ESP32 every active(True) restarts NimBLE (mp_bluetooth_init begins
    # with a deinit), so it is called only while the stack is off.
    ble = bluetooth.BLE()
    if not ble.active():
        ble.active(True)
    return ble


class BLERadio:
    """The GATT server on a started stack (see start()).

    model, firmware and serial fill the Device Information Service; passkey (an int,
    0-999999) is the code of _SECURITY_PASSKEY.
    """

    def __init__(
        self,
        ble,
        name,
        security=_SECURITY_BONDED,
        passkey=0,
        model="legpress",
        firmware="",
        serial="",
        secrets_path="ble_secrets.json",
        cccd_events=False,
    ):
        self._ble = ble
        self.name = name
        self.security = security
        self._passkey = passkey
        self._cccd_events = cccd_events
        self._secrets_path = secrets_path
        self._secrets = {}
        self.secrets_dirty = False
        if security:
            self._load_secrets()
        ble.config(mtu=_MTU, gap_name=name)
        # Readable: the last reply whole, for a host whose MTU cuts its notification.
        control_flags = _FLAG_READ | _FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE | _FLAG_NOTIFY
        if security == _SECURITY_PASSKEY:
            # The device "displays" its passkey (on the label): the host enters it.
            ble.config(bond=True, le_secure=True, mitm=True, io=_IO_CAPABILITY_DISPLAY_ONLY)
            control_flags |= _FLAG_WRITE_ENCRYPTED | _FLAG_WRITE_AUTHENTICATED
            control_flags |= _FLAG_READ_ENCRYPTED | _FLAG_READ_AUTHENTICATED
        elif security:
            # Just Works pairing with bonding: links are encrypted and the keys persist.
            ble.config(bond=True, le_secure=True, mitm=False, io=_IO_CAPABILITY_NO_INPUT_OUTPUT)
            control_flags |= _FLAG_WRITE_ENCRYPTED | _FLAG_READ_ENCRYPTED
        service = (
            bluetooth.UUID(SERVICE_UUID),
            (
                (bluetooth.UUID(_STREAM_UUID), _FLAG_NOTIFY),
                (bluetooth.UUID(_INFO_UUID), _FLAG_READ),
                (bluetooth.UUID(_STATUS_UUID), _FLAG_READ | _FLAG_NOTIFY),
                (bluetooth.UUID(_CONTROL_UUID), control_flags),
            ),
        )
        info = (
            bluetooth.UUID(_DIS_UUID),
            (
                (bluetooth.UUID(_MANUFACTURER_UUID), _FLAG_READ),
                (bluetooth.UUID(_MODEL_UUID), _FLAG_READ),
                (bluetooth.UUID(_FIRMWARE_UUID), _FLAG_READ),
                (bluetooth.UUID(_SERIAL_UUID), _FLAG_READ),
            ),
        )
        ble.irq(self._irq)
        handles = ble.gatts_register_services((service, info))
        (self.h_stream, self.h_info, self.h_status, self.h_control) = handles[0]
        texts = (MANUFACTURER, model, firmware, serial)
        for i in range(4):
            ble.gatts_write(handles[1][i], texts[i].encode())
        ble.gatts_set_buffer(self.h_control, _CONTROL_MAX)
        self._adv = adv_field(_ADV_TYPE_FLAGS, bytes((_ADV_FLAGS_LE_GENERAL_NO_BREDR,)))
        self._adv += adv_field(_ADV_TYPE_UUID128_COMPLETE, uuid_le(SERVICE_UUID))
        # 31 bytes per payload: flags and the UUID fill the advertisement, the name goes in
        # the scan response.
        self._resp = adv_field(_ADV_TYPE_NAME, name.encode())
        self._notify = ble.gatts_notify  # bound once: the send path must not allocate
        # Written only by the IRQ handler.
        self.conn_handle = None
        self.mtu = 0
        self.connects = 0
        self.disconnects = 0
        self.mtu_changes = 0
        self.unsubscribes = 0
        self.events = 0  # bumped for every event the link must look at
        self.stream_subscribed = False
        self.cccd_reported = False
        self._secure_link = False  # encrypted enough for the security level
        self.refused = 0  # control writes refused: link not secure enough, or queue full
        self._subs = 0
        self._queue = []
        self.on_event = None

    # --- IRQ (records only) --------------------------------------------------------------

    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            if self.conn_handle is None:
                self.conn_handle = data[0]
                self.mtu = 23
                self._set_subs(0)
                self.cccd_reported = False
                self._secure_link = False
                self._queue.clear()
                self.connects += 1
        elif event == _IRQ_CENTRAL_DISCONNECT:
            if data[0] == self.conn_handle:
                self.conn_handle = None
                self.mtu = 0
                self._set_subs(0)
                self.disconnects += 1
        elif event == _IRQ_GATTS_WRITE:
            conn_handle, handle = data
            if conn_handle != self.conn_handle:
                return None
            if handle == self.h_control:
                if (self._secure_link or not self.security) and len(self._queue) < _QUEUE_MAX:
                    self._queue.append(self._ble.gatts_read(handle))
                else:
                    self.refused += 1
            elif handle in (self.h_stream + 1, self.h_status + 1, self.h_control + 1):
                self._cccd_written(handle, self._ble.gatts_read(handle))
        elif event == _IRQ_MTU_EXCHANGED:
            if data[0] == self.conn_handle:
                self.mtu = data[1]
                self.mtu_changes += 1
        elif event == _IRQ_ENCRYPTION_UPDATE:
            # (conn_handle, encrypted, authenticated, bonded, key_size)
            if data[0] == self.conn_handle:
                secure = bool(data[1]) and (self.security != _SECURITY_PASSKEY or bool(data[2]))
                self._secure_link = secure
        elif event == _IRQ_PASSKEY_ACTION:
            conn_handle, action, _ = data
            if action == _PASSKEY_ACTION_DISPLAY and self.security == _SECURITY_PASSKEY:
                self._ble.gap_passkey(conn_handle, action, self._passkey)
            return None
        elif event == _IRQ_GET_SECRET:
            return self._get_secret(data[0], data[1], data[2])
        elif event == _IRQ_SET_SECRET:
            return self._set_secret(data[0], data[1], data[2])
        else:
            return None
        self.events += 1
        if self.on_event is not None:
            self.on_event()
        return None

    def _cccd_written(self, handle, value):
        bit = (
            _SUB_STREAM
            if handle == self.h_stream + 1
            else _SUB_STATUS
            if handle == self.h_status + 1
            else _SUB_CONTROL
        )
        self.cccd_reported = True
        if len(value) and value[0] & 1:
            self._set_subs(self._subs | bit)
        else:
            if self._subs & bit and bit == _SUB_STREAM:
                self.unsubscribes += 1
            self._set_subs(self._subs & ~bit)

    def _set_subs(self, subs):
        self._subs = subs
        # Read on every packet: kept as a plain attribute.
        self.stream_subscribed = self.conn_handle is not None and bool(subs & _SUB_STREAM)

    # --- subscriptions -------------------------------------------------------------------

    def subscribed(self, bit):
        return self.conn_handle is not None and bool(self._subs & bit)

    def assume_subscribed(self, bit):
        # NimBLE: the client's request stands in for the CCCD write we cannot see.
        if self._cccd_events or self.cccd_reported:
            return
        if self.conn_handle is not None:
            self._set_subs(self._subs | bit)

    def stream_requested(self):
        # The client sent START on this connection: it subscribed to the stream first.
        self.assume_subscribed(_SUB_STREAM)

    # --- link operations -----------------------------------------------------------------

    def advertise(self):
        self._ble.gap_advertise(_ADV_INTERVAL_US, self._adv, resp_data=self._resp)

    def take_command(self):
        # The oldest control write (bytes), or None.
        q = self._queue
        return q.pop(0) if q else None

    def notify_stream(self, data):
        # 0 when the stack took the notification, else the errno (ENOMEM: out of buffers).
        try:
            self._notify(self.conn_handle, self.h_stream, data)
            return 0
        except OSError as e:
            code = e.args[0] if e.args else -1  # MicroPython's errno is args[0]
            return code if isinstance(code, int) and code else -1

    def notify_control(self, data):
        if self.conn_handle is None:
            return False
        self.assume_subscribed(_SUB_CONTROL)
        if not self.subscribed(_SUB_CONTROL):
            return False
        try:
            # The value first: NimBLE cuts a notification to MTU - 3 bytes, and a host that
            # got a cut reply reads the characteristic for the whole of it.
            self._ble.gatts_write(self.h_control, data)
            self._notify(self.conn_handle, self.h_control, data)
            return True
        except OSError:
            return False

    def write_info(self, data):
        self._ble.gatts_write(self.h_info, data)

    def write_status(self, data, notify):
        # The stack notifies subscribed clients only (send_update).
        self._ble.gatts_write(self.h_status, data, notify)

    # --- bond storage (the format of aioble's security.py) ---------------------------------

    def _get_secret(self, sec_type, index, key):
        if key is None:
            i = 0
            for (t, _k), value in self._secrets.items():
                if t == sec_type:
                    if i == index:
                        return value
                    i += 1
            return None
        return self._secrets.get((sec_type, bytes(key)), None)

    def _set_secret(self, sec_type, key, value):
        key = (sec_type, bytes(key))
        if value is None:
            if key not in self._secrets:
                return False
            del self._secrets[key]
        else:
            if key not in self._secrets and len(self._secrets) >= _SECRETS_MAX:
                return False
            self._secrets[key] = bytes(value)
        self.secrets_dirty = True  # saved by the housekeeping task, not in the IRQ
        return True

    def _load_secrets(self):
        try:
            with open(self._secrets_path) as f:
                for sec_type, key, value in json.load(f):
                    key = binascii.a2b_base64(key.encode())
                    self._secrets[sec_type, key] = binascii.a2b_base64(value.encode())
        except (OSError, ValueError, TypeError):
            self._secrets = {}

    def forget_bonds(self):
        # Every bond: the keys here and in the file. A bonded host must pair again.
        self._secrets = {}
        self.save_secrets()

    def save_secrets(self):
        self.secrets_dirty = False
        entries = [
            (t, binascii.b2a_base64(k).decode().strip(), binascii.b2a_base64(v).decode().strip())
            for (t, k), v in self._secrets.items()
        ]
        with open(self._secrets_path, "w") as f:
            json.dump(entries, f)
