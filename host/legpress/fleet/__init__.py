"""Fleets: hubs on an MQTT broker (``legpress serve --mqtt``) and one central view of them all
(``legpress serve --collect``). The topic tree and payloads are in docs/mqtt.md.

- :class:`legpress.fleet.publisher.HubPublisher` publishes a hub's machines (state, summary,
  events, reps, sessions), keeps a last will on the broker and takes commands back;
- :class:`legpress.fleet.collector.Collector` subscribes to every hub under a prefix, shows the
  whole fleet on one dashboard and stores every session once (deduplicated by message ``id``);
- :mod:`legpress.fleet.discovery` makes each machine a Home Assistant device.

The broker side needs the ``hub`` extra (paho-mqtt): ``pip install 'legpress[hub]'``; it is
imported only from those modules, so this package and its sans-I/O parts always import.
"""

from legpress.fleet.config import BrokerConfig, parse_broker_url
from legpress.fleet.topics import VERSION, Command, Topics, parse_command

__all__ = ["VERSION", "BrokerConfig", "Command", "Topics", "parse_broker_url", "parse_command"]
