# USB serial scenarios for test_serial.py.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.


import struct

import wire
from fw_rigs import BytesIn, BytesOut, Rng, command, frame, make_device, parse_reply, read_frames


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
    bad = bytearray(frame(command(wire.CMD_GET_INFO, b"", 1)))
    bad[3] ^= 0x55
    inp.feed(bytes(bad))
    inp.feed(frame(command(wire.CMD_GET_INFO, b"", 2)))
    inp.feed(b"\x03\x03\r\n")  # a terminal's Ctrl-C: noise that runs into the next frame
    inp.feed(frame(command(wire.CMD_GET_STATUS, b"", 9)))  # ... so this one is lost
    # A host leads each command with 0x00: whatever came before is then a frame of its own.
    inp.feed(b"\x03\x03\r\n\x00" + frame(command(wire.CMD_START, b"", 3)))
    for i in range(100):
        link.service()
        enc.v = i
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
    link.service()
    dev.update_status()
    link.send_status()
    r["log_after_active"] = link.log("hello from the device")
    inp.feed(frame(command(wire.CMD_STOP, b"", 4)))
    inp.feed(frame(command(0x7F, b"", 5)))
    inp.feed(frame(command(wire.CMD_REPL, b"", 6)))
    link.service()
    link.send_status()  # not streaming any more: no STATUS
    frames, host_bad = read_frames(out.data)
    kinds = []
    replies = []
    samples = 0
    seqs = []
    for f in frames:
        kinds.append(f[1])
        if f[1] == wire.T_REPLY:
            rep = parse_reply(f, len(f))
            replies.append([rep["request_seq"], rep["command"], rep["result"]])
        elif f[1] == wire.T_SAMPLES:
            samples += (len(f) - 9) // 20
            seqs.append(f[3] | (f[4] << 8))
        elif f[1] == wire.T_LOG:
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


class TrickleOut(BytesOut):
    """A stream that takes at most `chunk` bytes a call, and nothing every third call."""

    def __init__(self, chunk):
        super().__init__()
        self.chunk = chunk
        self.calls = 0

    def write(self, buf, off, n):
        self.calls += 1
        if self.calls % 3 == 0:
            return 0
        return super().write(buf, off, min(n, self.chunk))


def serial_paced(chunk=40, n_samples=400):
    # The link over a stream that takes little at a time: every frame still arrives whole and
    # in order, replies wait for room, and the ring holds the samples meanwhile.
    from legpress_fw.serial_link import SerialLink

    dev, _adcs, enc, clock = make_device(8, 100, 1000)
    inp = BytesIn()
    out = TrickleOut(chunk)
    link = SerialLink(dev, inp, out)
    link.start()
    inp.feed(b"\x00" + frame(command(wire.CMD_START, b"", 3)))
    for i in range(n_samples):
        link.service()
        if i == 100:  # two commands in one read, while a sample frame is in flight
            inp.feed(frame(command(wire.CMD_GET_STATUS, b"", 8)))
            inp.feed(frame(command(wire.CMD_IDENTIFY, b"\x02", 9)))
        if i % 100 == 50:
            dev.update_status()
            link.send_status()
            link.log("line " + str(i))
        enc.v = i
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
    for _ in range(200):  # drain
        link.service()
    frames, host_bad = read_frames(out.data)
    kinds = [f[1] for f in frames]
    seqs = [f[3] | (f[4] << 8) for f in frames if f[1] == wire.T_SAMPLES]
    positions = []
    for f in frames:
        if f[1] == wire.T_SAMPLES:
            for r in range((len(f) - 9) // 20):
                positions.append(struct.unpack_from("<i", f, 9 + 20 * r + 16)[0])
    replies = []
    for f in frames:
        if f[1] == wire.T_REPLY:
            rep = parse_reply(f, len(f))
            replies.append([rep["request_seq"], rep["command"], rep["result"]])
    return {
        "host_bad_frames": host_bad,
        "replies": replies,
        "status": kinds.count(wire.T_STATUS),
        "logs": kinds.count(wire.T_LOG),
        "info": kinds.count(wire.T_DEVICE_INFO),
        "positions_in_order": positions == list(range(len(positions))),
        "samples": len(positions),
        "seqs_contiguous": seqs == list(range(seqs[0], seqs[0] + len(seqs))),
        "dropped": dev.ring.dropped_samples,
        "max_write": out.chunk,
    }


def paced_stdout():
    # serial_link.PacedStdout against a fake clock: never more than the 128-byte FIFO ahead of the
    # 115200-baud drain, and a write that blocks (a stalled USB-CDC host) pauses output 1 s.
    from legpress_fw import serial_link

    t = [0]

    class Stream:
        def __init__(self):
            self.taken = 0
            self.block_us = 0

        def write(self, buf, off, n):
            self.taken += n
            t[0] += self.block_us
            return n

    s = Stream()
    paced = serial_link.PacedStdout(s, lambda: t[0])
    buf = bytearray(300)
    first = paced.write(buf, 0, 300)  # an empty FIFO takes 128 bytes
    again = paced.write(buf, 0, 300)  # and nothing more at the same instant
    t[0] += 87 * 50  # 50 bytes drained
    later = paced.write(buf, 0, 300)
    # Over one second of 10 ms polls it passes what 115200 baud carries, about 11.5 kB.
    s.taken = 0
    for _ in range(100):
        t[0] += 10000
        paced.write(buf, 0, 300)
    per_second = s.taken
    s.block_us = 20000  # the next write blocks for 20 ms
    t[0] += 10000
    stalled = paced.write(buf, 0, 10)
    t[0] += 500000
    paused = paced.write(buf, 0, 10)
    t[0] += 600000
    s.block_us = 0
    resumed = paced.write(buf, 0, 10)
    return {
        "first": first,
        "again": again,
        "later": later,
        "per_second": per_second,
        "stalled": stalled,
        "paused": paused,
        "resumed": resumed,
        "stalls": paced.stalls,
    }
