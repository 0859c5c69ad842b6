"""``legpress serve --mqtt`` against a real Mosquitto: what a hub publishes, commands back,
credentials, the last will of a killed hub, and no event lost across a broker restart."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from legpress.errors import NotFoundError
from legpress.fleet.collector import Collector
from legpress.fleet.config import parse_broker_url
from legpress.fleet.ledger import Ledger, ledger_path
from legpress.fleet.publisher import HubPublisher, PublisherConfig
from legpress.hub import MachineSpec
from legpress.storage.store import CalibrationRecord, SessionStore
from tests.host.fleet.broker import Listener, Mosquitto, until, wait_for
from tests.host.fleet.hubs import first_ended, make_hub, running

FAST = "sim:scenario=liftoff,seed=2,realtime=0,duration=30"
LIVE = "sim:scenario=liftoff,seed=4,realtime=1,duration=24"
LONG = "sim:scenario=liftoff,seed=4,realtime=1,duration=600"
CALIBRATE = "sim:scenario=liftoff,seed=5,realtime=0,duration=60"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with SessionStore(tmp_path / "hub.db") as s:
        yield s


def payloads(listener: Listener, suffix: str) -> list[dict[str, Any]]:
    return [m.json() for m in listener.on(suffix)]


def ended(listener: Listener, machine: str = "leg-press-1") -> int | None:
    """The first session that ended on the broker."""
    return first_ended(payloads(listener, f"/{machine}/session"))


def calibrated(store: SessionStore, person: str = "Ben") -> bool:
    try:
        return bool(store.calibrations(person))
    except NotFoundError:
        return False


def of(messages: list[dict[str, Any]], sid: int) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("session_id") == sid]


async def test_a_hub_publishes_status_state_events_reps_and_sessions(
    broker: Mosquitto, store: SessionStore
) -> None:
    store.add_person("Ben", rom_limit_mm=420)
    # Calibrated elsewhere (no lift-off seen there): the state says so.
    store.add_calibration(
        CalibrationRecord("Ben", 3, 0, None, None, 300.0, 20.0, detail={"machine": "LP 2"})
    )
    hub = make_hub(store, MachineSpec("Leg press 1", FAST, person="Ben"))
    pub = HubPublisher(hub, parse_broker_url(broker.url()), PublisherConfig(name="North"))
    with Listener(broker, ("legpress/#", "homeassistant/#")) as listener:
        listener.wait_connected()
        # The hub stops before its publisher, as in `legpress serve`.
        async with running(pub), running(hub):
            await until("the session's end on the broker", lambda: ended(listener), 60)
            await until("the summary", lambda: listener.on("/leg-press-1/summary"))

    status = [m for m in listener.on("legpress/north/status")]
    assert status[0].payload == b"online"
    assert status[-1].payload == b"offline"  # said on the clean stop (no last will needed)
    info = listener.on("legpress/north/hub")[0].json()
    assert info["v"] == 1 and info["name"] == "North"
    assert info["machines"] == [{"id": "leg-press-1", "name": "Leg press 1"}]
    assert info["accepts_commands"] is True

    sid = ended(listener)
    assert sid is not None
    session = store.get_session(sid)
    assert session.reps, "the scenario has reps"
    reps = of(payloads(listener, "/leg-press-1/rep"), sid)
    events = of(payloads(listener, "/leg-press-1/event"), sid)
    assert len({r["id"] for r in reps}) == len(session.reps) == len(reps)
    assert [r["rep"]["index"] for r in reps] == [r.index for r in session.reps]
    assert all(r["v"] == 1 for r in reps)
    assert len({e["id"] for e in events}) == len(session.events) == len(events)
    assert {e["type"] for e in events} == {e.type.value for e in session.events}
    assert "lift_off" in {e["type"] for e in events}
    sessions = of(payloads(listener, "/leg-press-1/session"), sid)
    assert [s["event"] for s in sessions] == ["start", "end"]
    assert sessions[0]["person"] == "Ben" and sessions[1]["reps"] == len(session.reps)
    assert len({s["id"] for s in sessions}) == 2

    states = [m.json() for m in listener.on("legpress/north/leg-press-1/state")]
    assert states[-1]["machine"] == "Leg press 1"
    assert any(s["session_id"] == sid and s["reps"] == len(session.reps) for s in states)
    # Where Ben's back lifted is published as soon as it is known, and cleared after.
    lifted = [r.lift_off_depth_mm for r in session.reps if r.lift_off_depth_mm is not None]
    marks = [s["lift_depth_mm"] for s in states if s.get("lift_depth_mm") is not None]
    assert lifted and marks and min(marks) == pytest.approx(min(lifted[:5]), abs=0.1)
    assert states[-1]["lift_depth_mm"] is None
    notes = {s["calibration_note"] for s in states if s["session_id"] == sid}
    assert len(notes) == 1 and "calibrated on machine 'LP 2'" in (notes.pop() or "")
    summaries = [m.json() for m in listener.on("/leg-press-1/summary")]
    after = next(s for s in summaries if (s["last_session"] or {}).get("session_id") == sid)
    assert after["sessions"] >= 1 and after["reps"] >= len(session.reps)
    lifted = sum(r.lift_off for r in session.reps)
    assert after["last_session"]["lift_off_reps"] == lifted
    assert after["last_session"]["reps"] == len(session.reps)

    configs = [m for m in listener.messages if m.topic.startswith("homeassistant/")]
    uids = [m.json()["unique_id"] for m in configs]
    assert configs and len(uids) == len(set(uids))

    # What is retained: a client that comes later gets the latest of each at once.
    with Listener(broker, ("legpress/#", "homeassistant/#"), client_id="late") as late:
        wanted = {
            "legpress/north/status",
            "legpress/north/hub",
            "legpress/north/leg-press-1/state",
            "legpress/north/leg-press-1/summary",
            *(m.topic for m in configs),
        }
        wait_for("the retained messages", lambda: wanted <= {m.topic for m in late.messages})
        assert all(m.retain for m in late.messages)
        assert late.latest("legpress/north/status").payload == b"offline"  # type: ignore[union-attr]
        # The hub stopped cleanly: its machine's last state says nothing is live.
        last = late.latest("legpress/north/leg-press-1/state").json()  # type: ignore[union-attr]
        assert (last["connected"], last["occupied"], last["session_id"]) == (False, False, None)
        assert last["link"] == "hub stopped"
        assert not late.on("/rep") and not late.on("/event")  # never retained


async def test_a_calibration_is_published_apart_from_training(
    broker: Mosquitto, store: SessionStore, tmp_path: Path
) -> None:
    """Its session, reps and alerts are flagged and left out of the summary's figures; the
    collector does not take them for a session it cannot place."""
    store.add_person("Ben")
    hub = make_hub(store, MachineSpec("Leg press 1", CALIBRATE, person="Ben"))
    pub = HubPublisher(hub, parse_broker_url(broker.url()), PublisherConfig(name="North"))
    with (
        SessionStore(tmp_path / "central.db") as central_db,
        Ledger(ledger_path(tmp_path / "central.db")) as ledger,
        Listener(broker) as listener,
    ):
        central = Collector(parse_broker_url(broker.url("central")), central_db, ledger)
        listener.wait_connected()
        hub.calibrate("Leg press 1")
        async with running(central):
            await until("the collector connected", lambda: central.link.connected)
            async with running(pub), running(hub):
                await until(
                    "a summary after the calibration",
                    lambda: any(
                        m["calibrations"] for m in payloads(listener, "/leg-press-1/summary")
                    ),
                    60,
                )
                await until("the session after it", lambda: hub.station("Leg press 1").session_id)
            await until("the calibration in the central store", lambda: calibrated(central_db))
            # One that is not a calibration is counted, and stored nowhere.
            bad = json.dumps({"v": 1, "id": "bad-1", "record": {"person": "", "reps": 3}})
            topic = "legpress/north/leg-press-1/calibration"
            await asyncio.to_thread(listener.publish, topic, bad)
            await until("the malformed one counted", lambda: central.figures()["malformed"] == 1)
        centrally = central_db.list_sessions()
        (central_record,) = central_db.calibrations("Ben")

    sessions = payloads(listener, "/leg-press-1/session")
    calib = [m for m in sessions if m["calibration"]]
    assert [m["event"] for m in calib] == ["start", "end"]
    assert all(m["session_id"] is None for m in calib) and calib[1]["reps"] == 3
    assert calib[0]["reason"] == "calibration" and calib[1]["reason"] == "calibration done"
    reps = payloads(listener, "/leg-press-1/rep")
    assert [r["calibration"] for r in reps[:3]] == [True] * 3
    assert all(not r["calibration"] for r in reps[3:])
    assert any(r["rep"]["lift_off"] for r in reps[:3]), "a calibration goes down to lift-off"
    events = payloads(listener, "/leg-press-1/event")
    asked = [e for e in events if e["calibration"]]
    assert asked and all(e["session_id"] is None for e in asked)

    (record,) = store.calibrations("Ben")
    summary = payloads(listener, "/leg-press-1/summary")[-1]
    assert summary["calibrations"] == 1
    last = summary["last_calibration"]
    assert last["person"] == "Ben" and last["lift_off_depth_mm"] == record.lift_off_depth_mm
    assert last["message"].startswith("calibrated Ben: ")
    # Only the session after it counts: its reps and alerts, not the calibration's.
    assert summary["sessions"] == 1
    assert summary["reps"] == len(reps) - 3
    assert summary["alerts"] == len(events) - len(asked)
    lifted = sum(bool(r["rep"]["lift_off"]) for r in reps[3:])
    assert summary["lift_off_reps"] == lifted

    # The central store has what the hub learned, made on its own name for the machine (so
    # that it is in force there), with which hub.
    assert central_record.lift_off_depth_mm == record.lift_off_depth_mm
    assert central_record.clean_share_by_depth == record.clean_share_by_depth
    assert central_record.lift_off_floor == record.lift_off_floor
    assert (central_record.reps, central_record.margin_mm) == (3, record.margin_mm)
    assert central_record.detail["machine"] == "Leg press 1 · North"
    assert central_record.detail["hub"] == "north" and central_record.detail["by"] == "hub"
    (published,) = [m for m in payloads(listener, "/calibration") if m["id"] != "bad-1"]
    assert published["person"] == "Ben" and published["message"] == last["message"]
    figures = central.figures()
    assert figures["unplaced"] == 0
    assert figures["calibration"] == len(calib) + 3 + len(asked)
    # The one after it, never the calibration.
    assert len(centrally) == 1 and centrally[0].person == "Ben"


async def test_commands_over_mqtt_and_malformed_ones_answered(
    broker: Mosquitto, store: SessionStore
) -> None:
    hub = make_hub(store, MachineSpec("Leg press 1", LONG))
    pub = HubPublisher(hub, parse_broker_url(broker.url()), PublisherConfig(name="North"))
    cmd = "legpress/north/leg-press-1/cmd"
    with Listener(broker) as listener:
        listener.wait_connected()
        # A command left retained on the broker must not run at each (re)connect.
        listener.publish(cmd, b"start", retain=True)

        def replies() -> list[dict[str, Any]]:
            return payloads(listener, "/leg-press-1/reply")

        async with running(hub, pub):
            await until("the hub online", lambda: listener.on("north/status"))
            await until("the retained command refused", replies)
            assert not replies()[0]["ok"] and "retained" in replies()[0]["error"]
            # An empty retained message clears it; the hub ignores empty commands.
            await asyncio.to_thread(listener.publish, cmd, b"", True)
            assert hub.station("Leg press 1").session_id is None

            async def send(payload: bytes | str, retain: bool = False) -> dict[str, Any]:
                n = len(replies())
                await asyncio.to_thread(listener.publish, cmd, payload, retain)
                await until("a reply", lambda: len(replies()) > n)
                return replies()[n]

            r = await send(json.dumps({"command": "assign", "person": "Ana", "id": "c1"}))
            assert r["ok"] and r["id"] == "c1" and r["person"] == "Ana"
            assert hub.station("Leg press 1").person == "Ana"
            assert store.get_person("Ana")
            r = await send("start")
            assert r["ok"] and r["command"] == "start"
            await until("a session started by hand", lambda: hub.station("Leg press 1").session_id)
            r = await send(b'{"command": "stop"}')
            assert r["ok"]
            await until("the session stopped", lambda: not hub.station("Leg press 1").session_id)
            r = await send(b"calibrate")  # nobody is on it once the session ended
            assert not r["ok"] and "pick who is on Leg press 1 first" in r["error"]
            await send(json.dumps({"command": "assign", "person": "Ana"}))
            r = await send(b'{"command": "calibrate", "id": "c2"}')
            assert r["ok"] and r["id"] == "c2" and r["command"] == "calibrate"
            said = hub.station("Leg press 1").calibration or ""
            assert said.startswith(("calibration of Ana starts", "calibrating Ana: rep 1 of 3"))
            await until(
                "the calibration in the machine's state",
                lambda: any(
                    (m.json().get("calibration") or "").startswith("calibrat")
                    for m in listener.on("/leg-press-1/state")
                ),
            )
            # Taring reaches the hub; the simulator has no pad to tare, and the state says so
            # (unless its person is pressing the sled just then: refused, with that reason).
            r = await send(b'{"command": "tare", "id": "t1"}')
            assert r["id"] == "t1" and r["command"] == "tare"
            tared = int(r["ok"])
            if r["ok"]:
                await until(
                    "the tare's outcome in the machine's state",
                    lambda: any(
                        "pad was not tared: TARE needs a live leg press"
                        in (m.json().get("setup") or "")
                        for m in listener.on("/leg-press-1/state")
                    ),
                )
            else:
                assert "not at the top" in r["error"]

            bad = [
                (b"{not json", "not JSON"),
                (b'{"command": "jump"}', "unknown command"),
                (b"\xff\xfe", "UTF-8"),
                (b'["start"]', "JSON object"),
                (b'{"command": "assign"}', 'needs "person"'),
                (b'{"command": "assign", "person": 7}', "'person' must be"),
                (b"x" * 5000, "at most"),
            ]
            for payload, why in bad:
                r = await send(payload)
                assert not r["ok"] and why in r["error"], (payload, r)

            n = len(replies())
            await asyncio.to_thread(
                listener.publish, "legpress/north/no-such-machine/cmd", b"start"
            )
            await until(
                "the unknown machine's reply",
                lambda: listener.on("/no-such-machine/reply"),
            )
            assert "no machine" in listener.on("/no-such-machine/reply")[0].json()["error"]
            assert len(replies()) == n

            await asyncio.to_thread(
                listener.publish, "legpress/north/leg-press-1/person/set", "Chloé"
            )
            await until("the person set", lambda: hub.station("Leg press 1").person == "Chloé")
            assert pub.commands_rejected == len(bad) + 3 + 1 - tared
            assert pub.commands_accepted == 6 + tared
            await until(
                "the counters on the hub's topic",
                lambda: (
                    (m := listener.latest("legpress/north/hub"))
                    and m.json()["commands"]["rejected"] == len(bad) + 4 - tared
                ),
            )


async def test_wrong_credentials_are_refused(broker: Mosquitto, store: SessionStore) -> None:
    hub = make_hub(store, MachineSpec("Leg press 1", LIVE))
    wrong = parse_broker_url(broker.url("hub", "not-the-password"))
    pub = HubPublisher(hub, wrong, PublisherConfig(name="Intruder"))
    with (
        Listener(broker, ("#",)) as listener,
        Listener(broker, user=None, client_id="anonymous", persistent=False) as anonymous,
    ):
        listener.wait_connected()
        async with running(hub, pub):
            await until("the refusal", lambda: pub.link.stats().refused >= 1)
            stats = pub.link.stats()
            assert not stats.connected and stats.connects == 0
            assert "refused" in stats.error and "password" in stats.error
        await until("the anonymous client refused", lambda: anonymous.refusals)
        assert anonymous.connects == 0
    assert not [m for m in listener.messages if "intruder" in m.topic]


def test_a_killed_hub_goes_offline_through_its_last_will(
    broker: Mosquitto, tmp_path: Path
) -> None:
    from tests.host.hub.browser import free_port

    log = (tmp_path / "serve.log").open("w")
    cmd = [
        sys.executable, "-m", "legpress.cli", "serve",
        "--machine", f"Leg press 1={LIVE}",
        "--port", str(free_port()), "--db", str(tmp_path / "db.sqlite"),
        "--token-file", str(tmp_path / "token"), "--no-record",
        "--mqtt", broker.url(), "--hub-name", "Doomed",
    ]  # fmt: skip
    with Listener(broker) as listener:
        listener.wait_connected()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:

            def status() -> bytes | None:
                m = listener.latest("legpress/doomed/status")
                if proc.poll() is not None:
                    raise AssertionError((tmp_path / "serve.log").read_text())
                return m.payload if m else None

            wait_for("the hub online", lambda: status() == b"online", 60)
            wait_for("a machine state", lambda: listener.on("doomed/leg-press-1/state"), 30)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            wait_for("the last will", lambda: listener.latest("legpress/doomed/status"), 5)
            wait_for(
                "the last will",
                lambda: (
                    (m := listener.latest("legpress/doomed/status")) and m.payload == b"offline"
                ),
                30,
            )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    # A new client sees the retained "offline" at once.
    with Listener(broker, ("legpress/doomed/status",), client_id="late") as late:
        wait_for("the retained status", lambda: late.on("doomed/status"), 20)
        assert late.on("doomed/status")[-1].payload == b"offline"
        assert late.on("doomed/status")[-1].retain


async def test_a_broker_restart_mid_set_loses_no_event(
    broker: Mosquitto, store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="legpress")
    hub = make_hub(store, MachineSpec("Leg press 1", LIVE))
    pub = HubPublisher(hub, parse_broker_url(broker.url()), PublisherConfig(name="North"))
    with Listener(broker, client_id="restart-listener") as listener:
        listener.wait_connected()
        async with running(hub, pub):
            await until("the first rep", lambda: listener.on("/leg-press-1/rep"), 60)
            station = hub.station("Leg press 1")
            await asyncio.to_thread(broker.stop)
            t_stop_ms, reps_at_stop = time.time() * 1000, station.reps
            await until("the hub to see the broker gone", lambda: not pub.link.connected, 30)
            # Keep the broker down until the set has made a rep that must wait for it.
            await until("a rep while the broker is down", lambda: station.reps > reps_at_stop, 60)
            queued = pub.link.pending
            t_back_ms = time.time() * 1000
            await asyncio.to_thread(broker.start)
            await until("the hub reconnected", lambda: pub.link.stats().connects >= 2, 30)
            await until("the end of the session", lambda: ended(listener), 90)
            await until("the outbox empty", lambda: pub.link.pending == 0, 30)

    sid = ended(listener)
    assert sid is not None
    session = store.get_session(sid)
    reps = {r["id"]: r for r in of(payloads(listener, "/leg-press-1/rep"), sid)}
    events = {e["id"]: e for e in of(payloads(listener, "/leg-press-1/event"), sid)}
    assert sorted(r["rep"]["index"] for r in reps.values()) == [r.index for r in session.reps]
    assert len(events) == len(session.events)
    assert sorted(e["t_s"] for e in events.values()) == sorted(e.t_s for e in session.events)
    made = sorted(r["t_wall_ms"] for r in reps.values())
    assert made[0] < t_stop_ms, "the set began before the restart"
    assert any(t_stop_ms < t < t_back_ms for t in made), "and went on while the broker was down"
    stats = pub.link.stats()
    assert queued >= 1 and stats.dropped == 0 and stats.acked == stats.sent
    assert broker.starts == 2
    # The log says the link came back as loudly as it said it was lost.
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("MQTT:")]
    lost = next(i for i, m in enumerate(said) if "lost" in m or "cannot reach" in m)
    assert any("connected to" in m and "again" in m for m in said[lost:]), said
