"""The wire protocol (PROTOCOL.md): message types, the sans-I/O decoder and serial framing.

No I/O happens here; transports feed bytes in and get decoded messages out.
"""

from legpress.protocol.decoder import (
    Decoder,
    DecoderStats,
    Gap,
    SampleBlock,
    decode_packets,
    sample_dtype,
)
from legpress.protocol.framing import FrameDecoder, cobs_decode, cobs_encode, encode_frame
from legpress.protocol.messages import (
    CommandMessage,
    DeviceInfo,
    Header,
    Log,
    Reply,
    SamplesMessage,
    Status,
    apply_reply,
    encode_command,
)
from legpress.protocol.spec import (
    CONTROL_UUID,
    INFO_UUID,
    SERVICE_UUID,
    STATUS_UUID,
    STREAM_UUID,
    VERSION,
    Command,
    Fault,
    Flag,
    MsgType,
    PositionSensor,
    Result,
)

__all__ = [
    "CONTROL_UUID",
    "INFO_UUID",
    "SERVICE_UUID",
    "STATUS_UUID",
    "STREAM_UUID",
    "VERSION",
    "Command",
    "CommandMessage",
    "Decoder",
    "DecoderStats",
    "DeviceInfo",
    "Fault",
    "Flag",
    "FrameDecoder",
    "Gap",
    "Header",
    "Log",
    "MsgType",
    "PositionSensor",
    "Reply",
    "Result",
    "SampleBlock",
    "SamplesMessage",
    "Status",
    "apply_reply",
    "cobs_decode",
    "cobs_encode",
    "decode_packets",
    "encode_command",
    "encode_frame",
    "sample_dtype",
]
