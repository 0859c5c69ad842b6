# Shadows the micropython-lib copy frozen into the WebAssembly build: ESP32 firmware lacks it.
raise ImportError("no module named 'inspect' (not in ESP32 MicroPython firmware)")
