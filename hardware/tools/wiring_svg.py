#!/usr/bin/env python3
"""Draw hardware/wiring.svg from hardware/pinmap.json (stdlib only).

    python hardware/tools/wiring_svg.py            # writes hardware/wiring.svg
    python hardware/tools/wiring_svg.py --out x.svg

The drawing is a function of the pin map and of the divider design (tools/divider.py), so it
cannot drift from them; tests/hardware regenerates it and compares with the committed file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
PINMAP = HERE.parent / "pinmap.json"
OUT = HERE.parent / "wiring.svg"

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
INK = "#1a1a1a"
BOARD = "#eef4fb"
STRIP = "#fff8e6"
MUTED = "#555555"

SWATCH = {
    "brown": "#8b4513",
    "red": "#d62728",
    "orange": "#ff8c00",
    "yellow": "#ffd700",
    "green": "#2ca02c",
    "blue": "#1f77b4",
    "violet": "#8a2be2",
    "grey": "#8c8c8c",
    "white": "#ffffff",
    "black": "#000000",
}


def _load_divider() -> ModuleType:
    spec = importlib.util.spec_from_file_location("legpress_hw_divider", HERE / "divider.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _n(v: float) -> str:
    """Compact, deterministic number formatting."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Svg:
    def __init__(self, width: int, height: int) -> None:
        self.w = width
        self.h = height
        self.parts: list[str] = []

    def add(self, s: str) -> None:
        self.parts.append(s)

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        width: float = 1.6,
        dash: str | None = None,
        color: str = INK,
    ) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{color}" stroke-width="{_n(width)}"{d}/>'
        )

    def poly(self, pts: list[tuple[float, float]], fill: str = "none", width: float = 1.6) -> None:
        p = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
        self.add(
            f'<polyline points="{p}" fill="{fill}" stroke="{INK}" stroke-width="{_n(width)}"/>'
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str = "#ffffff",
        stroke: str = INK,
        width: float = 1.6,
        dash: str | None = None,
        rx: float = 0,
    ) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        r = f' rx="{_n(rx)}"' if rx else ""
        self.add(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"{r} fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{_n(width)}"{d}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: int = 13,
        anchor: str = "start",
        weight: str = "normal",
        color: str = INK,
    ) -> None:
        self.add(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}">{escape(s)}</text>'
        )

    def dot(self, x: float, y: float) -> None:
        self.add(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.2" fill="{INK}"/>')

    # --- symbols -------------------------------------------------------------------------
    def res_h(self, x1: float, x2: float, y: float, label: str = "", above: bool = True) -> None:
        """Horizontal resistor between x1 and x2 (IEC box), leads included."""
        mid = (x1 + x2) / 2
        self.line(x1, y, mid - 17, y)
        self.rect(mid - 17, y - 6, 34, 12)
        self.line(mid + 17, y, x2, y)
        if label:
            self.text(mid, y - 10 if above else y + 20, label, 11, "middle")

    def res_v(self, x: float, y1: float, y2: float, label: str = "") -> None:
        mid = (y1 + y2) / 2
        self.line(x, y1, x, mid - 11)
        self.rect(x - 5, mid - 11, 10, 22)
        self.line(x, mid + 11, x, y2)
        if label:
            self.text(x + 9, mid + 4, label, 11)

    def cap_v(self, x: float, y1: float, y2: float, label: str = "") -> None:
        mid = (y1 + y2) / 2
        self.line(x, y1, x, mid - 3)
        self.line(x - 8, mid - 3, x + 8, mid - 3, 2.2)
        self.line(x - 8, mid + 3, x + 8, mid + 3, 2.2)
        self.line(x, mid + 3, x, y2)
        if label:
            self.text(x + 11, mid + 4, label, 11)

    def ground(self, x: float, y: float) -> None:
        self.line(x, y, x, y + 5)
        self.line(x - 8, y + 5, x + 8, y + 5)
        self.line(x - 5, y + 8.5, x + 5, y + 8.5)
        self.line(x - 2, y + 12, x + 2, y + 12)

    def flag(self, x: float, y: float, name: str, up: bool = True) -> None:
        """Power net flag: a short stub ending in a bar and the net name."""
        y2 = y - 10 if up else y + 10
        self.line(x, y, x, y2)
        self.line(x - 8, y2, x + 8, y2, 2.2)
        self.text(x, y2 - 5 if up else y2 + 14, name, 11, "middle", "bold")

    def fsr(self, x1: float, x2: float, y: float) -> None:
        """Variable resistor: box with a diagonal arrow."""
        mid = (x1 + x2) / 2
        self.line(x1, y, mid - 22, y)
        self.rect(mid - 22, y - 8, 44, 16, fill="#ffe9b3")
        self.line(mid + 22, y, x2, y)
        self.line(mid - 16, y + 11, mid + 14, y - 11, 1.3)
        self.poly([(mid + 8, y - 11), (mid + 14, y - 11), (mid + 14, y - 5)], width=1.3)

    def led(self, x: float, y: float) -> None:
        """LED pointing right, anode at x-10, cathode at x+10."""
        self.add(
            f'<polygon points="{_n(x - 9)},{_n(y - 9)} {_n(x - 9)},{_n(y + 9)} '
            f'{_n(x + 8)},{_n(y)}" '
            f'fill="#c8f0c8" stroke="{INK}" stroke-width="1.6"/>'
        )
        self.line(x + 9, y - 9, x + 9, y + 9, 2)
        self.line(x - 2, y - 12, x + 6, y - 20, 1.2)
        self.line(x + 4, y - 10, x + 12, y - 18, 1.2)

    def diode_v(self, x: float, y1: float, y2: float) -> None:
        """Diode with its cathode at the top (y1)."""
        mid = (y1 + y2) / 2
        self.line(x, y1, x, mid - 7)
        self.add(
            f'<polygon points="{_n(x - 7)},{_n(mid + 6)} {_n(x + 7)},{_n(mid + 6)} '
            f'{_n(x)},{_n(mid - 6)}" fill="#ffffff" stroke="{INK}" stroke-width="1.6"/>'
        )
        self.line(x - 7, mid - 7, x + 7, mid - 7, 2)
        self.line(x, mid + 6, x, y2)

    def npn(self, x: float, y: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """NPN, base lead entering from the left at (x-18, y). Returns collector, emitter."""
        self.add(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="17" fill="#ffffff" stroke="{INK}" '
            f'stroke-width="1.4"/>'
        )
        self.line(x - 18, y, x - 6, y)
        self.line(x - 6, y - 10, x - 6, y + 10, 2.4)
        self.line(x - 6, y - 5, x + 7, y - 14)
        self.line(x - 6, y + 5, x + 7, y + 14)
        self.poly([(x + 1, y + 13), (x + 7, y + 14), (x + 4, y + 8)], width=1.4)
        return (x + 7, y - 14), (x + 7, y + 14)

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
            f'viewBox="0 0 {self.w} {self.h}" font-family="{FONT}">'
        )
        body = "\n".join(self.parts)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + head
            + "\n"
            + f'<rect x="0" y="0" width="{self.w}" height="{self.h}" fill="#ffffff"/>\n'
            + body
            + "\n</svg>\n"
        )


def _signal(pm: dict, name: str) -> dict:
    for s in pm["signals"]:
        if s["name"] == name:
            return s
    raise KeyError(f"signal {name!r} missing from pinmap.json")


def render(pm: dict) -> str:
    """The wiring diagram for pin map ``pm`` as SVG text."""
    div = _load_divider()
    design = div.load_design()
    env = div.envelope(design)
    pad = pm["pad"]
    enc = pm["encoder"]
    n = int(pad["n_cells"])
    row_h = 52
    cell_top = 225
    cell_y = {c["cell"]: cell_top + (n - 1 - c["cell"]) * row_h for c in pad["cells"]}
    cells_bottom = cell_top + (n - 1) * row_h

    # vertical positions of the ESP32 pins
    y_of = {
        "3V3": 140,
        "PAD_SIG": 225,
        "MUX_S0": 275,
        "MUX_S1": 315,
        "MUX_S2": 355,
        "MUX_S3": 395,
        "ENC_A": cells_bottom + 160,
        "ENC_B": cells_bottom + 250,
        "5V": cells_bottom + 310,
        "LED": cells_bottom + 380,
        "BUZZER": cells_bottom + 500,
        "GND": cells_bottom + 570,
    }
    height = int(y_of["GND"] + 70)
    svg = Svg(1500, height)

    # title
    svg.text(
        30,
        38,
        "legpress wiring: ESP32-DevKitC V4, default build "
        f"({n} cells through a {pad['mux']['part']})",
        22,
        weight="bold",
    )
    svg.text(
        30,
        62,
        "Generated from hardware/pinmap.json by hardware/tools/wiring_svg.py "
        "(do not edit by hand). Wire by the GPIO label printed on the board.",
        12,
        color=MUTED,
    )

    # --- ESP32 board --------------------------------------------------------------------
    bx, bw, btop = 30, 262, 78
    svg.rect(bx, btop, bw, height - btop - 25, fill=BOARD, width=2, rx=8)
    svg.text(bx + bw / 2, btop + 20, "U1  ESP32-DevKitC V4", 14, "middle", "bold")
    svg.text(bx + bw / 2, btop + 36, pm["module"].split(" (")[0], 11, "middle", color=MUTED)
    stub_x = bx + bw + 30
    for s in pm["signals"]:
        y = y_of[s["name"]]
        label = f"GPIO{s['gpio']}" if s["gpio"] is not None else s["name"]
        if s["name"] == "PAD_SIG":
            label += " (VP)"
        svg.text(bx + 12, y - 3, label, 13, weight="bold")
        svg.text(bx + 12, y + 12, f"{s['header']}  {s['name']}", 11, color=MUTED)
        svg.line(bx + bw, y, stub_x, y)
        svg.rect(bx + bw - 4, y - 4, 8, 8, fill="#ffffff")
    ny_adc = y_of["MUX_S3"] + 70
    svg.text(
        bx + 12,
        ny_adc,
        f"Pad on ADC{pm['adc']['unit']} only, {pm['adc']['atten_db']} dB",
        12,
        weight="bold",
    )
    svg.text(bx + 12, ny_adc + 16, "ADC2 is unusable while the", 11, color=MUTED)
    svg.text(bx + 12, ny_adc + 30, "radio is on.", 11, color=MUTED)

    # --- 3V3 rail, LDO, DRIVE ---------------------------------------------------------------
    y33 = y_of["3V3"]
    mux_x, mux_w, mux_top = 470, 150, 190
    mux_bottom = cells_bottom + 45
    ldo_x = 660
    svg.line(stub_x, y33, ldo_x, y33)
    svg.dot(mux_x + 40, y33)
    svg.line(mux_x + 40, y33, mux_x + 40, mux_top)
    svg.text(mux_x + 44, mux_top - 6, "VCC", 10)
    svg.text(mux_x + mux_w / 2, mux_top + 16, "U2", 13, "middle", "bold")
    svg.text(mux_x + mux_w / 2, mux_top + 30, pad["mux"]["part"], 11, "middle")
    svg.rect(ldo_x, y33 - 22, 96, 44, fill="#ffffff")
    svg.text(ldo_x + 48, y33 - 5, "U3 LDO", 12, "middle", "bold")
    svg.text(ldo_x + 48, y33 + 11, f"{pad['divider']['drive_v']:.1f} V", 12, "middle")
    svg.cap_v(ldo_x - 20, y33, y33 + 34, "")
    svg.dot(ldo_x - 20, y33)
    svg.ground(ldo_x - 20, y33 + 34)
    svg.text(ldo_x - 8, y33 + 40, "C10 1µF", 10)
    svg.line(ldo_x + 48, y33 + 22, ldo_x + 48, y33 + 36)
    svg.ground(ldo_x + 48, y33 + 36)
    x1_x, x1_w = 830, 44
    out_x = ldo_x + 96
    svg.line(out_x, y33, out_x + 10, y33)
    svg.dot(out_x + 10, y33)
    svg.cap_v(out_x + 10, y33, y33 + 34, "")
    svg.ground(out_x + 10, y33 + 34)
    svg.text(out_x + 10, y33 + 62, "C11 1µF", 10, "middle")
    svg.res_h(out_x + 10, x1_x, y33, f"R9 {pad['divider']['drive_series_ohm']}Ω")

    # --- mux ------------------------------------------------------------------------------
    svg.rect(mux_x, mux_top, mux_w, mux_bottom - mux_top, fill="#ffffff", width=2)
    for name, pin in (
        ("PAD_SIG", "SIG"),
        ("MUX_S0", "S0"),
        ("MUX_S1", "S1"),
        ("MUX_S2", "S2"),
        ("MUX_S3", "S3"),
    ):
        y = y_of[name]
        svg.line(stub_x, y, mux_x, y)
        svg.text(mux_x + 6, y + 4, pin, 11, weight="bold")
        if name == "PAD_SIG":
            svg.text(stub_x + 8, y - 5, f"GPIO{pad['mux']['sig_gpio']} ← common", 10, color=MUTED)
    en_y = mux_bottom - 45
    svg.text(mux_x + 6, en_y + 4, "EN", 11, weight="bold")
    svg.line(mux_x, en_y, mux_x - 20, en_y)
    svg.ground(mux_x - 20, en_y)
    svg.text(mux_x + 6, en_y - 22, "C9 100n VCC–GND", 10, color=MUTED)
    svg.text(mux_x + 6, en_y - 36, f"settle {pad['mux']['settle_us']} µs", 10, color=MUTED)

    # --- cells ----------------------------------------------------------------------------
    node_x, cap_x = 700, 770
    strip_x0, bus_x = 900, 1190
    svg.rect(x1_x, y33 - 20, x1_w, cells_bottom - y33 + 45, fill="#f3f3f3")
    svg.text(x1_x + x1_w / 2, y33 - 28, "X1", 13, "middle", "bold")
    pad["connector"]
    svg.text(x1_x + x1_w / 2, cells_bottom + 42, "2×5 IDC", 10, "middle")
    svg.rect(
        strip_x0 - 10,
        y33 - 40,
        bus_x - strip_x0 + 95,
        cells_bottom - y33 + 80,
        fill=STRIP,
        stroke="#b8860b",
        dash="6 4",
        rx=6,
    )
    svg.text(strip_x0, y33 - 24, "Pad strip under the back-pad cover", 13, weight="bold")
    svg.text(bus_x + 75, y33 + 40, "▲ up the spine", 11, "end", color=MUTED)
    svg.text(bus_x + 75, cells_bottom + 32, "seat junction", 11, "end", color=MUTED)
    # X1 pin 2 DRIVE and pin 1 GND
    svg.text(x1_x + x1_w / 2, y33 + 4, "2", 11, "middle", "bold")
    svg.rect(x1_x + x1_w + 4, y33 - 5, 10, 10, fill=SWATCH["red"], width=1)
    svg.line(x1_x + x1_w, y33, bus_x, y33)
    svg.text(strip_x0 + 8, y33 - 6, f"DRIVE {pad['divider']['drive_v']:.1f} V (red)", 11)
    svg.line(bus_x, y33, bus_x, cells_bottom)
    gy = y33 + 38
    svg.text(x1_x + x1_w / 2, gy + 4, "1", 11, "middle", "bold")
    svg.rect(x1_x + x1_w + 4, gy - 5, 10, 10, fill=SWATCH["brown"], width=1)
    svg.line(x1_x, gy, x1_x - 14, gy)
    svg.ground(x1_x - 14, gy)
    svg.text(x1_x + x1_w + 20, gy + 4, "GND guard (brown), open at the strip", 10, color=MUTED)
    rfix = pad["divider"]["r_fixed_ohm"]
    rlab = f"{rfix / 1000:g}k"
    clab = f"{pad['divider']['c_node_nf']:g}n"
    for c in pad["cells"]:
        k = c["cell"]
        y = cell_y[k]
        # mux channel
        svg.text(mux_x + mux_w - 6, y + 4, f"C{c['mux_channel']}", 11, "end", "bold")
        svg.line(mux_x + mux_w, y, x1_x, y)
        svg.dot(node_x, y)
        svg.res_v(node_x, y, y + 38)
        svg.ground(node_x, y + 38)
        svg.text(node_x - 9, y + 24, f"R{k + 1}", 10, "end")
        svg.text(node_x + 9, y + 24, rlab, 10)
        svg.dot(cap_x, y)
        svg.cap_v(cap_x, y, y + 38)
        svg.ground(cap_x, y + 38)
        svg.text(cap_x + 11, y + 24, f"C{k + 1} {clab}", 10)
        # connector pin and wire colour
        svg.text(x1_x + x1_w / 2, y + 4, str(c["connector_pin"]), 11, "middle", "bold")
        svg.rect(x1_x + x1_w + 4, y - 5, 10, 10, fill=SWATCH[c["wire_colour"]], width=1)
        svg.line(x1_x + x1_w, y, strip_x0 + 40, y)
        svg.fsr(strip_x0 + 40, bus_x, y)
        svg.dot(bus_x, y)
        mid = (strip_x0 + 40 + bus_x) / 2
        svg.text(mid, y - 13, f"cell {k} · FSR{k + 1} · {c['height_mm']} mm", 11, "middle")
        svg.text(strip_x0 - 2, y + 16, c["wire_colour"], 10, color=MUTED)
    spare = int(pad["max_cells"]) - n
    if spare > 0:
        svg.text(
            mux_x + mux_w - 6,
            cells_bottom + 30,
            f"C{n}–C{int(pad['max_cells']) - 1}: spare",
            10,
            "end",
            color=MUTED,
        )

    # --- encoder --------------------------------------------------------------------------
    ya, yb, y5 = y_of["ENC_A"], y_of["ENC_B"], y_of["5V"]
    x2_x = 700
    ygnd_enc = y5 + 32
    svg.rect(x2_x, ya - 40, 40, ygnd_enc - ya + 60, fill="#f3f3f3")
    svg.text(x2_x + 20, ya - 48, "X2", 13, "middle", "bold")
    pins = enc["connector"]["pins"]
    sig_a, sig_b, sig5, sigg = (_signal(pm, n_) for n_ in ("ENC_A", "ENC_B", "5V", "GND"))
    for y, sig, pull_x, rs_lab, rp_lab in (
        (ya, sig_a, 560, "R12", "R10"),
        (yb, sig_b, 620, "R13", "R11"),
    ):
        svg.res_h(stub_x, stub_x + 120, y, f"{rs_lab} {enc['series_ohm']}Ω")
        svg.line(stub_x + 120, y, x2_x, y)
        svg.dot(pull_x, y)
        svg.res_v(pull_x, y - 52, y)
        svg.text(pull_x + 9, y - 34, f"{rp_lab}", 10)
        svg.text(pull_x + 9, y - 22, f"{enc['external_pullup_ohm'] / 1000:g}k", 10)
        svg.flag(pull_x, y - 52, "3V3")
        svg.text(x2_x + 20, y + 4, str(sig["connector_pin"]), 11, "middle", "bold")
    svg.line(stub_x, y5, x2_x, y5)
    svg.text(x2_x + 20, y5 + 4, str(sig5["connector_pin"]), 11, "middle", "bold")
    svg.text(x2_x + 20, ygnd_enc + 4, str(sigg["connector_pin"]), 11, "middle", "bold")
    svg.line(x2_x, ygnd_enc, x2_x - 20, ygnd_enc)
    svg.ground(x2_x - 20, ygnd_enc)
    ex = 860
    svg.rect(ex, ya - 40, 300, ygnd_enc - ya + 60, fill="#ffffff", width=2, rx=6)
    svg.text(ex + 150, ya - 18, "ENC1 optical encoder", 13, "middle", "bold")
    rows = (
        (ya, sig_a, pins["3"]),
        (yb, sig_b, pins["4"]),
        (y5, sig5, f"+V ({enc['supply_v']} V)"),
        (ygnd_enc, sigg, "0 V"),
    )
    for y, sig, lab in rows:
        svg.line(x2_x + 40, y, ex, y)
        svg.rect(x2_x + 44, y - 5, 10, 10, fill=SWATCH[sig["wire_colour"]], width=1)
        svg.text(x2_x + 60, y - 4, sig["wire_colour"], 10, color=MUTED)
        svg.text(ex + 8, y + 4, lab, 11, weight="bold")
    svg.text(ex + 70, ya + 30, f"{enc['ppr']} P/R, NPN open collector", 11)
    svg.text(
        ex + 70, ya + 46, f"×{enc['phases']}, Ø{enc['drum_diameter_mm']:g} mm (drum + cord):", 11
    )
    svg.text(ex + 70, ya + 62, f"{enc['counts_per_mm']:g} counts/mm", 11, weight="bold")
    svg.text(
        stub_x + 8,
        ya + 22,
        f"PCNT (machine.Encoder), filter {enc['filter_ns']} ns",
        10,
        color=MUTED,
    )

    # --- LED --------------------------------------------------------------------------------
    yl = y_of["LED"]
    svg.res_h(stub_x, stub_x + 110, yl, f"R14 {pm['led']['series_ohm']}Ω")
    svg.line(stub_x + 110, yl, stub_x + 140, yl)
    svg.led(stub_x + 150, yl)
    svg.line(stub_x + 160, yl, stub_x + 190, yl)
    svg.ground(stub_x + 190, yl)
    svg.text(stub_x + 210, yl + 4, "D1 status LED (panel)", 11)

    # --- buzzer -----------------------------------------------------------------------------
    yz = y_of["BUZZER"]
    bxz = stub_x + 180
    svg.res_h(stub_x, bxz - 18, yz, "R15 1k")
    svg.dot(stub_x + 128, yz)
    svg.res_v(stub_x + 128, yz, yz + 44)
    svg.ground(stub_x + 128, yz + 44)
    svg.text(stub_x + 118, yz + 30, "R16 100k", 10, "end")
    col, emi = svg.npn(bxz, yz)
    svg.text(bxz + 22, yz + 28, "Q1 NPN", 10)
    svg.line(emi[0], emi[1], emi[0], yz + 36)
    svg.ground(emi[0], yz + 36)
    top = yz - 70
    svg.line(col[0], col[1], col[0], yz - 30)
    svg.rect(col[0] - 14, top + 12, 28, 28, fill="#ffffff")
    svg.text(col[0], top + 31, "BZ", 10, "middle", "bold")
    svg.line(col[0], yz - 30, col[0], top + 40)
    svg.line(col[0], top + 12, col[0], top)
    svg.flag(col[0], top, "5V")
    svg.line(col[0], yz - 30, col[0] + 40, yz - 30)
    svg.line(col[0], top + 4, col[0] + 40, top + 4)
    svg.diode_v(col[0] + 40, top + 4, yz - 30)
    svg.text(col[0] + 52, top + 28, "D2 1N4148", 10)
    svg.text(col[0] + 52, yz - 6, "BZ1 5 V active buzzer (optional)", 11)

    # --- GND --------------------------------------------------------------------------------
    yg = y_of["GND"]
    svg.line(stub_x, yg, stub_x + 20, yg)
    svg.ground(stub_x + 20, yg)

    # --- notes ------------------------------------------------------------------------------
    nx, ny = 1180, cells_bottom + 110
    direct = pm["variants"]["direct6"]["pad"]["cell_gpios"]
    notes = [
        ("Divider per cell", True),
        (f"FSR from DRIVE {design.v_drive:.1f} V to the node,", False),
        (f"{rlab} ‖ {clab} from the node to GND.", False),
        (f"5 kPa ≥ {env.v_low_min:.2f} V, 40 kPa ≤ {env.v_high_max:.2f} V", False),
        ("(11 dB linear range 0.15–2.45 V).", False),
        (f"≤ {env.v_fsr_max:.2f} V and ≤ {env.i_cell_max_ma:.2f} mA per FSR.", False),
        ("", False),
        ("6-cell build without U2", True),
        ("cell node k straight to", False),
        (", ".join(f"GPIO{g}" for g in direct[:3]) + ",", False),
        (", ".join(f"GPIO{g}" for g in direct[3:]) + ".", False),
        ("", False),
        ("Encoder", True),
        ("Open collector: pull-ups on the board,", False),
        ("to 3V3 only, never 5 V. Wire colours", False),
        ("vary by seller: read the label.", False),
        ("", False),
        ("Power", True),
        ("USB 5 V (charger or power bank).", False),
        ("", False),
        ("Dot = junction; crossing = no contact.", False),
    ]
    svg.rect(nx, ny, 300, 17 * len(notes) + 24, fill="#fafafa", stroke="#999999", rx=6)
    yy = ny + 22
    for s, bold in notes:
        if s:
            svg.text(nx + 12, yy, s, 12 if bold else 11, weight="bold" if bold else "normal")
        yy += 17
    return svg.render()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pinmap", type=Path, default=PINMAP)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    pm = json.loads(a.pinmap.read_text(encoding="utf-8"))
    a.out.write_text(render(pm), encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
