"""The firmware's folded constants match their source.

A module that uses a constant of protocol.py or device.py keeps its own `_NAME = const(...)`
copy (MicroPython folds those into the code; an imported name would cost a dict entry and a
lookup on the device, firmware/README.md "Memory"). Under CPython `const` returns its value, so
each copy is a module attribute here, and must equal the public constant it copies.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "firmware" / "legpress_fw"
SOURCES = ("protocol", "device")


def _consts(module: str, private: bool) -> set[str]:
    # The names bound to const(...) at the top of module.py: the private ones without their "_".
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    return {
        target.id[1:] if private else target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "const"
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.startswith("_") == private
    }


def _public_consts(module: str) -> set[str]:
    return _consts(module, private=False)


def _private_consts(module: str) -> set[str]:
    return _consts(module, private=True)


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py")))
def test_each_copied_constant_equals_its_source(module: str) -> None:
    checked = 0
    for source in SOURCES:
        copied = _private_consts(module) & _public_consts(source)
        if source == module or not copied:
            continue  # (board.py and radio.py, which need machine and bluetooth, copy none)
        mod = importlib.import_module(f"legpress_fw.{module}")
        src = importlib.import_module(f"legpress_fw.{source}")
        for name in copied:
            assert getattr(mod, "_" + name) == getattr(src, name), (module, name, source)
            checked += 1
    if module in ("control", "ble_link", "serial_link"):
        assert checked > 5  # the check sees the copies


def test_no_module_imports_a_constant_it_could_fold() -> None:
    public = {name for source in SOURCES for name in _public_consts(source)}
    for path in PACKAGE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module in SOURCES and node.level == 1:
                imported = {alias.name for alias in node.names} & public
                assert not imported, f"{path.name} imports {sorted(imported)}: fold them"
