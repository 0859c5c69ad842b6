# Builds every golden vector with the firmware's own encoder. Runs under MicroPython (the
# test harness) and CPython alike: build_all(vectors) -> {name: hex}.
#
# Sample packets come out of the real Sampler driven by fake ADCs, a fake encoder and a fake
# tick counter, exactly as on the device; the other messages come from protocol.pack_*.

import struct
from binascii import hexlify

import wire
from fw_fakes import ADC, TICKS_MASK, Clock, Encoder

from legpress_fw import framing, protocol
from legpress_fw.pad import DirectPad
from legpress_fw.position import EncoderPosition
from legpress_fw.protocol import DeviceClock
from legpress_fw.ring import PacketRing
from legpress_fw.sampler import Sampler


class _Obj:
    def __init__(self, **kw):
        for k in kw:
            setattr(self, k, kw[k])


def _hex(buf, n=None):
    mv = memoryview(buf)
    return hexlify(mv if n is None else mv[:n]).decode()


def samples_packet(v):
    f = v["fields"]
    fw = v["firmware"]
    k = f["n_cells"]
    adcs = [ADC() for _ in range(k)]
    enc = Encoder()
    ticks = Clock(fw["ticks"])
    clock = DeviceClock(ticks)
    clock._epoch = fw["epoch"]
    ring = PacketRing(4, wire.HEADER_SIZE + fw["batch"] * protocol.record_size(k))
    pad = DirectPad(adcs)
    s = Sampler(pad, EncoderPosition(enc), ticks, clock, ring, f["period_us"], fw["batch"])
    s.seq = f["seq"]
    s.start()
    for r in range(fw["batch"]):
        for c in range(k):
            adcs[c].v = f["cells"][r][c]
        enc.v = f["position"][r]
        s.poll()
        ticks.advance(f["period_us"])
    packet = ring.peek()
    return bytes(packet)


def build_all(vectors):
    out = {}
    packets = {}
    for v in vectors:
        kind = v["kind"]
        f = v["fields"]
        buf = bytearray(300)
        clock = DeviceClock(Clock(f.get("t_us", 0) & TICKS_MASK))
        clock._epoch = f.get("t_us", 0) >> 30
        t = f.get("t_us", 0) & TICKS_MASK
        if kind == "samples":
            packets[v["name"]] = samples_packet(v)
            out[v["name"]] = _hex(packets[v["name"]])
        elif kind == "samples_compact":
            src = packets[v["firmware"]["source"]]
            n = protocol.compact_into(buf, src, f["n_cells"], v["firmware"]["record"], 0)
            out[v["name"]] = _hex(buf, n)
        elif kind == "device_info":
            info = _Obj(
                fw_version=f["fw_version"],
                period_us=f["period_us"],
                n_cells=f["n_cells"],
                tick_period_log2=f["tick_period_log2"],
                encoder_counts_per_m=f["encoder_counts_per_m"],
                position_sensor=f["position_sensor"],
                adc_bits=f["adc_bits"],
                cell_pitch_mm=f["cell_pitch_mm"],
                oversample=f["oversample"],
                batch_samples=f["batch_samples"],
                mtu=f["mtu"],
                device_id=bytes.fromhex(f["device_id"]),
                cell_channel=f["cell_channel"],
                tare=f["tare"],
                name=f["name"].encode(),
            )
            protocol.pack_header(buf, wire.T_DEVICE_INFO, 0, f["seq"], clock, t)  # as the links do
            n = protocol.pack_info_body(buf, wire.HEADER_SIZE, info)
            out[v["name"]] = _hex(buf, n)
        elif kind == "status":
            st = _Obj(**f)
            protocol.pack_header(buf, wire.T_STATUS, 0, f["seq"], clock, t)
            n = protocol.pack_status_body(buf, wire.HEADER_SIZE, st)
            out[v["name"]] = _hex(buf, n)
        elif kind == "reply":
            n = protocol.pack_reply(
                buf, f["seq"], clock, t, f["request_seq"], f["command"], f["result"]
            )
            payload = bytes.fromhex(f["payload"])
            buf[n : n + len(payload)] = payload
            out[v["name"]] = _hex(buf, n + len(payload))
        elif kind == "log":
            n = protocol.pack_log(buf, f["seq"], clock, t, f["text"].encode())
            out[v["name"]] = _hex(buf, n)
        elif kind == "serial_frame":
            msg = bytes.fromhex(f["message"])
            dst = bytearray(len(msg) + 16)
            n = framing.encode_into(dst, msg, len(msg))
            out[v["name"]] = _hex(dst, n)
            # And back: the firmware's own frame reader recovers the message.
            reader = framing.FrameReader()
            got = 0
            for b in dst[:n]:
                got = reader.feed_byte(b) or got
            assert got == len(msg) and bytes(reader.message[:got]) == msg, v["name"]
        elif kind == "command":
            # Host-to-device: the firmware parses it (the control handler's tests answer it).
            raw = bytes.fromhex(v["hex"])
            version, mtype, _flags, seq = struct.unpack_from("<BBBH", raw, 0)
            assert (version, mtype, seq, raw[9]) == (1, wire.T_COMMAND, f["seq"], f["command"])
            if raw[9] in (wire.CMD_BEEP, wire.CMD_SET_LIMIT):
                _run_buzzer_command(raw)
            out[v["name"]] = v["hex"]
    return out


def _run_buzzer_command(raw):
    # BEEP and SET_LIMIT through the firmware's control handler: accepted, and applied as the
    # vector's arguments say.
    from fw_rigs import make_device

    from legpress_fw.buzzer import Buzzer
    from legpress_fw.control import CommandHandler

    drive = []
    dev = make_device(buzzer=Buzzer(drive.append))[0]
    handler = CommandHandler(dev)
    handler.handle(raw, len(raw), 1)
    assert handler.reply[12] == wire.R_OK, raw
    if raw[9] == wire.CMD_BEEP:
        assert drive == [True] and dev.buzzer.plays == 1
    else:
        limit, rearm, pattern = struct.unpack_from("<iHH", raw, 10)
        s = dev.sampler
        assert (s._limit_at, s._rearm_at, s._limit_pattern) == (limit, limit - rearm, pattern)
