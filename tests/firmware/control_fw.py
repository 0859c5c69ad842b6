# Control command scenarios for test_control.py.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.

import struct

import wire
from fw_rigs import BLERig, BytesIn, BytesOut, Rng, command, frame, make_device, parse_reply

from legpress_fw.control import CommandHandler
from legpress_fw.device import LINK_BLE, LINK_SERIAL


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
    run("zero", command(wire.CMD_ZERO))
    out["position_after_zero"] = dev.position.value()
    run("tare", command(wire.CMD_TARE, b"\x04"))
    run("tare_default", command(wire.CMD_TARE, b"\x00"))
    run("set_rate", command(wire.CMD_SET_RATE, struct.pack("<H", 200)))
    run("set_rate_low", command(wire.CMD_SET_RATE, struct.pack("<H", 49)))
    run("set_rate_high", command(wire.CMD_SET_RATE, struct.pack("<H", 401)))
    run("identify", command(wire.CMD_IDENTIFY, b"\x05"))
    run("identify_zero", command(wire.CMD_IDENTIFY, b"\x00"))
    run("start", command(wire.CMD_START))
    out["streaming"] = dev.want_stream
    out["stream_link"] = dev.stream_link
    run("stop", command(wire.CMD_STOP))
    out["streaming_after_stop"] = dev.want_stream
    run("get_status", command(wire.CMD_GET_STATUS))
    run("get_info", command(wire.CMD_GET_INFO))
    run("reboot", command(wire.CMD_REBOOT))
    out["pending"] = dev.pending
    run("reboot_again", command(wire.CMD_REBOOT))
    dev.pending = 0
    run("repl", command(wire.CMD_REPL))
    out["pending_repl"] = dev.pending
    dev.pending = 0
    run("unknown", command(0x42))
    run("zero_code", command(0))
    run("start_with_arg", command(wire.CMD_START, b"\x01"))
    run("tare_no_arg", command(wire.CMD_TARE))
    run("short", b"\x01\x05\x00\x09")
    run("empty", b"")
    run("header_only", command(wire.CMD_START)[:9])
    bad_version = bytearray(command(wire.CMD_START))
    bad_version[0] = 2
    run("bad_version", bytes(bad_version))
    bad_type = bytearray(command(wire.CMD_START))
    bad_type[1] = wire.T_SAMPLES
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
    results = [0] * (wire.R_NOT_PERMITTED + 1)
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
        ok = n_reply >= 13 and r["version"] == 1 and r["type"] == wire.T_REPLY
        if len(msg) >= 5:
            ok = ok and r["request_seq"] == msg[3] | (msg[4] << 8)
        ok = ok and 0 <= r["result"] <= wire.R_NOT_PERMITTED
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


def bad_commands_both_links():
    from legpress_fw.serial_link import SerialLink

    rig = BLERig(8, 100)
    inp = BytesIn()
    serial = SerialLink(rig.dev, inp, BytesOut())
    rig.connect(247)
    rig.write(0x42)  # unknown, over BLE
    inp.feed(frame(command(0x43, b"", 1)))  # unknown, over serial
    serial.service()
    rig.write(wire.CMD_IDENTIFY, b"\x00")  # out of range, over BLE
    return {"status": rig.dev.update_status().bad_commands}


def beep_and_limit():
    # BEEP plays a pattern at once; SET_LIMIT makes the device beep by itself in the sample in
    # which the sled passes the limit, once until it came back, streaming or not (a dropped
    # link stops the stream, not the limit).
    from legpress_fw.buzzer import Buzzer

    drive = []  # (sample index, on)
    index = [0]
    buzzer = Buzzer(lambda on: drive.append([index[0], on]))
    dev, _adcs, enc, clock = make_device(8, 100, 0, buzzer=buzzer)
    handler = CommandHandler(dev)
    out = {}

    def send(code, args=b""):
        msg = command(code, args, 40)
        n = handler.handle(msg, len(msg), LINK_BLE)
        return parse_reply(handler.reply, n)["result"]

    out["beep"] = send(wire.CMD_BEEP, struct.pack("<H", 0b10101))
    out["on_at_once"] = drive[:]
    for _ in range(8):  # housekeeping steps, 100 ms apart
        buzzer.step()
    out["pattern"] = [on for _i, on in drive]
    out["playing_after"] = buzzer.playing()
    out["beep_bad_length"] = send(wire.CMD_BEEP, b"\x01")
    out["limit_bad_length"] = send(wire.CMD_SET_LIMIT, b"\x00" * 7)
    drive.clear()
    out["set_limit"] = send(wire.CMD_SET_LIMIT, struct.pack("<iHH", 500, 100, 0b111))
    dev.on_ble_connect()
    dev.on_ble_mtu(247)
    out["start"] = send(wire.CMD_START)
    # The sled goes down past 500, back up to 420 (not yet re-armed: 500 - 100 = 400), down
    # again (no second beep), up to 300 (re-armed), down again (a beep).
    path = list(range(0, 620, 20)) + list(range(600, 410, -20)) + list(range(420, 620, 20))
    path += list(range(600, 280, -20)) + list(range(280, 620, 20))
    crossings = []
    armed = True
    for i, pos in enumerate(path):
        if armed and pos > 500:
            crossings.append(i)
            armed = False
        elif not armed and pos < 400:
            armed = True
        index[0] = i
        if i % 10 == 9:
            buzzer.step()  # housekeeping, every 100 ms
        enc.v = pos
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
        if i == len(path) // 2:
            dev.on_ble_disconnect()  # the link drops: streaming stops, the limit stays
    out["crossings"] = crossings
    out["beeps_at"] = [i for i, on in drive if on]
    out["streaming_at_end"] = dev.want_stream
    out["limit_beeps"] = dev.sampler.limit_beeps
    out["off"] = send(wire.CMD_SET_LIMIT, struct.pack("<iHH", 500, 100, 0))
    drive.clear()
    for pos in (0, 600, 0, 600):
        enc.v = pos
        dev.sampler.poll()
    out["beeps_when_off"] = len(drive)
    return out
