"""The ``broker`` fixture: a real Mosquitto for one test (see :mod:`tests.host.fleet.broker`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.host.fleet.broker import Mosquitto, mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker for one test."""
    with mosquitto(tmp_path / "broker") as b:
        yield b
