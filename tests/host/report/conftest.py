"""Fixtures for the report and session-store CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from legpress.dsp.calibration import CalibratedBlock
from legpress.session import Session
from legpress.storage.store import SessionStore

from .sessiondata import analysed, populate, two_sets


@pytest.fixture(scope="module")
def reportdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int]]]:
    """A database with Ana's four weekly sessions and one of Ben's."""
    path = tmp_path_factory.mktemp("reportdb") / "legpress.db"
    with SessionStore(path) as store:
        ids = populate(store, 4)
    yield path, ids


@pytest.fixture(scope="module")
def first_session(reportdb: tuple[Path, list[int]]) -> tuple[Session, CalibratedBlock]:
    """Ana's first session (three deep reps) and its samples."""
    path, ids = reportdb
    with SessionStore(path) as store:
        session = store.get_session(ids[0])
    block, _, _ = analysed(two_sets(deep=3), seed=0)
    return session, block
