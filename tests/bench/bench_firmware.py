"""Firmware cost per sample on the sampling-and-send path, under real MicroPython 1.29.

    python tests/bench/bench_firmware.py

For 8 cells at 100 Hz the device runs, per sample, the sampler task's step (Sampler.poll,
the pad and position reads, packing into the ring) and, per packet, the link's step. This
drives exactly those steps (app.App.sample_step / ble_step / serial_step) with fake ADCs, a
fake encoder, a fake clock and a radio/stream that accept everything and keep nothing, and
measures:

* heap bytes allocated per sample: gc.mem_alloc() around 1,000 samples after 400 of warm-up
  (target 0);
* executed firmware lines per sample: sys.settrace line events in firmware files only, over
  the same 1,000 samples, on the settrace build (deterministic; target <= 60).

Paths: BLE at MTU 247 with the client subscribed (the target path; 8 cells on 8 ADC1 pins,
and again through the CD74HC4067 multiplexer of the default wiring), BLE at MTU 23
(SAMPLES_COMPACT, one notification per sample), and USB serial (COBS + CRC-32 per packet,
the link polled every 10 ms as the app does). Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mpy.harness import count_firmware_lines, run_micropython  # noqa: E402

WARMUP = 400
MOUNTS = {ROOT / "tests" / "firmware": "/tf"}
SAMPLES = 1000

# Builds the device as app.build() does, minus the hardware. `step()` is one sample period.
SETUP = """
import gc
import wire
from legpress_fw import app, config
from legpress_fw.device import Device, DeviceInfo
from legpress_fw.pad import DirectPad
from legpress_fw.position import EncoderPosition
from fw_rigs import QuietBLE  # takes every notification and keeps nothing

PATH = {path!r}
MTU = {mtu}
MUX = {mux}


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


class ADC:
    def __init__(self, v):
        self.v = v

    def read_u16(self):
        return self.v << 4


class Encoder:
    def __init__(self):
        self.v = 0

    def value(self, *v):
        return self.v


class QuietOut:
    def __init__(self):
        self.writes = 0

    def write(self, buf, off, n):
        self.writes += 1
        return n


class Poller:
    # Nothing ever waits on stdin. (The real ipoll returns a C iterator; an empty tuple is
    # the allocation-free stand-in.)
    def ipoll(self, timeout):
        return ()


class Stdin:
    def readinto(self, buf):
        return 0


class Pin:
    def __init__(self):
        self.v = 0

    def value(self, v):
        self.v = v


class MuxADC:
    # The CD74HC4067 output: what the selected channel's cell reads.
    def __init__(self, pins):
        self.pins = pins

    def read_u16(self):
        p = self.pins
        return (100 + 37 * (p[0].v | p[1].v << 1 | p[2].v << 2 | p[3].v << 3)) << 4


class Board:
    def led(self, on):
        pass

    def watchdog_feed(self):
        pass


clock = Clock()
cfg = config.validate({{"cells": 8, "rate_hz": 100}})
info = DeviceInfo(cfg, b"\\x24\\x0a\\xc4\\x5e\\x1e\\x92", "LegPress-1E92")
enc = Encoder()
if MUX:
    from legpress_fw.pad import MuxPad
    select = [Pin() for _ in range(4)]
    pad = MuxPad(MuxADC(select), select, 8, settle_us=0)
else:
    pad = DirectPad([ADC(100 + 37 * c) for c in range(8)])
dev = Device(cfg, info, pad, EncoderPosition(enc), clock, mem_free=gc.mem_free)
if PATH == "ble":
    from legpress_fw.ble_link import BLELink
    from legpress_fw.radio import BLERadio
    ble = QuietBLE()
    radio = BLERadio(ble, "LegPress-1E92", security=0)
    link = BLELink(radio, dev)
    a = app.App(dev, Board(), link, radio)
    link.start()
    ble.handler(1, (0, 0, memoryview(b"\\xc0\\xff\\xee\\x00\\x00\\x01")))
    if MTU > 23:
        ble.handler(21, (0, MTU))
    ble.value = bytes((1, 5, 0, 1, 0, 0, 0, 0, 0, wire.CMD_START))
    ble.handler(3, (0, radio.h_control))
    a.ble_step()
    sink = ble
else:
    from legpress_fw.serial_link import SerialLink
    out = QuietOut()
    link = SerialLink(dev, app.StdinReader(Stdin(), Poller()), out)
    a = app.App(dev, Board(), serial=link)
    dev.start(2)
    sink = out
ring = dev.ring
sample_step = a.sample_step
link_step = a.ble_step if PATH == "ble" else a.serial_step
period = dev.sampler.period_us


def run(n):
    for i in range(n):
        enc.v = i & 1023
        sample_step()
        if PATH == "ble":
            if ring.pending():  # the BLE task wakes once per packet
                link_step()
        else:  # the serial task polls every 10 ms: once per sample at 100 Hz
            link_step()
        clock.t = (clock.t + period) & 0x3FFFFFFF


run({warmup})
"""

ALLOC = """
sent_before = sink.sent if PATH == "ble" else sink.writes
before = after = 0  # bind the names first: a new global could resize the module dict
gc.collect()
gc.disable()
before = gc.mem_alloc()
run({samples})
after = gc.mem_alloc()
gc.enable()
import hostio, json
sent = (sink.sent if PATH == "ble" else sink.writes) - sent_before
hostio.emit(json.dumps({{"bytes": after - before, "sent": sent, "dropped": ring.dropped_samples,
                         "compact": dev.compact, "batch": dev.sampler.batch}}))
"""


def measure(path: str, mtu: int, mux: bool = False) -> dict[str, object]:
    setup = SETUP.format(path=path, mtu=mtu, mux=mux, warmup=WARMUP)
    alloc = run_micropython(setup + ALLOC.format(samples=SAMPLES), mounts=MOUNTS).last
    lines = count_firmware_lines(f"run({SAMPLES})", setup=setup, mounts=MOUNTS)
    by_line = count_firmware_lines(f"run({SAMPLES})", setup=setup, by_line=True, mounts=MOUNTS)
    total = sum(lines.values())
    hottest = sorted(by_line.items(), key=lambda kv: -kv[1])[:12]
    return {
        "bytes_per_sample": round(alloc["bytes"] / SAMPLES, 2),
        "lines_per_sample": round(total / SAMPLES, 2),
        "packets_per_1000_samples": alloc["sent"],
        "records_per_packet": alloc["batch"],
        "compact": alloc["compact"],
        "dropped": alloc["dropped"],
        "lines_per_sample_by_file": {k: round(v / SAMPLES, 2) for k, v in lines.items()},
        "hottest_lines_per_sample": {k: round(v / SAMPLES, 2) for k, v in hottest},
    }


def main() -> int:
    results = {
        "ble_mtu247": measure("ble", 247),
        "ble_mtu247_mux": measure("ble", 247, mux=True),
        "ble_mtu23": measure("ble", 23),
        "serial": measure("serial", 0),
    }
    for name, r in results.items():
        print(
            f"{name:11s} {r['bytes_per_sample']:7.2f} B/sample  "
            f"{r['lines_per_sample']:7.2f} lines/sample  "
            f"({r['packets_per_1000_samples']} packets per 1000 samples)"
        )
        for f, v in r["lines_per_sample_by_file"].items():  # type: ignore[union-attr]
            print(f"            {v:7.2f}  {f}")
    figures = {
        "samples": SAMPLES,
        "cells": 8,
        "rate_hz": 100,
        "targets": {"bytes_per_sample": 0, "lines_per_sample": 60},
        **{
            name: {k: r[k] for k in ("bytes_per_sample", "lines_per_sample")}
            for name, r in results.items()
        },
        "detail": results,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
