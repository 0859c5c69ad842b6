# Runs the legpress firmware, unmodified, on the MicroPython unix port built with the real
# `bluetooth` module (NimBLE; HCI over the tty in $MICROPYBTUART), with the hand-written fakes
# of `machine` and `esp32` standing in for the board:
#
#   micropython fw_main.py FAKES_DIR FIRMWARE_DIR E2E_DIR CONFIG_JSON
#
# FAKES_DIR holds machine.py and esp32.py only (a bluetooth.py there would shadow the real one).
# The pad and encoder readings follow sensors.py. The app runs as on the board
# (legpress_fw.app.main: config, Board, build, App.run); the board's machine.reset() raises the
# fake's MachineReset, which ends this process with status 3: the test then boots it again
# (same files, so the bond keys persist).
import sys

sys.path.insert(0, sys.argv[3])
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[1])

import machine
import sensors

from legpress_fw import app, board
from legpress_fw.config import load_text

_config_path = sys.argv[4]
with open(_config_path) as _f:
    _cfg, _ = load_text(_f.read(), board.chip())


def _u16(raw):
    # What the ESP32 port's read_u16 returns for a 12-bit reading.
    return (raw << 4) | (raw >> 8)


def _cell_source(c):
    count = [0]
    state = {"enc": None, "last": 0}

    def read():
        k = count[0]
        count[0] = k + 1
        if c == 0:
            enc = state["enc"]
            if enc is None:
                for enc in machine.Encoder.instances.values():
                    state["enc"] = enc
            if enc is not None:
                p = sensors.position(k)
                enc.move(p - state["last"])
                state["last"] = p
        return _u16(sensors.cell_raw(c, k))

    return read


for _c, _pin in enumerate(_cfg.cell_pins[: _cfg.cells]):
    machine.ADC(machine.Pin(_pin)).source = _cell_source(_c)

print("legpress-e2e: booting")
try:
    app.main(_config_path, _config_path.rpartition("/")[0] + "/tare.bin")  # kept beside it
except machine.MachineReset as e:
    print("legpress-e2e: reset", e)
    sys.exit(3)
print("legpress-e2e: app returned")
