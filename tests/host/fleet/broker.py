"""A real Mosquitto for the MQTT tests, and a real client that records what it receives.

:class:`Mosquitto` runs Debian's ``mosquitto`` on 127.0.0.1 with a random port and a config
of its own in the test's temporary folder: accounts in a ``password_file`` made with
``mosquitto_passwd``, anonymous clients refused, persistence on (so a restarted broker keeps
the sessions of persistent clients), TLS with a self-signed certificate when asked. Without
``mosquitto`` the tests are skipped with a note, except under ``CI=true``, where they fail.

:class:`Listener` is a paho client that keeps every message; tests wait on conditions over it
with timeouts, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.host.hub.browser import free_port, unavailable

USERS = {"hub": "hub-secret", "central": "central-secret", "ha": "ha-secret"}


def mosquitto_paths() -> tuple[str, str]:
    """``mosquitto`` and ``mosquitto_passwd``, or skip (fail under CI)."""
    broker = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )
    passwd = shutil.which("mosquitto_passwd")
    if broker is None or passwd is None:
        unavailable("mosquitto is not installed (Debian: apt-get install mosquitto)")
    assert broker is not None and passwd is not None
    return broker, passwd


class _Deadline:
    """``pred`` polled until it returns something true, failing with ``what`` at the end."""

    def __init__(self, what: str, pred: Callable[[], Any], timeout_s: float) -> None:
        self.what, self.pred, self.timeout_s = what, pred, timeout_s
        self.end = time.monotonic() + timeout_s

    def check(self) -> Any:
        value = self.pred()
        if not value and time.monotonic() > self.end:
            raise AssertionError(f"timed out after {self.timeout_s:g} s waiting for {self.what}")
        return value


def wait_for(what: str, pred: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll ``pred`` until it returns something true; fail saying ``what`` on timeout."""
    d = _Deadline(what, pred, timeout_s)
    while not (value := d.check()):
        time.sleep(0.02)
    return value


async def until(what: str, pred: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """:func:`wait_for` for asyncio tests: polls without blocking the event loop."""
    d = _Deadline(what, pred, timeout_s)
    while not (value := d.check()):
        await asyncio.sleep(0.02)
    return value


@dataclass(frozen=True)
class Tls:
    """A self-signed CA and the broker's certificate signed by it."""

    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1, made with the ``openssl`` CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("openssl is not installed (Debian: apt-get install openssl)")
    assert openssl is not None
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(key), "-out", str(csr))  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return Tls(ca, cert, key)


class Mosquitto:
    """One broker process (see the module's docstring)."""

    def __init__(self, folder: Path, *, tls: Tls | None = None) -> None:
        self.binary, passwd = mosquitto_paths()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.port = free_port()
        pwfile = folder / "passwords"
        for n, (user, password) in enumerate(USERS.items()):
            args = [passwd, "-b", *([] if n else ["-c"]), str(pwfile), user, password]
            subprocess.run(args, check=True, capture_output=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {pwfile}",
            "persistence true",
            f"persistence_location {folder}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages true",
        ]
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who can't write here
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for("mosquitto to listen", listening, 20.0)

    def stop(self) -> None:
        """Stop it (SIGTERM: it saves its persistent sessions) and wait until it has exited."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def url(self, user: str | None = "hub", password: str | None = None, prefix: str = "") -> str:
        """An ``mqtt://`` (or ``mqtts://``) URL of this broker."""
        scheme = "mqtts" if self.tls else "mqtt"
        cred = ""
        if user is not None:
            cred = f"{user}:{password if password is not None else USERS[user]}@"
        return f"{scheme}://{cred}127.0.0.1:{self.port}/{prefix or 'legpress'}"


@contextmanager
def mosquitto(folder: Path, *, tls: Tls | None = None) -> Iterator[Mosquitto]:
    """A running :class:`Mosquitto`, stopped afterwards."""
    broker = Mosquitto(folder, tls=tls)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class Received:
    """One message a :class:`Listener` got."""

    topic: str
    payload: bytes
    retain: bool
    t_mono: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """A paho client subscribed to ``topics`` that keeps every message (thread-safe)."""

    def __init__(
        self,
        broker: Mosquitto,
        topics: tuple[str, ...] = ("legpress/#",),
        *,
        user: str | None = "central",
        password: str | None = None,
        client_id: str = "test-listener",
        persistent: bool = True,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[Received] = []
        self.connects = 0
        self.refusals: list[str] = []
        self._lock = threading.Lock()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent
        )
        if user is not None:
            c.username_pw_set(user, password if password is not None else USERS[user])
        if broker.tls is not None:
            c.tls_set(ca_certs=str(broker.tls.ca))
        c.reconnect_delay_set(1, 2)

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if rc.is_failure:
                self.refusals.append(str(rc))
                return
            self.connects += 1
            for t in topics:
                client.subscribe(t, qos=1)

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            with self._lock:
                self.messages.append(
                    Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
                )

        c.on_connect = on_connect
        c.on_message = on_message
        c.connect_async("127.0.0.1", broker.port, keepalive=10)
        c.loop_start()
        self.client = c

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on(self, suffix: str) -> list[Received]:
        """Messages whose topic ends with ``suffix``."""
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def latest(self, topic: str) -> Received | None:
        """The last message on exactly ``topic``."""
        with self._lock:
            found = [m for m in self.messages if m.topic == topic]
        return found[-1] if found else None

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def wait_connected(self, timeout_s: float = 20.0) -> None:
        wait_for("the test client to connect", lambda: self.connects > 0, timeout_s)
