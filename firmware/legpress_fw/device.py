# The device as the links see it: streaming state, the command actions, STATUS and
# DEVICE_INFO. Owns the sampler and the ring but no hardware: the pad, the position source and
# the clocks come in as arguments (board.py builds them on the device, fakes in the tests, the
# host simulator its own).
#
# One link at a time receives samples: the one that sent START (LINK_BLE or LINK_SERIAL). The
# sample batch depends on that link: about 25 packets a second, as many records as fit in a
# BLE notification (MTU - 3) or a ring slot on serial; on an MTU-23 BLE link each packet holds
# one record, which the BLE link re-encodes as SAMPLES_COMPACT.

import os

from . import VERSION
from .buzzer import Buzzer
from .compat import TICKS_PERIOD_LOG2, const, ticks_add, ticks_diff, ticks_ms
from .protocol import (
    DeviceClock,
    batch_samples,
    compact_record_size,
    pack_info_body,
    pack_status_body,
    record_size,
)
from .ring import PacketRing
from .sampler import Sampler

# The constants of protocol.py used here, as this module's own: imported, each would cost a
# dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_FAULT_CELL = const(0x0001)
_FAULT_CONFIG = const(0x0040)
_FAULT_LOW_HEAP = const(0x0008)
_FAULT_MTU_TOO_SMALL = const(0x0010)
_FAULT_POSITION = const(0x0002)
_FAULT_TARE = const(0x0080)
_FAULT_TASK_RESTARTED = const(0x0004)
_FAULT_WATCHDOG_RESET = const(0x0020)
_HEADER_SIZE = const(9)
_R_BUSY = const(6)
_R_OK = const(0)

_LINK_NONE = const(0)
LINK_BLE = const(1)
LINK_SERIAL = const(2)

# Ring: as many slots as the packets of a 0.5 s stall at the stream's rate, plus the one being
# filled, each of exactly one packet (ring_slots_for(), slot_size(); Device._fit_ring() makes
# it anew when a new rate, link or MTU needs more, while the sampler is stopped). The ring rides
# out a link that stalls but stays up: NimBLE refuses notifications (ENOMEM) while the central
# misses connection events. A stall that outlasts the central's supervision timeout ends the
# link, and the unsent packets are forgotten then anyway (counted in samples_dropped), so
# nothing longer needs holding: Linux asks for 420 ms (0x002a x 10 ms,
# net/bluetooth/hci_core.c), phones and other hosts allow longer stalls, whose oldest packets
# are then overwritten (DROPPED). A link that is slower than the stream for longer overflows
# any ring. 8 cells at MTU 247: at 100 Hz 4 records a packet (89 bytes), 14 slots (1.2 KB); at
# 400 Hz 11 records (229 bytes), 20 slots (4.6 KB) (firmware/README.md, "Memory").
SLOT_SIZE = const(244)  # the largest payload: a BLE notification at MTU 247
_RATE_MAX_HZ = const(400)
_RING_STALL_MS = const(500)
_ATT_OVERHEAD = const(3)
_LOW_HEAP = const(8192)
_COUNTER_MASK = const(0x3FFFFFFF)


def ring_slots_for(rate_hz, batch):
    """Ring slots for packets of `batch` records at rate_hz: a 0.5 s stall, and the packet
    being filled."""
    per_stall = batch * 1000
    return (rate_hz * _RING_STALL_MS + per_stall - 1) // per_stall + 1


class Status:
    """The STATUS fields (protocol.pack_status_body reads these attributes)."""

    def __init__(self):
        self.state = 0
        self.link = _LINK_NONE
        self.faults = 0
        self.uptime_s = 0
        self.samples_total = 0
        self.samples_dropped = 0
        self.overruns = 0
        self.jitter_max_us = 0
        self.jitter_mean_us = 0
        self.packets_sent = 0
        self.notify_enomem = 0
        self.bad_commands = 0
        self.task_restarts = 0
        self.mtu = 0
        self.connections = 0
        self.heap_free_bytes = 0
        self.dead_cells = 0
        self.reset_cause = 0


class DeviceInfo:
    """The DEVICE_INFO fields (protocol.pack_info_body reads these attributes)."""

    def __init__(self, cfg, device_id, name):
        self.fw_version = VERSION
        self.period_us = cfg.period_us
        self.n_cells = cfg.cells
        self.tick_period_log2 = TICKS_PERIOD_LOG2
        self.encoder_counts_per_m = cfg.counts_per_m
        self.position_sensor = cfg.position_code
        self.adc_bits = 12
        self.cell_pitch_mm = cfg.cell_pitch_mm
        self.oversample = cfg.oversample
        self.batch_samples = 0
        self.mtu = 0
        self.device_id = bytes(device_id)
        self.cell_channel = cfg.cell_channels()
        self.tare = [0] * cfg.cells
        self.name = name.encode() if isinstance(name, str) else bytes(name)


class Device:
    def __init__(
        self,
        cfg,
        info,
        pad,
        position,
        ticks_us,
        reset_cause=0,
        watchdog_reset=False,
        config_ok=True,
        mem_free=None,
        ring_slots=None,
        buzzer=None,
        tare_path=None,
        tare_ok=True,
    ):
        self.info = info
        self.pad = pad
        self.position = position
        self.clock = DeviceClock(ticks_us)
        self.n_cells = pad.n_cells
        self.rate_hz = cfg.rate_hz
        self.ble_connected = False
        self.ble_mtu = 0
        batch = self._plan(SLOT_SIZE)[0]
        # ring_slots (tests, the host simulator): that many slots, each for the largest packet
        # at any rate, kept as they are; else fitted to the stream (_fit_ring).
        self._ring_fixed = ring_slots is not None
        if ring_slots is None:
            self.ring = PacketRing(ring_slots_for(self.rate_hz, batch), self._slot_size(batch))
        else:
            most = batch_samples(_RATE_MAX_HZ, SLOT_SIZE, self.n_cells)
            self.ring = PacketRing(ring_slots, self._slot_size(most))
        self.sampler = Sampler(
            pad, position, ticks_us, self.clock, self.ring, info.period_us, batch
        )
        info.batch_samples = self.sampler.batch
        self.buzzer = buzzer if buzzer is not None else Buzzer()
        self.sampler.on_limit = self.buzzer.play  # the device's own depth alarm
        self.status = Status()
        self.status.reset_cause = reset_cause
        self._boot_faults = (_FAULT_WATCHDOG_RESET if watchdog_reset else 0) | (
            0 if config_ok else _FAULT_CONFIG
        )
        self._mem_free = mem_free
        self.status.heap_free_bytes = mem_free() if mem_free is not None else 0
        self._seq = 0
        self._boot_ms = ticks_ms()
        self._tare_buf = bytearray(2 * self.n_cells)
        # Where each tare is kept across resets (startup reads it back), or None: not kept.
        self._tare_path = tare_path
        self._tare_fault = 0 if tare_ok else _FAULT_TARE
        # Streaming: `stream_link` is where samples go; `want_stream` stays set while the
        # sampler waits for a usable MTU.
        self.stream_link = _LINK_NONE
        self.want_stream = False
        self.compact = False
        self.mtu_too_small = False
        self.serial_active = False
        # Counters kept by the links and the supervisor.
        self.packets_sent = 0
        self.notify_enomem = 0
        self.bad_commands = 0
        self.task_restarts = 0
        self.connections = 0
        # Set when DEVICE_INFO changed (the BLE link rewrites the info characteristic) or must
        # go out on serial (after START there).
        self.info_changed = True
        self.info_due_serial = False
        self.identify_until = None
        self.pending = 0  # CMD_REBOOT or CMD_REPL, done once the reply is out
        self.log_lines = []  # text for the serial LOG / console, drained by the app

    # --- messages ------------------------------------------------------------------------

    def next_seq(self):
        # The shared sequence counter of every device message that is not a sample packet.
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        return seq

    def log(self, text):
        if len(self.log_lines) < 8:
            self.log_lines.append(text)

    # --- links ---------------------------------------------------------------------------

    def _payload_max(self, link):
        if link == LINK_BLE:
            return min(self.ble_mtu - _ATT_OVERHEAD, SLOT_SIZE)
        return SLOT_SIZE

    def _plan(self, payload_max):
        # (records per packet, compact, mtu_too_small) for a link carrying payload_max bytes.
        n = batch_samples(self.rate_hz, payload_max, self.n_cells)
        if n:
            return n, False, False
        # Not one SAMPLES record fits: one SAMPLES_COMPACT record per packet, if even that fits.
        if _HEADER_SIZE + compact_record_size(self.n_cells) <= payload_max:
            return 1, True, False
        return 1, False, True

    def _restart_sampler(self):
        # Applies rate, link and MTU: a new batch size, and a RESTART packet if streaming.
        # While the MTU is too small for even a compact record the sampler stays stopped.
        s = self.sampler
        s.stop()  # commits a partial packet; the link still sends it
        batch, self.compact, self.mtu_too_small = self._plan(self._payload_max(self._link()))
        if not self.mtu_too_small:
            self._fit_ring(batch)
        s.configure(1000000 // self.rate_hz, batch)
        self._update_info()
        if self.want_stream and not self.mtu_too_small:
            s.start()

    def _slot_size(self, batch):
        return _HEADER_SIZE + batch * record_size(self.n_cells)

    def _fit_ring(self, batch):
        # With the sampler stopped: a ring that cannot hold 0.5 s of packets of `batch` records
        # at the current rate is made anew for them (the packets it holds move over; the timer's
        # pool too). One that can is kept, even if larger (a rate set lower, say): no churn.
        ring = self.ring
        slots = ring_slots_for(self.rate_hz, batch)
        size = self._slot_size(batch)
        if self._ring_fixed or (ring.slot_size >= size and ring.slots >= slots):
            return
        ring.resize(slots, size)
        self.sampler.resize_pool()

    def _link(self):
        # The link samples go to, or would go to after a START: DEVICE_INFO describes it.
        if self.want_stream:
            return self.stream_link
        return LINK_BLE if self.ble_connected else LINK_SERIAL

    def _update_info(self):
        info = self.info
        info.period_us = self.sampler.period_us
        if self._link() == LINK_BLE:
            info.batch_samples = self._plan(self._payload_max(LINK_BLE))[0]
            info.mtu = self.ble_mtu
        else:
            info.batch_samples = self._plan(SLOT_SIZE)[0]
            info.mtu = 0
        self.info_changed = True

    def on_ble_connect(self):
        self.ble_connected = True
        self.ble_mtu = 23
        self._update_info()

    def on_ble_mtu(self, mtu):
        self.ble_mtu = mtu
        if self.stream_link == LINK_BLE and self.want_stream:
            self._restart_sampler()
        else:
            self._update_info()

    def on_ble_disconnect(self):
        self.ble_connected = False
        self.ble_mtu = 0
        if self.stream_link == LINK_BLE:
            # Nobody to send to: stop, and forget what was not sent (at most the packet being
            # filled, and any the link had not taken yet), counted in samples_dropped; the next
            # stream's first packet says DROPPED as well as RESTART.
            self._stop_stream()
            self.ring.discard()
            self.stream_link = _LINK_NONE

    def on_ble_unsubscribe(self):
        if self.stream_link == LINK_BLE and self.want_stream:
            self._stop_stream()

    # --- command actions -----------------------------------------------------------------

    def start(self, link):
        # A new stream: packets of an earlier one still unsent are forgotten (counted in
        # samples_dropped: the first packet then carries DROPPED as well as RESTART).
        self.sampler.stop()
        self.ring.discard()
        self.stream_link = link
        self.want_stream = True
        self._restart_sampler()
        if link == LINK_SERIAL:
            self.info_due_serial = True
        return _R_OK

    def stop(self, link):
        self._stop_stream()
        return _R_OK

    def _stop_stream(self):
        self.sampler.stop()  # commits the partial packet, which the link still sends
        self.want_stream = False

    def zero(self):
        return self.position.zero()

    def tare(self, samples):
        # Averages `samples` back-to-back pad readings. It blocks sampling for samples x K
        # conversions (about 10 ms for 32 samples of 8 cells); a stream shows that as an
        # overrun, honestly flagged. The timer callback must not read the pad meanwhile.
        s = self.sampler
        was = s.running
        s.running = False
        try:
            return self._tare(samples)
        finally:
            s.running = was

    def _tare(self, samples):
        k = self.n_cells
        sums = [0] * k
        buf = self._tare_buf
        for _ in range(samples):
            self.pad.read_into(buf, 0)
            for c in range(k):
                sums[c] += buf[2 * c] | (buf[2 * c + 1] << 8)
        tare = self.info.tare
        for c in range(k):
            v = (sums[c] + samples // 2) // samples
            tare[c] = v
            buf[2 * c] = v & 0xFF
            buf[2 * c + 1] = v >> 8
        self.info_changed = True
        self._save_tare(buf)
        return _R_OK

    def _save_tare(self, data):
        # Written beside the last one, then renamed over it: a reset or power cut mid-write
        # leaves the last tare whole (LittleFS renames atomically). A failure leaves the new
        # tare in effect until the next reset and raises the TARE fault until a tare is kept.
        path = self._tare_path
        if path is None:
            return
        try:
            with open(path + ".new", "wb") as f:
                f.write(data)
            os.rename(path + ".new", path)
            self._tare_fault = 0
        except OSError:
            self._tare_fault = _FAULT_TARE

    def set_rate(self, rate_hz):
        self.rate_hz = rate_hz
        self._restart_sampler()
        return self.sampler.period_us

    def identify(self, seconds):
        self.identify_until = ticks_add(ticks_ms(), seconds * 1000)

    def identifying(self, now_ms):
        until = self.identify_until
        if until is None:
            return False
        if ticks_diff(until, now_ms) <= 0:
            self.identify_until = None
            return False
        return True

    def beep(self, pattern):
        self.buzzer.play(pattern)

    def set_limit(self, limit, rearm, pattern):
        # Kept across disconnects and STOP/START: the person on the machine is warned even
        # when no host listens. Cleared by a reset.
        self.sampler.set_limit(limit, rearm, pattern)

    def request(self, command, link):
        if self.pending:
            return _R_BUSY
        self.pending = command
        return _R_OK

    # --- STATUS / DEVICE_INFO ------------------------------------------------------------

    def faults(self):
        st = self.status
        f = self._boot_faults | self._tare_fault
        if st.dead_cells:
            f |= _FAULT_CELL
        if self.sampler.position_errors:
            f |= _FAULT_POSITION
        if self.task_restarts:
            f |= _FAULT_TASK_RESTARTED
        if self._mem_free is not None and st.heap_free_bytes < _LOW_HEAP:
            f |= _FAULT_LOW_HEAP
        if self.want_stream and self.mtu_too_small:
            f |= _FAULT_MTU_TOO_SMALL
        return f

    def update_status(self):
        # Refreshes every STATUS field; jitter and dead cells restart for the next period.
        st = self.status
        s = self.sampler
        st.state = 1 if self.want_stream else 0
        if self.want_stream:
            st.link = self.stream_link
        elif self.ble_connected:
            st.link = LINK_BLE
        elif self.serial_active:
            st.link = LINK_SERIAL
        else:
            st.link = _LINK_NONE
        st.uptime_s = (ticks_diff(ticks_ms(), self._boot_ms) // 1000) & _COUNTER_MASK
        st.samples_total = s.samples_total
        st.samples_dropped = self.ring.dropped_samples
        st.overruns = s.overruns
        st.jitter_max_us = s.jitter_max_us
        st.jitter_mean_us = s.jitter_mean_us()
        s.reset_jitter()
        st.packets_sent = self.packets_sent
        st.notify_enomem = self.notify_enomem
        st.bad_commands = self.bad_commands
        st.task_restarts = self.task_restarts & 0xFFFF
        st.mtu = self.ble_mtu if self.ble_connected else 0
        st.connections = self.connections
        st.heap_free_bytes = self._mem_free() if self._mem_free is not None else 0
        st.dead_cells = s.rail_cells & 0xFFFF
        s.rail_cells = 0
        st.faults = self.faults()
        return st

    def pack_status_body(self, buf, offset):
        self.update_status()
        return pack_status_body(buf, offset, self.status)

    def pack_info_body(self, buf, offset):
        return pack_info_body(buf, offset, self.info)
