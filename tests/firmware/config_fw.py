# Configuration scenarios for test_config.py.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.


from legpress_fw import config


def config_errors(cases):
    # cases: [[name, dict]]; returns {name: [key, message] or None}
    out = {}
    for name, d in cases:
        try:
            config.validate(d)
            out[name] = None
        except config.ConfigError as e:
            out[name] = [e.key, str(e)]
    return out
