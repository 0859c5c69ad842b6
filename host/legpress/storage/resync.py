"""Finding the good records after damage in a recording, in time linear in the file.

A record is ``u32 size | u8 kind | i64 t | payload | u32 crc`` (docs/recording-format.md).
After a damaged stretch the reader looks for the next offset where a whole record with a valid
CRC starts. Checking every offset with ``zlib.crc32`` costs the claimed record size per offset,
so a crafted tail (every few bytes a header claiming a large record) makes that quadratic.

:class:`RecordScanner` instead checks a whole window of candidate offsets at once: it computes
the CRC register before every byte of the window once (one ``zlib.crc32`` call per block of
bytes, then one vectorised CRC step per byte column of the blocks), and then the CRC of any
candidate ``[a, b)`` follows from the registers at ``a`` and ``b``, because CRC-32 is linear:
``crc32(data[a:b]) == M**(b-a) · z[a] ^ z[b]``, where ``z`` is the running ``zlib.crc32``
value and ``M`` the register update for a zero byte. ``M**L`` is applied with one table
lookup per set bit of ``L``. Every byte of the file is scanned at most twice, whatever it holds
and whatever the record times say.
"""

from __future__ import annotations

import bisect
import functools
import zlib
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["RecordScanner"]

_HEAD: Final = 13  # u32 size | u8 kind | i64 t
_CRC: Final = 4
_MAX_KIND: Final = 2
_ALL: Final = 0xFFFFFFFF
_BLOCK: Final = 512  # bytes per block of the register computation
_WINDOW: Final = 1 << 20  # candidate offsets examined per window
_POWERS: Final = 22  # M**(2**k) tables for k < 22: record lengths below 4 MiB


class RecordScanner:
    """The offsets where a whole record with a valid CRC starts, found window by window.

    Args:
        data: the whole file.
        max_payload: the largest payload a record may have.

    Attributes:
        scanned_bytes: bytes of the file the scanner has processed so far (at most about
            twice its length, whatever it holds).
    """

    def __init__(self, data: bytes, max_payload: int) -> None:
        if _HEAD + max_payload + _CRC >= 1 << _POWERS:
            raise ValueError("max_payload too large for the CRC power tables")
        self._data = data
        self._u8 = np.frombuffer(data, np.uint8)
        self._max_payload = max_payload
        self._valid: list[int] = []  # good record offsets found, ascending
        self._from = -1  # offsets in [_from, _to) have been examined
        self._to = -1
        self.scanned_bytes = 0

    def next_record(self, start: int) -> int | None:
        """The first offset at or after ``start`` where a whole valid record starts, or None."""
        n = len(self._data)
        last = n - _HEAD - _CRC  # the last offset where a record can start
        if start > last:
            return None
        if not self._from <= start < self._to:
            self._valid, self._from, self._to = [], start, start
        while True:
            i = bisect.bisect_left(self._valid, start)
            if i < len(self._valid):
                return self._valid[i]
            if self._to > last:
                return None
            begin = self._to
            end = min(last + 1, begin + _WINDOW)
            self._valid.extend(self._scan(begin, end))
            self._to = end

    def _scan(self, begin: int, end: int) -> list[int]:
        """The valid record offsets in ``[begin, end)``."""
        u8 = self._u8
        n = len(u8)
        pos = np.arange(begin, end, dtype=np.int64)
        size = (
            u8[pos].astype(np.int64)
            | u8[pos + 1].astype(np.int64) << 8
            | u8[pos + 2].astype(np.int64) << 16
            | u8[pos + 3].astype(np.int64) << 24
        )
        ok = (size <= self._max_payload) & (u8[pos + 4] <= _MAX_KIND)
        stop = pos + _HEAD + size  # where the CRC starts
        ok &= stop + _CRC <= n
        pos, stop = pos[ok], stop[ok]
        if not len(pos):
            self.scanned_bytes += end - begin
            return []
        region_end = int(stop.max()) + 1
        z = self._registers(begin, region_end)
        length = stop - pos
        crc = _shift(z[pos - begin], length) ^ z[stop - begin]
        stored = (
            u8[stop].astype(np.uint32)
            | u8[stop + 1].astype(np.uint32) << 8
            | u8[stop + 2].astype(np.uint32) << 16
            | u8[stop + 3].astype(np.uint32) << 24
        )
        found: list[int] = pos[crc == stored].tolist()
        return found

    def _registers(self, begin: int, end: int) -> npt.NDArray[np.uint32]:
        """``z[i - begin]`` = ``zlib.crc32(data[begin:i], 0xFFFFFFFF)`` for i in [begin, end).

        (A running ``zlib.crc32`` started from ``0xFFFFFFFF`` instead of 0 is the CRC register
        of the bytes from ``begin`` with a zero initial register; any common start works.)
        """
        m = end - begin
        self.scanned_bytes += m
        blocks = -(-m // _BLOCK)
        raw = np.zeros(blocks * _BLOCK, np.uint8)
        have = min(m, len(self._u8) - begin)
        raw[:have] = self._u8[begin : begin + have]
        by_column = raw.reshape(blocks, _BLOCK).T.copy()
        mv = memoryview(self._data)
        starts = np.empty(blocks, np.uint32)
        value = _ALL
        for k in range(blocks):
            starts[k] = value
            lo = begin + k * _BLOCK
            value = zlib.crc32(mv[lo : lo + _BLOCK], value)
        table = _table()
        reg = starts ^ np.uint32(_ALL)  # the register is the zlib value inverted
        out = np.empty((_BLOCK, blocks), np.uint32)
        eight = np.uint32(8)
        low = np.uint32(0xFF)
        for j in range(_BLOCK):
            out[j] = reg
            reg = (reg >> eight) ^ table[(reg ^ by_column[j]) & low]
        return (out.T.reshape(-1)[:m]) ^ np.uint32(_ALL)


def _shift(z: npt.NDArray[np.uint32], length: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    """``M**length · z`` for each element: the register after ``length`` zero bytes."""
    out = z.copy()
    tables = _power_tables()
    for k in range(_POWERS):
        sel = np.flatnonzero((length >> k) & 1)
        if not len(sel):
            continue
        x = out[sel]
        t = tables[k]
        out[sel] = t[0][x & 0xFF] ^ t[1][(x >> 8) & 0xFF] ^ t[2][(x >> 16) & 0xFF] ^ t[3][x >> 24]
    return out


@functools.cache
def _table() -> npt.NDArray[np.uint32]:
    """The byte table of the reflected CRC-32 (polynomial 0xEDB88320) that zlib uses."""
    table = np.empty(256, np.uint32)
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ (0xEDB88320 if reg & 1 else 0)
        table[byte] = reg
    return table


@functools.cache
def _power_tables() -> list[npt.NDArray[np.uint32]]:
    """For each k, four byte tables applying ``M**(2**k)`` to one byte of a register each."""
    # columns[j] = M**(2**k) applied to the unit register 1 << j
    columns = [_zero_byte(1 << j) for j in range(32)]
    tables = []
    for _ in range(_POWERS):
        t = np.zeros((4, 256), np.uint32)
        values = np.arange(256, dtype=np.uint32)
        for q in range(4):
            for bit in range(8):
                has = ((values >> np.uint32(bit)) & np.uint32(1)).astype(bool)
                t[q][has] ^= np.uint32(columns[8 * q + bit])
        tables.append(t)
        columns = [_apply(columns, c) for c in columns]  # square: M**(2**(k+1))
    return tables


def _zero_byte(reg: int) -> int:
    """``M · reg``: the register after one zero byte."""
    return (reg >> 8) ^ int(_table()[reg & 0xFF])


def _apply(columns: list[int], reg: int) -> int:
    out = 0
    j = 0
    while reg:
        if reg & 1:
            out ^= columns[j]
        reg >>= 1
        j += 1
    return out
