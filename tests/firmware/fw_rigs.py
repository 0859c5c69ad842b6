# The rigs the firmware scenarios share (tests/firmware/*_fw.py): a device on fake hardware,
# command and reply helpers, a BLE rig over the fake `bluetooth`, byte streams for the serial
# link and a fake board. Only builtins that both interpreters have; the random generator is a
# fixed xorshift so CPython and MicroPython see the same sequence.

import struct

import wire
from fw_fakes import ADC, Clock, Encoder

from legpress_fw import config
from legpress_fw.device import Device, DeviceInfo
from legpress_fw.pad import DirectPad
from legpress_fw.position import EncoderPosition


class Rng:
    """xorshift32: the same numbers under CPython and MicroPython."""

    def __init__(self, seed):
        self.s = (seed & 0xFFFFFFFF) or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n


def make_device(cells=8, rate_hz=100, t0=0, ring_slots=None, mem_free=None, buzzer=None):
    cfg = config.validate({"cells": cells, "rate_hz": rate_hz})
    info = DeviceInfo(cfg, b"\x24\x0a\xc4\x5e\x1e\x92", "LegPress-1E92")
    adcs = [ADC(100 + 10 * c) for c in range(cells)]
    enc = Encoder()
    clock = Clock(t0)
    dev = Device(
        cfg,
        info,
        DirectPad(adcs),
        EncoderPosition(enc),
        clock,
        ring_slots=ring_slots,
        mem_free=mem_free,
        buzzer=buzzer,
    )
    return dev, adcs, enc, clock


def command(code, args=b"", seq=7):
    return bytes((1, wire.T_COMMAND, 0, seq & 0xFF, seq >> 8, 0, 0, 0, 0, code)) + args


def parse_reply(buf, n):
    version, kind, flags, seq = struct.unpack_from("<BBBH", buf, 0)
    request_seq, cmd, result = struct.unpack_from("<HBB", buf, 9)
    return {
        "version": version,
        "type": kind,
        "flags": flags,
        "seq": seq,
        "request_seq": request_seq,
        "command": cmd,
        "result": result,
        "payload": bytes(buf[13:n]),
    }


def u32(b, o):
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)


def packet_fields(pkt, n_cells, compact=False):
    rec = n_cells + 2 if compact else 2 * n_cells + 4
    return {
        "type": pkt[1],
        "flags": pkt[2],
        "seq": pkt[3] | (pkt[4] << 8),
        "t_us": u32(pkt, 5),
        "records": (len(pkt) - 9) // rec,
        "extra": (len(pkt) - 9) % rec,
        "len": len(pkt),
    }


class BLERig:
    """A device with its BLE link, a fake central, and a fake clock to run samples with."""

    def __init__(
        self,
        cells=8,
        rate_hz=100,
        security="open",
        cccd_events=False,
        ring_slots=None,  # the firmware's own (device.ring_slots_for)
        secrets_path="/tmp/legpress-test-secrets.json",
        passkey=0,
    ):
        import bluetooth

        from legpress_fw.ble_link import BLELink
        from legpress_fw.radio import SECURITY_LEVELS, BLERadio

        self.ble = ble = bluetooth.BLE()
        ble.reset()  # CPython shares the singleton between scenarios
        ble.report_cccd = cccd_events
        self.dev, self.adcs, self.enc, self.clock = make_device(
            cells, rate_hz, 1000, ring_slots=ring_slots
        )
        ble.active(True)
        self.radio = BLERadio(
            ble,
            "LegPress-1E92",
            SECURITY_LEVELS[security],
            passkey=passkey,
            secrets_path=secrets_path,
            cccd_events=cccd_events,
        )
        self.link = BLELink(self.radio, self.dev)
        self.link.start()
        self.seq = 0

    def service(self):
        self.link.service()

    def connect(self, mtu=None):
        self.ble.connect(0)
        self.service()
        if mtu is not None:
            self.ble.exchange_mtu(0, mtu)
            self.service()

    def subscribe(self, handle, on=True):
        self.ble.subscribe(0, handle, notify=on)
        self.service()

    def write(self, code, args=b""):
        # A host subscribes to control before its first command (for the replies).
        if not self.ble.subscriptions.get((0, self.radio.h_control)):
            self.subscribe(self.radio.h_control)
        self.seq += 1
        self.ble.client_write(0, self.radio.h_control, command(code, args, self.seq))
        self.service()

    def run(self, n):
        # n sample periods, the BLE task serviced whenever a packet is ready (as in app.py).
        s = self.dev.sampler
        ring = self.dev.ring
        for i in range(n):
            self.enc.v = i
            s.poll()
            if ring.pending():
                self.service()
            self.clock.advance(s.period_us)

    def sent(self, handle):
        return [n[2] for n in self.ble.notifications if n[1] == handle]

    def stream(self):
        return self.sent(self.radio.h_stream)

    def replies(self):
        return [parse_reply(r, len(r)) for r in self.sent(self.radio.h_control)]

    def info(self):
        v = self.ble.values[self.radio.h_info]
        return {
            "type": v[1],
            "period_us": u32(v, 12),
            "batch_samples": v[26],
            "mtu": v[27] | (v[28] << 8),
            "name": bytes(v[36 + 3 * self.dev.n_cells :]).decode(),
        }


def stream_summary(rig, cells, compact=False):
    pkts = rig.stream()
    fields = [packet_fields(p, cells, compact) for p in pkts]
    seqs = [f["seq"] for f in fields]
    times_ok = True
    period = rig.dev.sampler.period_us
    for i in range(1, len(fields)):
        a = fields[i - 1]
        if (a["t_us"] + a["records"] * period) & 0xFFFFFFFF != fields[i]["t_us"]:
            times_ok = False
    return {
        "packets": len(pkts),
        "lens": sorted(set(f["len"] for f in fields)),
        "types": sorted(set(f["type"] for f in fields)),
        "records": sorted(set(f["records"] for f in fields)),
        "extra": sorted(set(f["extra"] for f in fields)),
        "seq_contiguous": seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True,
        "first_flags": fields[0]["flags"] if fields else None,
        "times_ok": times_ok,
        "max_payload": max(f["len"] for f in fields) if fields else 0,
        "unsolicited": len(rig.ble.unsolicited),
    }


class BytesIn:
    """stream_in for SerialLink: hands out queued bytes, up to the buffer size per call."""

    def __init__(self):
        self.data = b""

    def feed(self, data):
        self.data += data

    def waiting(self):
        return len(self.data) > 0

    def readinto(self, buf):
        n = min(len(buf), len(self.data))
        for i in range(n):
            buf[i] = self.data[i]
        self.data = self.data[n:]
        return n


class BytesOut:
    def __init__(self):
        self.data = b""
        self.writes = 0

    def write(self, buf, off, n):
        self.data += bytes(buf[off : off + n])
        self.writes += 1
        return n


def frame(msg):
    from legpress_fw import framing

    buf = bytearray(len(msg) + 10)
    n = framing.encode_into(buf, msg, len(msg))
    return bytes(buf[:n])


def read_frames(data):
    from legpress_fw import framing

    reader = framing.FrameReader()
    out = []
    for b in data:
        m = reader.feed_byte(b)
        if m > 0:
            out.append(bytes(reader.message[:m]))
    return out, reader.bad_frames


class FakeBoard:
    def __init__(self):
        self.feeds = 0
        self.led_states = []
        self.resets = 0
        self.repl_requests = 0
        self.wdt_timeout = None

    def led(self, on):
        self.led_states.append(1 if on else 0)

    def watchdog_start(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def watchdog_feed(self):
        self.feeds += 1

    def reset(self):
        self.resets += 1

    def request_repl(self):
        self.repl_requests += 1


class QuietBLE:
    """A radio that takes every notification (after `spend(notify_us)`, when given a cost model)
    and keeps only the packets of `keep_handle`, so only firmware allocations show (the
    benchmarks; the full fake is tests/mpy/fakes/bluetooth.py)."""

    def __init__(self, spend=None, notify_us=0, keep_handle=None):
        self.sent = 0
        self.value = b""
        self.packets = []
        self._spend = spend
        self._notify_us = notify_us
        self._keep = keep_handle

    def active(self, *a):
        return True

    def config(self, *a, **k):
        return (0, b"\x24\x0a\xc4\x5e\x1e\x92")

    def irq(self, handler):
        self.handler = handler

    def gatts_register_services(self, services):
        return ((11, 13, 15, 18), (21, 23, 25, 27))  # legpress, Device Information

    def gatts_set_buffer(self, *a):
        pass

    def gap_advertise(self, *a, **k):
        pass

    def gatts_write(self, handle, data, update=False):
        if self._spend is not None:
            self._spend(self._notify_us)

    def gatts_read(self, handle):
        return self.value

    def gatts_notify(self, conn, handle, data):
        self.sent += 1
        if self._spend is not None:
            self._spend(self._notify_us)
        if handle == self._keep:
            self.packets.append(bytes(data))
