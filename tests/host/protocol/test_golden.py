"""The host decoder reads every golden vector as PROTOCOL.md says it should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from legpress.protocol import (
    CommandMessage,
    Decoder,
    DeviceInfo,
    FrameDecoder,
    Log,
    Reply,
    SampleBlock,
    SamplesMessage,
    Status,
    decode_packets,
)

GOLDEN = Path(__file__).parents[2] / "golden"
VECTORS: list[dict[str, Any]] = json.loads((GOLDEN / "vectors.json").read_text())["vectors"]


def by_kind(*kinds: str) -> list[Any]:
    return [pytest.param(v, id=v["name"]) for v in VECTORS if v["kind"] in kinds]


def test_vectors_file_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(GOLDEN / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_message_type_has_a_vector() -> None:
    kinds = {v["kind"] for v in VECTORS}
    assert kinds >= {
        "samples",
        "samples_compact",
        "device_info",
        "status",
        "reply",
        "command",
        "log",
        "serial_frame",
    }


@pytest.mark.parametrize("vector", by_kind("samples", "samples_compact"))
def test_samples_decode(vector: dict[str, Any]) -> None:
    f = vector["fields"]
    raw = bytes.fromhex(vector["hex"])
    ref = SamplesMessage.from_bytes(raw, f["n_cells"])
    assert (ref.seq, ref.t_us, ref.flags) == (f["seq"], f["t_us"], f["flags"])
    assert [list(c) for c in ref.cells] == f["cells"]
    assert list(ref.position) == f["position"]

    period = f.get("period_us", 10_000)
    info = DeviceInfo((0, 1, 0), period, f["n_cells"])
    items = Decoder(info).feed(raw, 0)
    (block,) = items
    assert isinstance(block, SampleBlock)
    np.testing.assert_array_equal(block.cells, np.array(f["cells"], np.uint16))
    np.testing.assert_array_equal(block.position, np.array(f["position"], np.int32))
    np.testing.assert_allclose(block.t_s, np.arange(len(f["position"])) * period / 1e6)
    assert set(block.flags.tolist()) == {f["flags"]}

    batch, gaps, _ = decode_packets([raw], [0], info)
    np.testing.assert_array_equal(batch.cells, block.cells)
    np.testing.assert_array_equal(batch.t_s, block.t_s)
    assert gaps == []


def test_device_info_decodes() -> None:
    (v,) = [v for v in VECTORS if v["kind"] == "device_info"]
    f = v["fields"]
    info = DeviceInfo.from_bytes(bytes.fromhex(v["hex"]))
    assert list(info.fw_version) == f["fw_version"]
    assert info.device_id.hex() == f["device_id"]
    assert list(info.cell_channel) == f["cell_channel"]
    assert list(info.tare) == f["tare"]
    for key in (
        "period_us",
        "n_cells",
        "tick_period_log2",
        "encoder_counts_per_m",
        "position_sensor",
        "adc_bits",
        "cell_pitch_mm",
        "oversample",
        "batch_samples",
        "mtu",
        "name",
    ):
        assert getattr(info, key) == f[key], key
    assert info.counts_per_mm == pytest.approx(20.372)
    assert info.to_bytes(f["seq"], f["t_us"]).hex() == v["hex"]


def test_status_decodes() -> None:
    (v,) = [v for v in VECTORS if v["kind"] == "status"]
    status = Status.from_bytes(bytes.fromhex(v["hex"]))
    for key, value in v["fields"].items():
        if key not in ("seq", "t_us"):
            assert int(getattr(status, key)) == value, key


@pytest.mark.parametrize("vector", by_kind("reply"))
def test_reply_decodes(vector: dict[str, Any]) -> None:
    f = vector["fields"]
    reply = Reply.from_bytes(bytes.fromhex(vector["hex"]))
    assert (reply.seq, reply.t_us, reply.request_seq, reply.command, reply.result) == (
        f["seq"],
        f["t_us"],
        f["request_seq"],
        f["command"],
        f["result"],
    )
    assert reply.payload.hex() == f["payload"]


@pytest.mark.parametrize("vector", by_kind("command"))
def test_command_decodes(vector: dict[str, Any]) -> None:
    f = vector["fields"]
    cmd = CommandMessage.from_bytes(bytes.fromhex(vector["hex"]))
    assert (cmd.seq, cmd.command, cmd.args.hex()) == (f["seq"], f["command"], f["args"])


def test_log_decodes() -> None:
    (v,) = [v for v in VECTORS if v["kind"] == "log"]
    log = Log.from_bytes(bytes.fromhex(v["hex"]))
    assert (log.text, log.seq, log.t_us) == (v["fields"]["text"], v["fields"]["seq"], 42)


@pytest.mark.parametrize("vector", by_kind("serial_frame"))
def test_serial_frame_decodes_after_garbage(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    assert frame.endswith(b"\x00") and b"\x00" not in frame[:-1]
    dec = FrameDecoder()
    # REPL text and a torn frame before the real one must not hurt it.
    out = dec.feed(b">>> print('hi')\r\nhi\r\n\x00" + frame[: len(frame) // 2] + b"\x00" + frame)
    assert out == [bytes.fromhex(vector["fields"]["message"])]
    assert dec.stats.bad_frames == 2
