"""``legpress serve --collect``: two hubs and a collector on a real Mosquitto; one store, each
message once; the fleet on one dashboard; commands from the centre; a hub going offline."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from legpress.fleet.collector import Collector
from legpress.fleet.config import parse_broker_url
from legpress.fleet.ledger import Ledger, ledger_path
from legpress.fleet.publisher import HubPublisher, PublisherConfig
from legpress.hub import MachineSpec
from legpress.hub.auth import Auth
from legpress.hub.web import make_app
from legpress.storage.store import SessionStore
from tests.host.fleet.broker import Listener, Mosquitto, until
from tests.host.fleet.hubs import make_hub, running

FAST = "sim:scenario=liftoff,seed={seed},realtime=0,duration=30"
LIVE = "sim:scenario=rom_overshoot,seed=5,realtime=1,duration=600"


def ended_sessions(store: SessionStore) -> list[Any]:
    return [s for s in store.list_sessions() if s.ended_at]


async def test_two_hubs_and_a_collector(broker: Mosquitto, tmp_path: Path) -> None:
    url = broker.url("hub")
    with (
        SessionStore(tmp_path / "north.db") as north_db,
        SessionStore(tmp_path / "south.db") as south_db,
        SessionStore(tmp_path / "central.db") as central_db,
        Ledger(ledger_path(tmp_path / "central.db")) as ledger,
    ):
        north_db.add_person("Ben", rom_limit_mm=420)
        north = make_hub(north_db, MachineSpec("Leg press 1", FAST.format(seed=2), "Ben"))
        south = make_hub(
            south_db,
            MachineSpec("Leg press 1", FAST.format(seed=3)),
            MachineSpec("Leg press 2", LIVE),
        )
        pub_n = HubPublisher(north, parse_broker_url(url), PublisherConfig(name="North"))
        pub_s = HubPublisher(south, parse_broker_url(url), PublisherConfig(name="South"))
        central = Collector(parse_broker_url(broker.url("central")), central_db, ledger)

        recorder = Listener(broker, client_id="recorder", persistent=False)
        recorder.wait_connected()
        async with running(central):
            await until("the collector connected", lambda: central.link.connected)
            # Hubs stop before their publishers (as in `legpress serve`): the ends go out.
            async with running(pub_n, pub_s), running(north, south):
                await until(
                    "both hubs' sessions in the central store",
                    lambda: len(ended_sessions(central_db)) >= 2,
                    90,
                )
                await until("three machines", lambda: len(central.tiles()) == 3)
                names = [t["machine"] for t in central.tiles()]
                assert names == [
                    "Leg press 1 · North",
                    "Leg press 1 · South",
                    "Leg press 2 · South",
                ]

                # The fleet on one dashboard (the hub's web app, on the collector).
                app = make_app(central, Auth("t" * 32), run_hub=False)
                with TestClient(app) as http:
                    bearer = {"Authorization": "Bearer " + "t" * 32}
                    r = http.get("/api/machines", headers=bearer)
                    assert r.status_code == 200
                    assert [t["machine"] for t in r.json()["machines"]] == names
                    page = http.get("/", headers={**bearer, "accept": "text/html"})
                    assert "Leg press 2 · South" in page.text
                    r = http.post(
                        "/machines/south.leg-press-2/person",
                        data={"person": "Zoé"},
                        headers={**bearer, "accept": "application/json"},
                    )
                    assert r.status_code == 200, r.text
                    r = http.post(
                        "/machines/south.leg-press-2/start",
                        headers={**bearer, "accept": "application/json"},
                    )
                    assert r.status_code == 200, r.text

                live = south.station("Leg press 2")
                await until("the central's pick reaching the hub", lambda: live.person == "Zoé")
                assert south_db.get_person("Zoé")
                await until("the central's start reaching the hub", lambda: live.session_id)
                await until(
                    "the hub's reply at the centre",
                    lambda: (
                        (st := central.stations["south.leg-press-2"]).last_reply
                        and st.last_reply["ok"]
                    ),
                )
                assert central.tiles()[2]["connected"] is True
                # The live machine's session has begun before the hubs stop (the fast
                # machines' sessions can be over before it has, on a quick machine).
                await until(
                    "a session on the live machine",
                    lambda: any(r.machine == "Leg press 2" for r in south_db.list_sessions()),
                )

            # The hubs stopped (a killed hub's last will looks the same): offline at the centre.
            await until(
                "the hubs offline at the centre",
                lambda: not any(t["connected"] for t in central.tiles()),
            )
            assert all(t["link"] == "its hub is offline" for t in central.tiles())
            n_hub = len(north_db.list_sessions()) + len(south_db.list_sessions())
            assert n_hub >= 3 and len(ended_sessions(north_db)) == len(north_db.list_sessions())
            await until(
                "every session ended at the centre",
                lambda: len(ended_sessions(central_db)) == n_hub,
            )
            await until(
                "Zoé's session at the centre",
                lambda: any(s.person == "Zoé" for s in central_db.list_sessions()),
            )

            # One store, each session once, with the hubs' reps and alerts.
            for hub_db, hub_name in ((north_db, "North"), (south_db, "South")):
                for row in hub_db.list_sessions():
                    remote = hub_db.get_session(row.id)
                    machine = f"{remote.machine.name if remote.machine else '?'} · {hub_name}"
                    mine = [
                        central_db.get_session(s.id)
                        for s in central_db.list_sessions()
                        if s.machine == machine
                    ]
                    ours = [s for s in mine if s.summary["hub"]["session_id"] == row.id]
                    assert len(ours) == 1, (machine, row.id)
                    got = ours[0]
                    assert [r.index for r in got.reps] == [r.index for r in remote.reps]
                    assert [(e.type, e.t_s) for e in got.events] == [
                        (e.type, e.t_s) for e in remote.events
                    ]
                    assert (got.person.name if got.person else None) == (
                        remote.person.name if remote.person else None
                    )
                    # With the limit and thresholds it ran with (Ben's 420 mm).
                    assert got.config == remote.config
                    assert got.rom_limit_mm == remote.rom_limit_mm
            ben = [s for s in central_db.list_sessions() if s.person == "Ben"]
            assert ben and all(s.rom_limit_mm == 420 for s in ben)
            assert central.store_errors == 0 and central.malformed == 0

            # A repeat (QoS 1 is at least once) is stored once; a malformed message is counted.
            stored, dup_before = central.stored, central.duplicates
            sample = recorder.on("legpress/north/leg-press-1/rep")[0].payload
            await asyncio.to_thread(recorder.publish, "legpress/north/leg-press-1/rep", sample)
            await asyncio.to_thread(recorder.publish, "legpress/north/leg-press-1/event", "{no")
            await until("the repeat seen", lambda: central.duplicates > dup_before)
            await until("the malformed one counted", lambda: central.malformed == 1)
            assert central.stored == stored
        recorder.close()


def test_serve_mqtt_and_serve_collect_from_the_command_line(
    broker: Mosquitto, tmp_path: Path
) -> None:
    from tests.host.fleet.broker import wait_for
    from tests.host.hub.browser import serving

    def api(base: str, token: str) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{base}/api/machines", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    (tmp_path / "hub").mkdir()
    (tmp_path / "central").mkdir()
    hub_args = [
        "--machine", f"Leg press 1={LIVE}", "--no-record",
        "--mqtt", broker.url("hub"), "--hub-name", "North",
    ]  # fmt: skip
    central_args = ["--collect", broker.url("central")]
    with (
        serving(hub_args, tmp_path / "hub") as (hub_base, hub_token),
        serving(central_args, tmp_path / "central") as (base, token),
    ):
        got = wait_for(
            "the hub's machine at the centre",
            lambda: (a := api(base, token))["machines"] and a,
            60,
        )
        assert [t["machine"] for t in got["machines"]] == ["Leg press 1 · North"]
        wait_for("the hub online at the centre", lambda: api(base, token)["hubs"][0]["online"])
        assert api(base, token)["fleet"]["broker"]["connected"] is True
        mqtt = api(hub_base, hub_token)["mqtt"]
        assert mqtt["broker"]["connected"] is True and mqtt["name"] == "North"
