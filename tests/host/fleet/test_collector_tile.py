"""The collector's tile of a remote machine has the keys of a hub's own tile (and its hub's),
filled from the machine's MQTT state (no broker: the state is handed over as it arrives)."""

from __future__ import annotations

from pathlib import Path

from legpress.fleet.collector import Collector, RemoteMachine
from legpress.fleet.config import parse_broker_url
from legpress.fleet.ledger import Ledger, ledger_path
from legpress.hub import Hub, HubConfig, MachineSpec
from legpress.storage.store import SessionStore


def test_a_remote_tile_has_the_hubs_keys_and_its_states_values(tmp_path: Path) -> None:
    with (
        SessionStore(tmp_path / "hub.db") as hub_db,
        SessionStore(tmp_path / "central.db") as central_db,
        Ledger(ledger_path(tmp_path / "central.db")) as ledger,
    ):
        hub = Hub(HubConfig(machines=(MachineSpec("LP", "sim:scenario=demo"),)), hub_db)
        own = hub.station("LP").tile()
        central = Collector(parse_broker_url("mqtt://127.0.0.1:1883"), central_db, ledger)
        remote = RemoteMachine(central, "north", "lp", "LP")
        assert set(remote.tile()) == {*own, "hub"}  # and which hub it is on

        note = "Ben was calibrated on machine 'LP 2', not 'LP'"
        remote.state = {"person": "Ben", "lift_depth_mm": 301.5, "calibration_note": note}
        tile = remote.tile()
        assert tile["person"] == "Ben" and tile["lift_depth_mm"] == 301.5
        assert tile["calibration_note"] == note
