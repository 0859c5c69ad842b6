"""``mqtts://``: a hub on a Mosquitto with TLS (a CA and certificate made here with openssl);
without the CA the broker's certificate is not trusted and the hub says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from legpress.fleet.config import parse_broker_url
from legpress.fleet.publisher import HubPublisher, PublisherConfig
from legpress.hub import MachineSpec
from legpress.storage.store import SessionStore
from tests.host.fleet.broker import Listener, make_tls, mosquitto, until
from tests.host.fleet.hubs import make_hub, running

FAST = "sim:scenario=liftoff,seed=2,realtime=0,duration=20"


# paho-mqtt 2.2 leaves the socket of a failed TLS handshake to the garbage collector
# (a ResourceWarning when it is collected), which this file's last part provokes on purpose.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_hub_over_tls(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    with (
        mosquitto(tmp_path / "broker", tls=tls) as broker,
        SessionStore(tmp_path / "hub.db") as store,
        Listener(broker) as listener,
    ):
        assert broker.url().startswith("mqtts://")
        listener.wait_connected()
        hub = make_hub(store, MachineSpec("Leg press 1", FAST))
        secure = parse_broker_url(broker.url(), ca_file=tls.ca)
        pub = HubPublisher(hub, secure, PublisherConfig(name="Secure"))
        async with running(hub, pub):
            await until("the hub's reps over TLS", lambda: listener.on("secure/leg-press-1/rep"))
            assert pub.link.stats().connected

        untrusting = parse_broker_url(broker.url())  # the system's CAs did not sign it
        other = HubPublisher(make_hub(store), untrusting, PublisherConfig(name="Other"))
        async with running(other):
            await until("the failed handshake", lambda: "TLS" in other.link.stats().error)
            assert not other.link.connected
        assert not listener.on("legpress/other/status")
