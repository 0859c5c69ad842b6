"""The session store: people, machines, sessions, sets, reps and events in one SQLite file.

One file, by default in the user's data directory (:func:`default_db_path`), shared by every
``legpress`` command. It links each session to its raw recording (the recording file stays
where it was written; the database keeps its path) and keeps what the detectors found, so
sessions can be listed, compared across weeks and turned into reports without re-analysis.

Every write is one transaction (``BEGIN IMMEDIATE``), the journal is WAL (readers never block
the live writer) and foreign keys are enforced. SQLite errors become :class:`StoreError`,
:class:`NotFoundError` or :class:`AlreadyExistsError`, each with a one-line message saying
what to do.

Example::

    from legpress.detect import analyze_block, DetectorConfig
    from legpress.storage.store import SessionStore

    with SessionStore() as store:
        store.add_person("Ana", rom_limit_mm=320)
        cfg = DetectorConfig(rom_limit_mm=store.get_profile("Ana").effective_limit_mm)
        a = analyze_block(block, cfg)
        sid = store.import_analysis("Ana", a.reps, a.events, config=cfg)
        print(store.get_session(sid).stats)
"""

from legpress.storage.store.database import SessionStore, default_db_path
from legpress.storage.store.exchange import EXPORT_FORMAT
from legpress.storage.store.records import CalibrationRecord, SessionRow, where_in_force

__all__ = [
    "EXPORT_FORMAT",
    "CalibrationRecord",
    "SessionRow",
    "SessionStore",
    "default_db_path",
    "where_in_force",
]
