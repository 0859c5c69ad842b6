"""The firmware's folded constants match the protocol.

Each firmware module keeps its own `_NAME = const(...)` copy of the protocol's numbers (and of
device.py's) that it uses: MicroPython folds those into the code, where a name imported from
another module would cost a dict entry, a name and a lookup on the device (firmware/README.md
"Memory"). Under CPython `const` returns its value, so each copy is a module attribute here.
The reference is tests/firmware/wire.py, itself checked against the host's own definitions.
"""

from __future__ import annotations

import ast
import importlib
import struct
from pathlib import Path

import pytest

from legpress.protocol import messages, spec
from tests.firmware import wire

PACKAGE = Path(__file__).resolve().parents[2] / "firmware" / "legpress_fw"
ENUMS = {
    "T_": spec.MsgType,
    "F_": spec.Flag,
    "CMD_": spec.Command,
    "R_": spec.Result,
    "FAULT_": spec.Fault,
    "POSITION_": spec.PositionSensor,
}


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


def _wire_names() -> set[str]:
    return {n for n in vars(wire) if n.isupper()}


def test_the_table_is_the_hosts() -> None:
    names = _wire_names()
    for name in names:
        prefix = next((p for p in ENUMS if name.startswith(p)), None)
        if prefix is not None:
            assert getattr(wire, name) == ENUMS[prefix][name[len(prefix) :]], name
    for enum_prefix, enum in ENUMS.items():
        for member in enum.__members__:
            if member != "NONE" or enum is spec.PositionSensor:
                assert enum_prefix + member in names, (enum, member)
    assert (wire.VERSION, wire.HEADER_SIZE) == (spec.VERSION, spec.HEADER_SIZE)
    assert wire.NAME_MAX == messages.NAME_MAX
    assert spec.HEADER_SIZE + struct.calcsize("<HBB") == wire.REPLY_HEADER_SIZE
    assert struct.calcsize("<BBBIBBIBBBBBH6s") == wire.INFO_FIXED_SIZE
    assert struct.calcsize("<BBHIIIIIIIIIHHHIHB") == wire.STATUS_BODY_SIZE


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py")))
def test_each_copied_constant_equals_the_protocol(module: str) -> None:
    device_names = _consts("device", private=False)
    copied = _consts(module, private=True) & (_wire_names() | device_names)
    if not copied:
        return  # (board.py and radio.py, which need machine and bluetooth, copy none)
    mod = importlib.import_module(f"legpress_fw.{module}")
    device = importlib.import_module("legpress_fw.device")
    for name in copied:
        source = device if name in device_names else wire
        assert getattr(mod, "_" + name) == getattr(source, name), (module, name)
    if module in ("control", "ble_link", "serial_link", "protocol"):
        assert len(copied) > 5  # the check sees the copies


def test_no_module_imports_a_constant_it_could_fold() -> None:
    public = _consts("device", private=False)
    for path in PACKAGE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module == "device" and node.level == 1:
                imported = {alias.name for alias in node.names} & public
                assert not imported, f"{path.name} imports {sorted(imported)}: fold them"
    assert not _consts("protocol", private=False)  # every module keeps its own copies
