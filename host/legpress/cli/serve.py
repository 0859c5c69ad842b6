"""``legpress serve``: the site hub with its browser dashboard.

One process keeps every machine connected (reconnecting with backoff), detects per machine,
starts a session when someone sits down and ends it when they leave, stores sessions in the
session database, and serves a live dashboard, a tablet person picker and per-person pages.

The hub listens on 127.0.0.1 unless told otherwise. Every page needs the hub's access token,
made at the first start and kept in the token file (shown on the first start; the signed-in
browser then keeps a cookie). Needs the ``hub`` extra: ``pip install 'legpress[hub]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import shlex
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from legpress.cli.exitcodes import epilog as exit_codes_epilog
from legpress.closing import stop_task
from legpress.errors import ConfigError, NotFoundError, UsageError
from legpress.fleet.config import DEFAULT_OUTBOX_MAX
from legpress.fleet.discovery import DEFAULT_DISCOVERY_PREFIX

if TYPE_CHECKING:
    from types import FrameType

    from legpress.session import Machine
    from legpress.storage.store import SessionStore

#: ``--demo``: three simulated machines, each with its own simulated person.
DEMO_MACHINES: Final = (
    ("Leg press 1", "sim:scenario=demo,seed=1,realtime=1", "Ana"),
    ("Leg press 2", "sim:scenario=liftoff,seed=2,realtime=1", "Ben"),
    ("Leg press 3", "sim:scenario=rom_overshoot,seed=3,realtime=1", "Chloé"),
)
_DEMO_PEOPLE: Final = {"Ana": 370.0, "Ben": 420.0, "Chloé": 330.0}
_LOOPBACK_NAMES: Final = ["127.0.0.1", "localhost", "::1"]

_EPILOG = """\
examples:
  legpress serve                                         # every machine of `legpress machines`
  legpress serve --demo                                  # three simulated machines
  legpress serve --machine "Leg press 1" --machine "Leg press 2"   # only these two
  legpress serve --machine "Leg press 9=serial:/dev/ttyUSB0"       # one not in the database
  legpress serve --host 0.0.0.0 --port 8080              # on the gym's network (token needed)
  legpress serve --demo --hub-name North --mqtt mqtt://hub:PASSWORD@broker.local/legpress
                                                         # also on an MQTT broker (docs/mqtt.md)
  legpress serve --collect mqtt://central:PASSWORD@broker.local/legpress
                                                         # every hub on one dashboard

Without --machine (and without --demo) the hub serves every machine of the session
database that has a device (`legpress machines add NAME DEVICE`); restart it after
changing them. The dashboard is at http://HOST:PORT/; sign in with the token in the token
file (default: beside the session database, hub-token). See docs/gym.md. Ctrl-C or
SIGTERM stops it: open sessions are ended and stored first.
""" + exit_codes_epilog(0, 2, 7, 10)


def register(subparsers: Any) -> None:
    """Add ``serve``."""
    p = subparsers.add_parser(
        "serve",
        help="the site hub: every machine live in a browser dashboard",
        description="Run the site hub: keep every machine connected, detect, store sessions "
        "and serve the live dashboard.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--machine",
        action="append",
        metavar="NAME[=URL]",
        help="serve this machine of `legpress machines` (with =URL: on that device, or one "
        "not in the database); repeat for each; default: every machine with a device",
    )
    p.add_argument("--demo", action="store_true", help="three simulated machines")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=8080, help="port (default %(default)s; 0: any free)"
    )
    p.add_argument("--db", type=Path, metavar="PATH", help="session database (default: user data)")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="the access token's file")
    p.add_argument("--new-token", action="store_true", help="make a new token (signs all out)")
    p.add_argument("--no-record", action="store_true", help="keep no raw recordings")
    p.add_argument(
        "--leave-s",
        type=float,
        default=15.0,
        metavar="S",
        help="a session ends after the pad was empty this long (default %(default)s)",
    )
    p.add_argument(
        "--rest-s",
        type=float,
        default=300.0,
        metavar="S",
        help="... or after the sled did not move this long (default %(default)s)",
    )
    mq = p.add_argument_group("MQTT (fleets of hubs, Home Assistant; docs/mqtt.md)")
    mq.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish every machine on this broker and take commands: "
        "mqtt://USER:PASSWORD@HOST:1883/PREFIX (mqtts:// for TLS; the password may come from "
        "$LEGPRESS_MQTT_PASSWORD)",
    )
    mq.add_argument(
        "--collect",
        metavar="URL",
        help="be the fleet's central view instead: every hub on this broker (same URL form) on "
        "one dashboard, their sessions in this database",
    )
    mq.add_argument(
        "--hub-name",
        metavar="NAME",
        help="this hub's name on the broker (default: the computer's name; with --collect: "
        "central); unique per hub",
    )
    mq.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate of the broker (mqtts://)")
    mq.add_argument("--mqtt-cert", metavar="FILE", help="client certificate, if the broker asks")
    mq.add_argument("--mqtt-key", metavar="FILE", help="the client certificate's key")
    mq.add_argument(
        "--mqtt-outbox",
        type=int,
        default=DEFAULT_OUTBOX_MAX,
        metavar="N",
        help="messages kept while the broker is away (default %(default)s); more are counted "
        "as dropped",
    )
    mq.add_argument(
        "--ha-prefix",
        default=DEFAULT_DISCOVERY_PREFIX,
        metavar="PREFIX",
        help="Home Assistant discovery prefix (default %(default)s)",
    )
    mq.add_argument(
        "--no-ha-discovery", action="store_true", help="send no Home Assistant discovery"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log connections and requests")
    p.set_defaults(func=cmd_serve)


def _machines(
    args: argparse.Namespace, store: SessionStore
) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """The machines to serve (name, device URL, default person) and the names of the stored
    machines left out because they have no device.

    ``--machine NAME`` is a machine of the store; ``--machine NAME=URL`` that machine on
    another device, or one the store does not have; no ``--machine`` (and no ``--demo``):
    every stored machine with a device.
    """
    from legpress.cli.machines import device_url

    out: list[tuple[str, str, str | None]] = []
    skipped: list[str] = []
    for item in args.machine or ():
        name, eq, url = (part.strip() for part in item.partition("="))
        if not name or (eq and not url):
            raise UsageError(
                f'--machine {item!r}: use NAME or NAME=URL, e.g. "Leg press 1=ble:LegPress-3A7F"'
            )
        stored = _stored_machine(store, name, required=not eq)
        if not eq:
            assert stored is not None
            if not stored.device_url:
                raise UsageError(
                    f"machine {stored.name!r} has no device: `legpress machines set "
                    f"{shlex.quote(stored.name)} --device DEVICE`, or --machine NAME=URL"
                )
            url = stored.device_url
        try:
            url = device_url(url)
        except UsageError as exc:
            raise UsageError(f"--machine {item!r}: {exc}") from None
        out.append((stored.name if stored else name, url, stored.person if stored else None))
    if args.demo:
        out.extend(DEMO_MACHINES)
    if not args.machine and not args.demo:
        for m in store.list_machines():
            if m.device_url:
                out.append((m.name, m.device_url, m.person))
            else:
                skipped.append(m.name)
    if not out:
        raise UsageError(
            "no machines to serve: add them with `legpress machines add NAME DEVICE` (see "
            "docs/gym.md), or give --machine NAME=URL, or --demo for simulated ones"
            + (f" ({', '.join(skipped)} has no device)" if skipped else "")
        )
    return out, skipped


def _stored_machine(store: SessionStore, name: str, *, required: bool) -> Machine | None:
    try:
        return store.get_machine(name)
    except NotFoundError:
        if required:
            raise
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0-65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(
            f"--host {host}: {exc.strerror}; give an address such as 0.0.0.0"
        ) from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _require_web() -> None:
    try:
        import jinja2  # noqa: F401
        import paho.mqtt  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        from legpress.errors import MissingDependencyError

        raise MissingDependencyError(
            f"the hub needs {exc.name}: pip install 'legpress[hub]'"
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """``legpress serve``."""
    _require_web()
    import uvicorn

    from legpress.hub import Hub, HubConfig, MachineSpec, PresenceConfig
    from legpress.hub.auth import Auth, load_or_create_token
    from legpress.hub.web import make_app
    from legpress.storage.store import SessionStore, default_db_path

    collect = bool(args.collect)
    if collect and (args.machine or args.demo or args.mqtt):
        raise UsageError(
            "--collect shows the machines of the hubs on the broker: give it no --machine, "
            "--demo or --mqtt (run those hubs with --mqtt)"
        )
    tmp: tempfile.TemporaryDirectory[str] | None = None
    db = args.db
    if db is None and args.demo and not args.machine:
        tmp = tempfile.TemporaryDirectory(prefix="legpress-demo-")
        db = Path(tmp.name) / "legpress.db"
    folder = (Path(db) if db else default_db_path()).expanduser().parent
    token_file = args.token_file or folder / "hub-token"
    try:
        presence = PresenceConfig(leave_s=args.leave_s, rest_s=args.rest_s)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    broker = _broker(args)
    store = SessionStore(db)
    try:
        machines, skipped = ([], []) if collect else _machines(args, store)
    except BaseException:
        store.close()
        if tmp is not None:
            tmp.cleanup()
        raise
    token, made = load_or_create_token(token_file, renew=args.new_token)
    loopback = _is_loopback(args.host)
    sock = _bind(args.host, args.port)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(store)
            if args.demo:
                for name, limit in _DEMO_PEOPLE.items():
                    if store.ensure_person(name).effective_limit_mm is None:
                        store.set_limit(name, limit)
            config = HubConfig(
                machines=tuple(MachineSpec(n, u, p) for n, u, p in machines),
                record_dir=None if args.no_record else folder / "recordings",
                presence=presence,
            )
            services: list[Any] = []
            site: Any
            extra: Any = None
            if collect:
                from legpress.fleet.collector import Collector
                from legpress.fleet.ledger import Ledger, ledger_path

                ledger = stack.enter_context(Ledger(ledger_path(Path(store.path))))
                site = collector = Collector(
                    broker, store, ledger, name=(args.hub_name or "central").strip()
                )

                def extra() -> dict[str, Any]:
                    return {"fleet": collector.figures(), "hubs": collector.hubs()}

            else:
                site = Hub(config, store, device_options=_device_options(args))
                if broker is not None:
                    from legpress.fleet.publisher import HubPublisher, PublisherConfig

                    name = (args.hub_name or socket.gethostname() or "hub").strip()
                    prefix = None if args.no_ha_discovery else args.ha_prefix.strip("/ ") or None
                    publisher = HubPublisher(
                        site, broker, PublisherConfig(name=name, discovery_prefix=prefix)
                    )
                    services.append(publisher)

                    def extra() -> dict[str, Any]:
                        return {"mqtt": publisher.info()}

            app = make_app(
                site,
                Auth(token),
                allowed_hosts=_LOOPBACK_NAMES if loopback else None,
                api_extra=extra,
            )
            host, port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in str(host) else str(host)
            base = f"http://{shown}:{port}"
            if collect:
                lines = [f"legpress fleet view: database {store.path}", site.describe()]
            else:
                lines = [f"legpress hub: {len(machines)} machine(s), database {store.path}"]
            if skipped:
                lines.append(
                    f"not served (no device; `legpress machines set NAME --device DEVICE`): "
                    f"{', '.join(skipped)}"
                )
            if loopback or made:
                lines.append(f"open {base}/login?token={token}")
            else:
                lines.append(f"open {base}/ and sign in with the token in {token_file}")
            if made:
                lines.append(f"a new access token was made and saved in {token_file}")
            if not loopback:
                lines.append(f"listening on the network ({args.host}): only with the token")
            for service in services:
                lines.append(service.describe())
            print("\n".join(lines), file=sys.stderr, flush=True)
            server = _server(
                uvicorn.Config(
                    app,
                    log_level="info" if args.verbose else "warning",
                    lifespan="on",
                    access_log=args.verbose,
                    ws_ping_interval=20.0,
                )
            )
            with _stopped_by_signals(server) as got:
                asyncio.run(_serve(server, sock, services))
            if got:
                print(
                    f"legpress: stopped ({signal.Signals(got[0]).name}); every session is kept",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        sock.close()
        if tmp is not None:
            tmp.cleanup()
    return 0


def _broker(args: argparse.Namespace) -> Any:
    """The broker of ``--mqtt`` or ``--collect`` and its options, checked before anything
    starts (None: neither)."""
    url = args.collect or args.mqtt
    if not url:
        if any([args.mqtt_ca, args.mqtt_cert, args.mqtt_key, args.hub_name]):
            raise UsageError("--hub-name and --mqtt-ca/-cert/-key go with --mqtt or --collect")
        return None
    from legpress.fleet.config import parse_broker_url

    return parse_broker_url(
        url,
        ca_file=args.mqtt_ca,
        cert_file=args.mqtt_cert,
        key_file=args.mqtt_key,
        outbox_max=args.mqtt_outbox,
    )


def _server(config: Any) -> Any:
    """uvicorn's server, leaving signals to :func:`_stopped_by_signals`."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


@contextlib.contextmanager
def _stopped_by_signals(server: Any) -> Iterator[list[int]]:
    """Ctrl-C or SIGTERM (``systemctl stop``) stops the web server; the hub then ends and
    stores its open sessions, and ``serve`` exits 0. A second one stops waiting for open
    browser connections, never the hub's clean-up. Yields the signals received.

    uvicorn's own handling raises the signal again once the server has stopped, which killed
    the process (SIGTERM) or interrupted the clean-up (Ctrl-C) before sessions were ended.
    """
    got: list[int] = []

    def handle(sig: int, frame: FrameType | None) -> None:
        got.append(sig)
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    original = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for s, h in original.items():
            signal.signal(s, h)


async def _serve(server: Any, sock: socket.socket, services: list[Any]) -> None:
    """The web server, with each service's ``run()`` beside it until the server stops."""
    tasks = [asyncio.create_task(s.run(), name=type(s).__name__) for s in services]
    try:
        await server.serve(sockets=[sock])
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            await stop_task(t)


def _device_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    backend = getattr(args, "ble_backend", None)
    return {"ble": {"ble_backend": backend}} if backend is not None else {}


__all__ = ["DEMO_MACHINES", "cmd_serve", "register"]
