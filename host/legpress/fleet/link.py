"""One connection to the broker (paho-mqtt 2.x in its own network thread), seen from asyncio.

:class:`BrokerLink` connects in the background and reconnects by itself (``reconnect_min_s``
doubling to ``reconnect_max_s``), so a hub starts and runs whether or not the broker is up. Its
outbound queue is paho's: every QoS 1 message stays queued until the broker acknowledges it
(PUBACK) and is sent again after a reconnect, so a broker restart loses none. The queue is
bounded (:attr:`BrokerConfig.outbox_max`); a message refused because it is full is counted in
:attr:`LinkStats.dropped` and logged, never lost silently. Messages that only say the latest
state (``queue=False``) are not queued while the broker is away: they are sent again on
reconnect instead.

Callbacks from paho's thread are handed to the asyncio loop with ``call_soon_threadsafe``:
``on_connect`` and ``on_message`` run on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from legpress.fleet.config import BrokerConfig

__all__ = ["BrokerLink", "LinkStats"]

_log = logging.getLogger(__name__)
_QOS: Final = 1
_LOG_EVERY_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class LinkStats:
    """What the link did so far.

    Attributes:
        connected: the broker accepted the connection and it is up.
        error: why it is not connected ("" when connected).
        connects: successful connections (1 + reconnects).
        refused: connections the broker refused (wrong credentials, not authorised).
        sent: QoS 1 messages handed to the outbox.
        acked: of those, acknowledged by the broker.
        pending: queued or in flight, not yet acknowledged.
        dropped: refused because the outbox was full (lost for the broker; kept in the store).
        outbox_max: the outbox's bound.
        received: messages received.
    """

    connected: bool
    error: str
    connects: int
    refused: int
    sent: int
    acked: int
    pending: int
    dropped: int
    outbox_max: int
    received: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: getattr(self, name) for name in self.__slots__}


class BrokerLink:
    """A broker connection for one client id.

    Args:
        config: the broker.
        client_id: unique per hub or collector (the broker drops an older connection with
            the same id).
        will: ``(topic, payload)`` of the last will, retained at QoS 1, or None.
        persistent: keep the session on the broker while disconnected (``clean_session``
            false): subscriptions and QoS 1 messages for us survive our absence; and
            acknowledge each received message only once ``on_message`` has handled it, so a
            message the process had no time to handle is delivered again.
        subscriptions: topic filters subscribed at QoS 1 on every connect.
        on_connect: called on the loop after each successful connect.
        on_message: called on the loop with ``(topic, payload, retained)``.
    """

    def __init__(
        self,
        config: BrokerConfig,
        client_id: str,
        *,
        will: tuple[str, bytes] | None = None,
        persistent: bool = False,
        subscriptions: tuple[str, ...] = (),
        on_connect: Callable[[], None] | None = None,
        on_message: Callable[[str, bytes, bool], None] | None = None,
    ) -> None:
        self.config = config
        self.client_id = client_id
        self._subscriptions = subscriptions
        self._manual_ack = persistent
        self._on_connect_hook = on_connect
        self._on_message_hook = on_message
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = threading.Event()
        self._error = "not connected yet"
        self._connects = 0
        self._refused = 0
        self._sent = 0
        self._acked = 0
        self._dropped = 0
        self._received = 0
        self._last_log = 0.0
        self._started = False
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
            manual_ack=persistent,
        )
        if config.username:
            c.username_pw_set(config.username, config.password)
        if config.tls:
            c.tls_set(
                ca_certs=str(config.ca_file) if config.ca_file else None,
                certfile=str(config.cert_file) if config.cert_file else None,
                keyfile=str(config.key_file) if config.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if will is not None:
            c.will_set(will[0], will[1], qos=_QOS, retain=True)
        c.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        c.max_queued_messages_set(config.outbox_max)
        c.on_connect = self._paho_connect
        c.on_connect_fail = self._paho_connect_fail
        c.on_disconnect = self._paho_disconnect
        c.on_publish = self._paho_publish
        c.on_message = self._paho_message
        self._client = c

    # -- control (from the asyncio loop) ------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (returns at once; reconnects until :meth:`stop`)."""
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._started = True
        self._client.connect_async(
            self.config.host, self.config.port, keepalive=self.config.keepalive_s
        )
        self._client.loop_start()

    async def stop(self, last: tuple[str, bytes] | None = None, flush_s: float = 3.0) -> None:
        """Disconnect cleanly: publish ``last`` (retained), wait up to ``flush_s`` for the
        outbox to empty, then disconnect (a clean disconnect sends no last will)."""
        if not self._started:
            return
        if last is not None and self.connected:
            self.publish(last[0], last[1], retain=True)
        deadline = time.monotonic() + flush_s
        while self.connected and self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self._started = False
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._connected.clear()

    @property
    def connected(self) -> bool:
        """The broker accepted us and the connection is up."""
        return self._connected.is_set()

    @property
    def pending(self) -> int:
        """QoS 1 messages not yet acknowledged by the broker."""
        return self._sent - self._acked

    def stats(self) -> LinkStats:
        """The counters now."""
        return LinkStats(
            connected=self.connected,
            error="" if self.connected else self._error,
            connects=self._connects,
            refused=self._refused,
            sent=self._sent,
            acked=self._acked,
            pending=self.pending,
            dropped=self._dropped,
            outbox_max=self.config.outbox_max,
            received=self._received,
        )

    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, queue: bool = True
    ) -> bool:
        """Publish at QoS 1; True if the message is queued or sent.

        Args:
            topic: where.
            payload: what.
            retain: the broker keeps it as the topic's last value.
            queue: keep it while the broker is away (False: only the latest state, dropped
                while disconnected; it is sent again on reconnect).
        """
        if not queue and not self.connected:
            return False
        info = self._client.publish(topic, payload, qos=_QOS, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self._dropped += 1
            now = time.monotonic()
            if now - self._last_log >= _LOG_EVERY_S or self._dropped == 1:
                self._last_log = now
                _log.error(
                    "MQTT outbox full (%d messages waiting for %s): %d message(s) not sent so "
                    "far; they are in the session store",
                    self.config.outbox_max,
                    self.config.url,
                    self._dropped,
                )
            return False
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._dropped += 1
            _log.error("MQTT publish to %s failed: %s", topic, mqtt.error_string(info.rc))
            return False
        self._sent += 1  # NO_CONN: queued by paho, sent after the reconnect
        return True

    # -- paho's thread ---------------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def _paho_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self._refused += 1
            self._error = _refusal(reason_code, self.config)
            self._log_error(self._error)
            return
        self._connects += 1
        trouble, self._error = self._error, ""
        self._connected.set()
        if trouble:  # said as loudly as the trouble was
            _log.warning("MQTT: connected to %s again (after: %s)", self.config.url, trouble)
        else:
            _log.info("MQTT: connected to %s as %s", self.config.url, self.client_id)
        for topic in self._subscriptions:
            client.subscribe(topic, qos=_QOS)
        if self._on_connect_hook is not None:
            self._call(self._on_connect_hook)

    def _paho_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        why = "is it running, and is the address right?"
        if self.config.tls:
            why += " Is it TLS, and is its certificate signed by the CA given (--mqtt-ca)?"
        self._error = (
            f"cannot reach the MQTT broker at {self.config.host}:{self.config.port}; "
            f"retrying ({why})"
        )
        self._log_error(self._error)

    def _paho_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and self._started:
            self._error = f"connection to the MQTT broker lost ({reason_code}); reconnecting"
            _log.warning("MQTT: %s", self._error)

    def _paho_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        self._acked += 1

    def _paho_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._received += 1
        self._call(
            self._deliver,
            message.topic,
            bytes(message.payload),
            message.retain,
            message.mid,
            message.qos,
        )

    def _deliver(self, topic: str, payload: bytes, retained: bool, mid: int, qos: int) -> None:
        """On the loop: the hook, then (persistent sessions) the acknowledgement."""
        try:
            if self._on_message_hook is not None:
                self._on_message_hook(topic, payload, retained)
        finally:
            if self._manual_ack and qos > 0:
                self._client.ack(mid, qos)

    def _log_error(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            _log.error("MQTT: %s", text)


def _refusal(reason: ReasonCode, config: BrokerConfig) -> str:
    words = str(reason)
    low = words.lower()
    if "password" in low or "authori" in low or "bad user" in low:
        who = f"user {config.username!r}" if config.username else "an anonymous client"
        return (
            f"the MQTT broker refused {who} ({words}): check the user and password in the "
            "--mqtt URL (or $LEGPRESS_MQTT_PASSWORD)"
        )
    return f"the MQTT broker refused the connection ({words})"
