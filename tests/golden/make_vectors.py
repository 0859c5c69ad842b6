"""Writes tests/golden/vectors.json: protocol v1 packets with their meaning.

The bytes are built by the host's encoders (legpress.protocol.messages), an implementation
independent of the firmware's. tests/firmware/test_golden.py makes the firmware encoder produce
every vector byte for byte under MicroPython; tests/host/protocol/test_golden.py decodes every
vector with the host decoder. `python tests/golden/make_vectors.py --check` fails if the file is
stale.

Each vector: name, kind, hex (the message or serial frame), fields (what it means), and for
sample packets `firmware` (the inputs that make the firmware sampler emit it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from legpress.protocol import (
    Command,
    DeviceInfo,
    Fault,
    Log,
    PositionSensor,
    Reply,
    Result,
    SamplesMessage,
    Status,
    encode_command,
    encode_frame,
)

OUT = Path(__file__).with_name("vectors.json")
TICKS = 1 << 30


def _cells(k: int, record: int, base: int) -> list[int]:
    # Distinct values spread over the 12-bit range, below the 4095 rail (which would add the
    # SENSOR_FAULT flag); no two cells alike.
    return [(base + 397 * c + 61 * record) % 4096 for c in range(k)]


def samples_vector(
    name: str,
    k: int,
    batch: int,
    epoch: int,
    ticks: int,
    seq: int,
    flags: int,
    base: int,
    positions: list[int],
    period_us: int = 10_000,
) -> dict[str, Any]:
    cells = [_cells(k, r, base) for r in range(batch)]
    t_us = (epoch * TICKS + ticks) % (1 << 32)
    msg = SamplesMessage(seq, t_us, tuple(map(tuple, cells)), tuple(positions), flags)
    return {
        "name": name,
        "kind": "samples",
        "hex": msg.to_bytes().hex(),
        "fields": {
            "type": 1,
            "flags": flags,
            "seq": seq,
            "t_us": t_us,
            "n_cells": k,
            "period_us": period_us,
            "cells": cells,
            "position": positions,
        },
        # Sampler.start() at `ticks` with the clock in `epoch`, sampler.seq = seq, then one
        # poll() per record with the clock advanced by period_us each time.
        "firmware": {"ticks": ticks, "epoch": epoch, "batch": batch},
    }


def build() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []
    first = samples_vector(
        "samples_first_after_start", 8, 4, 0, 123_456, 0, 0x10, 100, [0, 25, 51, 78]
    )
    vectors.append(first)
    # Crosses the 2**30 tick wrap inside the packet, in the clock's last epoch: t_us is just
    # below 2**32, and the second record's ticks have wrapped.
    vectors.append(
        samples_vector(
            "samples_tick_wrap_high_epoch",
            8,
            4,
            3,
            TICKS - 15_000,
            65535,
            0x10,
            3000,
            [-3, 12_345, 2_000_000, -70_000],
        )
    )
    vectors.append(samples_vector("samples_16_cells", 16, 1, 1, 5, 7, 0x10, 4000, [31_000], 2500))
    # MTU 23 form of the first packet's first record.
    f = first["fields"]
    compact = SamplesMessage(
        f["seq"], f["t_us"], (tuple(f["cells"][0]),), (f["position"][0],), f["flags"], True
    )
    vectors.append(
        {
            "name": "samples_compact_from_first",
            "kind": "samples_compact",
            "hex": compact.to_bytes().hex(),
            "fields": {
                "type": 2,
                "flags": f["flags"],
                "seq": f["seq"],
                "t_us": f["t_us"],
                "n_cells": 8,
                "cells": [[c >> 4 << 4 for c in f["cells"][0]]],
                "position": [f["position"][0]],
            },
            "firmware": {"source": "samples_first_after_start", "record": 0},
        }
    )
    info = DeviceInfo(
        fw_version=(0, 1, 0),
        period_us=10_000,
        n_cells=8,
        tick_period_log2=30,
        encoder_counts_per_m=20_372,
        position_sensor=PositionSensor.PCNT,
        adc_bits=12,
        cell_pitch_mm=40,
        oversample=1,
        batch_samples=4,
        mtu=247,
        device_id=bytes.fromhex("24 0a c4 12 3a 7f"),
        cell_channel=(36, 39, 34, 35, 32, 33, 0x80 | 6, 0x80 | 7),
        tare=(12, 8, 0, 40, 33, 7, 2, 4095),
        name="LegPress-3A7F",
    )
    vectors.append(
        {
            "name": "device_info",
            "kind": "device_info",
            "hex": info.to_bytes(seq=3, t_us=987_654_321).hex(),
            "fields": {
                "seq": 3,
                "t_us": 987_654_321,
                "fw_version": list(info.fw_version),
                "period_us": info.period_us,
                "n_cells": info.n_cells,
                "tick_period_log2": info.tick_period_log2,
                "encoder_counts_per_m": info.encoder_counts_per_m,
                "position_sensor": int(info.position_sensor),
                "adc_bits": info.adc_bits,
                "cell_pitch_mm": info.cell_pitch_mm,
                "oversample": info.oversample,
                "batch_samples": info.batch_samples,
                "mtu": info.mtu,
                "device_id": info.device_id.hex(),
                "cell_channel": list(info.cell_channel),
                "tare": list(info.tare),
                "name": info.name,
            },
        }
    )
    status = Status(
        state=1,
        link=1,
        faults=Fault.CELL | Fault.TASK_RESTARTED,
        uptime_s=86_400 * 40,
        samples_total=(1 << 30) - 1,
        samples_dropped=17,
        overruns=3,
        jitter_max_us=1_850,
        jitter_mean_us=42,
        packets_sent=123_456,
        notify_enomem=5,
        bad_commands=2,
        task_restarts=1,
        mtu=247,
        connections=12,
        heap_free_bytes=81_920,
        dead_cells=0b100,
        reset_cause=3,
    )
    status_fields = {k: int(getattr(status, k)) for k in status.__dataclass_fields__}
    vectors.append(
        {
            "name": "status",
            "kind": "status",
            "hex": status.to_bytes(seq=4, t_us=1_000_000).hex(),
            "fields": {"seq": 4, "t_us": 1_000_000, **status_fields},
        }
    )
    tare_payload = bytes.fromhex("0c00 0800 0000 2800 2100 0700 0200 ff0f")
    for name, reply in (
        ("reply_tare_ok", Reply(0x2A, Command.TARE, Result.OK, tare_payload, 5, 2_000_000)),
        ("reply_unknown_command", Reply(0x2B, 0x7F, Result.UNKNOWN_COMMAND, b"", 6, 2_000_100)),
        ("reply_repl_not_permitted", Reply(0x2D, Command.REPL, Result.NOT_PERMITTED, b"", 7, 9)),
    ):
        vectors.append(
            {
                "name": name,
                "kind": "reply",
                "hex": reply.to_bytes().hex(),
                "fields": {
                    "seq": reply.seq,
                    "t_us": reply.t_us,
                    "request_seq": reply.request_seq,
                    "command": int(reply.command),
                    "result": int(reply.result),
                    "payload": reply.payload.hex(),
                },
            }
        )
    for name, cmd, args, seq in (
        ("command_set_rate_200", Command.SET_RATE, (200).to_bytes(2, "little"), 0x2C),
        ("command_tare_32", Command.TARE, bytes([32]), 0x2A),
        ("command_start", Command.START, b"", 1),
        ("command_beep_lift_off", Command.BEEP, (0b10101).to_bytes(2, "little"), 0x31),
        (
            "command_set_limit",
            Command.SET_LIMIT,
            (12_000).to_bytes(4, "little", signed=True)
            + (250).to_bytes(2, "little")
            + (0b111).to_bytes(2, "little"),
            0x32,
        ),
        ("command_set_limit_off", Command.SET_LIMIT, bytes(8), 0x33),
        ("command_forget_bonds", Command.FORGET_BONDS, b"", 0x2E),
    ):
        vectors.append(
            {
                "name": name,
                "kind": "command",
                "hex": encode_command(cmd, args, seq).hex(),
                "fields": {"seq": seq, "t_us": 0, "command": int(cmd), "args": args.hex()},
            }
        )
    log = Log("boot: 8 cells, 100 Hz, ble", 9, 42)
    vectors.append(
        {
            "name": "log",
            "kind": "log",
            "hex": log.to_bytes().hex(),
            "fields": {"seq": 9, "t_us": 42, "text": log.text},
        }
    )
    # Serial frames: COBS + CRC-32 + 0x00, of messages with and without zero bytes.
    for source in ("samples_first_after_start", "status", "device_info"):
        msg = bytes.fromhex(next(v for v in vectors if v["name"] == source)["hex"])
        vectors.append(
            {
                "name": f"frame_{source}",
                "kind": "serial_frame",
                "hex": encode_frame(msg).hex(),
                "fields": {"message": msg.hex()},
            }
        )
    return {"protocol_version": 1, "vectors": vectors}


def main(argv: list[str]) -> int:
    text = json.dumps(build(), indent=1) + "\n"
    if "--check" in argv:
        if OUT.read_text() != text:
            print("tests/golden/vectors.json is stale: run python tests/golden/make_vectors.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
