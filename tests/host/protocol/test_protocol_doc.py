"""PROTOCOL.md is enough to write a client: a reader built only from its tables decodes every
golden vector.

Clients that are not in this repository (a phone app, a gym's own software) are written from
PROTOCOL.md, not from ``legpress.protocol``. This test is such a client: it reads the field tables
of PROTOCOL.md (offsets, types, names; the formulas of the variable parts), decodes the golden
vectors with nothing but :mod:`struct` and what the tables say, and compares the result with the
vectors' decoded meaning. Its code tables (types, flags, commands, results, faults) must list
exactly the codes the host knows. A table the doc breaks (a stray blank line, a wrong offset, a
type that disagrees with the bytes) fails here.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import Any

import pytest

from legpress.protocol.spec import Command, Fault, Flag, MsgType, Result

REPO = Path(__file__).resolve().parents[3]
DOC = (REPO / "PROTOCOL.md").read_text(encoding="utf-8")
VECTORS: list[dict[str, Any]] = json.loads(
    (REPO / "tests" / "golden" / "vectors.json").read_text(encoding="utf-8")
)["vectors"]

#: PROTOCOL.md's type names, as struct codes ("Little-endian, no padding").
STRUCT = {"u8": "B", "u16": "H", "u32": "I", "i16": "h", "i32": "i"}


def sections() -> dict[str, str]:
    """Each ``## `` section's text by its heading (without backticks)."""
    out: dict[str, str] = {}
    for part in re.split(r"^## ", DOC, flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        out[title.replace("`", "").strip()] = body
    return out


def section(prefix: str) -> str:
    (body,) = [b for t, b in sections().items() if t.startswith(prefix)]
    return body


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in ``text`` as rows of {column: cell}; a table is a header row, a
    ``|---|`` row and the rows right after them (a blank line ends it)."""
    out = []
    lines = text.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].startswith("|") and re.fullmatch(r"\|(\s*-+\s*\|)+", lines[i + 1].strip()):
            head = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows = []
            for line in lines[i + 2 :]:
                if not line.startswith("|"):
                    break
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                rows.append(dict(zip(head, cells, strict=False)))
            out.append(rows)
    return out


def field_table(prefix: str) -> list[dict[str, str]]:
    (rows,) = [t for t in tables(section(prefix)) if t and "offset" in t[0]]
    return rows


def offset(expr: str, **names: int) -> int:
    """Evaluate an offset formula of the doc (``9 + r·(2K+4) + 2c``, ``35+3K``)."""
    text = expr.replace("·", "*").replace("×", "*").replace(" ", "")
    text = re.sub(r"(\d)([A-Za-z(])", r"\1*\2", text)
    if not re.fullmatch(r"[0-9A-Za-z+*()-]+", text):
        raise AssertionError(f"PROTOCOL.md offset {expr!r} is not a formula this reader knows")
    return int(eval(text, {"__builtins__": {}}, names))  # the doc's own arithmetic


def name_of(row: dict[str, str]) -> str:
    return row["name"].strip("`")


def read_fixed(prefix: str, msg: bytes, **names: int) -> dict[str, Any]:
    """The fields of a section's table whose type is one number, or ``u8×N`` bytes."""
    out: dict[str, Any] = {}
    for row in field_table(prefix):
        kind = row["type"]
        name = name_of(row)
        if "[" in name or (not row["offset"].isdigit() and not names):
            continue  # per-cell fields and ones after them: read by the caller, by formula
        at = offset(row["offset"], **names)
        if kind in STRUCT:
            out[name] = struct.unpack_from("<" + STRUCT[kind], msg, at)[0]
        elif (m := re.fullmatch(r"u8×(\d+)", kind)) is not None:
            out[name] = msg[at : at + int(m.group(1))]
    return out


def header(msg: bytes) -> dict[str, Any]:
    return read_fixed("Header", msg)


def codes(prefix: str, column: str) -> dict[str, int]:
    """A code table of a section: name -> code (hex ``0x01``, decimal, or a bit number)."""
    found: dict[str, int] = {}
    for rows in tables(section(prefix)):
        for row in rows:
            if column not in row:
                continue
            raw = row[column].strip("`")
            name = next(v.strip("`") for k, v in row.items() if k in ("name", "command"))
            if name in ("–", "-") or not re.fullmatch(r"0x[0-9A-Fa-f]+|\d+", raw):
                continue
            found[name] = int(raw, 0)
    return found


def test_header_and_every_vector_agree() -> None:
    for v in VECTORS:
        if v["kind"] == "serial_frame":
            continue
        msg = bytes.fromhex(v["hex"])
        h = header(msg)
        assert h["version"] == 1, v["name"]
        for key in ("seq", "t_us", "type", "flags"):
            if key in v["fields"]:
                assert h[key] == v["fields"][key], (v["name"], key)


@pytest.mark.parametrize(
    "kind,prefix", [("samples", "SAMPLES ("), ("samples_compact", "SAMPLES_")]
)
def test_samples_from_the_doc(kind: str, prefix: str) -> None:
    rows = {name_of(r): r for r in field_table(prefix)}
    cell_row, pos_row = rows["cell[c]"], rows["position"]
    scale = 16 if "/ 16" in cell_row["unit"] else 1
    checked = 0
    for v in (v for v in VECTORS if v["kind"] == kind):
        msg = bytes.fromhex(v["hex"])
        k = v["fields"]["n_cells"]
        record = offset(cell_row["offset"], r=1, K=k, c=0) - offset(
            cell_row["offset"], r=0, K=k, c=0
        )
        n = (len(msg) - 9) / record
        assert n == int(n), f"{v['name']}: the doc's record size {record} does not divide"
        cell_code, pos_code = "<" + STRUCT[cell_row["type"]], "<" + STRUCT[pos_row["type"]]
        cells, position = [], []
        for r in range(int(n)):
            at = [offset(cell_row["offset"], r=r, K=k, c=c) for c in range(k)]
            cells.append([scale * struct.unpack_from(cell_code, msg, a)[0] for a in at])
            pos_at = offset(pos_row["offset"], r=r, K=k)
            position.append(struct.unpack_from(pos_code, msg, pos_at)[0])
        assert cells == v["fields"]["cells"], v["name"]
        assert position == v["fields"]["position"], v["name"]
        checked += 1
    assert checked


def test_device_info_from_the_doc() -> None:
    (v,) = [v for v in VECTORS if v["kind"] == "device_info"]
    msg, want = bytes.fromhex(v["hex"]), v["fields"]
    got = read_fixed("DEVICE_INFO", msg)
    k = got["n_cells"]
    rows = {name_of(r): r for r in field_table("DEVICE_INFO")}
    at = offset(rows["cell_channel[c]"]["offset"], K=k)
    got["cell_channel"] = list(msg[at : at + k])
    at = offset(rows["tare[c]"]["offset"], K=k)
    got["tare"] = list(struct.unpack_from(f"<{k}H", msg, at))
    length = struct.unpack_from("<B", msg, offset(rows["name_len"]["offset"], K=k))[0]
    at = offset(rows["name"]["offset"], K=k)
    got["name"] = msg[at : at + length].decode("utf-8")
    assert at + length == len(msg), "DEVICE_INFO ends with its name"
    got["fw_version"] = [got.pop("fw_major"), got.pop("fw_minor"), got.pop("fw_patch")]
    got["device_id"] = got["device_id"].hex()
    for key, value in want.items():
        if key not in ("seq", "t_us"):
            assert got[key] == value, key


def test_status_from_the_doc() -> None:
    (v,) = [v for v in VECTORS if v["kind"] == "status"]
    msg = bytes.fromhex(v["hex"])
    rows = field_table("STATUS")
    last = rows[-1]
    assert offset(last["offset"]) + int(last["size"]) == len(msg), "STATUS length"
    got = read_fixed("STATUS", msg)
    for key, value in v["fields"].items():
        if key not in ("seq", "t_us"):
            assert got[key] == value, key
    stated = re.search(r"less than a `STATUS` \((\d+) bytes\)", DOC)
    assert stated is not None and int(stated.group(1)) == len(msg)


def test_reply_and_command_from_the_doc() -> None:
    for v in VECTORS:
        if v["kind"] not in ("reply", "command"):
            continue
        msg = bytes.fromhex(v["hex"])
        prefix = "REPLY" if v["kind"] == "reply" else "COMMAND ("
        got = read_fixed(prefix, msg)
        rest_at = max(offset(r["offset"]) for r in field_table(prefix) if r["type"] == "–")
        rest = msg[rest_at:].hex()
        for key, value in v["fields"].items():
            if key in ("payload", "args"):
                assert rest == value, (v["name"], key)
            elif key not in ("seq", "t_us"):
                assert got[key] == value, (v["name"], key)


def _cobs_decode(data: bytes) -> bytes:
    """COBS as its paper defines it (the doc names it, and its zero-free property)."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        assert code, "a zero inside a COBS frame"
        out += data[i + 1 : i + code]
        i += code
        if code < 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def test_serial_frames_from_the_doc() -> None:
    assert "0x00 ‖ COBS( message ‖ crc32(message) as u32 little-endian ) ‖ 0x00" in DOC
    frames = [v for v in VECTORS if v["kind"] == "serial_frame"]
    assert frames
    for v in frames:
        frame = bytes.fromhex(v["hex"])  # the frame after its leading 0x00 (see the doc)
        assert frame[-1] == 0 and 0 not in frame[:-1], v["name"]
        body = _cobs_decode(frame[:-1])
        message, crc = body[:-4], struct.unpack("<I", body[-4:])[0]
        assert crc == zlib.crc32(message), v["name"]
        assert message.hex() == v["fields"]["message"], v["name"]


@pytest.mark.parametrize(
    "prefix,column,known",
    [
        ("Header", "type", MsgType),
        ("Header", "bit", Flag),
        ("STATUS", "bit", Fault),
        ("COMMAND", "code", Command),
        ("REPLY", "result", Result),
    ],
)
def test_code_tables_list_every_code(
    prefix: str, column: str, known: type[IntEnum] | type[IntFlag]
) -> None:
    found = codes(prefix, column)
    if issubclass(known, IntFlag):  # bit numbers
        found = {name: 1 << bit for name, bit in found.items()}
    want = {m.name: int(m.value) for m in known if m.value or issubclass(known, IntEnum)}
    assert found == want
