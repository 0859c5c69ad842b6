"""config.py: defaults, the shipped config.json, hardware/pinmap.json, and one clear error per
bad key (naming the key and what it accepts), under CPython and MicroPython."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from legpress_fw import config
from tests.firmware.conftest import Scenario

REPO = Path(__file__).resolve().parents[2]
CONFIG_JSON = REPO / "firmware" / "config.json"
PINMAP = REPO / "hardware" / "pinmap.json"

# name -> (config dict, key named in the error, words the message must contain)
BAD: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
    "rate_high": ({"rate_hz": 500}, "rate_hz", ("50", "400", "500")),
    "rate_low": ({"rate_hz": 49}, "rate_hz", ("50", "400")),
    "rate_float": ({"rate_hz": 100.5}, "rate_hz", ("integer",)),
    "rate_bool": ({"rate_hz": True}, "rate_hz", ("integer", "true")),
    "rate_string": ({"rate_hz": "100"}, "rate_hz", ("integer",)),
    "pad": ({"pad": "i2c"}, "pad", ('"mux"', '"direct"')),
    "cells_mux": ({"cells": 17}, "cells", ("1", "16")),
    "cells_zero": ({"cells": 0}, "cells", ("1", "16")),
    "cells_direct": ({"pad": "direct", "cells": 8}, "cells", ("1 to 6", "cell_pins")),
    "cell_pins_adc2": ({"cell_pins": [36, 4]}, "cell_pins", ("ADC1", "GPIO 32-39")),
    "cell_pins_dup": ({"cell_pins": [36, 36]}, "cell_pins", ("distinct",)),
    "cell_pins_type": ({"cell_pins": 36}, "cell_pins", ("list",)),
    "mux_pin": ({"mux_pin": 25}, "mux_pin", ("ADC1", "GPIO 32-39")),
    "mux_select_count": ({"mux_select_pins": [23, 22, 21]}, "mux_select_pins", ("4",)),
    "mux_select_input_only": (
        {"mux_select_pins": [23, 22, 21, 34]},
        "mux_select_pins",
        ("output",),
    ),
    "mux_select_flash": ({"mux_select_pins": [23, 22, 21, 6]}, "mux_select_pins", ("output",)),
    "mux_settle": ({"mux_settle_us": 5000}, "mux_settle_us", ("0", "1000")),
    "oversample": ({"oversample": 0}, "oversample", ("1", "16")),
    "atten": ({"atten_db": 12}, "atten_db", ("0, 2.5, 6, 11",)),
    "atten_bool": ({"atten_db": False}, "atten_db", ("0, 2.5, 6, 11",)),
    "pitch": ({"cell_pitch_mm": 0}, "cell_pitch_mm", ("1", "255")),
    "position": ({"position": "laser"}, "position", ('"pcnt"', '"pin_irq"', '"analog"')),
    "encoder_pins_count": ({"encoder_pins": [25]}, "encoder_pins", ("2",)),
    "encoder_pins_uart": ({"encoder_pins": [1, 3]}, "encoder_pins", ("input",)),
    "encoder_filter": ({"encoder_filter_ns": 20000}, "encoder_filter_ns", ("0", "12787")),
    "position_pin": ({"position": "analog", "position_pin": 25}, "position_pin", ("ADC1",)),
    "counts_per_m": ({"counts_per_m": -1}, "counts_per_m", ("0", "1000000000")),
    "invert": ({"invert": "yes"}, "invert", ("true or false",)),
    "security": ({"security": "none"}, "security", ('"bonded"', '"passkey"', '"open"')),
    "passkey_missing": ({"security": "passkey"}, "passkey", ("6 digits", "label")),
    "passkey_short": ({"security": "passkey", "passkey": "4029"}, "passkey", ("6 digits",)),
    "passkey_number": ({"security": "passkey", "passkey": 402913}, "passkey", ("quotes",)),
    "passkey_guessable": ({"security": "passkey", "passkey": "123456"}, "passkey", ("guesses",)),
    "led_pin": ({"led_pin": 39}, "led_pin", ("output", "null")),
    "led_active_high": ({"led_active_high": 1}, "led_active_high", ("true or false",)),
    "serial": ({"serial": None}, "serial", ("true or false",)),
    "watchdog": ({"watchdog_s": 1}, "watchdog_s", ("0 (off)", "2", "60")),
    "name_long": ({"name": "x" * 30}, "name", ("29 bytes",)),
    "name_control": ({"name": "bad\nname"}, "name", ("control",)),
    "unknown_key": ({"rate": 100}, "rate", ("not a configuration key", "rate_hz")),
    "pin_clash_encoder": ({"encoder_pins": [36, 26]}, "encoder_pins", ("36", "mux_pin")),
    "pin_clash_led": ({"led_pin": 23}, "led_pin", ("23", "mux_select_pins")),
    "pin_clash_analog": (
        {"pad": "direct", "cells": 6, "position": "analog", "position_pin": 36},
        "position_pin",
        ("36", "cell_pins"),
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_value_names_its_key_and_range(name: str) -> None:
    d, key, words = BAD[name]
    with pytest.raises(config.ConfigError) as err:
        config.validate(d)
    assert err.value.key == key
    message = str(err.value)
    assert message.startswith(f"'{key}' ")
    for w in words:
        assert w in message, f"{w!r} missing from {message!r}"


def test_same_messages_under_micropython(scenario: Scenario) -> None:
    cases = [[name, BAD[name][0]] for name in sorted(BAD)]
    got = scenario("config_errors", cases)
    for name in sorted(BAD):
        d, key, _ = BAD[name]
        with pytest.raises(config.ConfigError) as err:
            config.validate(d)
        assert got[name] == [key, str(err.value)], name


def test_missing_keys_take_defaults() -> None:
    cfg = config.validate({})
    for key, default in config.DEFAULTS:
        assert getattr(cfg, key) == default
    assert cfg.period_us == 10000
    assert cfg.secure
    assert cfg.cell_channels() == [0x80 | c for c in range(8)]


def test_shipped_config_json_is_the_defaults() -> None:
    shipped = json.loads(CONFIG_JSON.read_text())
    values = {k: v for k, v in shipped.items() if not k.startswith("_")}
    assert values == dict(config.DEFAULTS)
    assert list(values) == list(config.KEYS)  # same order as the README's table
    config.validate(shipped)


def test_defaults_follow_the_pinmap() -> None:
    pinmap = json.loads(PINMAP.read_text())
    d = dict(config.DEFAULTS)
    pad = pinmap["pad"]
    assert d["pad"] == pad["mode"]
    assert d["cells"] == pad["n_cells"]
    assert d["cell_pitch_mm"] == pad["cell_pitch_mm"]
    assert d["mux_pin"] == pad["mux"]["sig_gpio"]
    assert d["mux_select_pins"] == pad["mux"]["select_gpios"]
    assert d["mux_settle_us"] == pad["mux"]["settle_us"]
    assert d["cell_pins"] == pinmap["variants"]["direct6"]["pad"]["cell_gpios"]
    assert d["atten_db"] == pinmap["adc"]["atten_db"]
    enc = pinmap["encoder"]
    assert d["encoder_pins"] == [enc["a_gpio"], enc["b_gpio"]]
    assert d["encoder_filter_ns"] == enc["filter_ns"]
    assert d["counts_per_m"] == round(enc["counts_per_mm"] * 1000)
    assert d["led_pin"] == pinmap["led"]["gpio"]
    assert d["led_active_high"] == pinmap["led"]["active_high"]
    # The mux channel of cell c is c, as DEVICE_INFO reports it.
    assert [c["mux_channel"] for c in pad["cells"]] == list(range(pad["n_cells"]))


def test_direct6_variant_validates() -> None:
    cfg = config.validate({"pad": "direct", "cells": 6})
    assert cfg.cell_channels() == [36, 39, 34, 35, 32, 33]


def test_esp32s3_pins() -> None:
    s3 = {
        "pad": "direct",
        "cells": 8,
        "cell_pins": [1, 2, 3, 4, 5, 6, 7, 8],
        "encoder_pins": [15, 16],
        "led_pin": 21,
        "mux_pin": 9,
        "mux_select_pins": [10, 11, 12, 13],
        "position_pin": 10,
    }
    cfg = config.validate(s3, config.CHIP_ESP32S3)
    assert cfg.cell_channels() == [1, 2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(config.ConfigError, match=r"'cell_pins'.*GPIO 32-39"):
        config.validate(s3)  # GPIO1-8 are no ADC1 pins on a classic ESP32
    with pytest.raises(config.ConfigError, match="'encoder_pins'"):
        config.validate(dict(s3, encoder_pins=[19, 20]), config.CHIP_ESP32S3)  # native USB


def test_comment_keys_are_ignored() -> None:
    config.validate({"_note": "anything", "_": [1, 2]})


@pytest.mark.parametrize(
    ("text", "ok"),
    [(None, False), ("", False), ("{not json", False), ("{}", True), ('{"rate_hz": 200}', True)],
)
def test_load_text(text: str | None, ok: bool) -> None:
    cfg, file_ok = config.load_text(text)
    assert file_ok is ok
    assert cfg.rate_hz == (200 if text and "200" in text else 100)


def test_load_text_bad_value_raises() -> None:
    with pytest.raises(config.ConfigError, match="'rate_hz'"):
        config.load_text('{"rate_hz": 1000}')


def test_json_that_is_not_an_object() -> None:
    with pytest.raises(config.ConfigError, match="JSON object"):
        config.validate([1, 2])  # type: ignore[arg-type]


def test_report_prints_every_key() -> None:
    lines = config.validate({"rate_hz": 200}).report()
    assert len(lines) == len(config.KEYS)
    assert "  rate_hz = 200" in lines
    assert '  security = "bonded"' in lines


def test_default_name() -> None:
    assert config.default_name(b"\x24\x0a\xc4\x5e\x3a\x7f") == "LegPress-3A7F"


def test_device_info_fields(micropython: Callable[..., Any]) -> None:
    # DEVICE_INFO packs from device.DeviceInfo under MicroPython, and the name fits NAME_MAX.
    result = micropython(
        """
        import hostio, json
        from legpress_fw import config, device, protocol
        cfg = config.validate({"name": "x" * 29})
        info = device.DeviceInfo(cfg, b"\\x01\\x02\\x03\\x04\\x05\\x06", cfg.name)
        buf = bytearray(200)
        n = protocol.pack_info_body(buf, 0, info)
        hostio.emit(json.dumps({"n": n, "name_len": buf[26 + 3 * 8]}))
        """
    )
    assert result.last == {"n": 26 + 3 * 8 + 1 + 29, "name_len": 29}


def test_s3_defaults_follow_the_pinmap() -> None:
    s3 = json.loads(PINMAP.read_text())["chips"]["esp32s3"]
    d = dict(config.defaults(config.CHIP_ESP32S3))
    assert d["mux_pin"] == s3["pad"]["mux"]["sig_gpio"]
    assert d["mux_select_pins"] == s3["pad"]["mux"]["select_gpios"]
    assert d["cell_pins"] == s3["pad"]["direct_cell_gpios"]
    assert d["encoder_pins"] == [s3["encoder"]["a_gpio"], s3["encoder"]["b_gpio"]]
    assert d["position_pin"] == s3["position_analog_gpio"]
    assert d["led_pin"] == s3["led"]["gpio"]
    assert d["buzzer_pin"] == s3["buzzer"]["gpio"]
    assert set(d["cell_pins"]) <= set(s3["adc1_gpios"])
    # Only pins differ between the chips, and the classic defaults are DEFAULTS.
    assert [k for k, _ in config.defaults(config.CHIP_ESP32S3)] == list(config.KEYS)
    assert config.defaults(config.CHIP_ESP32) == config.DEFAULTS
    changed = {k for k, v in config.DEFAULTS if d[k] != v}
    assert changed <= set(config.PIN_KEYS)


@pytest.mark.parametrize("pad", ["mux", "direct"])
@pytest.mark.parametrize("position", ["pcnt", "analog"])
def test_s3_boots_on_its_defaults(pad: str, position: str) -> None:
    cfg = config.validate({"pad": pad, "position": position}, config.CHIP_ESP32S3)
    assert cfg.mux_pin == 1 and cfg.led_pin == 21 and cfg.buzzer_pin == 18
    # The classic pins are refused on an S3, so a copied classic config.json says so.
    with pytest.raises(config.ConfigError, match=r"'cell_pins'.*GPIO 1-10"):
        config.validate({"cell_pins": [36, 39]}, config.CHIP_ESP32S3)


@pytest.mark.parametrize(
    ("machine_name", "chip"),
    [
        ("Generic ESP32S3 module with ESP32S3", config.CHIP_ESP32S3),  # MicroPython <= 1.25
        ("Generic ESP32S3 module with ESP32-S3", config.CHIP_ESP32S3),
        ("TinyS3 with ESP32-S3", config.CHIP_ESP32S3),
        ("Generic ESP32 module with ESP32", config.CHIP_ESP32),
        ("ESP32 module (spiram) with ESP32", config.CHIP_ESP32),
    ],
)
def test_chip_from_machine_name(machine_name: str, chip: str) -> None:
    assert config.chip_of(machine_name) == chip


def test_buzzer_pin() -> None:
    assert config.validate({"buzzer_pin": None}).buzzer_pin is None
    with pytest.raises(config.ConfigError, match=r"'buzzer_pin' must be an output pin or null"):
        config.validate({"buzzer_pin": 36})  # input only
    with pytest.raises(config.ConfigError, match=r"'buzzer_pin' uses GPIO 27.*'led_pin'"):
        config.validate({"buzzer_pin": 27})


def test_s3_defaults_under_micropython(micropython: Callable[..., Any]) -> None:
    result = micropython(
        """
        import hostio, json
        from legpress_fw import config
        cfg = config.validate({}, config.CHIP_ESP32S3)
        hostio.emit(json.dumps([config.chip_of("TinyS3 with ESP32-S3"), cfg.mux_pin,
                                cfg.mux_select_pins, cfg.encoder_pins, cfg.led_pin]))
        """
    )
    assert result.last == ["esp32s3", 1, [11, 12, 13, 14], [15, 16], 21]
