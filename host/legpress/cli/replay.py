"""``legpress replay``: play a recording back through the decoder and summarise it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from legpress.cli._common import Progress, duration, run
from legpress.device import (
    Connected,
    Disconnected,
    FaultEvent,
    GapEvent,
    InfoEvent,
    LogEvent,
    open_device,
)
from legpress.errors import RecordingError
from legpress.protocol.decoder import SampleBlock
from legpress.storage.recording import RecordingReader, RecordKind


async def _replay(args: argparse.Namespace) -> dict[str, Any]:
    reader = RecordingReader(args.recording)
    header = reader.header
    progress = Progress(interval_s=1.0)
    events: list[str] = []
    url = f"replay:{args.recording}"
    options: dict[str, Any] = {"realtime": args.realtime, "speed": args.speed}
    samples = 0
    t_last = 0.0
    depth_counts = 0
    async with open_device(url, autostart=False, **options) as dev:
        info = dev.info
        if not args.json:
            person = header.get("person") or "-"
            machine = header.get("machine") or "-"
            progress.note(
                f"{args.recording}: {info.name or '?'} fw {'.'.join(map(str, info.fw_version))}, "
                f"{info.rate_hz:g} Hz, {info.n_cells} cells, recorded {header.get('created', '?')}"
                f" from {header.get('url') or '?'}, machine {machine}, person {person}"
            )
        start = time.monotonic()
        async for item in dev:
            if isinstance(item, SampleBlock):
                samples += len(item)
                if len(item):
                    t_last = float(item.t_s[-1])
                    depth_counts = int(item.position[-1])
                if args.realtime and not args.json:
                    load = int(item.cells[-1].sum()) if len(item) else 0
                    progress.update(
                        f"  {duration(t_last)}  position {depth_counts} counts  pad {load}"
                    )
                continue
            text = _describe(item)
            if text:
                events.append(text)
                if not args.json:
                    progress.note(text)
        progress.done()
        stats = dev.stats
    return {
        "file": str(args.recording),
        "device": info.name,
        "machine": header.get("machine"),
        "person": header.get("person"),
        "rate_hz": info.rate_hz,
        "n_cells": info.n_cells,
        "samples": samples,
        "duration_s": round(t_last, 6),
        "lost_packets": stats.decoder.lost_packets,
        "gaps": stats.decoder.gaps,
        "corrupt_packets": stats.decoder.corrupt,
        "reconnects": stats.link.reconnects,
        "damaged_file": reader.stats.damaged,
        "damaged_bytes": reader.stats.skipped_bytes + reader.stats.truncated_bytes,
        "file_note": reader.stats.describe(_first_device_t(reader)),
        "replay_s": round(time.monotonic() - start, 3),
        "events": events,
    }


def _describe(item: object) -> str:
    if isinstance(item, GapEvent):
        g = item.gap
        return f"{g.t_s:8.2f} s  gap: {g.lost_packets} packet(s), {g.lost_samples} samples lost"
    if isinstance(item, Disconnected):
        return f"{'':8}    link lost: {item.reason}"
    if isinstance(item, Connected) and item.reconnect:
        return f"{'':8}    reconnected"
    if isinstance(item, FaultEvent):
        return f"{'':8}    device: {item.describe()}"
    if isinstance(item, InfoEvent):
        return f"{'':8}    device info changed: {item.info.rate_hz:g} Hz"
    if isinstance(item, LogEvent):
        return f"{'':8}    device log: {item.text}"
    return ""


def _first_device_t(reader: RecordingReader) -> int | None:
    return next((r.t_host_ns for r in reader.records() if r.kind is RecordKind.DEVICE), None)


def _run(args: argparse.Namespace) -> int:
    summary = run(_replay(args))
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['samples']} samples over {duration(summary['duration_s'])}, "
            f"{summary['lost_packets']} packets lost in {summary['gaps']} gaps, "
            f"{summary['corrupt_packets']} corrupt, {summary['reconnects']} reconnects"
        )
    if summary["damaged_file"]:
        print(f"legpress: note: {args.recording}: {summary['file_note']}", file=sys.stderr)
    if not summary["samples"]:
        note = f" ({summary['file_note']})" if summary["damaged_file"] else ""
        raise RecordingError(f"{args.recording}: no samples could be read{note}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress replay`` to the command line."""
    p = subparsers.add_parser(
        "replay",
        help="play a recording back and summarise it",
        description="Play a recording through the decoder, as fast as possible or in real "
        "time, printing its link events (gaps, losses, faults) and a summary. Every command "
        "that takes a device URL also takes replay:FILE (replay:FILE?realtime=1 to pace it).",
    )
    p.add_argument("recording", metavar="FILE", type=Path, help="the recording (.lprec)")
    p.add_argument("--realtime", action="store_true", help="pace it like the original session")
    p.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="with --realtime: X times faster"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
