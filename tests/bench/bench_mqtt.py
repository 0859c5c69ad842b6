"""MQTT: what a hub's publisher costs and keeps, through a real Mosquitto on 127.0.0.1.

    python tests/bench/bench_mqtt.py [ALERTS]

1. **Latency**: ALERTS alerts (default 500) put on a hub's bus at 50 per second reach a
   subscriber: p50/p99 from the hub's ``t_wall_ms`` to the subscriber's receive time.
2. **Throughput**: as many reps as the publisher takes, as fast as it takes them, until the
   broker acknowledged all of them: QoS 1 messages per second, and the publisher's CPU.
3. **Outbox**: the broker stopped, 12 000 alerts published (the outbox holds 10 000): how many
   were refused and counted, the outbox's memory, and after the broker's restart the time until
   the broker acknowledged all that was kept.

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "host")]

from legpress.fleet.config import parse_broker_url  # noqa: E402
from legpress.fleet.publisher import HubPublisher, PublisherConfig  # noqa: E402
from legpress.hub import Hub, HubConfig, MachineSpec  # noqa: E402
from legpress.storage.store import SessionStore  # noqa: E402
from tests.host.fleet.broker import Listener, Mosquitto, until  # noqa: E402


def alert(i: int) -> dict[str, Any]:
    return {
        "type": "alert",
        "machine": "Leg press 1",
        "alert": {
            "id": uuid.uuid4().hex,
            "type": "lift_off",
            "word": "BACK LIFT",
            "loud": True,
            "message": "lower back lifted off the pad at 402 mm",
            "rep": i,
            "t_s": i * 3.0,
            "t_wall_ms": time.time() * 1000,
            "session_id": 1,
        },
    }


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


async def main(n_alerts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        try:
            return await measure(broker, tmp, n_alerts)
        finally:
            broker.stop()


async def measure(broker: Mosquitto, tmp: Path, n_alerts: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with SessionStore(tmp / "hub.db") as store, Listener(broker) as sub:
        sub.wait_connected()
        hub = Hub(HubConfig(machines=(MachineSpec("Leg press 1", "sim:demo"),)), store)
        pub = HubPublisher(
            hub, parse_broker_url(broker.url()), PublisherConfig(name="Bench", state_period_s=0.05)
        )
        task = asyncio.create_task(pub.run())
        await until("connected", lambda: pub.link.connected)

        # 1. latency at 50 alerts/s
        start = len(sub.on("/event"))
        for i in range(n_alerts):
            hub.bus.publish(alert(i))
            await asyncio.sleep(0.02)
        await until("every alert", lambda: len(sub.on("/event")) - start >= n_alerts, 60)
        t0_wall, t0_mono = time.time(), time.monotonic()
        lat = [
            (m.t_mono - t0_mono + t0_wall) * 1000 - m.json()["t_wall_ms"]
            for m in sub.on("/event")[start:]
        ]
        out["alert_latency_ms"] = {
            "p50": round(statistics.median(lat), 2),
            "p99": round(pct(lat, 99), 2),
            "n": len(lat),
        }

        # 2. throughput: reps as fast as the publisher takes them
        n = 5000
        rep = {"type": "rep", "index": 1, "depth_mm": 400.0, "lift_off": False}
        acked0, cpu0, t0 = pub.link.stats().acked, time.process_time(), time.perf_counter()
        for i in range(n):
            hub.bus.publish({"type": "rep", "machine": "Leg press 1", "id": uuid.uuid4().hex,
                             "session_id": 1, "rep": rep | {"index": i}})  # fmt: skip
            if i % 500 == 499:
                await asyncio.sleep(0)  # the publisher drains the bus (it keeps 1024)
        await until(
            "every rep acknowledged", lambda: pub.link.stats().acked - acked0 >= 2 * n, 120
        )
        wall = time.perf_counter() - t0
        out["throughput"] = {
            "qos1_messages_per_s": round(2 * n / wall),  # each rep also refreshes the summary
            "cpu_ms_per_message": round((time.process_time() - cpu0) * 1000 / (2 * n), 3),
            "bus_dropped": pub.bus_dropped,
        }

        # 3. the outbox while the broker is away
        await asyncio.to_thread(broker.stop)
        await until("disconnected", lambda: not pub.link.connected, 30)
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        sent0, dropped0 = pub.link.stats().sent, pub.link.stats().dropped
        for i in range(12_000):
            hub.bus.publish(alert(i))
            if i % 500 == 499:
                await asyncio.sleep(0)
        await asyncio.sleep(0.1)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
        kept = pub.link.stats().sent - sent0
        out["outbox"] = {
            "bound": pub.broker.outbox_max,
            "published_while_away": 12_000,
            "kept": kept,
            "refused_and_counted": pub.link.stats().dropped - dropped0,
            "memory_bytes_per_message": round(grown / max(kept, 1)),
        }
        t0 = time.perf_counter()
        await asyncio.to_thread(broker.start)
        await until("the outbox emptied", lambda: pub.link.pending == 0, 120)
        out["outbox"]["drain_after_restart_s"] = round(time.perf_counter() - t0, 2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return out


if __name__ == "__main__":
    figures = asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))
