# legpress: start the firmware at boot.
#
# Hold the BOOT button (GPIO0) while pressing EN/RST to skip the app and keep the REPL:
# the app turns Ctrl-C off while its USB serial link runs. This check uses only `machine`,
# so it works even when the installed firmware package is broken.
import machine

if machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0:
    print("legpress: BOOT held, app skipped; this is the REPL")
else:
    from legpress_fw import app

    app.main()
