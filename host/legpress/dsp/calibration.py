"""Calibration: raw device integers to physical units.

The firmware sends ADC counts and encoder counts. Here they become sled depth in millimetres
from the zeroed top (deeper is larger) and pad load per cell in tared ADC counts (proportional
to pressure within the FSR's working range; the absolute kPa scale is not needed to see the low
back leave the pad). Detection runs on :class:`CalibratedBlock` only, so a recording, a live
device and an imported CSV look the same to it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from legpress.errors import ConfigError, UsageError
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.messages import DeviceInfo

# The reference build (hardware/README.md): 600 P/R encoder, 31 mm effective drum, 4x.
DEFAULT_COUNTS_PER_MM = 24.643

# A cell reading more than this unloaded (0.15 V on the reference build's 12-bit ADC) is
# pressed by something other than a back (hardware/calibration.md, "Tare the pad").
PRELOAD_COUNTS = 190


def tare_check(tare_counts: tuple[int, ...]) -> str:
    """What a tare's readings say about the pad: "" when every cell read near 0 unloaded, else
    which cells are pre-loaded and what to do (a load tared away hides the back's own)."""
    hot = [c for c, v in enumerate(tare_counts) if v > PRELOAD_COUNTS]
    if not hot:
        return ""
    which = ", ".join(f"{c} ({tare_counts[c]})" for c in hot)
    return (
        f"cell{'s' if len(hot) > 1 else ''} {which} read more than {PRELOAD_COUNTS} counts with "
        "nobody on the pad: pre-loaded (a crease, a staple, a tight cover, or someone leaning "
        "on it). Fix the cause and tare again (hardware/calibration.md)"
    )


@dataclass(frozen=True, slots=True)
class CalibratedBlock:
    """Samples in physical units.

    Attributes:
        t_s: sample times, seconds on the stream's (or file's) clock.
        depth_mm: sled travel from the zeroed top, millimetres, deeper is larger.
        load: pad load per cell, shape ``(n, K)``, cell 0 at the seat; tared ADC counts
            (or the imported unit), proportional to pressure.
        valid: False where a sample is known to be unreliable (device sensor fault flag).
        cell_pitch_mm: distance between cell centres along the strip, from the device (None:
            not known, as in a CSV that does not say).
    """

    t_s: npt.NDArray[np.float64]
    depth_mm: npt.NDArray[np.float64]
    load: npt.NDArray[np.float64]
    valid: npt.NDArray[np.bool_]
    cell_pitch_mm: float | None = None

    def __post_init__(self) -> None:
        """Any array-like is taken (lists, integer or float32 arrays: a caller's own data) and
        held as float64 (bool for ``valid``), so that the detectors compute in one precision
        however the samples are cut into blocks; float64 arrays are kept as they are, without
        a copy.

        Raises:
            UsageError: arrays of the wrong shape (the message names the field).
        """
        t = np.asarray(self.t_s, dtype=np.float64)
        if t.ndim != 1:
            raise UsageError(f"CalibratedBlock t_s: one time per sample, got shape {t.shape}")
        n = t.shape[0]
        depth = np.asarray(self.depth_mm, dtype=np.float64)
        if depth.shape != (n,):
            raise UsageError(
                f"CalibratedBlock depth_mm: one depth per sample ({n}), got shape {depth.shape}"
            )
        load = np.asarray(self.load, dtype=np.float64)
        if load.ndim != 2 or load.shape[0] != n or load.shape[1] < 1:
            raise UsageError(
                f"CalibratedBlock load: shape (samples, cells) with {n} samples and at least "
                f"one cell, got shape {load.shape}"
            )
        valid = np.asarray(self.valid, dtype=np.bool_)
        if valid.shape != (n,):
            raise UsageError(
                f"CalibratedBlock valid: one flag per sample ({n}), got shape {valid.shape}"
            )
        object.__setattr__(self, "t_s", t)
        object.__setattr__(self, "depth_mm", depth)
        object.__setattr__(self, "load", load)
        object.__setattr__(self, "valid", valid)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def n_cells(self) -> int:
        """Number of pad cells."""
        return int(self.load.shape[1])

    def slice(self, start: int, stop: int) -> CalibratedBlock:
        """Samples ``start:stop``."""
        return CalibratedBlock(
            self.t_s[start:stop],
            self.depth_mm[start:stop],
            self.load[start:stop],
            self.valid[start:stop],
            self.cell_pitch_mm,
        )

    @classmethod
    def concat(cls, blocks: list[CalibratedBlock]) -> CalibratedBlock:
        """Join blocks in order (at least one)."""
        return cls(
            np.concatenate([b.t_s for b in blocks]),
            np.concatenate([b.depth_mm for b in blocks]),
            np.concatenate([b.load for b in blocks]),
            np.concatenate([b.valid for b in blocks]),
            blocks[0].cell_pitch_mm,
        )


@dataclass(frozen=True, slots=True)
class Calibration:
    """How raw counts become millimetres and tared load.

    Attributes:
        counts_per_mm: encoder counts per millimetre of sled travel.
        zero_counts: encoder reading at the top (subtracted before scaling).
        tare_counts: each cell's unloaded reading (subtracted, clipped at 0).
        source: where the numbers came from (``"device"``, ``"measured"``, ``"default"``).
    """

    counts_per_mm: float = DEFAULT_COUNTS_PER_MM
    zero_counts: int = 0
    tare_counts: tuple[int, ...] = ()
    source: str = "default"

    def __post_init__(self) -> None:
        if not self.counts_per_mm > 0:
            raise ConfigError(
                f"counts_per_mm must be positive, got {self.counts_per_mm}; "
                "measure it with `legpress calibrate`"
            )

    @classmethod
    def from_info(cls, info: DeviceInfo) -> Self:
        """Defaults from the device: its configured counts per mm and its last tare."""
        cpm = info.counts_per_mm
        return cls(
            counts_per_mm=cpm if cpm else DEFAULT_COUNTS_PER_MM,
            tare_counts=tuple(info.tare) if any(info.tare) else (),
            source="device" if cpm else "default",
        )

    def with_tare(self, tare_counts: tuple[int, ...]) -> Self:
        """A copy with new tare values."""
        return replace(self, tare_counts=tuple(int(t) for t in tare_counts))

    def apply(self, block: SampleBlock, cell_pitch_mm: float | None = None) -> CalibratedBlock:
        """Convert a decoded block (from a strip with that cell pitch, if known). Pure and
        per-sample, so chunking cannot change it. The result's ``t_s`` is the block's own
        array (not a copy); everything else is new, computed in place without temporaries."""
        depth = block.position.astype(np.float64)
        depth -= self.zero_counts
        depth /= self.counts_per_mm
        load = block.cells.astype(np.float64)
        if self.tare_counts:
            if len(self.tare_counts) != load.shape[1]:
                raise ConfigError(
                    f"calibration has {len(self.tare_counts)} tare values but the device has "
                    f"{load.shape[1]} cells; tare the pad again"
                )
            load -= np.asarray(self.tare_counts, np.float64)
            np.maximum(load, 0.0, out=load)
        valid = (block.flags & 0x04) == 0
        return CalibratedBlock(block.t_s, depth, load, valid, cell_pitch_mm)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["tare_counts"] = list(self.tare_counts)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: a field is missing or has the wrong type.
        """
        try:
            return cls(
                counts_per_mm=float(d.get("counts_per_mm", DEFAULT_COUNTS_PER_MM)),
                zero_counts=int(d.get("zero_counts", 0)),
                tare_counts=tuple(int(x) for x in d.get("tare_counts", ())),
                source=str(d.get("source", "file")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"calibration is malformed: {exc}") from None


@dataclass(frozen=True, slots=True)
class CalibrationFile:
    """A calibration saved to disk as JSON (per machine)."""

    path: Path
    calibration: Calibration = field(default_factory=Calibration)

    def save(self) -> None:
        """Write atomically."""
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.calibration.to_dict(), indent=2))
        tmp.replace(self.path)

    @classmethod
    def load(cls, path: Path) -> CalibrationFile:
        """Read a calibration file.

        Raises:
            ConfigError: unreadable or malformed.
        """
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read calibration {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"calibration {path} is not a JSON object")
        known = ("counts_per_mm", "zero_counts", "tare_counts", "source")
        unknown = sorted(k for k in data if k not in known)
        if unknown or "counts_per_mm" not in data:
            what = f"unknown field {unknown[0]!r}" if unknown else "no counts_per_mm"
            raise ConfigError(
                f"calibration {path} is not a legpress calibration ({what}; it has "
                f"{', '.join(known)}): write one with `legpress calibrate --save-calibration`"
            )
        return cls(Path(path), Calibration.from_dict(data))
