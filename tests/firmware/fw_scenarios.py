# Firmware scenarios shared by the CPython and MicroPython tests (tests/firmware/test_*.py).
#
# Each scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict, so a test runs the same scenario here and under MicroPython (this
# directory mounted at /tf) and asserts on the result. Only builtins that both interpreters
# have; the random generator is a fixed xorshift so both see the same sequence.

import os
import struct
from binascii import unhexlify

from fw_fakes import ADC, TICKS_MASK, Clock, Encoder

from legpress_fw import config, protocol
from legpress_fw.control import CommandHandler
from legpress_fw.device import LINK_BLE, LINK_SERIAL, Device
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


def make_device(cells=8, rate_hz=100, t0=0, ring_slots=48, mem_free=None):
    cfg = config.validate({"cells": cells, "rate_hz": rate_hz})
    info = config.DeviceInfo(cfg, b"\x24\x0a\xc4\x5e\x1e\x92", "LegPress-1E92")
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
    )
    return dev, adcs, enc, clock


def command(code, args=b"", seq=7):
    return bytes((1, protocol.T_COMMAND, 0, seq & 0xFF, seq >> 8, 0, 0, 0, 0, code)) + args


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


# --- sampling ------------------------------------------------------------------------------


def sampling_drift(n_samples=100000, period_us=10000, seed=1):
    # Drives the sampler with a clock that reaches every deadline a little late (up to 30 % of
    # a period, a third of them on time), and now and then stalls for a few periods, across a
    # wrap of the 2**30 tick counter.
    # Every record's time must be exactly t0 + slot * period: no drift, ever.
    rng = Rng(seed)
    late_limit = period_us * 3 // 10
    t0 = (1 << 30) - 300000000  # wraps about 5 minutes into the run
    dev, _adcs, enc, clock = make_device(8, 1000000 // period_us, t0)
    s = dev.sampler
    ring = dev.ring
    dev.start(LINK_SERIAL)
    slot = 0  # deadline index the clock is at
    taken = 0
    expected_overruns = 0
    late_sum = 0
    late_max = 0
    stalls = 0
    next_slot = 0  # slot of the next record we expect to read from the ring
    drift_errors = 0
    packets = 0
    overrun_flags = 0
    restart_flags = 0
    gaps = 0
    last_seq = None
    first_t = t0 & 0xFFFFFFFF
    while taken < n_samples:
        r = rng.below(1000)
        if r < 2 and taken > 10:
            skip = 1 + rng.below(4)  # a stall: skip whole periods
            slot += skip
            expected_overruns += skip
            stalls += 1
        late = 0 if r % 3 == 0 else rng.below(late_limit)
        clock.t = (t0 + slot * period_us + late) & TICKS_MASK
        enc.v = slot
        wait = s.poll()
        if wait != period_us - late:
            drift_errors += 1
        taken += 1
        late_sum += late
        late_max = max(late_max, late)
        slot += 1
        pkt = ring.peek()
        while pkt is not None:
            f = packet_fields(pkt, 8)
            packets += 1
            if last_seq is not None and f["seq"] != (last_seq + 1) & 0xFFFF:
                gaps += 1
            last_seq = f["seq"]
            if f["flags"] & protocol.F_OVERRUN:
                overrun_flags += 1
            if f["flags"] & protocol.F_RESTART:
                restart_flags += 1
            for r_i in range(f["records"]):
                # The encoder value is the slot number: which slot was this record taken in?
                pos = struct.unpack_from("<i", pkt, 9 + r_i * 20 + 16)[0]
                if r_i == 0:
                    next_slot = pos
                    want_t = (first_t + pos * period_us) & 0xFFFFFFFF
                    if f["t_us"] != want_t:
                        drift_errors += 1
                elif pos != next_slot:
                    drift_errors += 1  # a skipped slot inside a packet
                next_slot = pos + 1
            ring.pop()
            pkt = ring.peek()
    return {
        "samples_total": s.samples_total,
        "taken": taken,
        "packets": packets,
        "seq_gaps": gaps,
        "drift_errors": drift_errors,
        "overruns": s.overruns,
        "expected_overruns": expected_overruns,
        "overrun_flags": overrun_flags,
        "stalls": stalls,
        "restart_flags": restart_flags,
        "jitter_max_us": s.jitter_max_us,
        "jitter_mean_us": s.jitter_mean_us(),
        "late_max": late_max,
        "late_mean": late_sum // taken,
        "dropped": ring.dropped_samples,
        "wrapped": clock.t < (t0 & TICKS_MASK),
    }


def ring_overflow(slots=4, packets=10):
    # Nobody sends: the ring keeps the newest slots - 1 packets and counts what it overwrote.
    dev, _adcs, _enc, clock = make_device(8, 100, 0, ring_slots=slots)
    s = dev.sampler
    ring = dev.ring
    dev.start(LINK_SERIAL)  # and no serial link drains the ring
    batch = s.batch
    for _ in range(packets * batch):
        s.poll()
        clock.advance(s.period_us)
    kept = []
    pkt = ring.peek()
    while pkt is not None:
        kept.append(packet_fields(pkt, 8))
        ring.pop()
        pkt = ring.peek()
    st = dev.update_status()
    return {
        "batch": batch,
        "pending_seqs": [f["seq"] for f in kept],
        "dropped_flags": [f["flags"] & protocol.F_DROPPED for f in kept],
        "dropped_samples": ring.dropped_samples,
        "status_dropped": st.samples_dropped,
        "samples_total": st.samples_total,
    }


# --- control commands ----------------------------------------------------------------------


def command_replies():
    # One of every command and every kind of malformed message, through the real Device.
    dev, _adcs, enc, _clock = make_device(8, 100, 1000)
    h = CommandHandler(dev)
    out = {}

    def run(name, msg, link=LINK_SERIAL):
        n = h.handle(msg, len(msg), link)
        out[name] = parse_reply(h.reply, n)
        out[name]["payload"] = list(out[name]["payload"])
        out[name]["len"] = n

    enc.v = 1234
    run("zero", command(protocol.CMD_ZERO))
    out["position_after_zero"] = dev.position.value()
    run("tare", command(protocol.CMD_TARE, b"\x04"))
    run("tare_default", command(protocol.CMD_TARE, b"\x00"))
    run("set_rate", command(protocol.CMD_SET_RATE, struct.pack("<H", 200)))
    run("set_rate_low", command(protocol.CMD_SET_RATE, struct.pack("<H", 49)))
    run("set_rate_high", command(protocol.CMD_SET_RATE, struct.pack("<H", 401)))
    run("identify", command(protocol.CMD_IDENTIFY, b"\x05"))
    run("identify_zero", command(protocol.CMD_IDENTIFY, b"\x00"))
    run("start", command(protocol.CMD_START))
    out["streaming"] = dev.want_stream
    out["stream_link"] = dev.stream_link
    run("stop", command(protocol.CMD_STOP))
    out["streaming_after_stop"] = dev.want_stream
    run("get_status", command(protocol.CMD_GET_STATUS))
    run("get_info", command(protocol.CMD_GET_INFO))
    run("reboot", command(protocol.CMD_REBOOT))
    out["pending"] = dev.pending
    run("reboot_again", command(protocol.CMD_REBOOT))
    dev.pending = 0
    run("repl", command(protocol.CMD_REPL))
    out["pending_repl"] = dev.pending
    dev.pending = 0
    run("unknown", command(0x42))
    run("zero_code", command(0))
    run("start_with_arg", command(protocol.CMD_START, b"\x01"))
    run("tare_no_arg", command(protocol.CMD_TARE))
    run("short", b"\x01\x05\x00\x09")
    run("empty", b"")
    run("header_only", command(protocol.CMD_START)[:9])
    bad_version = bytearray(command(protocol.CMD_START))
    bad_version[0] = 2
    run("bad_version", bytes(bad_version))
    bad_type = bytearray(command(protocol.CMD_START))
    bad_type[1] = protocol.T_SAMPLES
    run("bad_type", bytes(bad_type))
    out["bad_commands"] = h.bad_commands
    out["errors"] = h.errors
    out["tare_values"] = list(dev.info.tare)
    out["period_us"] = dev.sampler.period_us
    out["info_period_us"] = dev.info.period_us
    return out


def random_commands(seed=12345, n=10000):
    # Random and half-valid messages from both links while the sampler runs: every one gets a
    # well-formed reply and nothing escapes the handler.
    rng = Rng(seed)
    dev, _adcs, enc, clock = make_device(8, 100, 5)
    h = CommandHandler(dev)
    results = [0] * 8
    bad_replies = 0
    escaped = 0
    first_escape = None
    for i in range(n):
        kind = rng.below(4)
        if kind == 0:  # anything at all
            length = rng.below(24)
            msg = bytes(rng.below(256) for _ in range(length))
        else:
            code = rng.below(13)
            arg_len = rng.below(4) if kind == 1 else (1, 2, 1)[rng.below(3)]
            msg = bytearray(command(code, bytes(rng.below(256) for _ in range(arg_len)), i))
            if kind == 3:  # flip a byte
                j = rng.below(len(msg))
                msg[j] = rng.below(256)
            msg = bytes(msg)
        link = LINK_BLE if rng.below(2) else LINK_SERIAL
        try:
            n_reply = h.handle(msg, len(msg), link)
        except BaseException as e:  # counting exactly what must never happen
            escaped += 1
            if first_escape is None:
                first_escape = repr(e)
            continue
        r = parse_reply(h.reply, n_reply)
        ok = n_reply >= 13 and r["version"] == 1 and r["type"] == protocol.T_REPLY
        if len(msg) >= 5:
            ok = ok and r["request_seq"] == msg[3] | (msg[4] << 8)
        ok = ok and 0 <= r["result"] <= 7
        if not ok:
            bad_replies += 1
        else:
            results[r["result"]] += 1
        dev.pending = 0  # REBOOT/REPL would reset the board here
        for _ in range(rng.below(3)):
            dev.sampler.poll()
            clock.advance(rng.below(20000))
        enc.v = rng.below(20001) - 10000
        while dev.ring.pending():
            dev.ring.pop()
    return {
        "n": n,
        "escaped": escaped,
        "first_escape": first_escape,
        "bad_replies": bad_replies,
        "results": results,
        "errors": h.errors,
        "last_error": repr(h.last_error) if h.last_error is not None else None,
        "bad_commands": h.bad_commands,
        "samples_total": dev.sampler.samples_total,
    }


# --- configuration -------------------------------------------------------------------------


def config_errors(cases):
    # cases: [[name, dict]]; returns {name: [key, message] or None}
    out = {}
    for name, d in cases:
        try:
            config.validate(d)
            out[name] = None
        except config.ConfigError as e:
            out[name] = [e.key, str(e)]
    return out


# --- BLE: the real radio.py and ble_link.py over the fake `bluetooth` ----------------------


class BLERig:
    """A device with its BLE link, a fake central, and a fake clock to run samples with."""

    def __init__(
        self,
        cells=8,
        rate_hz=100,
        secure=False,
        cccd_events=False,
        ring_slots=48,
        secrets_path="/tmp/legpress-test-secrets.json",
    ):
        import bluetooth

        from legpress_fw.ble_link import BLELink
        from legpress_fw.radio import BLERadio

        self.ble = ble = bluetooth.BLE()
        ble.reset()  # CPython shares the singleton between scenarios
        ble.report_cccd = cccd_events
        self.dev, self.adcs, self.enc, self.clock = make_device(
            cells, rate_hz, 1000, ring_slots=ring_slots
        )
        ble.active(True)
        self.radio = BLERadio(
            ble, "LegPress-1E92", secure, secrets_path=secrets_path, cccd_events=cccd_events
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


def _stream_summary(rig, cells, compact=False):
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


def ble_batching(mtu, rate_hz, cells, seconds=2):
    rig = BLERig(cells, rate_hz)
    rig.connect(mtu)
    rig.subscribe(rig.radio.h_stream)  # invisible on NimBLE; START implies it
    rig.write(protocol.CMD_START)
    rig.run(rate_hz * seconds)
    out = _stream_summary(rig, cells, compact=rig.dev.compact)
    out["per_second"] = out["packets"] // seconds
    out["compact"] = rig.dev.compact
    out["faults"] = rig.dev.faults()
    out["info"] = rig.info()
    out["start_result"] = rig.replies()[0]["result"]
    if rig.dev.compact and rig.stream():
        # First record, decoded: cells >> 4, position i16.
        p = rig.stream()[0]
        out["compact_cells"] = [p[9 + c] for c in range(cells)]
        out["compact_position"] = struct.unpack_from("<h", p, 9 + cells)[0]
        out["adc"] = [a.v for a in rig.adcs]
    return out


def ble_mtu_too_small(cells=10):
    rig = BLERig(cells, 100)
    rig.connect()  # no MTU exchange: 23
    rig.subscribe(rig.radio.h_stream)
    rig.write(protocol.CMD_START)
    rig.run(100)
    before = {
        "packets": len(rig.stream()),
        "faults": rig.dev.faults(),
        "running": rig.dev.sampler.running,
    }
    rig.ble.exchange_mtu(0, 247)
    rig.service()
    rig.run(100)
    after = _stream_summary(rig, cells)
    after["faults"] = rig.dev.faults()
    return {"before": before, "after": after, "start": rig.replies()[0]["result"]}


def ble_subscriptions_nimble():
    rig = BLERig(8, 100)
    h_stream, h_status = rig.radio.h_stream, rig.radio.h_status
    rig.connect(247)
    rig.run(100)  # connected, nothing asked: nothing sent
    idle = len(rig.stream())
    rig.dev.update_status()
    rig.link.send_status()  # nobody subscribed to status: the stack sends nothing
    status_unsubscribed = len(rig.sent(h_status))
    rig.subscribe(h_status)
    rig.link.send_status()
    status_subscribed = len(rig.sent(h_status))
    rig.subscribe(h_stream)
    rig.write(protocol.CMD_START)
    rig.run(100)
    streaming = len(rig.stream())
    rig.write(protocol.CMD_STOP)
    rig.run(100)
    after_stop = len(rig.stream())
    return {
        "idle": idle,
        "status_unsubscribed": status_unsubscribed,
        "status_subscribed": status_subscribed,
        "streaming": streaming,
        "after_stop": after_stop,
        "unsolicited": len(rig.ble.unsolicited),
        "replies": [r["result"] for r in rig.replies()],
    }


def ble_subscriptions_cccd():
    # A stack that reports CCCD writes: they alone decide.
    rig = BLERig(8, 100, cccd_events=True)
    h_stream = rig.radio.h_stream
    rig.connect(247)
    rig.subscribe(rig.radio.h_control)
    rig.write(protocol.CMD_START)  # not subscribed to the stream yet
    rig.run(100)
    before = len(rig.stream())
    rig.subscribe(h_stream)
    rig.run(100)
    subscribed = len(rig.stream())
    rig.subscribe(h_stream, on=False)  # unsubscribing stops the stream
    rig.run(100)
    return {
        "before": before,
        "subscribed": subscribed,
        "after_unsubscribe": len(rig.stream()),
        "streaming_after": rig.dev.want_stream,
        "unsolicited": len(rig.ble.unsolicited),
        "replies": len(rig.replies()),
    }


def ble_reconnect():
    rig = BLERig(8, 100)
    ble = rig.ble
    out = {"adverts_at_start": len(ble.adverts), "advertising_at_start": ble.advertising}
    adv = ble.adverts[-1]
    out["adv_len"] = len(adv[1])
    out["resp_len"] = len(adv[2])
    uuid = bytes(reversed(unhexlify("6c7000019b5e4d3a8f1c2e4a6b8c0d1e")))
    out["adv_has_uuid"] = uuid in adv[1]
    out["resp_name"] = bytes(adv[2][2:]).decode()
    rig.connect(247)
    out["advertising_connected"] = ble.advertising
    rig.write(protocol.CMD_START)
    rig.run(40)
    out["first_session"] = len(rig.stream())
    ble.disconnect(0)
    rig.service()
    out["advertising_after_disconnect"] = ble.advertising
    out["adverts_after_disconnect"] = len(ble.adverts)
    out["streaming_after_disconnect"] = rig.dev.want_stream
    out["ring_after_disconnect"] = rig.dev.ring.pending()
    rig.run(40)  # nothing runs while nobody is connected
    out["samples_while_away"] = rig.dev.sampler.running
    rig.connect(247)
    rig.write(protocol.CMD_START)
    rig.run(40)
    pkts = rig.stream()
    second = pkts[out["first_session"] :]
    out["second_session"] = len(second)
    out["second_first_flags"] = second[0][2] if second else None
    st = rig.dev.update_status()
    out["connections"] = st.connections
    out["link"] = st.link
    out["mtu"] = st.mtu
    # A disconnect and a new connection between two steps are both seen.
    ble.disconnect(0)
    ble.connect(0)
    rig.service()
    out["quick_reconnect_connected"] = rig.dev.ble_connected
    out["quick_reconnect_streaming"] = rig.dev.want_stream
    out["connections_final"] = rig.dev.update_status().connections
    return out


def ble_enomem(failures, ring_slots=48, samples=200, recover=True):
    rig = BLERig(8, 100, ring_slots=ring_slots)
    rig.connect(247)
    rig.write(protocol.CMD_START)
    rig.ble.fail_notify(failures)
    raised = None
    try:
        rig.run(samples)
        if recover:
            rig.ble._fail = []
            rig.run(samples)
    except Exception as e:
        raised = repr(e)
    pkts = rig.stream()
    fields = [packet_fields(p, 8) for p in pkts]
    seqs = [f["seq"] for f in fields]
    gaps = 0
    for i in range(1, len(seqs)):
        gaps += (seqs[i] - seqs[i - 1] - 1) & 0xFFFF
    st = rig.dev.update_status()
    return {
        "raised": raised,
        "received": len(pkts),
        "seq_gaps": gaps,
        "enomem": st.notify_enomem,
        "dropped_samples": st.samples_dropped,
        "dropped_flags": sum(1 for f in fields if f["flags"] & protocol.F_DROPPED),
        "samples_total": st.samples_total,
        "received_samples": sum(f["records"] for f in fields),
        "pending": rig.dev.ring.pending(),
        "packets_sent": st.packets_sent,
        "send_errors": rig.link.send_errors,
    }


def ble_info_and_security():
    rig = BLERig(8, 100, secure=True)
    defn = rig.ble.services[0][1]
    out = {"control_flags": defn[3][1], "stream_flags": defn[0][1], "info_flags": defn[1][1]}
    out["info_boot"] = rig.info()
    rig.connect(247)
    out["info_mtu"] = rig.info()
    rig.write(protocol.CMD_SET_RATE, struct.pack("<H", 200))
    out["info_rate"] = rig.info()
    out["replies"] = [r["result"] for r in rig.replies()]
    # Bond keys: the stack hands them over in IRQs; the housekeeping task saves them; a new
    # radio (after a reset) hands them back.
    radio = rig.radio
    ok = rig.ble.inject(30, (1, memoryview(b"peer-addr"), memoryview(b"long-term-key")))
    out["set_secret"] = ok
    out["dirty"] = radio.secrets_dirty
    radio.save_secrets()
    rig2 = BLERig(8, 100, secure=True)
    out["get_secret"] = bytes(rig2.ble.inject(29, (1, 0, memoryview(b"peer-addr")))).decode()
    out["get_by_index"] = bytes(rig2.ble.inject(29, (1, 0, None))).decode()
    out["get_missing"] = rig2.ble.inject(29, (2, 0, None))
    os.remove("/tmp/legpress-test-secrets.json")
    return out


# --- USB serial ----------------------------------------------------------------------------


class BytesIn:
    """stream_in for SerialLink: hands out queued bytes, up to the buffer size per call."""

    def __init__(self):
        self.data = b""

    def feed(self, data):
        self.data += data

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

    def write(self, buf, n):
        self.data += bytes(buf[:n])
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


def serial_session():
    from legpress_fw.serial_link import SerialLink

    dev, _adcs, enc, clock = make_device(8, 100, 1000)
    inp = BytesIn()
    out = BytesOut()
    link = SerialLink(dev, inp, out)
    link.start()
    r = {"start_bytes": list(out.data), "log_before_active": link.log("not yet")}
    # REPL noise, a frame with a broken CRC, then commands.
    inp.feed(b">>> print('hi')\r\nhi\r\n>>> ")
    bad = bytearray(frame(command(protocol.CMD_GET_INFO, b"", 1)))
    bad[3] ^= 0x55
    inp.feed(bytes(bad))
    inp.feed(frame(command(protocol.CMD_GET_INFO, b"", 2)))
    inp.feed(b"\x03\x03\r\n")  # a terminal's Ctrl-C: noise that runs into the next frame
    inp.feed(frame(command(protocol.CMD_GET_STATUS, b"", 9)))  # ... so this one is lost
    # A host leads each command with 0x00: whatever came before is then a frame of its own.
    inp.feed(b"\x03\x03\r\n\x00" + frame(command(protocol.CMD_START, b"", 3)))
    for i in range(100):
        link.service()
        enc.v = i
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
    link.service()
    dev.update_status()
    link.send_status()
    r["log_after_active"] = link.log("hello from the device")
    inp.feed(frame(command(protocol.CMD_STOP, b"", 4)))
    inp.feed(frame(command(0x7F, b"", 5)))
    inp.feed(frame(command(protocol.CMD_REPL, b"", 6)))
    link.service()
    link.send_status()  # not streaming any more: no STATUS
    frames, host_bad = read_frames(out.data)
    kinds = []
    replies = []
    samples = 0
    seqs = []
    for f in frames:
        kinds.append(f[1])
        if f[1] == protocol.T_REPLY:
            rep = parse_reply(f, len(f))
            replies.append([rep["request_seq"], rep["command"], rep["result"]])
        elif f[1] == protocol.T_SAMPLES:
            samples += (len(f) - 9) // 20
            seqs.append(f[3] | (f[4] << 8))
        elif f[1] == protocol.T_LOG:
            r["log_text"] = bytes(f[9:]).decode()
    r.update(
        {
            "kinds": kinds,
            "replies": replies,
            "samples": samples,
            "seqs_contiguous": seqs == list(range(seqs[0], seqs[0] + len(seqs)))
            if seqs
            else False,
            "host_bad_frames": host_bad,
            "device_bad_frames": link.bad_frames,
            "frames_in": link.frames_in,
            "active": link.active,
            "pending": dev.pending,
            "bad_commands": dev.bad_commands,
            "packets_sent": dev.packets_sent,
            "zero_free": all(b != 0 for f in frames for b in frame(f)[:-1]),
        }
    )
    return r


# --- app: supervisor, watchdog, LED, actions -----------------------------------------------


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


async def supervisor_restarts():
    import asyncio

    from legpress_fw import app

    dev, _adcs, _enc, _clock = make_device(8, 100, 0)
    logs = []
    pauses = []

    async def fake_sleep(ms):
        pauses.append(ms)
        await asyncio.sleep(0)

    sup = app.Supervisor(dev, logs.append, fake_sleep)
    calls = [0]

    async def flaky():
        calls[0] += 1
        if calls[0] <= 6:
            raise ValueError(f"boom {calls[0]}")
        await asyncio.sleep(0)

    await sup.guard("flaky", flaky)  # returns once the task ends normally
    # A spawned task that fails once, then keeps running until cancelled.
    runs = [0]

    # (Millisecond sleeps: on the WebAssembly port a task spinning on sleep(0) starves the
    # top-level coroutine.)
    async def forever():
        runs[0] += 1
        if runs[0] == 1:
            raise OSError(5)
        while True:
            await asyncio.sleep(0.001)

    task = sup.spawn("forever", forever)
    for _ in range(20):
        await asyncio.sleep(0.001)
    task.cancel()
    try:
        await task
    except BaseException as e:  # CancelledError, which the supervisor must not swallow
        cancelled = type(e).__name__
    else:
        cancelled = None
    return {
        "calls": calls[0],
        "restarts": sup.restarts,
        "task_restarts": dev.task_restarts,
        "pauses": pauses,
        "logs": logs,
        "faults": dev.faults(),
        "forever_runs": runs[0],
        "cancelled": cancelled,
        "led_fault": app.led_pattern(dev, True, app.ticks_ms(), sup.last_restart_ms)
        == app.LED_FAULT,
    }


def watchdog_feeding():
    from legpress_fw import app

    dev, _adcs, _enc, clock = make_device(8, 100, 0)
    board = FakeBoard()
    a = app.App(dev, board, watchdog_s=8)
    logs = []
    a.log = logs.append
    health = a.health
    s = dev.sampler
    now = 0
    seconds = []

    def second(sample=True, beat_sampler=True):
        # One second of the device: 100 sampler polls, task beats, then the 1 s check.
        nonlocal now
        for _ in range(10):
            now += 100
            if sample:
                for _ in range(10):
                    s.poll()
                    clock.advance(s.period_us)
            if beat_sampler:
                health.progress[app.SAMPLER] += 1
            health.progress[app.HOUSEKEEPING] += 1
        seconds.append([a.check_watchdog(now), health.reason])

    dev.start(LINK_SERIAL)
    second()
    second()
    second(sample=False)  # the sampler task loops but no sample comes: stalled
    second()
    dev.stop(LINK_SERIAL)
    second(sample=False)  # idle: no samples expected, beats are enough
    for _ in range(4):
        second(sample=False, beat_sampler=False)  # the sampler task hangs: silent > 3 s
    second(sample=False)  # it beats again
    return {"seconds": seconds, "feeds": board.feeds, "logs": logs}


def app_actions_and_led():
    from legpress_fw import app

    dev, adcs, _enc, clock = make_device(8, 100, 0, mem_free=lambda: 50000)
    board = FakeBoard()
    a = app.App(dev, board, watchdog_s=8)
    a.log = lambda text: None
    out = {}
    out["advertising"] = app.led_pattern(dev, True, 0, None) == app.LED_ADVERTISING
    out["idle"] = app.led_pattern(dev, False, 0, None) == app.LED_IDLE
    dev.on_ble_connect()
    out["connected"] = app.led_pattern(dev, False, 0, None) == app.LED_CONNECTED
    dev.start(LINK_BLE)
    out["streaming_mtu23_fault"] = app.led_pattern(dev, False, 0, None) == app.LED_STREAMING
    dev.on_ble_mtu(247)
    out["streaming"] = app.led_pattern(dev, False, 0, None) == app.LED_STREAMING
    dev.identify(2)
    out["identify"] = app.led_pattern(dev, False, app.ticks_ms(), None) == app.LED_IDENTIFY
    dev.identify_until = None
    adcs[3].v = 4095  # a shorted cell reads at the rail
    for _ in range(dev.sampler.batch):  # rails count once their packet is in the ring
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
    dev.update_status()
    out["dead_cells"] = dev.status.dead_cells
    out["fault"] = app.led_pattern(dev, False, 0, None) == app.LED_FAULT
    out["blink"] = [app.led_on(app.LED_FAULT, t) for t in range(0, 1000, 100)]
    # REBOOT and REPL happen after a pause that lets the reply go out.
    dev.request(protocol.CMD_REPL, LINK_SERIAL)
    a.housekeeping_step(1000, 1)
    out["reset_at_once"] = board.resets
    a.housekeeping_step(1400, 5)
    out["resets"] = board.resets
    out["repl_requests"] = board.repl_requests
    out["pending_after"] = dev.pending
    dev.request(protocol.CMD_REBOOT, LINK_BLE)
    a.housekeeping_step(2000, 11)
    a.housekeeping_step(2400, 15)
    out["resets_after_reboot"] = board.resets
    out["repl_requests_after_reboot"] = board.repl_requests
    out["led_writes"] = len(board.led_states)
    return out


# --- board: machine objects from the configuration (fake `machine`) ------------------------


def board_objects():
    import machine

    from legpress_fw import board as board_mod

    machine.reset_fakes()
    out = {"chip": board_mod.chip()}
    cfg = config.validate({})
    b = board_mod.Board(cfg)
    sel = [machine.Pin.instances[p] for p in (23, 22, 21, 19)]
    out["select_modes"] = [p.mode for p in sel]
    sig = machine.ADC.instances[36]
    out["sig_atten"] = sig._atten

    def mux_output():  # each channel reads its own number x 100 (S0 is bit 0)
        ch = sel[0].value() | sel[1].value() << 1 | sel[2].value() << 2 | sel[3].value() << 3
        return (ch * 100) << 4

    sig.source = mux_output
    buf = bytearray(16)
    b.pad.read_into(buf, 0)
    out["mux_cells"] = list(struct.unpack("<8H", buf))
    out["sig_reads"] = sig.reads  # a discarded read after every switch
    enc = machine.Encoder.instances[0]
    out["encoder"] = [enc.phase_a.id, enc.phase_b.id, enc.phases(), enc.filter_ns]
    enc.move(-250)
    out["position"] = b.position.value()
    out["zero_before"] = b.position.zero()
    out["after_zero"] = b.position.value()
    led = machine.Pin.instances[27]
    out["led_initial"] = led.value()
    b.led(True)
    out["led_on"] = led.value()
    b.led(False)
    out["led_off"] = led.value()
    b.watchdog_start(8000)
    b.watchdog_feed()
    b.watchdog_feed()
    out["wdt"] = [machine.WDT.instances[-1].timeout, machine.WDT.instances[-1].feeds]
    machine.set_reset_cause(machine.WDT_RESET)
    out["watchdog_reset"] = b.watchdog_reset()
    out["repl_flag_initially"] = board_mod.take_repl_flag()
    b.request_repl()
    out["repl_flag"] = board_mod.take_repl_flag()
    out["repl_flag_once"] = board_mod.take_repl_flag()
    try:
        b.reset()
        out["reset"] = "returned"
    except machine.MachineReset:
        out["reset"] = "reset"
    # Direct wiring, inverted analog position, pin-interrupt quadrature, none.
    machine.reset_fakes()
    d = board_mod.Board(
        config.validate(
            {"pad": "direct", "cells": 4, "position": "analog", "position_pin": 32, "invert": True}
        )
    )
    for i, p in enumerate((36, 39, 34, 35)):
        machine.ADC.instances[p].feed([(1000 + i) << 4])
    d.pad.read_into(buf, 0)
    out["direct_cells"] = list(struct.unpack("<4H", buf[:8]))
    out["direct_pins"] = sorted(machine.ADC.instances)
    machine.ADC.instances[32].feed([700 << 4, 650 << 4, 600 << 4])
    out["analog"] = [d.position.value(), d.position.zero(), d.position.value()]
    machine.reset_fakes()
    q = board_mod.Board(config.validate({"position": "pin_irq", "led_pin": None}))
    a, bpin = machine.Pin.instances[25], machine.Pin.instances[26]
    for level_a, level_b in ((0, 1), (0, 0), (1, 0), (1, 1)) * 3:  # 3 cycles one way
        a.drive(level_a)
        bpin.drive(level_b)
    out["pin_irq_position"] = q.position.value()
    out["no_led"] = 27 not in machine.Pin.instances
    n = board_mod.Board(config.validate({"position": "none"}))
    out["none_position"] = [n.position.value(), n.position.zero()]
    # No machine.Encoder (MicroPython < 1.26): a configuration error that says what to do.
    saved = machine.Encoder
    del machine.Encoder
    try:
        board_mod.Board(config.validate({}))
        out["no_encoder"] = None
    except config.ConfigError as e:
        out["no_encoder"] = [e.key, str(e)]
    finally:
        machine.Encoder = saved
    return out


def app_build():
    # The wiring in app.build() with the fake machine and bluetooth: boot report, radio,
    # links, and the serial link's console handling.
    import bluetooth
    import machine

    from legpress_fw import app
    from legpress_fw import board as board_mod

    machine.reset_fakes()
    bluetooth.BLE().reset()
    cfg = config.validate({"security": "open"})
    board = board_mod.Board(cfg)
    a = app.build(cfg, False, board, "esp32")
    dev = a.device
    out = {
        "name": dev.info.name.decode(),
        "device_id": list(dev.info.device_id),
        "has_ble": a.ble_link is not None,
        "has_serial": a.serial is not None,
        "faults": dev.faults(),
        "control_flags": bluetooth.BLE().services[0][1][3][1],
        "health": sorted(a.health._tasks),
    }
    a.ble_link.start()
    out["advertising"] = bluetooth.BLE().advertising
    return out


def app_main_paths():
    import machine

    from legpress_fw import app

    machine.reset_fakes()
    with open("/tmp/legpress-bad-config.json", "w") as f:
        f.write('{"rate_hz": 1000}')
    out = {"bad_config": app.main("/tmp/legpress-bad-config.json")}
    machine.RTC().memory(b"legpress:repl")
    out["repl_flag"] = app.main("/tmp/legpress-bad-config.json")
    out["flag_cleared"] = machine.RTC().memory() == b""
    os.remove("/tmp/legpress-bad-config.json")
    return out


def framing_equivalence(seed=99, count=600):
    # The in-place COBS encoder against the byte-by-byte one, and back through decode_into,
    # for messages of every length up to 300 bytes with sparse to dense zeros.
    from legpress_fw import framing

    rng = Rng(seed)
    fast = bytearray(400)
    slow = bytearray(400)
    back = bytearray(400)
    mismatches = 0
    roundtrip_errors = 0
    zero_in_frame = 0
    for i in range(count):
        n = i % 301
        density = rng.below(5)
        msg = bytearray(n + 7)  # longer than n: encode_into must stop at n
        for j in range(len(msg)):
            msg[j] = 0 if rng.below(8) < density else 1 + rng.below(255)
        a = framing.encode_into(fast, msg, n)
        b = framing._encode_long(slow, msg, n)
        if fast[:a] != slow[:b]:
            mismatches += 1
        if fast.find(b"\x00", 0, a - 1) >= 0 or fast[a - 1] != 0:
            zero_in_frame += 1
        m = framing.decode_into(back, fast, a - 1)
        if m != n or back[:m] != msg[:n]:
            roundtrip_errors += 1
    return {
        "count": count,
        "mismatches": mismatches,
        "roundtrip_errors": roundtrip_errors,
        "zero_in_frame": zero_in_frame,
    }


def app_status_every_second():
    # Housekeeping ticks every 100 ms; STATUS goes to subscribed clients once a second.
    from legpress_fw import app

    rig = BLERig(8, 100)
    board = FakeBoard()
    a = app.App(rig.dev, board, rig.link, rig.radio, watchdog_s=8)
    a.log = lambda text: None
    rig.connect(247)
    rig.subscribe(rig.radio.h_status)
    for tick in range(25):
        a.housekeeping_step(tick * 100, tick)
    sent = rig.sent(rig.radio.h_status)
    kinds = [p[1] for p in sent]
    lengths = sorted(set(len(p) for p in sent))
    readable = rig.ble.values[rig.radio.h_status]
    return {
        "status_notifications": len(sent),
        "kinds": sorted(set(kinds)),
        "lengths": lengths,
        "readable_len": len(readable),
        "feeds": board.feeds,
        "led_writes": len(board.led_states),
    }


async def app_runs_under_asyncio(run_ms=1200):
    # The real tasks (sampler, BLE, serial, housekeeping) under the supervisor for about a
    # second of wall-clock time, with the device on the real tick counter.
    import asyncio

    from legpress_fw import app
    from legpress_fw.ble_link import BLELink
    from legpress_fw.compat import ticks_us
    from legpress_fw.serial_link import SerialLink

    rig = BLERig(8, 100)
    dev = Device(rig.dev.cfg, rig.dev.info, rig.dev.pad, rig.dev.position, ticks_us, mem_free=None)
    link = BLELink(rig.radio, dev)
    rig.link = link
    inp = BytesIn()
    out = BytesOut()
    serial = SerialLink(dev, inp, out)
    board = FakeBoard()
    a = app.App(dev, board, link, rig.radio, serial, watchdog_s=8)
    logs = []
    a.log = logs.append
    rig.connect(247)
    rig.write(protocol.CMD_START)
    inp.feed(b"\x00" + frame(command(protocol.CMD_GET_STATUS, b"", 77)))
    task = asyncio.create_task(a.run())
    await asyncio.sleep(run_ms / 1000)
    task.cancel()
    cancelled = False
    try:
        await task
    except BaseException:  # CancelledError
        cancelled = True
    frames, _bad = read_frames(out.data)
    return {
        "samples": dev.sampler.samples_total,
        "packets": len(rig.stream()),
        "serial_replies": [f[1] for f in frames],
        "restarts": a.supervisor.restarts,
        "feeds": board.feeds,
        "wdt_timeout": board.wdt_timeout,
        "logs": logs,
        "cancelled": cancelled,
    }


def bad_commands_both_links():
    from legpress_fw.serial_link import SerialLink

    rig = BLERig(8, 100)
    inp = BytesIn()
    serial = SerialLink(rig.dev, inp, BytesOut())
    rig.connect(247)
    rig.write(0x42)  # unknown, over BLE
    inp.feed(frame(command(0x43, b"", 1)))  # unknown, over serial
    serial.service()
    rig.write(protocol.CMD_IDENTIFY, b"\x00")  # out of range, over BLE
    return {"status": rig.dev.update_status().bad_commands}
