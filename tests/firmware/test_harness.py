"""The MicroPython harness itself: it runs real MicroPython 1.29, reports failures, and the
fakes behave like the ESP32 port (under MicroPython and under CPython)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.mpy.harness import FAKES_DIR, MicroPythonResult, count_firmware_lines

RunMicroPython = Callable[..., MicroPythonResult]


def test_snippet_runs_and_returns_output(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        print("hello from", "micropython")
        """
    )
    assert result.returncode == 0
    assert result.stdout == "hello from micropython\n"
    assert result.stderr == ""


def test_it_is_really_micropython_1_29(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        import sys, json, hostio
        hostio.emit(json.dumps({
            "name": sys.implementation.name,
            "version": list(sys.implementation.version[:3]),
            "platform": sys.platform,
        }))
        """
    )
    assert result.last == {"name": "micropython", "version": [1, 29, 0], "platform": "webassembly"}


def test_assertion_in_micropython_fails_with_its_traceback(micropython: RunMicroPython) -> None:
    with pytest.raises(AssertionError) as excinfo:
        micropython(
            """
            def check(x):
                assert x == 2, "x was %d" % x
            check(1)
            """
        )
    message = str(excinfo.value)
    assert "MicroPython exited with status 1" in message
    assert "line 2, in check" in message
    assert "AssertionError: x was 1" in message
    assert '2 |     assert x == 2, "x was %d" % x' in message  # the numbered source


def test_any_exception_fails(micropython: RunMicroPython) -> None:
    with pytest.raises(AssertionError, match="ImportError: no module named 'dataclasses'"):
        micropython("import dataclasses")


def test_exit_status_and_check_false(micropython: RunMicroPython) -> None:
    assert micropython("raise SystemExit(3)", check=False).returncode == 3
    assert micropython("import sys; sys.exit()", check=False).returncode == 0
    failed = micropython("raise ValueError('nope')", check=False)
    assert failed.returncode == 1
    assert "ValueError: nope" in failed.stderr


def test_input_emit_argv_and_top_level_await(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        import asyncio, hostio, json, sys
        data = json.loads(hostio.input)

        async def double(x):
            await asyncio.sleep_ms(1)
            return 2 * x

        hostio.emit(json.dumps(await double(data["x"])))
        hostio.emit(json.dumps(sys.argv[1:]))
        """,
        input={"x": 21},
        args=["a", "b"],
    )
    assert result.emitted == [42, ["a", "b"]]


def test_threadsafeflag_shim(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        from asyncio import ThreadSafeFlag, create_task, sleep_ms
        flag = ThreadSafeFlag()
        woke = []

        async def waiter():
            await flag.wait()
            woke.append(flag.is_set())

        create_task(waiter())
        await sleep_ms(2)
        assert not woke
        flag.set()  # e.g. from an IRQ handler
        await sleep_ms(2)
        assert woke == [False], woke  # wait() cleared the flag
        """
    )
    assert result.returncode == 0


def test_script_file_and_extra_mount(micropython: RunMicroPython, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "__init__.py").write_text("")
    (lib / "pkg" / "data.json").write_text('{"answer": 42}')
    script = tmp_path / "script.py"
    script.write_text("import json\nprint(json.load(open('/extra/pkg/data.json'))['answer'])\n")
    assert micropython(script=script, mounts={lib: "/extra"}).stdout == "42\n"


def test_fakes_shadow_hardware_modules(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        import json, hostio, machine, bluetooth, esp32
        hostio.emit(json.dumps([m.__file__ for m in (machine, bluetooth, esp32)]))
        """
    )
    assert result.last == ["/fakes/machine.py", "/fakes/bluetooth.py", "/fakes/esp32.py"]


def test_without_fakes_hardware_modules_are_missing(micropython: RunMicroPython) -> None:
    with pytest.raises(AssertionError, match="no module named 'machine'"):
        micropython("import machine", fakes=False)


def test_micropython_lib_extras_are_blocked_like_on_esp32(micropython: RunMicroPython) -> None:
    with pytest.raises(AssertionError, match="not in ESP32 MicroPython firmware"):
        micropython("import logging")
    micropython("import logging", esp32_only=False)
    micropython("import struct, binascii, json, collections, asyncio, time, gc, micropython")


def test_firmware_package_is_importable(micropython: RunMicroPython) -> None:
    result = micropython(
        """
        import hostio, json, legpress_fw
        hostio.emit(json.dumps(legpress_fw.__file__))
        """
    )
    assert result.last == "/firmware/legpress_fw/__init__.py"


def test_machine_fake_on_micropython(micropython: RunMicroPython) -> None:
    micropython(
        """
        import machine
        from machine import ADC, Encoder, Pin, Timer, WDT

        assert (Pin.IN, Pin.OUT, Pin.PULL_UP, Pin.IRQ_RISING, Pin.IRQ_FALLING) == (1, 3, 2, 1, 2)
        assert (ADC.ATTN_0DB, ADC.ATTN_11DB) == (0, 3)
        assert (machine.PWRON_RESET, machine.WDT_RESET, machine.SOFT_RESET) == (1, 3, 5)

        edges = []
        pin = Pin(4, Pin.IN, Pin.PULL_UP)
        assert Pin(4) is pin and pin.value() == 1
        pin.irq(edges.append, Pin.IRQ_FALLING)
        pin.drive(0)
        pin.drive(1)
        assert edges == [pin]

        adc = ADC(Pin(34), atten=ADC.ATTN_11DB)
        adc.feed([0x1230, 0xFFF0])
        assert [adc.read_u16(), adc.read(), adc.read_u16()] == [0x1230, 0xFFF, 0xFFF0]
        adc.source = lambda: 0x8000
        assert ADC(Pin(34)).read_u16() == 0x8000

        enc = Encoder(0, Pin(5), Pin(6), phases=4, filter_ns=1000)
        enc.move(-7)
        assert enc.value() == -7 and enc.value(0) == -7 and enc.value() == 0
        assert Encoder(0) is enc and enc.phases() == 4
        try:
            Encoder(1, Pin(7), Pin(8), phases=3)
        except ValueError:
            pass
        else:
            raise AssertionError("phases=3 accepted")

        ticks = []
        Timer(0).init(period=10, callback=ticks.append)
        machine.Timer.instances[0].fire(3)
        assert len(ticks) == 3

        machine.RTC().memory(b"repl")
        assert machine.RTC().memory() == b"repl"

        wdt = WDT(timeout=2000)
        wdt.feed()
        assert wdt.feeds == 1 and WDT.instances == [wdt]

        machine.set_reset_cause(machine.WDT_RESET)
        assert machine.reset_cause() == machine.WDT_RESET
        assert len(machine.unique_id()) == 6 and machine.freq() == 160_000_000
        try:
            machine.reset()
        except Exception:
            raise AssertionError("reset() must not be an Exception")
        except BaseException as exc:
            assert isinstance(exc, machine.MachineReset)
        """
    )


BLE_SCENARIO = """
import bluetooth
from bluetooth import BLE, FLAG_NOTIFY, FLAG_READ, FLAG_WRITE, UUID

assert (FLAG_READ, FLAG_WRITE, FLAG_NOTIFY) == (0x0002, 0x0008, 0x0010)
assert not hasattr(bluetooth, "FLAG_WRITE_ENCRYPTED")  # not exported by the real module

ble = BLE()
assert BLE() is ble
try:
    ble.gatts_register_services(())
except OSError as exc:
    assert exc.args[0] == 19  # ENODEV: not active
ble.active(True)
ble.config(gap_name="legpress", mtu=247)
assert ble.config("gap_name") == b"legpress" and ble.config("mtu") == 247

events = []
ble.irq(lambda event, data: events.append((event, data)))

SVC = UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
DATA = (UUID("6E400003-B5A3-F393-E0A9-E50E24DCCA9E"), FLAG_READ | FLAG_NOTIFY)
CTRL = (UUID("6E400002-B5A3-F393-E0A9-E50E24DCCA9E"), FLAG_WRITE)
((data_h, ctrl_h),) = ble.gatts_register_services(((SVC, (DATA, CTRL)),))
assert isinstance(data_h, int) and isinstance(ctrl_h, int) and data_h != ctrl_h

ble.gap_advertise(100_000, b"\\x02\\x01\\x06")
assert ble.advertising and ble.adverts[-1][1] == b"\\x02\\x01\\x06"

ble.connect(0)
assert not ble.advertising
assert events[-1][0] == 1 and events[-1][1][0] == 0  # _IRQ_CENTRAL_CONNECT

ble.gatts_notify(0, data_h, b"x" * 100)
assert ble.notifications[-1] == (0, data_h, b"x" * 20)  # MTU 23 until exchanged
ble.exchange_mtu(0, 185)
assert events[-1] == (21, (0, 185))  # _IRQ_MTU_EXCHANGED
ble.gatts_notify(0, data_h, b"y" * 100)
assert ble.notifications[-1] == (0, data_h, b"y" * 100)

ble.fail_notify(1)
try:
    ble.gatts_notify(0, data_h, b"z")
except OSError as exc:
    assert exc.args[0] == 12  # ENOMEM
else:
    raise AssertionError("no ENOMEM")
ble.gatts_notify(0, data_h, b"z")
try:
    ble.gatts_notify(5, data_h, b"z")
except OSError as exc:
    assert exc.args[0] == 107  # ENOTCONN

sent = len(ble.notifications)
ble.gatts_write(data_h, b"s", True)  # send_update: subscribed clients only
assert len(ble.notifications) == sent
n_events = len(events)
ble.subscribe(0, data_h)  # the central writes the CCCD; NimBLE raises no IRQ
assert len(events) == n_events and ble.subscriptions == {(0, data_h): 1}
ble.gatts_write(data_h, b"s", True)
assert ble.notifications[-1] == (0, data_h, b"s")

ble.client_write(0, ctrl_h, b"\\x01\\x02")
assert events[-1] == (3, (0, ctrl_h)) and ble.gatts_read(ctrl_h) == b"\\x01\\x02"

assert ble.gap_disconnect(0) is True and ble.gap_disconnect(0) is False
assert events[-1][0] == 2  # _IRQ_CENTRAL_DISCONNECT
print("ble ok")
"""


def test_bluetooth_fake_on_micropython(micropython: RunMicroPython) -> None:
    assert micropython(BLE_SCENARIO).stdout == "ble ok\n"


@pytest.fixture
def cpython_fakes() -> Iterator[dict[str, ModuleType]]:
    """The fakes loaded under CPython as private module objects (sys.modules untouched)."""
    modules: dict[str, ModuleType] = {}
    for name in ("machine", "bluetooth", "esp32"):
        spec = importlib.util.spec_from_file_location(f"_fake_{name}", FAKES_DIR / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[name] = module
    yield modules


def test_fakes_import_and_work_under_cpython(cpython_fakes: dict[str, ModuleType]) -> None:
    namespace: dict[str, Any] = {}
    saved = {name: sys.modules.get(name) for name in cpython_fakes}
    sys.modules.update(cpython_fakes)
    try:
        exec(compile(BLE_SCENARIO, "<ble scenario>", "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    machine = cpython_fakes["machine"]
    adc = machine.ADC(machine.Pin(36), atten=machine.ADC.ATTN_11DB)
    adc.feed([100])
    assert adc.read_u16() == 100
    nvs = cpython_fakes["esp32"].NVS("cal")
    nvs.set_i32("zero", -5)
    nvs.commit()
    assert cpython_fakes["esp32"].NVS("cal").get_i32("zero") == -5


@pytest.mark.micropython
def test_line_counts_are_deterministic_and_firmware_only(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe_mod.py").write_text(
        "def work(n):\n"
        "    total = 0\n"
        "    for i in range(n):\n"
        "        total += i\n"
        "    return total\n"
    )
    setup = """
        import machine
        from probe_mod import work
        adc = machine.ADC(machine.Pin(34))
    """

    def lines(n: int) -> dict[str, int]:
        return count_firmware_lines(
            f"assert work({n}) == {sum(range(n))}\nadc.read_u16()",
            setup=setup,
            mounts={probe: "/firmware/zz_probe"},  # under /firmware/, so it counts
        )

    c10, c20, c30 = lines(10), lines(20), lines(30)
    assert list(c10) == ["zz_probe/probe_mod.py"]  # no fakes, no snippet, no asyncio
    assert lines(10) == c10
    per10 = c20["zz_probe/probe_mod.py"] - c10["zz_probe/probe_mod.py"]
    assert per10 > 0
    assert c30["zz_probe/probe_mod.py"] - c20["zz_probe/probe_mod.py"] == per10
