"""Home Assistant MQTT discovery: each machine appears as a device, with no configuration.

For every machine the hub publishes retained config messages under Home Assistant's discovery
prefix (``homeassistant``), ``PREFIX/COMPONENT/legpress_HUB_MACHINE/OBJECT/config``: sensors
(reps, person, sled depth, last alert, counters since the hub started), binary sensors
(occupied, connected), buttons (start, stop a session), a text entity (the person on it) and an
event entity (every alert, for automations). Entities are available while the hub's status
topic says ``online`` and unavailable once its last will says ``offline``. The configs are sent
again on each connect and whenever Home Assistant announces itself on ``PREFIX/status``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, Protocol

from legpress.detect.events import EVENT_TYPES
from legpress.fleet.topics import OFFLINE, ONLINE, Topics
from legpress.version import __version__

__all__ = ["DEFAULT_DISCOVERY_PREFIX", "discovery_messages"]

#: Home Assistant's default discovery prefix.
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"


class _Machine(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


def _entities(topics: Topics, mid: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    state = topics.machine(mid, "state")
    summary = topics.machine(mid, "summary")
    yield (
        "sensor",
        "reps",
        {
            "name": "Reps",
            "state_topic": state,
            "value_template": "{{ value_json.reps }}",
            "icon": "mdi:counter",
        },
    )
    yield (
        "sensor",
        "person",
        {
            "name": "Person",
            "state_topic": state,
            "value_template": "{{ value_json.person if value_json.person else 'nobody' }}",
            "icon": "mdi:account",
        },
    )
    yield (
        "sensor",
        "depth",
        {
            "name": "Sled depth",
            "state_topic": state,
            "value_template": "{{ value_json.depth_mm }}",
            "unit_of_measurement": "mm",
            "device_class": "distance",
            "state_class": "measurement",
            "suggested_display_precision": 0,
        },
    )
    yield (
        "sensor",
        "limit",
        {
            "name": "Depth limit",
            "state_topic": state,
            "value_template": "{{ value_json.limit_mm }}",
            "unit_of_measurement": "mm",
            "device_class": "distance",
            "suggested_display_precision": 0,
            "entity_category": "diagnostic",
        },
    )
    yield (
        "sensor",
        "last_alert",
        {
            "name": "Last alert",
            "state_topic": state,
            "value_template": "{{ value_json.alert.word if value_json.alert else 'none' }}",
            "icon": "mdi:alert",
        },
    )
    for key, label, icon in (
        ("sessions", "Sessions", "mdi:seat"),
        ("alerts", "Alerts", "mdi:alert-circle"),
        ("lift_off_reps", "Reps with lift-off", "mdi:human-handsdown"),
    ):
        yield (
            "sensor",
            key,
            {
                "name": f"{label} since hub start",
                "state_topic": summary,
                "value_template": f"{{{{ value_json.{key} }}}}",
                "state_class": "total_increasing",
                "icon": icon,
            },
        )
    yield (
        "binary_sensor",
        "occupied",
        {
            "name": "Occupied",
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.occupied else 'OFF' }}",
            "device_class": "occupancy",
        },
    )
    yield (
        "binary_sensor",
        "connected",
        {
            "name": "Sensor connected",
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.connected else 'OFF' }}",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
        },
    )
    for word in ("start", "stop"):
        yield (
            "button",
            word,
            {
                "name": f"{word.capitalize()} session",
                "command_topic": topics.machine(mid, "cmd"),
                "payload_press": word,
                "icon": "mdi:play" if word == "start" else "mdi:stop",
            },
        )
    yield (
        "text",
        "person_set",
        {
            "name": "Person on it",
            "command_topic": topics.machine(mid, "person/set"),
            "state_topic": state,
            "value_template": "{{ value_json.person if value_json.person else '' }}",
            "min": 0,
            "max": 100,
            "icon": "mdi:account-edit",
        },
    )
    yield (
        "event",
        "alert",
        {
            "name": "Alert",
            "state_topic": topics.machine(mid, "event"),
            "event_types": list(EVENT_TYPES),
            "value_template": "{{ {'event_type': value_json.type, 'message': value_json.message,"
            " 'rep': value_json.rep} | to_json }}",
            "icon": "mdi:alert-octagon",
        },
    )


def discovery_messages(
    prefix: str, topics: Topics, hub_name: str, machines: Sequence[_Machine]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(topic, config)`` of every entity of every machine of one hub."""
    for m in machines:
        node = f"legpress_{topics.hub}_{m.id}".replace("-", "_")
        device = {
            "identifiers": [node],
            "name": f"{m.name} ({hub_name})",
            "manufacturer": "legpress",
            "model": "Instrumented leg press",
            "sw_version": __version__,
            "suggested_area": hub_name,
        }
        for component, obj, config in _entities(topics, m.id):
            payload = {
                **config,
                "unique_id": f"{node}_{obj}",
                "availability_topic": topics.status,
                "payload_available": ONLINE,
                "payload_not_available": OFFLINE,
                "qos": 1,
                "device": device,
                "origin": {"name": "legpress", "sw_version": __version__},
            }
            yield f"{prefix}/{component}/{node}/{obj}/config", payload
