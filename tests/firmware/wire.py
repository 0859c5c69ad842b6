# The protocol's numbers (PROTOCOL.md), for the firmware tests under both interpreters. The
# firmware keeps no public table of them: each of its modules folds the constants it uses as
# its own `_NAME = const(...)` (firmware/README.md, "Memory"), and tests/firmware/test_consts.py
# checks every such copy against this table, and this table against the host's
# legpress.protocol.spec.

VERSION = 1
HEADER_SIZE = 9
REPLY_HEADER_SIZE = 13  # header + request_seq u16 + command u8 + result u8
STATUS_BODY_SIZE = 53
INFO_FIXED_SIZE = 26  # bytes 9..34 of DEVICE_INFO: everything before the per-cell tables
NAME_MAX = 29

# Message types.
T_SAMPLES, T_SAMPLES_COMPACT, T_DEVICE_INFO, T_STATUS, T_COMMAND, T_REPLY, T_LOG = range(1, 8)
# Sample packet flags.
F_DROPPED, F_OVERRUN, F_SENSOR_FAULT, F_CLIPPED, F_RESTART = (1 << i for i in range(5))
# Commands.
(CMD_START, CMD_STOP, CMD_ZERO, CMD_TARE, CMD_SET_RATE, CMD_IDENTIFY, CMD_GET_STATUS, CMD_REBOOT,
 CMD_GET_INFO, CMD_REPL, CMD_BEEP, CMD_SET_LIMIT, CMD_FORGET_BONDS) = range(1, 14)  # fmt: skip
# Reply results.
(R_OK, R_UNKNOWN_COMMAND, R_BAD_LENGTH, R_BAD_ARGUMENT, R_BAD_VERSION, R_BAD_TYPE, R_BUSY,
 R_INTERNAL, R_NOT_PERMITTED) = range(9)  # fmt: skip
# STATUS fault bits.
(FAULT_CELL, FAULT_POSITION, FAULT_TASK_RESTARTED, FAULT_LOW_HEAP, FAULT_MTU_TOO_SMALL,
 FAULT_WATCHDOG_RESET, FAULT_CONFIG, FAULT_TARE) = (1 << i for i in range(8))  # fmt: skip
# DEVICE_INFO position sensor codes.
POSITION_NONE, POSITION_PCNT, POSITION_PIN_IRQ, POSITION_ANALOG = range(4)
