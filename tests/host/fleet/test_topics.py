"""The sans-I/O side of MQTT: broker URLs, the topic tree, commands, discovery payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legpress.errors import UsageError
from legpress.fleet.config import PASSWORD_ENV, parse_broker_url, slug
from legpress.fleet.discovery import discovery_messages
from legpress.fleet.topics import (
    MAX_COMMAND_BYTES,
    Command,
    Route,
    Topics,
    dumps,
    parse_command,
    parse_person_text,
    parse_topic,
)


def test_broker_urls() -> None:
    c = parse_broker_url("mqtt://hub:p%40ss@broker.local:1884/gyms/north")
    assert (c.host, c.port, c.prefix, c.username, c.password, c.tls) == (
        "broker.local", 1884, "gyms/north", "hub", "p@ss", False,
    )  # fmt: skip
    assert c.url == "mqtt://hub@broker.local:1884/gyms/north"  # no password in logs
    d = parse_broker_url("mqtts://broker")
    assert (d.port, d.prefix, d.tls, d.username) == (8883, "legpress", True, None)
    assert parse_broker_url("mqtt://[::1]/x").url == "mqtt://[::1]:1883/x"


def test_the_password_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert parse_broker_url("mqtt://hub@broker").password == "from-env"
    assert parse_broker_url("mqtt://hub:given@broker").password == "given"


def test_a_user_without_a_password_is_refused_at_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(UsageError, match=r"names the user 'hub' without a password.*\$LEGPRESS"):
        parse_broker_url("mqtt://hub@broker")
    assert parse_broker_url("mqtt://hub:@broker").password == ""  # an empty one, on purpose
    cert, key = tmp_path / "hub.crt", tmp_path / "hub.key"
    cert.write_text("x")
    key.write_text("x")
    tls = parse_broker_url("mqtts://hub@broker", cert_file=cert, key_file=key)
    assert (tls.username, tls.password) == ("hub", None)  # the certificate says who it is


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://broker", "use mqtt://"),
        ("broker:1883", "use mqtt://"),
        ("mqtt://", "needs a host"),
        ("mqtt://broker:99999", "mqtt://user:pass@host"),
        ("mqtt://broker/a/+/b", "not usable"),
        ("mqtt://broker/a//b", "not usable"),
        ("mqtt://broker/x?tls=1", "no '?'"),
    ],
)
def test_bad_broker_urls_say_what_to_do(url: str, why: str) -> None:
    with pytest.raises(UsageError, match=None) as err:
        parse_broker_url(url)
    assert why in str(err.value)


def test_tls_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        parse_broker_url("mqtts://broker", ca_file=tmp_path / "missing.pem")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(UsageError, match="mqtts://"):
        parse_broker_url("mqtt://broker", ca_file=ca)
    with pytest.raises(UsageError, match="both"):
        parse_broker_url("mqtts://broker", cert_file=ca)
    assert parse_broker_url("mqtts://broker", ca_file=ca).ca_file == ca
    with pytest.raises(UsageError, match="1-60000"):
        parse_broker_url("mqtt://broker", outbox_max=70_000)


def test_topics_and_routes() -> None:
    t = Topics("gyms/north", "hub-1")
    assert t.status == "gyms/north/hub-1/status"
    assert t.machine("leg-press-2", "event") == "gyms/north/hub-1/leg-press-2/event"
    assert parse_topic("gyms/north", t.status) == Route("hub-1", None, "status")
    assert parse_topic("gyms/north", t.machine("m", "rep")) == Route("hub-1", "m", "rep")
    assert parse_topic("gyms/north", t.machine("m", "person/set")) == Route(
        "hub-1", "m", "person/set"
    )
    assert parse_topic("gyms/north", "gyms/north/hub-1/m/unknown") is None
    assert parse_topic("gyms/north", "other/hub-1/status") is None
    assert slug("Leg press 2 — Nord") == "leg-press-2-nord"


def test_commands() -> None:
    assert parse_command(b"start") == Command("start")
    assert parse_command(b" STOP\n") == Command("stop")
    assert parse_command(b"calibrate") == Command("calibrate")
    assert parse_command(b'{"command": "Calibrate", "id": "c"}') == Command("calibrate", None, "c")
    assert parse_command(b"tare") == Command("tare")
    assert parse_command(b'{"command": "zero", "id": "z"}') == Command("zero", None, "z")
    assert parse_command(b'{"command": "assign", "person": " Ana ", "id": 7}') == Command(
        "assign", "Ana", "7"
    )
    assert parse_command(b'{"command": "assign", "person": null}') == Command("assign", None)
    assert parse_person_text("Chloé".encode()) == Command("assign", "Chloé")
    assert parse_person_text(b"  ") == Command("assign", None)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "not JSON"),
        (b"jump", "not JSON"),
        (b"\xc3\x28", "UTF-8"),
        (b"[]", "JSON object"),
        (b"null", "JSON object"),
        (b'{"command": 1}', "unknown command"),
        (b'{"command": "assign"}', 'needs "person"'),
        (b'{"command": "assign", "person": ["x"]}', "'person' must be"),
        (b'{"command": "assign", "person": "a\\u0000b"}', "control characters"),
        (b'{"command": "assign", "person": "' + b"x" * 101 + b'"}', "longer than"),
        (b'{"command": "start", "id": {}}', "'id' must be"),
        (b" " * (MAX_COMMAND_BYTES + 1), "at most"),
    ],
)
def test_malformed_commands_say_what_is_wrong(payload: bytes, why: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_command(payload)
    assert why in str(err.value)


def test_payloads_are_strict_json() -> None:
    assert json.loads(dumps({"a": float("nan"), "b": (1, 2.5)})) == {"a": None, "b": [1, 2.5]}


class _M:
    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name


def test_home_assistant_discovery() -> None:
    t = Topics("legpress", "north")
    msgs = list(
        discovery_messages("homeassistant", t, "North", [_M("leg-press-1", "Leg press 1")])
    )
    topics = [topic for topic, _ in msgs]
    assert "homeassistant/sensor/legpress_north_leg_press_1/reps/config" in topics
    assert "homeassistant/button/legpress_north_leg_press_1/start/config" in topics
    assert len(set(topics)) == len(topics)
    for topic, config in msgs:
        component = topic.split("/")[1]
        assert config["availability_topic"] == "legpress/north/status"
        assert config["device"]["identifiers"] == ["legpress_north_leg_press_1"]
        assert config["unique_id"].startswith("legpress_north_leg_press_1_")
        if component in ("button", "text"):
            assert config["command_topic"].startswith("legpress/north/leg-press-1/")
        else:
            assert config["state_topic"].startswith("legpress/north/leg-press-1/")
    start = dict(msgs)["homeassistant/button/legpress_north_leg_press_1/start/config"]
    assert parse_command(start["payload_press"].encode()) == Command("start")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--mqtt", "http://broker"], "use mqtt://"),
        (["--mqtt", "mqtts://broker", "--mqtt-ca", "/no/such/ca.pem"], "does not exist"),
        (["--hub-name", "North"], "go with --mqtt"),
        (["--mqtt", "mqtt://broker", "--mqtt-outbox", "0"], "1-60000"),
    ],
)
def test_serve_rejects_bad_mqtt_options_before_starting(
    args: list[str], why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from legpress.cli.main import main

    code = main(["serve", "--demo", "--db", str(tmp_path / "db"), "--port", "0", *args])
    err = capsys.readouterr().err
    assert code == 2 and why in err and "Traceback" not in err
    assert not (tmp_path / "db").exists()
