"""The legpress version: a leaf module, so that any layer may name it (recordings, reports)."""

__version__ = "0.1.0"
