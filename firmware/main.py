# legpress: start the firmware at boot.
#
# To keep the REPL instead (the app turns Ctrl-C off while its USB serial link runs): press
# and release EN/RST, then hold BOOT (GPIO0) for two seconds. The check runs for the first
# second after boot. (BOOT held during the reset itself starts the chip's ROM flashing mode,
# not MicroPython.) It uses only `machine`, so it works even if the package is broken.
#
# Bluetooth starts before the app's modules are imported: NimBLE takes its buffers from the
# same IDF heap the Python heap grows into, so it gets them while the Python heap is small
# (firmware/README.md, "Memory"). If it fails here, the app tries once more and says why.
import time

import machine

boot = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP)
held = False
for _ in range(20):
    if boot.value() == 0:
        held = True
        break
    time.sleep_ms(50)

if held:
    print("legpress: BOOT held, app skipped; this is the REPL")
else:
    try:
        from legpress_fw import radio

        radio.start()
    except Exception:
        pass
    from legpress_fw import app

    app.main()
