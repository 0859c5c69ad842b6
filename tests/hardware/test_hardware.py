"""hardware/: bill of materials, pin map, divider arithmetic, wiring diagram, docs.

Everything here is stdlib-only and fast; the tools under hardware/tools are loaded by path
because hardware/ is not a Python package.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HW = ROOT / "hardware"
TOOLS = HW / "tools"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"legpress_hw_{name}", TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


divider = _load("divider")
sled = _load("sled")
bom = _load("bom")
wiring = _load("wiring_svg")

PINMAP: dict[str, Any] = json.loads((HW / "pinmap.json").read_text(encoding="utf-8"))
README = (HW / "README.md").read_text(encoding="utf-8")
CALIBRATION = (HW / "calibration.md").read_text(encoding="utf-8")

# --- ESP32 (classic) facts -------------------------------------------------------------------
ADC1 = {32, 33, 34, 35, 36, 37, 38, 39}
INPUT_ONLY = {34, 35, 36, 37, 38, 39}  # no output driver, no internal pull-up/down
STRAPPING = {0, 2, 5, 12, 15}
FLASH = {6, 7, 8, 9, 10, 11}
UART0 = {1, 3}  # REPL / firmware upload
PSRAM_WROVER = {16, 17}  # taken by PSRAM on WROVER modules: keep the map portable

# ESP32-DevKitC V4 headers (Espressif user guide): pin number -> GPIO or power name.
DEVKITC_J2 = {
    1: "3V3",
    2: "EN",
    3: 36,
    4: 39,
    5: 34,
    6: 35,
    7: 32,
    8: 33,
    9: 25,
    10: 26,
    11: 27,
    12: 14,
    13: 12,
    14: "GND",
    15: 13,
    16: 9,
    17: 10,
    18: 11,
    19: "5V",
}
DEVKITC_J3 = {
    1: "GND",
    2: 23,
    3: 22,
    4: 1,
    5: 3,
    6: 21,
    7: "GND",
    8: 19,
    9: 18,
    10: 5,
    11: 17,
    12: 16,
    13: 4,
    14: 0,
    15: 2,
    16: 15,
    17: 8,
    18: 7,
    19: 6,
}
HEADERS = {f"J2-{k}": v for k, v in DEVKITC_J2.items()} | {
    f"J3-{k}": v for k, v in DEVKITC_J3.items()
}
EXPOSED = {v for v in HEADERS.values() if isinstance(v, int)}


def _pad_pins(pad: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(inputs, outputs) of a pad section, mux or direct."""
    if pad["mode"] == "mux":
        return [pad["mux"]["sig_gpio"]], list(pad["mux"]["select_gpios"])
    assert pad["mode"] == "direct"
    return list(pad["cell_gpios"]), []


def _builds() -> dict[str, dict[str, Any]]:
    """The default build and every variant, with the variant's overrides applied."""
    out = {"default": PINMAP}
    for name, var in PINMAP["variants"].items():
        out[name] = PINMAP | {k: v for k, v in var.items() if k != "note"}
    return out


def _build_pins(build: dict[str, Any]) -> tuple[list[int], list[int]]:
    ins, outs = _pad_pins(build["pad"])
    ins = [*ins, build["encoder"]["a_gpio"], build["encoder"]["b_gpio"]]
    outs = [*outs, build["led"]["gpio"], build["buzzer"]["gpio"]]
    return ins, outs


# --- pin map ---------------------------------------------------------------------------------
def test_pinmap_identity() -> None:
    assert PINMAP["schema"] == "legpress-pinmap/1"
    assert PINMAP["board"] == "esp32-devkitc-v4"
    assert PINMAP["adc"]["unit"] == 1
    assert PINMAP["adc"]["atten_db"] == 11
    assert PINMAP["i2c"] is None


@pytest.mark.parametrize("build", sorted(_builds()))
def test_pad_is_on_adc1_only(build: str) -> None:
    ins, _ = _pad_pins(_builds()[build]["pad"])
    assert ins and set(ins) <= ADC1


@pytest.mark.parametrize("build", sorted(_builds()))
def test_no_pin_used_twice(build: str) -> None:
    ins, outs = _build_pins(_builds()[build])
    pins = ins + outs
    assert len(pins) == len(set(pins)), pins


@pytest.mark.parametrize("build", sorted(_builds()))
def test_outputs_are_safe(build: str) -> None:
    _, outs = _build_pins(_builds()[build])
    for g in outs:
        assert g not in INPUT_ONLY, f"GPIO{g} cannot drive an output"
        assert g not in STRAPPING, f"GPIO{g} is a strapping pin"
        assert g not in FLASH | UART0 | PSRAM_WROVER, f"GPIO{g} is reserved"


@pytest.mark.parametrize("build", sorted(_builds()))
def test_every_pin_is_on_the_devkitc_headers(build: str) -> None:
    ins, outs = _build_pins(_builds()[build])
    assert set(ins + outs) <= EXPOSED
    assert not (set(ins + outs) & (FLASH | UART0))


def test_encoder_pins_take_pull_ups_and_counter() -> None:
    enc = PINMAP["encoder"]
    for g in (enc["a_gpio"], enc["b_gpio"]):
        assert g not in INPUT_ONLY, "quadrature inputs need internal pull-ups as a fallback"
        assert g not in STRAPPING
    assert enc["pull"] == "up"
    assert enc["phases"] == 4
    assert 0 <= enc["pcnt_unit"] <= 7


def test_signals_table_agrees_with_sections() -> None:
    by_gpio = {s["gpio"]: s for s in PINMAP["signals"] if s["gpio"] is not None}
    ins, outs = _build_pins(PINMAP)
    assert set(by_gpio) == set(ins + outs)
    for g in ins:
        assert by_gpio[g]["direction"] == "in"
    for g in outs:
        assert by_gpio[g]["direction"] == "out"
    names = [s["name"] for s in PINMAP["signals"]]
    assert len(names) == len(set(names))
    for s in PINMAP["signals"]:
        assert s["header"] in HEADERS, s
        expected = s["gpio"] if s["gpio"] is not None else s["name"]
        assert HEADERS[s["header"]] == expected, s
        for key in (
            "function",
            "direction",
            "pull",
            "connector",
            "connector_pin",
            "wire_colour",
            "notes",
        ):
            assert key in s, (s["name"], key)
    for g in INPUT_ONLY & set(by_gpio):
        assert by_gpio[g]["pull"] in ("none", None), "GPIO34-39 have no internal pulls"
    mux = PINMAP["pad"]["mux"]
    assert by_gpio[mux["sig_gpio"]]["name"] == "PAD_SIG"
    for i, g in enumerate(mux["select_gpios"]):
        assert by_gpio[g]["name"] == f"MUX_S{i}"


def test_cells_and_connector() -> None:
    pad = PINMAP["pad"]
    cells = pad["cells"]
    assert len(cells) == pad["n_cells"] <= pad["max_cells"] <= 16
    assert [c["cell"] for c in cells] == list(range(pad["n_cells"]))
    channels = [c["mux_channel"] for c in cells]
    assert len(set(channels)) == len(channels) and all(0 <= ch < 16 for ch in channels)
    for c in cells:
        assert c["height_mm"] == pad["first_cell_mm"] + c["cell"] * pad["cell_pitch_mm"]
        assert c["wire_colour"] in wiring.SWATCH
    pins = [c["connector_pin"] for c in cells]
    assert len(set(pins)) == len(pins) and min(pins) >= 3
    direct = PINMAP["variants"]["direct6"]["pad"]
    assert len(direct["cell_gpios"]) == direct["n_cells"] <= len(cells)


def test_encoder_counts_per_mm_matches_formula() -> None:
    enc = PINMAP["encoder"]
    expected = sled.counts_per_mm_drum(enc["ppr"], enc["drum_diameter_mm"], 0.0, enc["phases"])
    assert enc["counts_per_mm"] == pytest.approx(expected, abs=1e-3)
    # SAMPLES_COMPACT keeps a full leg-press travel (< 1 m) without saturating.
    assert sled.compact_range_mm(enc["counts_per_mm"]) > 1000


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        out[prefix] = obj
    return out


def _pin_ints(obj: Any, key: str = "") -> set[int]:
    """Integers stored under keys that name a pin (``*pin*``, ``*gpio*``, ``sig``, ``a``/``b``)."""
    found: set[int] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            found |= _pin_ints(v, str(k).lower())
    elif isinstance(obj, list):
        for v in obj:
            found |= _pin_ints(v, key)
    elif (
        isinstance(obj, int)
        and not isinstance(obj, bool)
        and (re.search(r"pin|gpio", key) or key in ("sig", "a", "b", "led", "buzzer"))
    ):
        found.add(obj)
    return found


FIRMWARE_CONFIGS = (
    ROOT / "firmware" / "legpress_fw" / "defaults.json",
    ROOT / "firmware" / "config.json",
)


def _pinmap_as_firmware_keys() -> dict[str, Any]:
    """The pin map in the firmware configuration's key names (firmware/legpress_fw/config.py)."""
    pad, enc = PINMAP["pad"], PINMAP["encoder"]
    return {
        "pad": pad["mode"],
        "cells": pad["n_cells"],
        "cell_pins": PINMAP["variants"]["direct6"]["pad"]["cell_gpios"],
        "mux_pin": pad["mux"]["sig_gpio"],
        "mux_select_pins": pad["mux"]["select_gpios"],
        "mux_settle_us": pad["mux"]["settle_us"],
        "atten_db": PINMAP["adc"]["atten_db"],
        "cell_pitch_mm": pad["cell_pitch_mm"],
        "encoder_pins": [enc["a_gpio"], enc["b_gpio"]],
        "encoder_filter_ns": enc["filter_ns"],
        "counts_per_m": round(enc["counts_per_mm"] * 1000),
        "led_pin": PINMAP["led"]["gpio"],
        "led_active_high": PINMAP["led"]["active_high"],
        "buzzer_pin": PINMAP["buzzer"]["gpio"],
    }


def _firmware_defaults() -> list[tuple[str, dict[str, Any]]]:
    """Every firmware default configuration present: JSON files and config.DEFAULTS."""
    found = [
        (p.name, json.loads(p.read_text(encoding="utf-8"))) for p in FIRMWARE_CONFIGS if p.exists()
    ]
    sys.path.insert(0, str(ROOT / "firmware"))
    try:
        from legpress_fw import config as fw_config  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        found.append(("legpress_fw.config.DEFAULTS", dict(fw_config.DEFAULTS)))
    finally:
        sys.path.remove(str(ROOT / "firmware"))
    return found


def test_firmware_defaults_use_the_pin_map() -> None:
    present = _firmware_defaults()
    if not present:
        pytest.skip("no firmware default configuration yet")
    allowed: set[int] = set()
    for b in _builds().values():
        ins, outs = _build_pins(b)
        allowed |= set(ins + outs)
    ours = _flatten(PINMAP)
    mapped = _pinmap_as_firmware_keys()
    for name, cfg in present:
        used = _pin_ints(cfg)
        assert used <= allowed, f"{name}: pins {sorted(used - allowed)} not in pinmap.json"
        for key, value in mapped.items():
            if key in cfg:
                assert cfg[key] == value, f"{name}: {key} = {cfg[key]!r}, pinmap gives {value!r}"
        theirs = _flatten(cfg)
        for k in set(ours) & set(theirs):
            if "gpio" in k:
                assert theirs[k] == ours[k], f"{name}: {k} = {theirs[k]}, pinmap {ours[k]}"


# --- bill of materials -----------------------------------------------------------------------
def test_bom_columns_and_rows() -> None:
    rows = bom.read_bom()
    assert rows
    assert tuple(rows[0].keys()) == bom.COLUMNS
    refs = [r["ref"] for r in rows]
    assert len(refs) == len(set(refs))
    for r in rows:
        assert r["category"] in bom.CATEGORIES, r
        assert r["part"] and r["example_part_numbers"], r
        qty, unit, cost = int(r["qty"]), float(r["unit_cost_usd"]), float(r["cost_usd"])
        assert qty > 0 and unit > 0
        assert cost == pytest.approx(qty * unit, abs=0.005), r["ref"]


def test_bom_covers_the_pin_map_parts() -> None:
    text = " ".join(" ".join(r.values()) for r in bom.read_bom())
    assert PINMAP["pad"]["mux"]["part"] in text
    assert "MCP1700-1202" in text
    fsr = next(r for r in bom.read_bom() if r["ref"].startswith("FSR"))
    assert int(fsr["qty"]) == PINMAP["pad"]["n_cells"]
    r_fixed = next(r for r in bom.read_bom() if r["ref"] == "R1-R8")
    assert f"{PINMAP['pad']['divider']['r_fixed_ohm'] / 1000:g} kOhm" in r_fixed["part"]


def test_electronics_under_40_usd() -> None:
    assert bom.totals(bom.read_bom())["electronics"] < 40.0


def test_readme_states_the_bom_total() -> None:
    total = bom.totals(bom.read_bom())["electronics"]
    assert f"Electronics total: **{total:.2f} USD**" in README


# --- divider arithmetic ----------------------------------------------------------------------
def test_force_on_a_402() -> None:
    assert divider.force_n(40, 12.7) == pytest.approx(5.067, abs=1e-3)
    assert divider.force_n(5, 12.7) == pytest.approx(0.633, abs=1e-3)


def test_fsr_curves_are_monotonic_and_anchored() -> None:
    assert divider.fsr_resistance(1.0, "adafruit") == pytest.approx(6000)
    assert divider.fsr_resistance(10.0, "adafruit") == pytest.approx(1000)
    for curve in divider.CURVES:
        rs = [divider.fsr_resistance(f, curve) for f in (0.3, 0.6, 1, 3, 6, 12)]
        assert rs == sorted(rs, reverse=True)
    with pytest.raises(ValueError):
        divider.fsr_resistance(1.0, "nope")


def test_chosen_divider_keeps_5_to_40_kpa_inside_the_adc_range() -> None:
    d = divider.load_design()
    env = divider.envelope(d)
    assert env.inside_adc_range()
    assert divider.ADC_MIN_V <= env.v_low_min < env.v_low_max < env.v_high_max
    assert env.v_high_max <= divider.ADC_MAX_V
    # Creep guidance and Interlink's current limit.
    assert d.v_drive <= divider.CREEP_MAX_V
    assert env.v_fsr_max <= divider.CREEP_MAX_V
    assert env.i_cell_max_ma < env.i_limit_ma
    # At least 50 mV above the ADC floor at 5 kPa in the worst case.
    assert env.v_low_min >= divider.ADC_MIN_V + 0.05


def test_naive_divider_fails_the_same_check() -> None:
    naive = divider.Design(
        v_drive=3.3, r_fixed=10_000, r_series=0, c_node_nf=100, n_cells=8, max_cells=16
    )
    env = divider.envelope(naive)
    assert not env.inside_adc_range()
    assert env.v_fsr_max > divider.CREEP_MAX_V


@pytest.mark.parametrize("r", [200.0, 1000.0, 6800.0, 30_000.0, 1e6])
def test_divider_inverse(r: float) -> None:
    v = divider.adc_voltage(r, 6800, 1.2)
    assert divider.fsr_from_voltage(v, 6800, 1.2) == pytest.approx(r, rel=1e-9)
    assert divider.adc_voltage(math.inf, 6800, 1.2) == 0.0
    assert math.isinf(divider.fsr_from_voltage(0.0, 6800, 1.2))


def test_suggest_r_fixed_is_the_e12_geometric_mean() -> None:
    assert divider.suggest_r_fixed(25_000, 2_500) == pytest.approx(8200)
    assert divider.suggest_r_fixed(9_500, 1_700) == pytest.approx(3900)
    assert divider.snap_e12(6_500) == pytest.approx(6800)


def test_readme_shows_the_current_design_table() -> None:
    assert divider.design_table() in README


# --- sled arithmetic -------------------------------------------------------------------------
def test_counts_per_mm_examples() -> None:
    assert sled.counts_per_mm_drum(600, 30, 1.0) == pytest.approx(24.643, abs=1e-3)
    assert sled.counts_per_mm_belt(600, 20, 2.0) == pytest.approx(60.0)
    assert sled.counts_per_mm_measured(-7393, 300) == pytest.approx(24.643, abs=1e-3)
    # PCNT glitch filter of 1 us leaves plenty of room at 1.5 m/s.
    assert sled.edge_rate_hz(24.643) < 1e6 / (2 * PINMAP["encoder"]["filter_ns"] / 1000)


# --- wiring diagram --------------------------------------------------------------------------
def test_wiring_svg_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "wiring.svg"
    assert wiring.main(["--out", str(out)]) == 0
    assert out.read_bytes() == (HW / "wiring.svg").read_bytes(), (
        "hardware/wiring.svg is stale: run python hardware/tools/wiring_svg.py"
    )


def test_wiring_svg_is_well_formed_and_names_every_gpio() -> None:
    tree = ET.parse(HW / "wiring.svg")
    text = " ".join(t for t in tree.getroot().itertext())
    gpios = {s["gpio"] for s in PINMAP["signals"] if s["gpio"] is not None}
    for b in _builds().values():
        ins, outs = _build_pins(b)
        gpios |= set(ins + outs)
    for g in sorted(gpios):
        assert re.search(rf"GPIO{g}\b", text), f"GPIO{g} missing from wiring.svg"
    assert "CD74HC4067" in text


# --- documents -------------------------------------------------------------------------------
def test_one_plain_not_a_medical_device_statement() -> None:
    """The docs say it once, plainly: in the project README, and nowhere else."""
    root = Path(__file__).resolve().parents[2]
    docs = [root / "README.md", root / "PROTOCOL.md"]
    docs += [*(root / "docs").glob("*.md"), *(root / "hardware").glob("*.md")]
    docs += [*(root / "firmware").glob("*.md")]
    counts = {
        d.relative_to(root).as_posix(): d.read_text(encoding="utf-8")
        .lower()
        .count("not a medical device")
        for d in docs
    }
    assert {d: n for d, n in counts.items() if n} == {"README.md": 1}
    assert "not a medical device" not in (README + CALIBRATION).lower()


def test_calibration_uses_the_cli_commands() -> None:
    for cmd in ("legpress calibrate", "legpress monitor", "legpress firmware deploy --port"):
        assert cmd in CALIBRATION, cmd


def test_readme_pin_table_matches_the_pin_map() -> None:
    for s in PINMAP["signals"]:
        gpio = "–" if s["gpio"] is None else str(s["gpio"])
        row = re.search(rf"^\| {re.escape(s['name'])} \| ([^|]+) \| ([^|]+) \|", README, re.M)
        assert row, s["name"]
        assert row.group(1).strip().split(" ")[0] == gpio, s["name"]
        assert row.group(2).strip() == s["header"], s["name"]
