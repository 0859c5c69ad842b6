# legpress firmware: reads the back-pad pressure strip and the sled encoder of an instrumented
# leg press and streams raw integer samples over BLE or USB serial (see PROTOCOL.md).
#
# Only board.py touches `machine`/`esp32` and only radio.py touches `bluetooth`; every other
# module takes hardware objects as arguments and also runs under CPython (the host simulator
# imports them to produce the device's packets byte for byte).

VERSION = (0, 1, 0)
