# The BLE side of the device: connection bookkeeping, commands, DEVICE_INFO and STATUS
# characteristics, and the sample stream. Pure logic over a radio object (radio.BLERadio on
# the device, a fake in the tests); service() does one step and never blocks, the app's BLE
# task calls it whenever the radio or the sampler has news.
#
# Sample packets leave the ring only when the stack took them: a notification refused with
# ENOMEM (NimBLE out of buffers) leaves the packet in the ring, counts in notify_enomem, and
# the link tries again on the next step; meanwhile newer packets queue behind it and go out
# back to back once buffers free up. If the stack stays full, the ring overwrites its oldest
# packets and counts their samples as dropped. On an MTU-23 link each one-record packet is
# re-encoded as SAMPLES_COMPACT.

from .compat import const
from .control import CommandHandler
from .protocol import (
    compact_into,
    compact_record_size,
    pack_header,
    pack_info_body,
    pack_status_body,
)

# The constants of device.py and protocol.py used here, as this module's own: imported, each
# would cost a dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_CMD_START = const(0x01)
_HEADER_SIZE = const(9)
_INFO_FIXED_SIZE = const(26)
_LINK_BLE = const(1)
_NAME_MAX = const(29)
_STATUS_BODY_SIZE = const(53)
_T_COMMAND = const(0x05)
_T_DEVICE_INFO = const(0x03)
_T_STATUS = const(0x04)
_VERSION = const(1)

_ENOMEM = const(12)
_COUNTER_MASK = const(0x3FFFFFFF)


class BLELink:
    def __init__(self, radio, device, handler=None):
        self._radio = radio
        self._dev = device
        self._ring = device.ring
        self.handler = handler if handler is not None else CommandHandler(device)
        k = device.n_cells
        self._compact = bytearray(_HEADER_SIZE + compact_record_size(k))  # exactly one packet
        self._info = bytearray(_HEADER_SIZE + _INFO_FIXED_SIZE + 3 * k + 1 + _NAME_MAX)
        self._status = bytearray(_HEADER_SIZE + _STATUS_BODY_SIZE)
        self._seen_connects = 0
        self._seen_disconnects = 0
        self._seen_mtu = 0
        self._seen_unsubscribes = 0
        self._seen_events = 0
        self._seen_refused = 0
        self.send_errors = 0  # notifications refused for a reason other than ENOMEM

    def start(self):
        # Called once the radio is up: serve the info characteristic and advertise.
        self._write_info()
        self._radio.advertise()

    def service(self):
        # Once per sample packet while streaming: the common case is three checks and a send.
        radio = self._radio
        if radio.events != self._seen_events:
            self._seen_events = radio.events
            self._radio_events()
        if self._dev.stream_link == _LINK_BLE and self._ring.pending():
            self._send_samples()
        if self._dev.info_changed:
            self._dev.info_changed = False
            self._write_info()

    def _radio_events(self):
        radio = self._radio
        dev = self._dev
        if radio.connects != self._seen_connects or radio.disconnects != self._seen_disconnects:
            self._connection_events()
        if radio.mtu_changes != self._seen_mtu:
            self._seen_mtu = radio.mtu_changes
            if radio.conn_handle is not None:
                dev.on_ble_mtu(radio.mtu)
        if radio.unsubscribes != self._seen_unsubscribes:
            self._seen_unsubscribes = radio.unsubscribes
            dev.on_ble_unsubscribe()
        if radio.refused != self._seen_refused:
            # Commands over a link not secure enough (or beyond the queue) count as bad.
            dev.bad_commands = (dev.bad_commands + radio.refused - self._seen_refused) & (
                _COUNTER_MASK
            )
            self._seen_refused = radio.refused
        cmd = radio.take_command()
        while cmd is not None:
            self._command(cmd)
            cmd = radio.take_command()

    def _connection_events(self):
        radio = self._radio
        dev = self._dev
        if radio.disconnects != self._seen_disconnects:
            self._seen_disconnects = radio.disconnects
            if dev.ble_connected:
                dev.on_ble_disconnect()
        if radio.connects != self._seen_connects:
            self._seen_connects = radio.connects
            if dev.ble_connected:
                dev.on_ble_disconnect()  # a disconnect and a new connection since last step
            dev.connections = radio.connects & 0xFFFF
        if radio.conn_handle is not None:
            if not dev.ble_connected:
                dev.on_ble_connect()
            if radio.mtu > 23:
                self._seen_mtu = radio.mtu_changes
                dev.on_ble_mtu(radio.mtu)
        else:
            # Advertising stops when a central connects; start again after every disconnect.
            radio.advertise()

    def _command(self, msg):
        radio = self._radio
        n = len(msg)
        if (
            n > _HEADER_SIZE
            and msg[0] == _VERSION
            and msg[1] == _T_COMMAND
            and msg[_HEADER_SIZE] == _CMD_START
        ):
            radio.stream_requested()  # NimBLE hides the CCCD write; see radio.py
        handler = self.handler
        length = handler.handle(msg, n, _LINK_BLE)
        if length:
            radio.notify_control(memoryview(handler.reply)[:length])

    def _send_samples(self):
        # The per-packet hot path: no allocation.
        radio = self._radio
        if not radio.stream_subscribed:
            return
        ring = self._ring
        pkt = ring.peek()
        while pkt is not None:
            if self._dev.compact:
                # One record per packet on these links (Device._plan), so record 0 is all.
                compact_into(self._compact, pkt, self._dev.n_cells, 0, 0)
                pkt = self._compact
            err = radio.notify_stream(pkt)
            if err:
                self._refused(err)
                return
            ring.pop()
            self._dev.packets_sent = (self._dev.packets_sent + 1) & _COUNTER_MASK
            pkt = ring.peek()

    def _refused(self, err):
        # The packet stays in the ring; the next step tries again.
        dev = self._dev
        if err == _ENOMEM:
            dev.notify_enomem = (dev.notify_enomem + 1) & _COUNTER_MASK
        else:
            self.send_errors += 1

    def _write_info(self):
        dev = self._dev
        buf = self._info
        pack_header(buf, _T_DEVICE_INFO, 0, dev.next_seq(), dev.clock, dev.clock.now())
        n = pack_info_body(buf, _HEADER_SIZE, dev.info)
        self._radio.write_info(memoryview(buf)[:n])

    def send_status(self):
        # Once a second from the housekeeping task: the readable value, notified to subscribers.
        dev = self._dev
        buf = self._status
        pack_header(buf, _T_STATUS, 0, dev.next_seq(), dev.clock, dev.clock.now())
        pack_status_body(buf, _HEADER_SIZE, dev.status)
        self._radio.write_status(buf, self._radio.conn_handle is not None)
