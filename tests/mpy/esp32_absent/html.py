# Shadows the micropython-lib copy frozen into the WebAssembly build: ESP32 firmware lacks it.
raise ImportError("no module named 'html' (not in ESP32 MicroPython firmware)")
