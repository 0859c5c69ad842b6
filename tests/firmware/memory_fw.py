# Memory scenario for tests/bench/bench_memory.py: the app as main()
# builds it (config defaults, Board on the fake `machine`, the radio on the fake `bluetooth`,
# the serial link on the console), booted, paired and then streaming over BLE at MTU 247,
# under MicroPython (the 32-bit unix port of tests/bench/frozen32.py, or the WebAssembly port).
# gc.mem_alloc() counts the whole heap, so what the rig itself holds is measured first and
# subtracted: the figures are the firmware's modules and objects.
#
# Streaming drives the app's own steps on the model clock (tests/mpy/support/chipmodel.py), as
# its tasks would, with the sampler in timer mode as on the ESP32: a sample each period, the
# BLE step per packet, the serial step every 10 ms, housekeeping every 100 ms (STATUS,
# watchdog, and the 10-second gc.collect()). (Not through an
# asyncio loop: the WebAssembly port retains a few dozen bytes per awaited object, which is
# not the device's.) Only what the firmware's steps allocate counts towards the peak: the
# heap after the last collection plus every byte a step allocated since (the rig's fake
# central keeps its notifications, which a board's does not). On the WebAssembly port gc
# can only reclaim once the code has yielded to JavaScript (it cannot scan the wasm stack),
# so the loop yields every 100 ms of device time there.

import asyncio as _aio
import gc
import sys

import bluetooth
import chipmodel
import machine

CONFIG = '{"rate_hz": %d}'
CONFIG_PATH = "/tmp/legpress-memory-config.json"


async def _settle():
    # Back to JavaScript (through the port's own asyncio), after which gc.collect() reclaims.
    model = sys.modules.get("asyncio")
    sys.modules["asyncio"] = _aio
    try:
        await _aio.sleep(0)
    finally:
        sys.modules["asyncio"] = model


class _Alloc:
    # The firmware's own allocations while streaming: each step's gc.mem_alloc() delta. A step
    # that shrank the heap ran the app's collection: the heap after it is the new floor.
    def __init__(self, floor):
        self.floor = floor
        self.since = 0
        self.peak = floor
        self.allocated = 0
        self.collections = 0

    def step(self, before, after, base):
        d = after - before
        if d < 0:
            self.collections += 1
            self.floor = after - base
            self.since = 0
        else:
            self.since += d
            self.allocated += d
        if self.floor + self.since > self.peak:
            self.peak = self.floor + self.since


class _UsbHost:
    # A USB host's side of the console: one 0x00 (a frame delimiter) waiting, then quiet; what
    # the board writes goes nowhere.
    def __init__(self):
        self.data = b"\x00"

    def waiting(self):
        return len(self.data) > 0

    def readinto(self, buf):
        n = len(self.data)
        if n:
            buf[0] = self.data[0]
            self.data = b""
        return n

    def write(self, buf, off, n):
        return n


def import_costs(names):
    # Heap held by each module's import, in dependency order (a module's first import of
    # another, e.g. asyncio by app, counts with it), after a collection.
    out = []
    for name in names:
        gc.collect()
        before = gc.mem_alloc()
        __import__("legpress_fw." + name)
        gc.collect()
        out.append([name, gc.mem_alloc() - before])
    return out


async def boot_and_stream(seconds=3.0, rate_hz=100, start=True, usb_host=False):
    # usb_host: a USB host talks right after boot, so the serial link is opened (it is built
    # on a host's first byte) and stays in the heap while the stream goes over BLE.
    machine.reset_fakes()
    ble = bluetooth.BLE()
    ble.reset()
    chip = chipmodel.Chip()
    await _settle()
    gc.collect()
    base = gc.mem_alloc()
    from legpress_fw import compat

    chip.install(compat)
    saved = sys.modules.get("asyncio")
    sys.modules["asyncio"] = chip.asyncio
    try:
        # As app.main() boots: startup.boot() from the config file, then the boot-only
        # modules are let go of and the heap collected (all but asyncio.run).
        from legpress_fw import startup
        from legpress_fw.board import Board

        with open(CONFIG_PATH, "w") as f:
            f.write(CONFIG % rate_hz)
        # Sampling from the hardware timer, as on the ESP32 (its packet pool counts): the
        # steps below take each sample and drain the pool as the timer callback and the
        # sampler task would (Sampler.poll in timer mode).
        Board.has_sample_timer = lambda self: True
        del Board
        a = startup.boot(CONFIG_PATH)
        startup.release()
        del startup
        a.collect()
        a.log = lambda text: None
        await _settle()
        gc.collect()
        boot = gc.mem_alloc() - base
        boot_free = gc.mem_free()
        if usb_host:
            host = _UsbHost()
            a._serial_io = (host, host, False)
            a.serial_step()
            del host
            await _settle()
            gc.collect()
            boot = gc.mem_alloc() - base
        dev = a.device
        radio = a.radio

        ble.connect(0)
        ble.exchange_mtu(0, 247)
        ble.inject(28, (0, 1, 0, 1, 16))  # _IRQ_ENCRYPTION_UPDATE: paired (security "bonded")
        ble.subscribe(0, radio.h_control, notify=True)
        ble.subscribe(0, radio.h_stream, notify=True)
        if start:
            ble.client_write(0, radio.h_control, bytes((1, 5, 0, 1, 0, 0, 0, 0, 0, 1)))
        a.ble_step()
        ble.keep = False  # the fake central keeps nothing from here on, as a board's radio
        ring = dev.ring
        period_us = dev.sampler.period_us
        t_us = 0
        tick = 0
        next_serial = 0
        next_house = 0
        track = _Alloc(boot)
        for _ in range(int(seconds * 1000000) // period_us):
            t_us += period_us
            chip.now_us = t_us
            m = gc.mem_alloc()
            a.sample_step()
            track.step(m, gc.mem_alloc(), base)
            if ring.pending():
                m = gc.mem_alloc()
                a.ble_step()
                track.step(m, gc.mem_alloc(), base)
            if t_us >= next_serial:
                m = gc.mem_alloc()
                a.serial_step()
                track.step(m, gc.mem_alloc(), base)
                next_serial += 10000
            if t_us >= next_house:
                m = gc.mem_alloc()
                a.housekeeping_step(t_us // 1000, tick)
                track.step(m, gc.mem_alloc(), base)
                tick += 1
                next_house += 100000
                await _settle()
        streamed = dev.sampler.samples_total
        await _settle()
        gc.collect()
        steady = gc.mem_alloc() - base
        return {
            "boot_bytes": boot,
            "boot_free_bytes": boot_free,
            "stream_peak_bytes": track.peak,
            "stream_steady_bytes": steady,
            "stream_alloc_bytes": track.allocated,
            "stream_collections": track.collections,
            "seconds": seconds,
            "samples": streamed,
            "packets": dev.packets_sent,
            "ring_bytes": len(dev.ring._slots) * dev.ring.slot_size,
            "timer": a.timed,
            "serial_link": a.serial is not None,
            "modules": sorted(m for m in sys.modules if m.startswith("legpress_fw")),
        }
    finally:
        ble.keep = True
        if saved is not None:
            sys.modules["asyncio"] = saved
