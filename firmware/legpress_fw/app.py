# The application: reads config.json, builds the board, the radio and the device, and runs
# four asyncio tasks under a supervisor:
#
#   sampler       on the device: a hardware timer's callback takes each sample on time
#                 (Sampler.take), and this task moves finished packets into the ring
#                 (Sampler.drain); without a timer: Sampler.poll() at the sample deadlines.
#                 Wakes the BLE task per packet
#   ble           BLELink.service() whenever the radio IRQ or the sampler has news
#   serial        SerialLink.service() every 10 ms (20 ms until a host has spoken); on the
#                 device the link is built only once a byte arrives on USB (serial_io)
#   housekeeping  every 100 ms: LED; every second: STATUS out, watchdog, bond keys, clock wrap
#
# The supervisor restarts a task that raises (counted in STATUS.task_restarts, fault
# TASK_RESTARTED) after a growing pause. The hardware watchdog is fed only while every task
# keeps making progress and, when streaming, samples keep coming; a hung task or a stalled
# sampler therefore ends in a reset.
#
# The pieces below main() take their collaborators as arguments, so the tests run them under
# CPython and MicroPython (the WebAssembly port has no asyncio.run; App.run is a coroutine).

import asyncio
import gc
import sys

from .compat import const, ticks_add, ticks_diff, ticks_ms
from .device import Status  # noqa: F401  (protocol.py refers to app.Status)

# The constants of protocol.py used here, as this module's own: imported, each would cost a
# dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_CMD_FORGET_BONDS = const(0x0D)
_CMD_REBOOT = const(0x08)
_CMD_REPL = const(0x0A)
_FAULT_CELL = const(0x0001)
_FAULT_LOW_HEAP = const(0x0008)
_FAULT_MTU_TOO_SMALL = const(0x0010)
_FAULT_POSITION = const(0x0002)

try:
    sleep_ms = asyncio.sleep_ms
except AttributeError:  # CPython
    from .cpython import async_sleep_ms as sleep_ms


def make_flag():
    # asyncio.ThreadSafeFlag, or where there is none (CPython) a stand-in.
    tsf = getattr(asyncio, "ThreadSafeFlag", None)
    if tsf is not None:
        return tsf()
    from .cpython import Flag

    return Flag()


_TICK_MS = const(100)
_TICKS_PER_S = const(10)
_RESTART_PAUSE_MS = const(100)
_RESTART_PAUSE_MAX_MS = const(5000)
_STALE_MS = const(3000)
_FAULT_SHOW_MS = const(60000)
_ACTION_DELAY_MS = const(300)
_GC_EVERY_S = const(10)
_GC_GARBAGE = const(4096)  # while the timer samples: collect only once this much was allocated
_FATAL_WAIT_S = const(10)


# --- LED -------------------------------------------------------------------------------
# Ten 100 ms slots per second, first slot in the top bit.

_LED_ADVERTISING = const(0b1000000000)  # one short blink a second: waiting for a host
_LED_CONNECTED = const(0b1111111111)  # steady: a host is connected, not streaming
_LED_STREAMING = const(0b1111100000)  # slow even blink: samples are flowing
_LED_FAULT = const(0b1010100000)  # three quick blinks a second: see STATUS.faults
_LED_IDENTIFY = const(0b1010101010)  # fast blink: the IDENTIFY command
_LED_IDLE = const(0b0000000000)  # no radio, nobody connected
_LED_FAULTS = _FAULT_CELL | _FAULT_POSITION | _FAULT_LOW_HEAP | _FAULT_MTU_TOO_SMALL


def led_pattern(device, advertising, now_ms, last_restart_ms):
    if device.identifying(now_ms):
        return _LED_IDENTIFY
    recent_restart = (
        last_restart_ms is not None and ticks_diff(now_ms, last_restart_ms) < _FAULT_SHOW_MS
    )
    if device.faults() & _LED_FAULTS or recent_restart:
        return _LED_FAULT
    if device.want_stream:
        return _LED_STREAMING
    if device.ble_connected or device.serial_active:
        return _LED_CONNECTED
    return _LED_ADVERTISING if advertising else _LED_IDLE


def led_on(pattern, now_ms):
    slot = (now_ms // _TICK_MS) % 10
    return (pattern >> (9 - slot)) & 1


# --- supervisor and watchdog -----------------------------------------------------------


class Supervisor:
    """Runs tasks; one that raises is restarted after a pause that doubles up to 5 s."""

    def __init__(self, device, log, sleep=None):
        self._dev = device
        self._log = log
        self._sleep = sleep if sleep is not None else sleep_ms
        self.restarts = 0
        self.last_restart_ms = None
        self.tasks = {}

    def spawn(self, name, factory):
        # factory() returns a fresh coroutine each time the task (re)starts.
        task = asyncio.create_task(self.guard(name, factory))
        self.tasks[name] = task
        return task

    async def guard(self, name, factory):
        failures = 0
        while True:
            try:
                await factory()
                return
            except Exception as e:  # anything but cancellation and KeyboardInterrupt
                self.restarts += 1
                self.last_restart_ms = ticks_ms()
                self._dev.task_restarts = self.restarts
                self._log("task %s failed (%s: %s); restarting" % (name, type(e).__name__, e))
                pause = _RESTART_PAUSE_MS << failures
                if pause < _RESTART_PAUSE_MAX_MS:
                    failures += 1
                else:
                    pause = _RESTART_PAUSE_MAX_MS
                await self._sleep(pause)


# Task indices into Health.progress.
_SAMPLER = const(0)
_BLE = const(1)
_SERIAL = const(2)
_HOUSEKEEPING = const(3)
_TASK_NAMES = ("sampler", "ble", "serial", "housekeeping")


class Health:
    """Decides whether to feed the watchdog: every task made progress lately, samples flow.

    Each task bumps its counter in `progress` once per pass (one addition: the sampler's runs
    per sample); check() looks at the counters once a second.
    """

    def __init__(self, tasks, stale_ms=_STALE_MS):
        self.progress = [0, 0, 0, 0]
        self._tasks = tasks
        self._seen = [0, 0, 0, 0]
        self._moved_ms = [None, None, None, None]
        self._stale_ms = stale_ms
        self._samples = None  # samples_total at the previous check
        self.reason = ""

    def healthy(self, now_ms, sampler, want_samples):
        ok = True
        for i in self._tasks:
            if self.progress[i] != self._seen[i]:
                self._seen[i] = self.progress[i]
                self._moved_ms[i] = now_ms
            t = self._moved_ms[i]
            if t is None:  # first look: the task may not have had its first pass yet
                t = self._moved_ms[i] = now_ms
            if ok and ticks_diff(now_ms, t) > self._stale_ms:
                self.reason = "task %s silent" % _TASK_NAMES[i]
                ok = False
        total = sampler.samples_total
        stalled = want_samples and (
            not sampler.running or (self._samples is not None and total == self._samples)
        )
        self._samples = total
        if ok and stalled:
            self.reason = "sampling stalled"
            ok = False
        if ok:
            self.reason = ""
        return ok


# --- USB serial through stdin/stdout ----------------------------------------------------


class StdinReader:
    # sys.stdin.buffer, read without blocking: select.poll says whether a byte waits (a read
    # of more than that would block until it is complete).
    def __init__(self, stream, poller):
        self._read = stream.readinto
        self._ipoll = poller.ipoll
        self._one = bytearray(1)

    def waiting(self):
        for _ in self._ipoll(0):
            return True
        return False

    def readinto(self, buf):
        n = 0
        while n < len(buf):
            for _ in self._ipoll(0):  # ipoll: the allocation-free poll
                break
            else:
                return n  # nothing waiting
            if not self._read(self._one):
                return n
            buf[n] = self._one[0]
            n += 1
        return n


# --- the application -------------------------------------------------------------------


class App:
    def __init__(
        self,
        device,
        board,
        ble_link=None,
        radio=None,
        serial=None,
        watchdog_s=0,
        timer=False,
        serial_io=None,
    ):
        # timer: sample from a hardware timer (board.sample_timer), as on the device.
        # serial_io: (stream_in, stream_out, paced) for a SerialLink built once stream_in has a
        # byte waiting (its waiting()), in place of `serial`: while no host talks on USB (a host
        # on BLE, or nobody) the serial link's code and buffers stay out of the heap. paced:
        # stream_out is the console (serial_link.PacedStdout wraps it).
        self.device = device
        self.board = board
        self.ble_link = ble_link
        self.radio = radio
        self.serial = serial
        self._serial_io = serial_io
        self._watchdog_ms = watchdog_s * 1000
        self.ble_wake = make_flag()
        self.sample_wake = make_flag()
        self.timed = timer
        sampler = device.sampler
        if timer:
            sampler.use_timer()
            sampler.on_ready = self.sample_wake.set  # in the timer callback: a packet is done
            sampler.arm_timer = self._arm_timer
            sampler.collect = self.collect
        tasks = [_SAMPLER, _HOUSEKEEPING]
        if ble_link is not None:
            tasks.append(_BLE)
            device.sampler.on_commit = self.ble_wake.set  # a packet is ready to go out
        if serial is not None or serial_io is not None:
            tasks.append(_SERIAL)
        self.health = Health(tasks)
        self._progress = self.health.progress
        self._poll = sampler.poll
        self._drain = sampler.drain
        self.supervisor = Supervisor(device, self.log)
        self.watchdog_skips = 0
        self._action_at = None
        self._mem_alloc = getattr(gc, "mem_alloc", None)  # MicroPython only
        # The heap after the last collection (build() collects just before the App is made).
        self._gc_floor = self._mem_alloc() if self._mem_alloc is not None else 0
        if radio is not None:
            radio.on_event = self.ble_wake.set

    def log(self, text):
        # To the serial host as LOG once one talks to us, else to the console.
        if self.serial is not None and self.serial.active:
            self.serial.log(text)
        else:
            print("legpress:", text)

    def _arm_timer(self, period_us):
        self.board.sample_timer(period_us, self.device.sampler.take)

    async def run(self):
        sup = self.supervisor
        if self.timed:  # runs from the start: it also watches the SET_LIMIT depth
            self._arm_timer(self.device.sampler.period_us)
        if self.ble_link is not None:
            self.ble_link.start()
            sup.spawn("ble", self.ble_task)
        if self.serial is not None:
            self.serial.start()
        if self.serial is not None or self._serial_io is not None:
            sup.spawn("serial", self.serial_task)
        sup.spawn("sampler", self.sample_task)
        if self._watchdog_ms:
            self.board.watchdog_start(self._watchdog_ms)
        await sup.guard("housekeeping", self.housekeeping_task)

    def sample_step(self):
        # One pass of the sampler task (the benchmark counts it per sample): take the sample
        # that is due; a full packet wakes the BLE task through sampler.on_commit.
        self._progress[_SAMPLER] += 1
        return self._poll()

    def drain_step(self):
        # One pass of the sampler task in timer mode: the timer callback took the samples;
        # move its finished packets into the ring (each wakes the BLE task).
        self._progress[_SAMPLER] += 1
        return self._drain()

    async def sample_task(self):
        if self.timed:
            wake = self.sample_wake
            while True:
                self.drain_step()
                await wake.wait()
        while True:
            # Sleep whole milliseconds; under one, just yield to the other tasks.
            await sleep_ms(self.sample_step() // 1000)

    # The link steps run only in the tasks of links that exist (see run()).

    def ble_step(self):
        self.ble_link.service()  # pyright: ignore[reportOptionalMemberAccess]
        self._progress[_BLE] += 1

    async def ble_task(self):
        wake = self.ble_wake
        while True:
            self.ble_step()
            await wake.wait()

    def serial_step(self):
        link = self.serial
        if link is None:
            link = self._open_serial()
        if link is not None:
            link.service()
        self._progress[_SERIAL] += 1

    def _open_serial(self):
        # The first byte from a USB host: build the link (importing serial_link and framing
        # takes a few milliseconds, once), which then reads that byte.
        stream_in, stream_out, paced = self._serial_io  # pyright: ignore[reportGeneralTypeIssues]
        if not stream_in.waiting():
            return None
        from .serial_link import PacedStdout, SerialLink

        if paced:
            stream_out = PacedStdout(stream_out)
        self.serial = SerialLink(self.device, stream_in, stream_out)
        self.serial.start()
        return self.serial

    async def serial_task(self):
        while True:
            self.serial_step()
            # Packets come every 40 ms; 10 ms keeps command replies prompt.
            link = self.serial
            await sleep_ms(10 if link is not None and link.active else 20)

    async def housekeeping_task(self):
        tick = 0
        deadline = ticks_ms()
        while True:
            now = ticks_ms()
            self.housekeeping_step(now, tick)
            tick += 1
            deadline = ticks_add(deadline, _TICK_MS)
            wait = ticks_diff(deadline, ticks_ms())
            if wait < 0:
                deadline = ticks_ms()
                wait = 0
            await sleep_ms(wait)

    def housekeeping_step(self, now, tick):
        dev = self.device
        self._progress[_HOUSEKEEPING] += 1
        self.ble_wake.set()  # the BLE task beats and retries refused packets at least 10x/s
        self.sample_wake.set()  # and the sampler task drains, and beats, while idle
        dev.buzzer.step()
        advertising = self.radio is not None and self.radio.conn_handle is None
        self.board.led(
            led_on(led_pattern(dev, advertising, now, self.supervisor.last_restart_ms), now)
        )
        if dev.pending and self._action_at is None:
            self._action_at = ticks_add(now, _ACTION_DELAY_MS)  # let the reply go out first
        if self._action_at is not None and ticks_diff(now, self._action_at) >= 0:
            self._action_at = None
            self.do_action(dev.pending)
        if tick % _TICKS_PER_S:
            return
        # Once a second.
        dev.clock.now()  # keeps the 32-bit device time extension aware of every tick wrap
        dev.update_status()
        if self.ble_link is not None:
            self.ble_link.send_status()
        if self.serial is not None:
            self.serial.send_status()
        self.check_watchdog(now)
        if self.radio is not None and self.radio.secrets_dirty:
            try:
                self.radio.save_secrets()
            except OSError as e:
                self.log("could not save bond keys: %s" % e)
        while dev.log_lines:
            self.log(dev.log_lines.pop(0))
        if tick % (_TICKS_PER_S * _GC_EVERY_S) == 0:
            self.collect_if_due()

    def collect_if_due(self):
        # Every 10 s, at a known moment rather than inside a sample. While the timer samples:
        # right after a sample (from its callback), which leaves a whole period for the pause,
        # and only once there is garbage to collect. The firmware allocates about 1 B/s while
        # it streams (tests/bench/bench_memory.py), and a collection pauses the sampler for
        # longer than a 400 Hz period (tests/bench/bench_timing.py).
        if self.timed and self.device.sampler.running:
            alloc = self._mem_alloc
            if alloc is None or alloc() - self._gc_floor >= _GC_GARBAGE:
                self.device.sampler.collect_due = True
        else:
            self.collect()

    def collect(self):
        gc.collect()
        if self._mem_alloc is not None:
            self._gc_floor = self._mem_alloc()

    def check_watchdog(self, now):
        dev = self.device
        want = dev.want_stream and not dev.mtu_too_small
        if self.health.healthy(now, dev.sampler, want):
            self.board.watchdog_feed()
            return True
        self.watchdog_skips += 1
        if self.watchdog_skips == 1 or self.watchdog_skips % 10 == 0:
            self.log("watchdog not fed: %s" % self.health.reason)
        return False

    def do_action(self, command):
        dev = self.device
        dev.pending = 0
        if command == _CMD_REPL:
            self.board.request_repl()  # main.py then leaves the REPL alone after the reset
        if command == _CMD_FORGET_BONDS and self.radio is not None:
            try:
                self.radio.forget_bonds()
                self.log("forgot every Bluetooth bond; resetting")
            except OSError as e:
                self.log("could not forget the bonds: %s" % e)
        if command in (_CMD_REBOOT, _CMD_REPL, _CMD_FORGET_BONDS):
            self.board.reset()  # also drops a host still on a link keyed by a forgotten bond


# --- entry point (device) ----------------------------------------------------------------


def main(config_path="/config.json", tare_path="/tare.bin"):
    # Boots (startup.boot: config.json, the board, the radio, the device, the links), lets go
    # of the modules only boot needed (startup.release), then runs the app until a reset.
    from . import startup

    app = startup.boot(config_path, tare_path)
    startup.release()
    del startup
    if app is None:
        return None
    app.collect()
    try:
        asyncio.run(app.run())
    except KeyboardInterrupt:
        raise
    except Exception as e:
        fatal(app.board, e)
    finally:
        _restore_console()
    return None


def fatal(board, e):
    # Something unforeseen: report it, and start afresh in 10 s (Ctrl-C works meanwhile).
    _restore_console()
    print("legpress: fatal:")
    sys.print_exception(e)
    fatal_reset(board)


def fatal_reset(board, sleep=None):
    # Waits 10 s (to read the message, or to press Ctrl-C), then resets. The watchdog keeps
    # running (it cannot be stopped) and may be shorter than that, so it is fed meanwhile:
    # the next boot then reports this reset, not WDT_RESET.
    if sleep is None:
        from time import sleep_ms as sleep
    print("legpress: resetting in %d s" % _FATAL_WAIT_S)
    for _ in range(2 * _FATAL_WAIT_S):
        board.watchdog_feed()
        sleep(500)
    board.reset()


def _restore_console():
    try:
        import micropython

        micropython.kbd_intr(3)
    except ImportError:
        pass
