"""Damage done to real recordings, and what a reader must get back from them.

Each kind of damage is an *edit*: replace the bytes ``[lo, hi)`` of the file with other bytes
(a bit flip and a zero block keep the length, a truncation removes the end, a garbage tail or a
crafted header adds bytes). A record is *intact* when none of its bytes changed and nothing was
inserted inside it; the reader must give back exactly the intact records, in order, and report
damage whenever some record was not intact or bytes outside records were added.

Used by tests/host/storage/test_recording_damage.py and tests/bench/bench_malformed.py.
"""

from __future__ import annotations

import asyncio
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from legpress.storage.recording import END_MARK, RecordingReader

_HEAD = struct.Struct("<IBq")


@dataclass(frozen=True)
class Edit:
    """Replace ``data[lo:hi]`` with ``new``."""

    kind: str
    lo: int
    hi: int
    new: bytes

    def apply(self, data: bytes) -> bytes:
        return data[: self.lo] + self.new + data[self.hi :]


@dataclass(frozen=True)
class Layout:
    """Where the records of an undamaged recording are."""

    data: bytes
    start: int  # first record
    records: list[tuple[int, int]]  # (offset, length) of each record, in order

    @classmethod
    def of(cls, path: Path) -> Layout:
        data = path.read_bytes()
        reader = RecordingReader(path)
        assert not reader.stats.damaged
        pos = reader._start
        out = []
        while pos < len(data):
            size = _HEAD.unpack_from(data, pos)[0]
            out.append((pos, 13 + size + 4))
            pos += 13 + size + 4
        last = out.pop()  # the end mark: not a record the reader gives back
        assert data[last[0] + 13 : sum(last) - 4] == END_MARK
        assert len(out) == reader.stats.records
        return cls(data, reader._start, out)

    def intact(self, edits: list[Edit]) -> list[int]:
        """Indexes of the records no edit touched."""
        keep = []
        for i, (off, length) in enumerate(self.records):
            end = off + length
            touched = False
            for e in edits:
                if e.lo == e.hi:  # an insertion: touches a record it falls strictly inside
                    touched |= off < e.lo < end
                    continue
                lo, hi = max(off, e.lo), min(end, e.hi)
                if lo >= hi:
                    continue
                if len(e.new) != e.hi - e.lo:  # bytes removed or moved
                    touched = True
                    continue
                old = self.data[lo:hi]
                new = e.new[lo - e.lo : hi - e.lo]
                touched |= old != new
            if not touched:
                keep.append(i)
        return keep

    def damaged(self, edits: list[Edit]) -> bytes:
        """The file with the edits applied (non-overlapping, applied from the end)."""
        data = self.data
        for e in sorted(edits, key=lambda e: e.lo, reverse=True):
            data = e.apply(data)
        return data

    def payloads(self, indexes: list[int]) -> list[bytes]:
        return [self.data[self.records[i][0] + 13 : sum(self.records[i]) - 4] for i in indexes]

    def only(self, indexes: list[int]) -> bytes:
        """The undamaged file with only these records: what a perfect reader recovers."""
        parts = [self.data[: self.start]]
        parts += [
            self.data[off : off + length] for off, length in (self.records[i] for i in indexes)
        ]
        return b"".join(parts)


def _crafted_header(rng: random.Random, room: int) -> bytes:
    """Record headers that look plausible (a size that fits, a valid kind, a time near the
    real ones or anywhere), with a payload and CRC that do not match."""
    size = rng.choice([0, 1, 17, 200, min(room, 1 << 20), rng.randrange(0, max(1, room))])
    t = rng.choice([0, -1, 1_750_000_000_000_000_000, rng.getrandbits(62)])
    head = _HEAD.pack(size, rng.randrange(3), t)
    body = bytes(rng.getrandbits(8) for _ in range(min(size, 64)))
    return head + body + struct.pack("<I", zlib.crc32(head + body) ^ 1)


def bit_flips(layout: Layout, rng: random.Random) -> list[Edit]:
    out = []
    for pos in sorted(rng.sample(range(layout.start, len(layout.data)), rng.randint(1, 8))):
        old = layout.data[pos]
        out.append(Edit("bit_flip", pos, pos + 1, bytes([old ^ (1 << rng.randrange(8))])))
    return out


def zero_block(layout: Layout, rng: random.Random) -> list[Edit]:
    length = rng.choice([16, 512, 4096])
    lo = rng.randrange(layout.start, len(layout.data) - length)
    return [Edit("zero_block", lo, lo + length, bytes(length))]


def truncation(layout: Layout, rng: random.Random) -> list[Edit]:
    lo = rng.randrange(layout.start, len(layout.data))
    return [Edit("truncation", lo, len(layout.data), b"")]


def garbage_tail(layout: Layout, rng: random.Random) -> list[Edit]:
    n = len(layout.data)
    garbage = rng.choice(
        [
            bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 3000))),
            bytes(rng.randrange(1, 5000)),
            b"".join(_crafted_header(rng, 5000) for _ in range(rng.randrange(1, 40))),
        ]
    )
    return [Edit("garbage_tail", n, n, garbage)]


def crafted_headers(layout: Layout, rng: random.Random) -> list[Edit]:
    """Plausible record headers written over, or inserted between, real records."""
    out = []
    for _ in range(rng.randint(1, 4)):
        off, length = layout.records[rng.randrange(len(layout.records))]
        fake = _crafted_header(rng, len(layout.data) - off)
        if rng.random() < 0.5:
            out.append(Edit("crafted_insert", off, off, fake))
        else:
            fake = fake[:length]
            out.append(Edit("crafted_over", off, off + len(fake), fake))
    out.sort(key=lambda e: e.lo)
    merged: list[Edit] = []
    for e in out:  # keep them apart, so each record is judged once
        if not merged or e.lo >= merged[-1].hi + 1:
            merged.append(e)
    return merged


DAMAGE: dict[str, Callable[[Layout, random.Random], list[Edit]]] = {
    "bit_flips": bit_flips,
    "zero_block": zero_block,
    "truncation": truncation,
    "garbage_tail": garbage_tail,
    "crafted_headers": crafted_headers,
}


def sim_recording(path: Path, url: str) -> Path:
    """Record the simulator through the real device tee, as ``legpress record`` does."""
    import legpress

    async def go() -> None:
        async with legpress.open_device(url, record=path) as dev:
            async for _ in dev:
                pass

    asyncio.run(go())
    return path
