"""Fixtures for the firmware tests: run a scenario of ``fw_scenarios.py`` under CPython and
under real MicroPython (the WebAssembly build, via ``tests/mpy/harness.py``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FAKES = HERE.parent / "mpy" / "fakes"

Scenario = Callable[..., Any]

_MPY_CODE = """
import json
import hostio
import fw_scenarios
args = json.loads(hostio.input)
result = getattr(fw_scenarios, args["name"])(*args["args"])
if hasattr(result, "send"):  # a coroutine: the runner allows top-level await
    result = await result
hostio.emit(json.dumps(result))
"""


@pytest.fixture
def cpython_fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put the fake ``machine``/``bluetooth`` modules and ``fw_scenarios`` on sys.path."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.syspath_prepend(str(HERE))
    for name in ("machine", "bluetooth", "esp32", "fw_scenarios", "fw_ble"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield
    for name in ("machine", "bluetooth", "esp32"):
        sys.modules.pop(name, None)


@pytest.fixture(params=["cpython", "micropython"])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """``scenario(name, *args)`` runs ``fw_scenarios.<name>(*args)`` and returns its result,
    once under CPython and once under MicroPython (the test runs twice)."""
    if request.param == "cpython":
        request.getfixturevalue("cpython_fakes")
        import fw_scenarios  # type: ignore[import-not-found]

        def run_cpython(name: str, *args: Any) -> Any:
            result = getattr(fw_scenarios, name)(*args)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            # Round-trip through JSON so both interpreters are compared on the same terms.
            return json.loads(json.dumps(result))

        return run_cpython
    micropython = request.getfixturevalue("micropython")

    def run_micropython(name: str, *args: Any) -> Any:
        result = micropython(
            _MPY_CODE, input={"name": name, "args": list(args)}, mounts={HERE: "/tf"}
        )
        return result.last

    return run_micropython
