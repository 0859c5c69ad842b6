"""Fixtures for the firmware tests: run a scenario under CPython and under real MicroPython (the
WebAssembly build, via ``tests/mpy/harness.py``).

The scenarios of ``test_<topic>.py`` sit next to it in ``<topic>_fw.py`` (plain code both
interpreters run); the rigs they share are in ``fw_rigs.py`` and ``fw_fakes.py``."""

from __future__ import annotations

import asyncio
import importlib
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
args = json.loads(hostio.input)
result = getattr(__import__(args["module"]), args["name"])(*args["args"])
if hasattr(result, "send"):  # a coroutine: the runner allows top-level await
    result = await result
hostio.emit(json.dumps(result))
"""


@pytest.fixture
def cpython_fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put the fake ``machine``/``bluetooth`` modules and the scenario modules on sys.path."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.syspath_prepend(str(HERE))
    for name in ("machine", "bluetooth", "esp32", "fw_rigs", *scenario_modules()):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield
    for name in ("machine", "bluetooth", "esp32"):
        sys.modules.pop(name, None)


def scenario_modules() -> list[str]:
    """The scenario modules: ``<topic>_fw`` for each ``test_<topic>.py`` that has one."""
    return sorted(p.stem for p in HERE.glob("*_fw.py"))


def scenario_module(request: pytest.FixtureRequest) -> str:
    """``<topic>_fw`` for the requesting ``tests/firmware/test_<topic>.py``."""
    topic = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    name = f"{topic}_fw"
    assert (HERE / f"{name}.py").is_file(), f"no scenario module {name}.py next to the test"
    return name


@pytest.fixture(params=["cpython", "micropython"])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """``scenario(name, *args)`` runs ``<topic>_fw.<name>(*args)`` (the scenario module next to
    the test) and returns its result, once under CPython and once under MicroPython (the
    test runs twice)."""
    module = scenario_module(request)
    if request.param == "cpython":
        request.getfixturevalue("cpython_fakes")
        scenarios = importlib.import_module(module)

        def run_cpython(name: str, *args: Any) -> Any:
            result = getattr(scenarios, name)(*args)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            # Round-trip through JSON so both interpreters are compared on the same terms.
            return json.loads(json.dumps(result))

        return run_cpython
    micropython = request.getfixturevalue("micropython")

    def run_micropython(name: str, *args: Any) -> Any:
        result = micropython(
            _MPY_CODE,
            input={"module": module, "name": name, "args": list(args)},
            mounts={HERE: "/tf"},
        )
        return result.last

    return run_micropython
