# The ESP32's timing, modelled for firmware runs under MicroPython (the settrace build, mounted
# at /support). What the chip does that the WebAssembly port does not, and which decides
# whether samples are taken on time:
#
# * time is virtual (`Chip.now_us`) and passes only as the firmware works: each executed line
#   of a firmware file costs `line_us`, each ADC conversion `adc_us`, sleep_us its argument,
#   gc.collect `gc_us`, a BLE notification `notify_us`, and each asyncio task switch
#   `switch_us`;
# * hardware timers fire on time; their ISR puts the callback on the scheduler queue (depth 8;
#   beyond it the callback is lost, as mp_sched_schedule fails) and notifies the main task
#   (ports/esp32/machine_timer.c). Scheduled callbacks run between two bytecodes of whatever
#   Python code runs (here: at the VM's next pending check, through micropython.schedule) and
#   never nest;
# * asyncio's idle wait is the port's: core.py's loop computes how long until the next task is
#   due (ms), and select.poll's ipoll loops "check the pollables; if the time is up return;
#   run pending callbacks; ulTaskNotifyTake(pdFALSE, 1)", a wait that ends at the next
#   FreeRTOS tick (CONFIG_FREERTOS_HZ = 100: every 10 ms) or at once if the main task was
#   notified (extmod/modselect.c, ports/esp32/mpconfigport.h MICROPY_EVENT_POLL_HOOK). So
#   sleeps round up to ticks, and a flag set by a timer callback is seen at the next tick.
#
#   chip = Chip(line_us=4)
#   chip.install(compat_module)       # firmware clocks and sleep_us read the virtual clock
#   asyncio = chip.asyncio            # install as sys.modules["asyncio"] before importing app
#   chip.start_trace("/firmware/")    # line costs from here on
#   chip.asyncio.run(main(), until_us=2_000_000)
#
# It is one model: the figures are estimates from MicroPython's sources and cited
# measurements (firmware/README.md), not a board.

import sys

import micropython

_MASK = (1 << 30) - 1
_SCHED_DEPTH = 8  # MICROPY_SCHEDULER_DEPTH on the ESP32 port


class CancelledError(BaseException):
    pass


class Chip:
    def __init__(
        self,
        line_us=4,
        adc_us=35,
        switch_us=40,
        callback_us=15,
        gc_us=4000,
        notify_us=150,
        write_us=20,
        tick_us=10000,
        tick_phase_us=0,
    ):
        self.line_us = line_us
        self.adc_us = adc_us
        self.switch_us = switch_us
        self.callback_us = callback_us
        self.gc_us = gc_us
        self.notify_us = notify_us
        self.write_us = write_us
        self.tick_us = tick_us
        self.tick_phase_us = tick_phase_us
        self.now_us = 0
        self.timers = []
        self.pending = []  # [callback, arg] waiting for a bytecode boundary
        self.sched_lost = 0
        self.notified = 0  # the main task's notification count
        self.idle = False
        self._kicked = False
        self._prefix = "/firmware/"
        self.lines = 0
        self.asyncio = _Asyncio(self)
        self.Timer = _timer_class(self)

    # --- clock and costs -------------------------------------------------------------------

    def ticks_us(self):
        return self.now_us & _MASK

    def ticks_ms(self):
        return (self.now_us // 1000) & _MASK

    def spend(self, us):
        # CPU (or a C call) busy for `us`: ISRs due meanwhile are taken at their time.
        end = self.now_us + us
        self._isrs(end)
        self.now_us = end

    def sleep_us(self, us):
        self.spend(us)

    def sleep_ms(self, ms):
        self.spend(ms * 1000)

    def collect(self):
        self.spend(self.gc_us)

    def _isrs(self, until):
        for t in self.timers:
            while t.running and t.next_us <= until:
                self.now_us = max(self.now_us, t.next_us)
                t.next_us += t.period_us
                t.fired += 1
                self.notified += 1
                if len(self.pending) >= _SCHED_DEPTH:
                    self.sched_lost += 1
                    continue
                self.pending.append([t.callback, t])
                if not self.idle and not self._kicked:
                    self._kicked = True
                    micropython.schedule(self._run_pending, 0)

    def _next_isr_us(self):
        n = None
        for t in self.timers:
            if t.running and (n is None or t.next_us < n):
                n = t.next_us
        return n

    def run_pending(self):
        # mp_handle_pending: the queued callbacks, in order, one at a time.
        while self.pending:
            cb, arg = self.pending.pop(0)
            self.spend(self.callback_us)
            cb(arg)

    def _run_pending(self, _arg):
        self._kicked = False
        self.run_pending()

    # --- line costs ------------------------------------------------------------------------

    def start_trace(self, prefix="/firmware/"):
        self._prefix = prefix
        sys.settrace(self._trace)

    def stop_trace(self):
        sys.settrace(None)

    def _trace(self, frame, event, arg):
        if event == "line" and frame.f_code.co_filename.startswith(self._prefix):
            self.lines += 1
            self.spend(self.line_us)
        return self._trace

    def install(self, compat):
        # The firmware reads its clocks and sleeps through legpress_fw.compat: point it here
        # (before importing the modules that copy those names).
        compat.ticks_us = self.ticks_us
        compat.ticks_ms = self.ticks_ms
        compat.sleep_us = self.sleep_us
        compat.sleep_ms = self.sleep_ms

    # --- the idle wait ---------------------------------------------------------------------

    def wait(self, dt_ms, ready):
        # select.poll ipoll(dt_ms) on the port; `ready()` checks the pollables (flags) and
        # returns True if one is. dt_ms < 0: no timeout.
        start_ms = self.now_us // 1000
        self.run_pending()
        self.idle = True
        try:
            while True:
                if ready():
                    return
                if dt_ms >= 0 and self.now_us // 1000 - start_ms >= dt_ms:
                    return
                self.run_pending()  # MICROPY_EVENT_POLL_HOOK: mp_handle_pending ...
                if self.notified:  # ... then ulTaskNotifyTake(pdFALSE, 1)
                    self.notified -= 1
                    continue
                tick = self.now_us - self.tick_phase_us
                tick = self.tick_phase_us + (tick // self.tick_us + 1) * self.tick_us
                isr = self._next_isr_us()
                if isr is not None and isr < tick:
                    self._isrs(isr)  # the ISR notifies: the take returns at once
                    self.now_us = isr
                    self.notified -= 1
                else:
                    self.now_us = tick
        finally:
            self.idle = False


def _timer_class(chip):
    class Timer:
        """machine.Timer on the model's clock (periodic only; period in ticks of tick_hz)."""

        PERIODIC = 1
        ONE_SHOT = 0

        def __init__(self, id=0, **kw):
            self.id = id
            self.running = False
            self.fired = 0
            self.inits = 0
            if kw:
                self.init(**kw)

        def init(self, mode=1, period=1000, tick_hz=1000, freq=None, callback=None, hard=False):
            if hard:
                raise ValueError("hard Timers are not implemented")
            self.period_us = period * 1000000 // tick_hz if freq is None else 1000000 // freq
            self.next_us = chip.now_us + self.period_us
            self.callback = callback
            self.running = True
            self.inits += 1
            if self not in chip.timers:
                chip.timers.append(self)

        def deinit(self):
            self.running = False

    return Timer


class _Task:
    def __init__(self, coro):
        self.coro = coro
        self.key_ms = 0
        self.order = 0
        self.done = False
        self.cancelled = False
        self.waiting = None


class _Asyncio:
    """The part of asyncio the firmware uses, scheduled as extmod/asyncio/core.py does it, on
    the chip's clock and idle wait."""

    CancelledError = CancelledError

    def __init__(self, chip):
        self._chip = chip
        self._queue = []  # tasks due at key_ms, in order
        self._flags = []  # ThreadSafeFlags with a waiting task
        self._cur = None
        self._order = 0
        self._sleep = _Sleep(self)
        asyncio = self

        class ThreadSafeFlag:
            def __init__(self):
                self.state = 0
                self.waiting = None
                self._wait = _FlagWait(asyncio, self)

            def set(self):
                self.state = 1

            def clear(self):
                self.state = 0

            def wait(self):
                self._wait._armed = True
                return self._wait

        self.ThreadSafeFlag = ThreadSafeFlag

    def _push(self, task, key_ms):
        self._order += 1
        task.key_ms = key_ms
        task.order = self._order
        q = self._queue
        i = len(q)
        while i and (q[i - 1].key_ms - key_ms > 0):
            i -= 1
        q.insert(i, task)

    def create_task(self, coro):
        t = _Task(coro)
        self._push(t, self._chip.ticks_ms())
        return _TaskHandle(self, t)

    def sleep_ms(self, ms):
        self._sleep.key_ms = (self._chip.ticks_ms() + (ms if ms > 0 else 0)) & _MASK
        return self._sleep

    def sleep(self, s):
        return self.sleep_ms(int(s * 1000))

    def _ready_flags(self):
        woke = False
        for f in self._flags[:]:
            if f.state:
                f.state = 0
                self._flags.remove(f)
                t = f.waiting
                f.waiting = None
                self._push(t, self._chip.ticks_ms())
                woke = True
        return woke

    def run(self, coro, until_us):
        chip = self._chip
        self.create_task(coro)
        while chip.now_us < until_us:
            dt = 1
            while dt > 0:
                if self._queue:
                    dt = self._queue[0].key_ms - chip.ticks_ms()
                    if dt < 0:
                        dt = 0
                elif not self._flags:
                    return
                else:
                    dt = -1
                chip.wait(dt, self._ready_flags)
                if chip.now_us >= until_us:
                    return
            t = self._queue.pop(0)
            if t.cancelled and t.waiting is None:
                continue
            self._cur = t
            chip.spend(chip.switch_us)
            try:
                t.coro.send(None)
            except StopIteration:
                t.done = True
            except CancelledError:
                t.done = True
            self._cur = None


class _TaskHandle:
    def __init__(self, loop, task):
        self._loop = loop
        self._task = task

    def cancel(self):
        t = self._task
        t.cancelled = True
        try:
            t.coro.throw(CancelledError())
        except (CancelledError, StopIteration):
            t.done = True
        t.done = True
        for f in self._loop._flags[:]:
            if f.waiting is t:
                f.waiting = None
                self._loop._flags.remove(f)
        if t in self._loop._queue:
            self._loop._queue.remove(t)


_STOP = StopIteration()


def _stop():
    # One StopIteration, its traceback cleared, and awaitables that are reused, as
    # extmod/asyncio's SingletonGenerator: under MicroPython a fresh object per await is
    # retained (about 32-64 bytes each), which would swamp the memory figures.
    _STOP.__traceback__ = None
    raise _STOP


class _Sleep:
    # The loop's one sleep awaitable: sleep_ms() sets the wake time, the await queues the task.
    def __init__(self, loop):
        self._loop = loop
        self.key_ms = None

    def __iter__(self):
        return self

    def __await__(self):
        return self

    def __next__(self):
        if self.key_ms is None:
            _stop()
        loop = self._loop
        loop._push(loop._cur, self.key_ms)
        self.key_ms = None
        return None


class _FlagWait:
    # Each flag's one wait awaitable.
    def __init__(self, loop, flag):
        self._loop = loop
        self._flag = flag
        self._armed = False

    def __iter__(self):
        return self

    def __await__(self):
        return self

    def __next__(self):
        if not self._armed:
            _stop()
        self._armed = False
        flag = self._flag
        if flag.state:  # already set: no wait at all
            flag.state = 0
            _stop()
        loop = self._loop
        flag.waiting = loop._cur
        loop._flags.append(flag)
        return None
