# Fake `esp32` module: the few pieces the firmware may touch. Imports under MicroPython and
# CPython.
#
# Errors are raised as the port does: OSError(-esp_err_t, "ESP_ERR_...").
# Test hooks: NVS.stores ({namespace: {key: value}}) survives across NVS objects, like flash.

HEAP_DATA = 4
HEAP_EXEC = 1


def mcu_temperature():
    """Die temperature in °C (fixed)."""
    return 40


def idf_heap_info(capabilities):
    """One fake heap region: (total, free, largest free block, minimum free)."""
    return [(300_000, 200_000, 110_000, 180_000)]


class NVS:
    """Non-volatile key/value storage in one namespace, kept in memory."""

    stores = {}

    def __init__(self, namespace):
        self._committed = NVS.stores.setdefault(namespace, {})
        self._pending = dict(self._committed)

    def set_i32(self, key, value):
        self._pending[key] = int(value)

    def get_i32(self, key):
        value = self._pending.get(key)
        if not isinstance(value, int):
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        return value

    def set_blob(self, key, value):
        self._pending[key] = bytes(value)

    def get_blob(self, key, buffer):
        """Copy the blob into `buffer`; return its length."""
        value = self._pending.get(key)
        if not isinstance(value, bytes):
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        if len(buffer) < len(value):
            raise OSError(-4364, "ESP_ERR_NVS_INVALID_LENGTH")
        buffer[: len(value)] = value
        return len(value)

    def erase_key(self, key):
        if key not in self._pending:
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        del self._pending[key]

    def commit(self):
        self._committed.clear()
        self._committed.update(self._pending)
