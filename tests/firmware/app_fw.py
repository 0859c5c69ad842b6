# App scenarios for test_app.py: supervisor, watchdog, LED, actions, board, build, main.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.

import os
import struct

import wire
from fw_rigs import BLERig, BytesIn, BytesOut, FakeBoard, command, frame, make_device, read_frames

from legpress_fw import config
from legpress_fw.device import LINK_BLE, LINK_SERIAL, Device

# The LED patterns (firmware/README.md, section 5): ten 100 ms slots a second, the first in the
# top bit. The firmware folds them into its code, so the tests keep their own copy.
LED_ADVERTISING = 0b1000000000
LED_CONNECTED = 0b1111111111
LED_STREAMING = 0b1111100000
LED_FAULT = 0b1010100000
LED_IDENTIFY = 0b1010101010
LED_IDLE = 0
# Health.progress indices of the sampler and housekeeping tasks.
SAMPLER = 0
HOUSEKEEPING = 3


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
        "led_fault": app.led_pattern(dev, True, app.ticks_ms(), sup.last_restart_ms) == LED_FAULT,
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
                health.progress[SAMPLER] += 1
            health.progress[HOUSEKEEPING] += 1
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
    out["advertising"] = app.led_pattern(dev, True, 0, None) == LED_ADVERTISING
    out["idle"] = app.led_pattern(dev, False, 0, None) == LED_IDLE
    dev.on_ble_connect()
    out["connected"] = app.led_pattern(dev, False, 0, None) == LED_CONNECTED
    dev.start(LINK_BLE)
    out["streaming_mtu23_fault"] = app.led_pattern(dev, False, 0, None) == LED_STREAMING
    dev.on_ble_mtu(247)
    out["streaming"] = app.led_pattern(dev, False, 0, None) == LED_STREAMING
    dev.identify(2)
    out["identify"] = app.led_pattern(dev, False, app.ticks_ms(), None) == LED_IDENTIFY
    dev.identify_until = None
    adcs[3].v = 4095  # a shorted cell reads at the rail
    for _ in range(dev.sampler.batch):  # rails count once their packet is in the ring
        dev.sampler.poll()
        clock.advance(dev.sampler.period_us)
    dev.update_status()
    out["dead_cells"] = dev.status.dead_cells
    out["fault"] = app.led_pattern(dev, False, 0, None) == LED_FAULT
    out["blink"] = [app.led_on(LED_FAULT, t) for t in range(0, 1000, 100)]
    # REBOOT and REPL happen after a pause that lets the reply go out.
    dev.request(wire.CMD_REPL, LINK_SERIAL)
    a.housekeeping_step(1000, 1)
    out["reset_at_once"] = board.resets
    a.housekeeping_step(1400, 5)
    out["resets"] = board.resets
    out["repl_requests"] = board.repl_requests
    out["pending_after"] = dev.pending
    dev.request(wire.CMD_REBOOT, LINK_BLE)
    a.housekeeping_step(2000, 11)
    a.housekeeping_step(2400, 15)
    out["resets_after_reboot"] = board.resets
    out["repl_requests_after_reboot"] = board.repl_requests
    out["led_writes"] = len(board.led_states)
    return out


def board_objects():
    import machine

    from legpress_fw import board as board_mod

    machine.reset_fakes()
    out = {"chip": board_mod.chip()}
    cfg = config.validate({})
    b = board_mod.Board(cfg)
    out["cpu_hz"] = machine.freq()
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
    fired = []
    b.sample_timer(2500, fired.append)
    t = machine.Timer.instances[0]
    t.fire(3)
    out["sample_timer"] = [t.mode, t.period, t.tick_hz, len(fired), fired[0] is t]
    buzzer = machine.Pin.instances[18]
    out["buzzer_initial"] = [buzzer.mode, buzzer.value()]
    b.buzzer(True)
    out["buzzer_on"] = buzzer.value()
    b.buzzer(False)
    out["buzzer_off"] = buzzer.value()
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
    # The wiring in startup.build() with the fake machine and bluetooth: boot report, radio,
    # links, and the serial link's console handling.
    import bluetooth
    import machine

    from legpress_fw import board as board_mod
    from legpress_fw import startup

    machine.reset_fakes()
    bluetooth.BLE().reset()
    cfg = config.validate({"security": "open"})
    board = board_mod.Board(cfg)
    a = startup.build(cfg, False, board, "esp32")
    dev = a.device
    out = {
        "name": dev.info.name.decode(),
        "device_id": list(dev.info.device_id),
        "has_ble": a.ble_link is not None,
        "serial_waits": a.serial is None and a._serial_io is not None,
        "faults": dev.faults(),
        "control_flags": bluetooth.BLE().services[0][1][3][1],
        "health": sorted(a.health._tasks),
        "timed": a.timed,
    }
    a.ble_link.start()
    out["advertising"] = bluetooth.BLE().advertising
    return out


def bluetooth_started_once():
    # main.py starts the stack (radio.start) before the app's modules load; the app's boot
    # (startup.build, which calls radio.start again) must not start it a second time.
    import bluetooth
    import machine

    from legpress_fw import radio, startup
    from legpress_fw.board import Board

    machine.reset_fakes()
    ble = bluetooth.BLE()
    ble.reset()
    radio.start()
    after_main_py = ble.stack_starts
    cfg = config.validate({"security": "open"})
    a = startup.build(cfg, False, Board(cfg), "esp32")
    return {"after_main_py": after_main_py, "after_boot": ble.stack_starts,
            "has_ble": a.ble_link is not None}  # fmt: skip


def boot_releases_its_modules():
    # As app.main() boots (startup.boot, startup.release, a collection), then a USB host's
    # first byte: which firmware modules the heap holds at each step.
    import sys

    import bluetooth
    import machine

    from legpress_fw import startup

    machine.reset_fakes()
    bluetooth.BLE().reset()
    path = "/tmp/legpress-boot-config.json"
    with open(path, "w") as f:
        f.write('{"security": "open"}')
    a = startup.boot(path)
    os.remove(path)

    def loaded():
        return sorted(m[12:] for m in sys.modules if m.startswith("legpress_fw."))

    out = {"booted": loaded()}
    startup.release()
    del startup
    a.collect()
    out["running"] = loaded()
    # The console's streams in place of this interpreter's stdin and stdout: a USB port that
    # is quiet, and then a host's command.
    inp = BytesIn()
    out_stream = BytesOut()
    a._serial_io = (inp, out_stream, False)
    a.serial_step()
    out["serial_idle"] = a.serial is None
    inp.feed(b"\x00" + frame(command(wire.CMD_GET_STATUS, b"", 5)))
    a.serial_step()
    out["after_a_byte"] = loaded()
    frames, _bad = read_frames(out_stream.data)
    out["reply_types"] = [f[1] for f in frames]
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

    rig = BLERig(8, 100)
    cfg = config.validate({})
    dev = Device(cfg, rig.dev.info, rig.dev.pad, rig.dev.position, ticks_us, mem_free=None)
    link = BLELink(rig.radio, dev)
    rig.link = link
    inp = BytesIn()
    out = BytesOut()
    board = FakeBoard()
    # The serial link as on the device: built once the host's first byte is waiting.
    a = app.App(dev, board, link, rig.radio, watchdog_s=8, serial_io=(inp, out, False))
    logs = []
    a.log = logs.append
    rig.connect(247)
    rig.write(wire.CMD_START)
    inp.feed(b"\x00" + frame(command(wire.CMD_GET_STATUS, b"", 77)))
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
        "serial_active": a.serial is not None and a.serial.active,
        "restarts": a.supervisor.restarts,
        "feeds": board.feeds,
        "wdt_timeout": board.wdt_timeout,
        "logs": logs,
        "cancelled": cancelled,
    }


def fatal_path():
    # app.fatal_reset: 10 s before the reset, with the watchdog fed meanwhile (it cannot be
    # stopped and its timeout may be shorter), so the next boot doesn't report WDT_RESET.
    from legpress_fw import app

    board = FakeBoard()
    events = []

    def sleep(ms):
        events.append(["sleep", ms, board.feeds])

    app.fatal_reset(board, sleep)
    longest_unfed = max(e[1] for e in events)
    return {
        "slept_ms": sum(e[1] for e in events),
        "longest_unfed_ms": longest_unfed,
        "fed_before_each_sleep": [e[2] for e in events] == list(range(1, len(events) + 1)),
        "resets": board.resets,
    }


def app_shadowed_copy():
    # A frozen image with a deployed copy in /lib (never imported), and the other cases.
    from legpress_fw.startup import shadowed_copy

    def exists(path):
        return (0,) * 10

    def missing(path):
        raise OSError(2)

    return {
        "frozen_with_copy": shadowed_copy("legpress_fw/app.py", exists),
        "frozen_alone": shadowed_copy("legpress_fw/app.py", missing),
        "from_lib": shadowed_copy("/lib/legpress_fw/app.mpy", exists),
    }


def tare_kept_across_resets():
    # startup.build with a tare file, as app.main() boots: a tare is saved and read back by the
    # next boot; a torn or foreign file and a tare that cannot be saved raise the TARE fault.
    import bluetooth
    import machine

    from legpress_fw import board as board_mod
    from legpress_fw import startup

    path = "/tmp/legpress-tare-test.bin"

    def remove(p):
        if p.rpartition("/")[2] in os.listdir(p.rpartition("/")[0]):
            os.remove(p)

    def boot(cells=8, tare_path=path):
        machine.reset_fakes()
        bluetooth.BLE().reset()
        machine.ADC(machine.Pin(36)).source = lambda: 0x4D20  # the mux's pin: 1234 counts
        cfg = config.validate({"security": "open", "cells": cells})
        a = startup.build(cfg, True, board_mod.Board(cfg), "esp32", tare_path)
        return a.device

    def state(dev):
        return {"tare": list(dev.info.tare), "tare_fault": dev.faults() & wire.FAULT_TARE}

    remove(path)
    out = {"never_tared": state(boot())}
    dev = boot()
    out["tare_result"] = dev.tare(4)
    out["tared"] = state(dev)
    with open(path, "rb") as f:
        out["file"] = list(f.read())
    out["after_reset"] = state(boot())
    out["fewer_cells_configured"] = state(boot(cells=6))
    with open(path, "wb") as f:
        f.write(b"\x01\x02\x03")  # a write cut short
    dev = boot()
    out["torn"] = state(dev)
    dev.tare(4)
    out["tared_again"] = state(dev)
    dev = boot(tare_path="/tmp/legpress-no-such-dir/tare.bin")
    out["not_saved_result"] = dev.tare(4)
    out["not_saved"] = state(dev)
    remove(path)
    return out
