"""legpress: see lumbar lift-off and excessive range of motion on the leg press as they happen.

The library opens a leg press by URL (``ble:``, ``serial:``, ``sim:``, ``replay:``), decodes its
stream (:mod:`legpress.protocol`), detects unsafe reps (:mod:`legpress.detect`), and records and
reports sessions (:mod:`legpress.storage`). This is not a medical device.
"""

from legpress.device import (
    BlockingDevice,
    Connected,
    Device,
    DeviceEvent,
    DeviceItem,
    DeviceStats,
    Disconnected,
    FaultEvent,
    GapEvent,
    InfoEvent,
    LogEvent,
    StatusEvent,
    open_blocking,
    open_device,
)
from legpress.errors import (
    CommandError,
    ConfigError,
    DeviceNotFoundError,
    LegPressError,
    ProtocolError,
    RecordingError,
    TransportError,
    UsageError,
)
from legpress.protocol.decoder import SampleBlock
from legpress.version import __version__

__all__ = [
    "BlockingDevice",
    "CommandError",
    "ConfigError",
    "Connected",
    "Device",
    "DeviceEvent",
    "DeviceItem",
    "DeviceNotFoundError",
    "DeviceStats",
    "Disconnected",
    "FaultEvent",
    "GapEvent",
    "InfoEvent",
    "LegPressError",
    "LogEvent",
    "ProtocolError",
    "RecordingError",
    "SampleBlock",
    "StatusEvent",
    "TransportError",
    "UsageError",
    "__version__",
    "open_blocking",
    "open_device",
]
