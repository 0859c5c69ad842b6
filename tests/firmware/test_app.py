"""app.py and board.py: the supervisor, the watchdog policy, LED patterns, REBOOT/REPL, the
board's machine objects and the boot wiring (fake machine and bluetooth)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.firmware import wire as p
from tests.firmware.conftest import Scenario

_HERE = Path(__file__).resolve().parent


def test_supervisor_restarts_a_failing_task(scenario: Scenario) -> None:
    r = scenario("supervisor_restarts")
    assert r["calls"] == 7  # six failures, then a clean run
    assert r["restarts"] == r["task_restarts"] == 7  # + one of the spawned task
    assert r["pauses"][:6] == [100, 200, 400, 800, 1600, 3200]  # doubling back-off
    assert r["pauses"][6] == 100  # each task has its own back-off
    assert r["logs"][0] == "task flaky failed (ValueError: boom 1); restarting"
    assert r["faults"] & p.FAULT_TASK_RESTARTED
    assert r["forever_runs"] == 2
    assert r["cancelled"] == "CancelledError"  # cancellation is not a failure
    assert r["led_fault"]


def test_watchdog_fed_only_while_healthy(scenario: Scenario) -> None:
    r = scenario("watchdog_feeding")
    assert r["seconds"] == [
        [True, ""],
        [True, ""],
        [False, "sampling stalled"],
        [True, ""],
        [True, ""],  # idle: beats suffice
        [True, ""],
        [True, ""],
        [True, ""],
        [False, "task sampler silent"],  # more than 3 s without a beat
        [True, ""],
    ]
    assert r["feeds"] == 8
    assert r["logs"] == ["watchdog not fed: sampling stalled"]


def test_led_patterns_and_deferred_actions(scenario: Scenario) -> None:
    r = scenario("app_actions_and_led")
    for state in ("advertising", "idle", "connected", "streaming_mtu23_fault", "streaming"):
        assert r[state], state
    assert r["identify"]
    assert r["dead_cells"] == 1 << 3 and r["fault"]
    assert r["blink"] == [1, 0, 1, 0, 1, 0, 0, 0, 0, 0]
    # REPL: not at once (the reply must go out), then the flag and a reset.
    assert r["reset_at_once"] == 0
    assert (r["resets"], r["repl_requests"], r["pending_after"]) == (1, 1, 0)
    assert (r["resets_after_reboot"], r["repl_requests_after_reboot"]) == (2, 1)
    assert r["led_writes"] == 4


def test_board_builds_the_hardware(micropython: Callable[..., Any]) -> None:
    r = _run(micropython, "board_objects")
    assert r["chip"] == "esp32"
    assert r["cpu_hz"] == 240_000_000  # the stock builds boot at 160 MHz
    # Timer 0, periodic, in microseconds; the callback gets the timer.
    assert r["sample_timer"] == [1, 2500, 1_000_000, 3, True]
    assert r["buzzer_initial"] == [3, 0]  # Pin.OUT, silent
    assert (r["buzzer_on"], r["buzzer_off"]) == (1, 0)
    assert r["select_modes"] == [3, 3, 3, 3]  # Pin.OUT
    assert r["sig_atten"] == 3  # ATTN_11DB
    assert r["mux_cells"] == [0, 100, 200, 300, 400, 500, 600, 700]  # S0 is bit 0
    assert r["sig_reads"] == 16  # one discarded conversion after each switch
    assert r["encoder"] == [25, 26, 4, 1000]  # PCNT 4x quadrature, 1 us glitch filter
    assert (r["position"], r["zero_before"], r["after_zero"]) == (-250, -250, 0)
    assert (r["led_initial"], r["led_on"], r["led_off"]) == (0, 1, 0)
    assert r["wdt"] == [8000, 2]
    assert r["watchdog_reset"] is True
    assert (r["repl_flag_initially"], r["repl_flag"], r["repl_flag_once"]) == (False, True, False)
    assert r["reset"] == "reset"
    assert r["direct_cells"] == [1000, 1001, 1002, 1003]
    assert r["direct_pins"] == [32, 34, 35, 36, 39]
    assert r["analog"] == [-700, -650, 0]  # inverted, then zeroed
    assert abs(r["pin_irq_position"]) == 12  # 3 quadrature cycles, 4 edges each
    assert r["no_led"]
    assert r["none_position"] == [0, 0]
    key, message = r["no_encoder"]
    assert key == "position" and "machine.Encoder" in message and "pin_irq" in message


def test_boot_wiring(micropython: Callable[..., Any]) -> None:
    r = _run(micropython, "app_build")
    assert r["name"] == "LegPress-1E92"  # from the BLE MAC's last two bytes
    assert r["device_id"] == [0x24, 0x0A, 0xC4, 0x5E, 0x1E, 0x92]
    assert r["has_ble"] and r["serial_waits"]  # the serial link comes with a host's first byte
    assert r["faults"] == p.FAULT_CONFIG  # built as if config.json were missing
    assert r["control_flags"] & 0x1000 == 0  # "security": "open"
    assert r["health"] == [0, 1, 2, 3]  # sampler, ble, serial, housekeeping watched
    assert r["timed"] is False  # the hardware timer path is for the ESP32 port only
    assert r["advertising"]


def test_the_tare_is_kept_across_resets(micropython: Callable[..., Any]) -> None:
    r = _run(micropython, "tare_kept_across_resets")
    assert r["never_tared"] == {"tare": [0] * 8, "tare_fault": 0}  # no file: nothing wrong
    assert r["tare_result"] == p.R_OK
    assert r["tared"] == {"tare": [1234] * 8, "tare_fault": 0}
    assert r["file"] == [1234 & 0xFF, 1234 >> 8] * 8  # u16 little-endian per cell
    assert r["after_reset"] == r["tared"]
    assert r["fewer_cells_configured"] == {"tare": [0] * 6, "tare_fault": p.FAULT_TARE}
    assert r["torn"] == {"tare": [0] * 8, "tare_fault": p.FAULT_TARE}
    assert r["tared_again"] == r["tared"]  # a kept tare clears the fault
    # A tare that cannot be saved still holds until a reset, and says it was not kept.
    assert r["not_saved_result"] == p.R_OK
    assert r["not_saved"] == {"tare": [1234] * 8, "tare_fault": p.FAULT_TARE}


def test_bluetooth_is_started_once(micropython: Callable[..., Any]) -> None:
    r = _run(micropython, "bluetooth_started_once")
    assert r == {"after_main_py": 1, "after_boot": 1, "has_ble": True}


def test_boot_lets_go_of_its_modules_and_serial_waits_for_a_host(
    micropython: Callable[..., Any],
) -> None:
    # Under MicroPython (firmware/README.md, "Memory"): config and startup are dropped once the
    # app is built, and serial_link and framing are loaded only when a USB host talks.
    r = _run(micropython, "boot_releases_its_modules")
    assert {"config", "startup"} <= set(r["booted"])
    assert "serial_link" not in r["booted"] and "framing" not in r["booted"]
    assert not {"config", "startup", "serial_link", "framing"} & set(r["running"])
    assert {"app", "ble_link", "control", "device", "radio", "sampler"} <= set(r["running"])
    assert r["serial_idle"]
    assert {"serial_link", "framing"} <= set(r["after_a_byte"])
    assert r["reply_types"] == [p.T_REPLY]


def test_main_stops_on_a_bad_config_and_honours_the_repl_flag(
    micropython: Callable[..., Any],
) -> None:
    result = micropython(
        """
        import hostio, json, app_fw
        hostio.emit(json.dumps(app_fw.app_main_paths()))
        """,
        mounts={_HERE: "/tf"},
    )
    assert result.last == {"bad_config": None, "repl_flag": None, "flag_cleared": True}
    out = result.stdout
    assert "'rate_hz' must be an integer from 50 to 400, got 1000" in out
    assert "did not start" in out
    assert "REPL requested" in out


def _run(micropython: Callable[..., Any], name: str) -> Any:
    code = f"""
        import hostio, json, app_fw
        hostio.emit(json.dumps(app_fw.{name}()))
        """
    return micropython(code, mounts={_HERE: "/tf"}).last


_MAIN = """
import bluetooth, hostio, json, machine, sys, time
import legpress_fw


class App:
    calls = 0
    ble_on = None
    loaded = None

    def main():
        App.calls += 1
        App.ble_on = bluetooth.BLE().active()
        App.loaded = sorted(m for m in sys.modules if m.startswith("legpress_fw."))


legpress_fw.app = App  # stands in for the real app: main.py only has to call it
held = {held}
if held:
    machine.Pin(0).value = lambda *a: 0  # the BOOT button pulls GPIO0 low
start = time.ticks_ms()
exec(open("/firmware/main.py").read())
ms = time.ticks_diff(time.ticks_ms(), start)
hostio.emit(json.dumps({{"app_started": App.calls, "ms": ms, "ble_on": App.ble_on,
                         "loaded": App.loaded}}))
"""


def test_main_py_starts_the_app(micropython: Callable[..., Any]) -> None:
    result = micropython(_MAIN.format(held=False))
    assert result.last["app_started"] == 1
    assert 900 <= result.last["ms"] < 3000  # one second to catch the BOOT button
    # Bluetooth is on before the app's modules load (NimBLE first into the IDF heap).
    assert result.last["ble_on"] is True
    assert result.last["loaded"] == ["legpress_fw.compat", "legpress_fw.radio"]


def test_main_py_keeps_the_repl_while_boot_is_held(micropython: Callable[..., Any]) -> None:
    result = micropython(_MAIN.format(held=True))
    assert result.last["app_started"] == 0
    assert "BOOT held, app skipped" in result.stdout


def test_status_once_a_second(scenario: Scenario) -> None:
    r = scenario("app_status_every_second")
    assert r["status_notifications"] == 3  # ticks 0, 10 and 20 of 25
    assert r["kinds"] == [p.T_STATUS]
    assert r["lengths"] == [9 + p.STATUS_BODY_SIZE] == [r["readable_len"]]
    assert r["feeds"] == 3
    assert r["led_writes"] == 25


def test_the_tasks_run_together(scenario: Scenario) -> None:
    r = scenario("app_runs_under_asyncio", 1200)
    # About 120 samples in 1.2 s of wall time at 100 Hz on an idle machine, but this is not
    # a timing test (bench_timing is): it proves the sampler, the links and the supervisor all
    # made progress side by side, which a loaded test machine slows but cannot stop.
    assert r["samples"] >= 20, r
    assert r["packets"] >= 2
    assert p.T_REPLY in r["serial_replies"]  # the link opened on the host's first byte
    assert r["serial_active"]
    assert r["restarts"] == 0 and r["logs"] == []
    assert r["wdt_timeout"] == 8000 and r["feeds"] >= 1


def test_fatal_path_feeds_the_watchdog_then_resets(scenario: Scenario) -> None:
    r = scenario("fatal_path")
    assert r["slept_ms"] == 10_000
    assert r["longest_unfed_ms"] <= 1000  # watchdog_s is at least 2 s
    assert r["fed_before_each_sleep"]
    assert r["resets"] == 1


def test_a_deployed_copy_behind_a_frozen_package_is_named(scenario: Scenario) -> None:
    r = scenario("app_shadowed_copy")
    assert r == {"frozen_with_copy": "/lib/legpress_fw", "frozen_alone": None, "from_lib": None}
