"""The public device API: open a leg press by URL, iterate what it sends, command it.

.. code-block:: python

    import legpress

    async with legpress.open_device("ble:LegPress-3A7F", record="set1.lprec") as dev:
        print(dev.info.name, dev.info.rate_hz)
        await dev.tare()
        async for item in dev:
            if isinstance(item, legpress.SampleBlock):
                ...  # item.cells (n, K) ADC counts, item.position (n,) encoder counts
            elif isinstance(item, legpress.Disconnected):
                print("link lost, reconnecting")

The same code runs against ``serial:/dev/ttyUSB0``, ``sim:scenario=liftoff`` and
``replay:set1.lprec``. :func:`open_blocking` gives the same device to plain (non-async) scripts.
"""

from legpress.device.blocking import BlockingDevice, open_blocking
from legpress.device.events import (
    Connected,
    DeviceEvent,
    DeviceItem,
    Disconnected,
    FaultEvent,
    GapEvent,
    InfoEvent,
    LogEvent,
    StatusEvent,
)
from legpress.device.pump import Device, open_device
from legpress.device.stats import DeviceStats

__all__ = [
    "BlockingDevice",
    "Connected",
    "Device",
    "DeviceEvent",
    "DeviceItem",
    "DeviceStats",
    "Disconnected",
    "FaultEvent",
    "GapEvent",
    "InfoEvent",
    "LogEvent",
    "StatusEvent",
    "open_blocking",
    "open_device",
]
