# Boot: builds the app from /config.json (boot() for app.main(), build() for the wiring). Only
# boot needs this module and config.py: app.main() lets go of both before the app runs
# (release()), so that on a board their code does not stay in the heap (firmware/README.md,
# "Memory"). Nothing the running app keeps may refer to them.

import gc
import sys

from . import VERSION
from .app import App, StdinReader, fatal
from .compat import ticks_us
from .config import CHIP_ESP32S3, PIN_KEYS, ConfigError, default_name, load_text

# Modules only boot needs: this one builds the app from config.json, config.py checks it.
_BOOT_ONLY = ("startup", "config")


def release():
    # On MicroPython: forgets the modules only boot needed, this one too, so that the next
    # collection frees their code and constants (about 9 KB from .mpy files; the names they
    # interned stay), as nothing running refers to them. CPython keeps them (the host's
    # simulator imports them).
    if sys.implementation.name != "micropython":
        return
    package = __name__.rpartition(".")[0]
    parent = sys.modules.get(package)
    for name in _BOOT_ONLY:
        sys.modules.pop(package + "." + name, None)
        try:
            delattr(parent, name)
        except AttributeError:
            pass


def _read_config(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def boot(config_path):
    """The app built from the config file at config_path, or None if it must not start."""
    from . import board as board_mod

    if board_mod.take_repl_flag():
        print("legpress: REPL requested, the app did not start (reset to start it)")
        return None
    chip = board_mod.chip()
    try:
        cfg, config_ok = load_text(_read_config(config_path), chip)
        board = board_mod.Board(cfg)
    except ConfigError as e:
        print("legpress: config.json: %s" % e)
        if chip == CHIP_ESP32S3 and e.key in PIN_KEYS:
            print("legpress: this is an ESP32-S3: delete the pin keys from config.json for the")
            print("legpress: S3 default pins (firmware/README.md, section 4)")
        print("legpress: the app did not start. Fix the value (mpremote edit :config.json)")
        print("legpress: or delete the file for the defaults, then reset the board.")
        return None
    try:
        return build(cfg, config_ok, board, chip)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        fatal(board, e)
    return None


def shadowed_copy(module_file, stat=None):
    # A frozen package's modules have paths that are not on the filesystem (no leading "/"),
    # and on the ESP32 sys.path puts ".frozen" before "/lib": a copy `legpress firmware deploy`
    # put in /lib is then never imported. Returns that copy's path, or None.
    if module_file[:1] == "/":
        return None
    if stat is None:
        from os import stat
    try:
        stat("/lib/legpress_fw")
    except OSError:
        return None
    return "/lib/legpress_fw"


def build(cfg, config_ok, board, chip):
    """The App: the radio (if Bluetooth starts), the device, the links, from a Config."""
    from .buzzer import Buzzer
    from .device import Device, DeviceInfo

    radio = None
    mac = board.unique_id()
    try:
        from . import radio as radio_mod

        ble = radio_mod.start()
        mac = radio_mod.mac_of(ble)
        name = cfg.name or default_name(mac)
        radio = radio_mod.BLERadio(
            ble,
            name,
            security=radio_mod.SECURITY_LEVELS[cfg.security],
            passkey=cfg.passkey_code,
            model="legpress %s" % chip,
            firmware="%d.%d.%d" % VERSION,
            serial="".join("%02X" % b for b in mac),
        )
    except Exception as e:  # run on serial without the radio rather than not at all
        name = cfg.name or default_name(mac)
        print("legpress: Bluetooth failed to start (%s); serial only" % e)
    info = DeviceInfo(cfg, mac, name)
    device = Device(
        cfg,
        info,
        board.pad,
        board.position,
        ticks_us,
        reset_cause=board.reset_cause(),
        watchdog_reset=board.watchdog_reset(),
        config_ok=config_ok,
        mem_free=gc.mem_free,
        buzzer=Buzzer(board.buzzer),
    )
    print("legpress firmware %d.%d.%d on %s" % (VERSION[0], VERSION[1], VERSION[2], chip))
    shadowed = shadowed_copy(__file__)
    if shadowed:
        print("legpress: this image has legpress_fw frozen in, so %s is not used" % shadowed)
        print("legpress: (a deploy does not update a frozen image: firmware/README.md, Memory)")
    source = "config.json" if config_ok else "defaults (config.json missing or unreadable)"
    print("legpress: %s, reset cause %d, %s:" % (name, device.status.reset_cause, source))
    for line in cfg.report():
        print(line)
    ble_link = None
    if radio is not None:
        from .ble_link import BLELink

        ble_link = BLELink(radio, device)
    serial_io = None
    if cfg.serial:
        import select

        import micropython

        poller = select.poll()
        poller.register(sys.stdin, select.POLLIN)
        print("legpress: USB serial link on; Ctrl-C is off. REPL: send the REPL command")
        print("legpress: (legpress firmware repl) or hold BOOT while pressing EN/RST.")
        micropython.kbd_intr(-1)
        # The serial link itself is built once a host sends a byte (App.serial_io).
        serial_io = (StdinReader(sys.stdin.buffer, poller), sys.stdout.buffer, True)
    gc.collect()
    timer = board.has_sample_timer()
    return App(
        device, board, ble_link, radio, None, cfg.watchdog_s, timer=timer, serial_io=serial_io
    )
