"""The firmware encoder produces every golden vector byte for byte, under real MicroPython and
under CPython (the simulator runs it there)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
VECTORS: list[dict[str, Any]] = json.loads((HERE.parent / "golden" / "vectors.json").read_text())[
    "vectors"
]

MPY_CODE = """
import json
import hostio
import golden_fw
out = golden_fw.build_all(json.loads(hostio.input)["vectors"])
hostio.emit(json.dumps(out))
"""


def _check(built: dict[str, str]) -> None:
    mismatched = [v["name"] for v in VECTORS if built.get(v["name"]) != v["hex"]]
    assert not mismatched, "\n".join(
        f"{name}:\n  expected {v['hex']}\n  firmware {built.get(name)}"
        for v in VECTORS
        for name in mismatched
        if v["name"] == name
    )


def test_firmware_builds_golden_vectors_under_micropython(micropython: Callable[..., Any]) -> None:
    result = micropython(MPY_CODE, input={"vectors": VECTORS}, mounts={HERE: "/tf"})
    _check(result.last)


def test_firmware_builds_golden_vectors_under_cpython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop("golden_fw", None)
    import golden_fw  # type: ignore[import-not-found]

    _check(golden_fw.build_all(VECTORS))


def test_a_wrong_byte_is_caught(micropython: Callable[..., Any]) -> None:
    # The comparison can fail: flip one byte of one vector and the firmware disagrees.
    vectors = json.loads(json.dumps(VECTORS))
    v = vectors[0]
    v["fields"]["cells"][0][0] += 1
    result = micropython(MPY_CODE, input={"vectors": vectors}, mounts={HERE: "/tf"})
    assert result.last[v["name"]] != v["hex"]
