"""Streaming detection: reps, lumbar lift-off, excessive range of motion and form checks.

Everything here is causal and chunk-invariant; see :mod:`legpress.detect.analyzer`.
"""

from legpress.detect.analyzer import Analyzer
from legpress.detect.config import DetectorConfig, Profile
from legpress.detect.events import EVENT_TYPES, FORM_EVENT_TYPES, Event, EventType, Rep, Severity
from legpress.detect.pipeline import Pipeline, analyze_block, learn_profile

__all__ = [
    "EVENT_TYPES",
    "FORM_EVENT_TYPES",
    "Analyzer",
    "DetectorConfig",
    "Event",
    "EventType",
    "Pipeline",
    "Profile",
    "Rep",
    "Severity",
    "analyze_block",
    "learn_profile",
]
