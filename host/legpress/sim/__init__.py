"""Simulator (being written)."""
