"""Shared pytest setup: the ``micropython`` fixture and marker.

A test that runs firmware under real MicroPython either takes the ``micropython`` fixture::

    def test_ring_wraps(micropython):
        result = micropython('''
            import hostio, json
            from legpress_fw.ring import PacketRing
            ...
            hostio.emit(json.dumps({"count": n}))
        ''')
        assert result.last == {"count": 3}

or is marked ``@pytest.mark.micropython`` and calls ``tests.mpy.harness`` directly. Either way,
when Node.js or the npm package is missing the test is skipped with instructions, except
under ``CI=true``, where it fails: CI must never silently skip the firmware tests.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # make `tests.mpy.harness` importable however pytest starts
    sys.path.insert(0, str(REPO_ROOT))

from tests.mpy.harness import (  # noqa: E402
    MicroPythonResult,
    require_micropython,
    run_micropython,
)

if TYPE_CHECKING:
    from tests.host.transport.bumble_backend import VirtualAir


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the ``micropython`` fixture with ``@pytest.mark.micropython``."""
    for item in items:
        if "micropython" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.micropython)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply the skip/fail rule to every test marked ``micropython``."""
    if item.get_closest_marker("micropython") is not None:
        require_micropython()


@pytest.fixture
def micropython() -> Callable[..., MicroPythonResult]:
    """``tests.mpy.harness.run_micropython``, available only where MicroPython can run."""
    require_micropython()
    return run_micropython


@pytest.fixture
async def air() -> VirtualAir:
    """A virtual BLE air (Bumble) with the host's central powered on: tests/host/transport,
    tests/e2e."""
    from tests.host.transport.bumble_backend import VirtualAir

    air = VirtualAir()
    await air.start()
    return air
