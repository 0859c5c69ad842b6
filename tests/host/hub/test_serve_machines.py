"""``legpress serve`` and the machines of the session database: all of them by default, some
by name, one on another device, ad-hoc ones; their default people; clear errors."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from legpress.cli.main import build_parser, main
from legpress.cli.serve import _machines
from legpress.errors import NotFoundError, UsageError
from legpress.storage.store import SessionStore
from tests.host.hub.browser import serving

pytest.importorskip("starlette", reason="the hub needs its extra: pip install 'legpress[hub]'")

LIFTOFF = "sim:scenario=liftoff,seed=2,realtime=1"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    s = SessionStore(tmp_path / "legpress.db")
    s.add_person("Ana")
    s.add_machine("Leg press 1", device_url=LIFTOFF, person="Ana")
    s.add_machine("Leg press 2", device_url="sim:scenario=clean,realtime=1")
    s.add_machine("Spare")  # no device yet
    yield s
    s.close()


def machines_of(
    store: SessionStore, *argv: str
) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    return _machines(build_parser().parse_args(["serve", *argv]), store)


def test_every_machine_with_a_device_by_default(store: SessionStore) -> None:
    served, skipped = machines_of(store)
    assert served == [
        ("Leg press 1", LIFTOFF, "Ana"),
        ("Leg press 2", "sim:scenario=clean,realtime=1", None),
    ]
    assert skipped == ["Spare"]


def test_machines_by_name_on_another_device_or_ad_hoc(store: SessionStore, tmp_path: Path) -> None:
    assert machines_of(store, "--machine", "leg press 1")[0] == [("Leg press 1", LIFTOFF, "Ana")]
    served, _ = machines_of(
        store, "--machine", "Leg press 1=sim:clean", "--machine", "Bench=LegPress-3A7F"
    )
    assert served == [("Leg press 1", "sim:clean", "Ana"), ("Bench", "ble:LegPress-3A7F", None)]
    assert [m[0] for m in machines_of(store, "--demo")[0]] == [
        "Leg press 1",
        "Leg press 2",
        "Leg press 3",
    ]  # the demo's own three, not the database's
    with pytest.raises(NotFoundError, match="legpress machines"):
        machines_of(store, "--machine", "Nope")
    with pytest.raises(UsageError, match="'Spare' has no device"):
        machines_of(store, "--machine", "Spare")
    with pytest.raises(UsageError, match="whichever leg press answers first"):
        machines_of(store, "--machine", "Spare=ble:")
    with pytest.raises(UsageError, match="NAME=URL"):
        machines_of(store, "--machine", "Spare=")


def test_no_machines_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    with SessionStore(db) as s:
        s.add_machine("Spare")
    assert main(["serve", "--db", str(db), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no machines to serve" in err and "legpress machines add" in err
    assert "Spare has no device" in err and err.count("\n") == 1


@pytest.mark.slow
def test_serve_runs_the_databases_machines(store: SessionStore, tmp_path: Path) -> None:
    store.close()
    with serving([], tmp_path) as (base, token):
        request = urllib.request.Request(
            f"{base}/api/machines", headers={"authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            tiles = json.loads(r.read())["machines"]
    assert [(t["machine"], t["person"]) for t in tiles] == [
        ("Leg press 1", "Ana"),
        ("Leg press 2", None),
    ]
    log = (tmp_path / "serve.log").read_text()
    assert "2 machine(s)" in log and "not served" in log and "Spare" in log
