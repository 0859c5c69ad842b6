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


def _read_tare(path, cells):
    # The tare Device._save_tare kept: each cell's u16, little-endian. None when there is none
    # to read (never tared); False when the file cannot be used (cut short, or for another
    # number of cells than configured): the board then starts untared and says so.
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) != 2 * cells:
        return False
    return [data[2 * c] | (data[2 * c + 1] << 8) for c in range(cells)]


def boot(config_path, tare_path=None):
    """The app built from the config file at config_path, or None if it must not start; its
    tare kept in the file at tare_path (None: not kept)."""
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
        return build(cfg, config_ok, board, chip, tare_path)
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


def build(cfg, config_ok, board, chip, tare_path=None):
    """The App: the radio (if Bluetooth starts), the device, the links, from a Config; the
    tare read from and kept in the file at tare_path (None: starts untared, keeps none)."""
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
    saved = _read_tare(tare_path, cfg.cells) if tare_path else None
    if saved:
        info.tare[:] = saved
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
        tare_path=tare_path,
        tare_ok=saved is not False,
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
    if saved:
        print("legpress: tare kept from the last one: %s" % " ".join(str(v) for v in saved))
    elif saved is False:
        print("legpress: %s is unreadable or for another number of cells; the pad is" % tare_path)
        print("legpress: untared: tare it with nobody on it (legpress calibrate, or the hub)")
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
