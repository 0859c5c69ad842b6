"""The site hub (``legpress serve``): many named machines, one process, a browser dashboard.

:class:`Hub` keeps every machine connected and detected and stores its sessions;
:func:`legpress.hub.web.make_app` serves the dashboard (needs the ``hub`` extra:
``pip install 'legpress[hub]'``). The web part is imported only when asked for, so this
package always imports.

.. code-block:: python

    from legpress.hub import Hub, HubConfig, MachineSpec
    from legpress.storage.store import SessionStore

    with SessionStore() as store:
        hub = Hub(HubConfig(machines=(MachineSpec("Leg press 1", "sim:liftoff"),)), store)
        with hub.bus.subscribe() as sub:
            ...  # asyncio.create_task(hub.run()); await sub.get() -> {"type": "alert", ...}
"""

from legpress.hub.bus import Broadcast, Subscription
from legpress.hub.hub import Hub, HubConfig, MachineSpec, Station
from legpress.hub.presence import Presence, PresenceConfig, Transition

__all__ = [
    "Broadcast",
    "Hub",
    "HubConfig",
    "MachineSpec",
    "Presence",
    "PresenceConfig",
    "Station",
    "Subscription",
    "Transition",
]
