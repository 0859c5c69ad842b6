"""Constants of the wire protocol, version 1 (PROTOCOL.md is the authority)."""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag
from typing import Final

VERSION: Final = 1
HEADER: Final = struct.Struct("<BBBHI")
HEADER_SIZE: Final = HEADER.size
TIME_WRAP_US: Final = 1 << 32
SEQ_WRAP: Final = 1 << 16
ADC_MAX: Final = 4095
MAX_SERIAL_FRAME: Final = 1024

SERVICE_UUID: Final = "6c700001-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
STREAM_UUID: Final = "6c700002-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
INFO_UUID: Final = "6c700003-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
STATUS_UUID: Final = "6c700004-9b5e-4d3a-8f1c-2e4a6b8c0d1e"
CONTROL_UUID: Final = "6c700005-9b5e-4d3a-8f1c-2e4a6b8c0d1e"


class MsgType(IntEnum):
    """Message type, header byte 1."""

    SAMPLES = 0x01
    SAMPLES_COMPACT = 0x02
    DEVICE_INFO = 0x03
    STATUS = 0x04
    COMMAND = 0x05
    REPLY = 0x06
    LOG = 0x07


class Flag(IntFlag):
    """Sample packet flags, header byte 2."""

    DROPPED = 0x01
    OVERRUN = 0x02
    SENSOR_FAULT = 0x04
    CLIPPED = 0x08
    RESTART = 0x10


class Command(IntEnum):
    """Command codes."""

    START = 0x01
    STOP = 0x02
    ZERO = 0x03
    TARE = 0x04
    SET_RATE = 0x05
    IDENTIFY = 0x06
    GET_STATUS = 0x07
    REBOOT = 0x08
    GET_INFO = 0x09
    REPL = 0x0A
    BEEP = 0x0B
    SET_LIMIT = 0x0C
    FORGET_BONDS = 0x0D


class Result(IntEnum):
    """Reply result codes."""

    OK = 0
    UNKNOWN_COMMAND = 1
    BAD_LENGTH = 2
    BAD_ARGUMENT = 3
    BAD_VERSION = 4
    BAD_TYPE = 5
    BUSY = 6
    INTERNAL = 7
    NOT_PERMITTED = 8


class Fault(IntFlag):
    """STATUS fault bits."""

    NONE = 0
    CELL = 0x0001
    POSITION = 0x0002
    TASK_RESTARTED = 0x0004
    LOW_HEAP = 0x0008
    MTU_TOO_SMALL = 0x0010
    WATCHDOG_RESET = 0x0020
    CONFIG = 0x0040
    TARE = 0x0080


class PositionSensor(IntEnum):
    """DEVICE_INFO position_sensor."""

    NONE = 0
    PCNT = 1
    PIN_IRQ = 2
    ANALOG = 3


RATE_MIN_HZ: Final = 50
RATE_MAX_HZ: Final = 400


def record_size(n_cells: int) -> int:
    """Bytes per ``SAMPLES`` record: K u16 cells and an i32 position."""
    return 2 * n_cells + 4


def compact_record_size(n_cells: int) -> int:
    """Bytes per ``SAMPLES_COMPACT`` record: K u8 cells and an i16 position."""
    return n_cells + 2
