# Names that nothing in this tree reads, kept on purpose: read by tools/unused_code.py (vulture),
# never imported. Each group says why; anything else unused is dead code and is deleted.
# ruff: noqa: B018, F821

# Context-manager protocol: __exit__/__aexit__ take these whether or not they use them.
_.exc_type
_.tb

# Attributes that configure a library's object (sqlite3, pyserial): set, read by the library.
_.row_factory
_.dtr
_.rts

# paho-mqtt's callbacks: set on its Client, called by it with these arguments (API version 2).
_.on_connect_fail
_.on_disconnect
_.on_publish
_.userdata

# Counters of the library's public stats (Device.stats: DeviceStats, DecoderStats, LinkStats),
# documented for library users; the CLI prints only the main ones.
_.items_dropped
_.recorded_records
_.undecodable
_.device_dropped
_.downtime_s

# Per-rep, per-session and ground-truth record fields: exported to JSON and CSV through
# dataclasses.asdict, so no attribute access names them.
_.rom_mm
_.lowering_mean_mm_s
_.lowering_peak_mm_s
_.mean_depth_mm
_.mean_tut_s
_.rep_in_set
_.t_push_s
_.end_top_mm
_.hip_ankle_mm
_.accel_mm_s2
_.leg_force_n
_.arm_force_n
_.max_tilt_deg

# Wire constants named as in PROTOCOL.md (flags, sled sensor kinds, the sample-rate range).
_.CLIPPED
_.PIN_IRQ
_.ANALOG
_.RATE_MIN_HZ
_.RATE_MAX_HZ

# Event types that every detector path names through EventType(name), not as attributes.
_.ROM_EXCEEDED
_.KNEE_LOCK

# Device commands in the public API (PROTOCOL.md REBOOT, REPL) that the CLI does not call.
_.reboot
_.repl

# uvicorn's hooks: Server.capture_signals is overridden (serve handles signals itself) and
# Server.force_exit is read by uvicorn to stop waiting for open connections.
_.capture_signals
_.force_exit
