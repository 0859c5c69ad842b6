# Control commands, the same over BLE and USB serial (PROTOCOL.md "COMMAND" and "REPLY").
#
# CommandHandler.handle(msg, n, link) reads one COMMAND message and writes the REPLY into its
# own buffer; it returns the reply length. It never raises: a malformed or unknown command gets
# an error reply and is counted in `bad_commands`, and an exception inside a command becomes an
# INTERNAL reply. The actions live in the device object (device.Device, or a fake in the tests):
#
#   start(link) / stop(link)     -> result code
#   zero()                       -> position before zeroing (counts)
#   tare(samples)                -> result code; the tare values are then in info.tare
#   set_rate(rate_hz)            -> period_us
#   identify(seconds)
#   beep(pattern)                -> plays a buzzer pattern (u16, 100 ms a bit; 0: silence)
#   set_limit(limit, rearm, pattern) -> the device beeps by itself when the sled passes limit
#   request(command)             -> result code; REBOOT, REPL and FORGET_BONDS happen after the
#                                   reply is sent
#
# REPL and FORGET_BONDS work on USB serial only (NOT_PERMITTED over BLE): REPL would leave BLE
# dead until someone presses reset, and forgetting the bonds is for whoever holds the board.
#   pack_status_body(buf, off) / pack_info_body(buf, off) -> end offset
#   next_seq(), clock, info, bad_commands (a counter the handler adds to)

import struct

from .compat import const
from .protocol import pack_reply

# The constants of device.py and protocol.py used here, as this module's own: imported, each
# would cost a dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_CMD_BEEP = const(0x0B)
_CMD_FORGET_BONDS = const(0x0D)
_CMD_GET_INFO = const(0x09)
_CMD_GET_STATUS = const(0x07)
_CMD_IDENTIFY = const(0x06)
_CMD_REBOOT = const(0x08)
_CMD_REPL = const(0x0A)
_CMD_SET_LIMIT = const(0x0C)
_CMD_SET_RATE = const(0x05)
_CMD_START = const(0x01)
_CMD_STOP = const(0x02)
_CMD_TARE = const(0x04)
_CMD_ZERO = const(0x03)
_HEADER_SIZE = const(9)
_INFO_FIXED_SIZE = const(26)
_LINK_BLE = const(1)
_NAME_MAX = const(29)
_REPLY_HEADER_SIZE = const(13)
_R_BAD_ARGUMENT = const(3)
_R_BAD_LENGTH = const(2)
_R_BAD_TYPE = const(5)
_R_BAD_VERSION = const(4)
_R_INTERNAL = const(7)
_R_NOT_PERMITTED = const(8)
_R_OK = const(0)
_R_UNKNOWN_COMMAND = const(1)
_T_COMMAND = const(0x05)
_VERSION = const(1)

# Argument bytes per command code (index); 0xFF marks a code that is not a command.
_ARG_LEN = b"\xff\x00\x00\x00\x01\x02\x01\x00\x00\x00\x00\x02\x08\x00"
# The largest reply: DEVICE_INFO body with 16 cells and a 29-byte name.
REPLY_MAX = _REPLY_HEADER_SIZE + _INFO_FIXED_SIZE + 3 * 16 + 1 + _NAME_MAX
_TARE_DEFAULT = const(32)
_COUNTER_MASK = const(0x3FFFFFFF)


class CommandHandler:
    def __init__(self, device):
        self._dev = device
        self.reply = bytearray(REPLY_MAX)
        self.bad_commands = 0
        self.errors = 0  # commands that raised (INTERNAL)
        self.last_error = None

    def handle(self, msg, n, link):
        """Handles msg[:n]; returns the length of the reply now in self.reply (0: none)."""
        request_seq = 0
        command = 0
        try:
            if n >= 5:
                request_seq = msg[3] | (msg[4] << 8)
            if n >= _HEADER_SIZE + 1:
                command = msg[_HEADER_SIZE]
            result = self._check(msg, n)
            if result != _R_OK:
                # Counted here and in the device, which sums both links for STATUS.
                self.bad_commands = (self.bad_commands + 1) & _COUNTER_MASK
                dev = self._dev
                dev.bad_commands = (dev.bad_commands + 1) & _COUNTER_MASK
                return self._reply(request_seq, command, result)
            return self._run(msg, n, link, request_seq, command)
        except Exception as e:  # the handler must not fail: report it and carry on
            self.errors += 1
            self.last_error = e
            try:
                return self._reply(request_seq, command, _R_INTERNAL)
            except Exception:
                return 0

    def _check(self, msg, n):
        if n < _HEADER_SIZE:
            return _R_BAD_LENGTH
        if msg[0] != _VERSION:
            return _R_BAD_VERSION
        if msg[1] != _T_COMMAND:
            return _R_BAD_TYPE
        if n < _HEADER_SIZE + 1:
            return _R_BAD_LENGTH
        command = msg[_HEADER_SIZE]
        if command >= len(_ARG_LEN) or _ARG_LEN[command] == 0xFF:
            return _R_UNKNOWN_COMMAND
        if n != _HEADER_SIZE + 1 + _ARG_LEN[command]:
            return _R_BAD_LENGTH
        if command == _CMD_SET_RATE:
            rate = msg[10] | (msg[11] << 8)
            if not 50 <= rate <= 400:
                return _R_BAD_ARGUMENT
        elif command == _CMD_IDENTIFY and not 1 <= msg[10] <= 60:
            return _R_BAD_ARGUMENT
        return _R_OK

    def _reply(self, request_seq, command, result):
        dev = self._dev
        clock = dev.clock
        return pack_reply(
            self.reply, dev.next_seq(), clock, clock.now(), request_seq, command, result
        )

    def _run(self, msg, n, link, request_seq, command):
        dev = self._dev
        buf = self.reply
        o = _REPLY_HEADER_SIZE
        result = _R_OK
        if command == _CMD_START:
            result = dev.start(link)
        elif command == _CMD_STOP:
            result = dev.stop(link)
        elif command == _CMD_ZERO:
            before = dev.zero()
            struct.pack_into("<i", buf, o, before)
            o += 4
        elif command == _CMD_TARE:
            samples = msg[10] or _TARE_DEFAULT
            result = dev.tare(samples)
            if result == _R_OK:
                tare = dev.info.tare
                for c in range(len(tare)):
                    struct.pack_into("<H", buf, o + 2 * c, tare[c])
                o += 2 * len(tare)
        elif command == _CMD_SET_RATE:
            period_us = dev.set_rate(msg[10] | (msg[11] << 8))
            struct.pack_into("<I", buf, o, period_us)
            o += 4
        elif command == _CMD_IDENTIFY:
            dev.identify(msg[10])
        elif command == _CMD_BEEP:
            dev.beep(msg[10] | (msg[11] << 8))
        elif command == _CMD_SET_LIMIT:
            limit, rearm, pattern = struct.unpack_from("<iHH", msg, 10)
            dev.set_limit(limit, rearm, pattern)
        elif command == _CMD_GET_STATUS:
            o = dev.pack_status_body(buf, o)
        elif command == _CMD_GET_INFO:
            o = dev.pack_info_body(buf, o)
        elif command in (_CMD_REPL, _CMD_FORGET_BONDS) and link == _LINK_BLE:
            result = _R_NOT_PERMITTED
        elif command in (_CMD_REBOOT, _CMD_REPL, _CMD_FORGET_BONDS):
            result = dev.request(command, link)
        # The header goes in last: the payload above may have failed, and then the INTERNAL
        # reply from handle() replaces everything.
        self._reply(request_seq, command, result)
        return o if result == _R_OK else _REPLY_HEADER_SIZE
