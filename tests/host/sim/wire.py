"""A minimal decoder for the simulator tests, written from PROTOCOL.md with ``struct`` alone
(independent of the host decoder, so the two check each other)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HEADER = struct.Struct("<BBBHI")
T_SAMPLES = 0x01
T_SAMPLES_COMPACT = 0x02
T_DEVICE_INFO = 0x03
F_DROPPED = 0x01
F_OVERRUN = 0x02
F_SENSOR_FAULT = 0x04
F_RESTART = 0x10


@dataclass(frozen=True)
class Info:
    period_us: int
    n_cells: int
    tick_period_log2: int
    encoder_counts_per_m: int
    batch_samples: int
    mtu: int
    cell_pitch_mm: int
    tare: tuple[int, ...]
    name: str


@dataclass(frozen=True)
class Packet:
    flags: int
    seq: int
    t_us: int
    cells: npt.NDArray[np.int64]
    position: npt.NDArray[np.int64]


def parse_info(data: bytes) -> Info:
    version, mtype, _flags, _seq, _t = HEADER.unpack_from(data, 0)
    assert version == 1 and mtype == T_DEVICE_INFO
    (
        _maj,
        _min,
        _pat,
        period,
        k,
        tick_log2,
        counts_per_m,
        _pos,
        bits,
        pitch,
        _over,
        batch,
        mtu,
    ) = struct.unpack_from("<BBBIBBIBBBBBH", data, 9)
    assert bits == 12
    o = 9 + 26 + k
    tare = struct.unpack_from(f"<{k}H", data, o)
    o += 2 * k
    n = data[o]
    name = data[o + 1 : o + 1 + n].decode()
    assert len(data) == o + 1 + n
    return Info(period, k, tick_log2, counts_per_m, batch, mtu, pitch, tuple(tare), name)


def parse_samples(data: bytes, n_cells: int) -> Packet:
    version, mtype, flags, seq, t_us = HEADER.unpack_from(data, 0)
    assert version == 1 and mtype == T_SAMPLES
    rec = 2 * n_cells + 4
    assert (len(data) - 9) % rec == 0, "not a whole number of records"
    n = (len(data) - 9) // rec
    cells = np.empty((n, n_cells), dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    fmt = struct.Struct(f"<{n_cells}Hi")
    for r in range(n):
        values = fmt.unpack_from(data, 9 + r * rec)
        cells[r] = values[:n_cells]
        pos[r] = values[n_cells]
    return Packet(flags, seq, t_us, cells, pos)
