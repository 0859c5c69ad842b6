"""The hub's web side: a Starlette app with the live dashboard, the tablet person picker and
the therapists' pages, behind the hub's token.

Pages are Jinja2 templates with autoescaping on (names and notes are always escaped) and a
Content-Security-Policy without inline scripts. Live updates go over a WebSocket (``/ws``):
first ``{"type": "hello", "machines": [tile, ...]}``, then the hub's messages as they happen
(see :mod:`legpress.hub.hub`).

Security (see :mod:`legpress.hub.auth`): every page except ``/login`` and ``/healthz`` needs
the signed cookie or ``Authorization: Bearer TOKEN``; a write needs, besides, the form's CSRF
token (cookie holders) and a same-origin request; WebSocket handshakes from another origin are
refused; with ``allowed_hosts`` the ``Host`` header is checked (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from legpress.closing import stop_task
from legpress.errors import LegPressError
from legpress.hub.auth import COOKIE, Auth, same_origin
from legpress.hub.bus import Broadcast, json_ready
from legpress.storage.store import SessionStore, where_in_force

__all__ = ["Site", "SiteMachine", "make_app"]


class SiteMachine(Protocol):
    """A machine as the pages see it (:class:`legpress.hub.Station`, or a machine of another
    hub in a fleet's collector)."""

    @property
    def name(self) -> str:
        """Its name."""
        ...

    def tile(self) -> dict[str, Any]:
        """Its dashboard tile."""
        ...


class Site(Protocol):
    """What the dashboard serves: a :class:`legpress.hub.Hub`, or a fleet's collector
    (:class:`legpress.fleet.collector.Collector`)."""

    @property
    def store(self) -> SessionStore:
        """Where sessions are."""
        ...

    @property
    def bus(self) -> Broadcast:
        """Live messages for the page."""
        ...

    @property
    def store_errors(self) -> int:
        """Failed store writes."""
        ...

    def tiles(self) -> list[dict[str, Any]]:
        """Every machine's tile."""
        ...

    def station(self, machine: str) -> SiteMachine:
        """A machine by name or id (raises NotFoundError)."""
        ...

    def assign(self, machine: str, person: str | None) -> None:
        """Put someone on a machine."""
        ...

    def start(self, machine: str) -> None:
        """Start a session."""
        ...

    def stop(self, machine: str) -> None:
        """End the session."""
        ...

    def calibrate(self, machine: str) -> None:
        """Calibrate the person on the machine (3 slow reps)."""
        ...

    def tare(self, machine: str) -> None:
        """Tare the machine's back pad (nobody on it)."""
        ...

    def zero(self, machine: str) -> None:
        """Zero the machine's sled (at the top)."""
        ...

    async def run(self) -> None:
        """Run until cancelled."""
        ...


_HERE: Final = Path(__file__).parent
_PUBLIC: Final = frozenset({"/login", "/healthz"})
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
_HEADERS: Final = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class _Guard:
    """Pure ASGI middleware: authentication, cross-site refusal and security headers."""

    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        path = conn.url.path
        is_ws = scope["type"] == "websocket"
        method = "GET" if is_ws else str(scope["method"]).upper()
        if is_ws or method not in _SAFE_METHODS:
            scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
            cross = conn.headers.get("sec-fetch-site", "") in ("cross-site", "same-site")
            if cross or not same_origin(
                conn.headers.get("origin"), conn.headers.get("host"), scheme
            ):
                await self._refuse(scope, receive, send, 403, "cross-site request refused")
                return
        public = path in _PUBLIC or path.startswith("/static/")
        if not public and not self._authenticated(conn):
            if not is_ws and method == "GET" and "text/html" in conn.headers.get("accept", ""):
                target = path + (f"?{conn.url.query}" if conn.url.query else "")
                await self._send(
                    RedirectResponse(f"/login?next={quote(target, safe='')}", 303),
                    scope,
                    receive,
                    send,
                )
            else:
                await self._refuse(scope, receive, send, 401, "sign in first (hub token)")
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _authenticated(self, conn: HTTPConnection) -> bool:
        return self.auth.bearer_ok(conn.headers.get("authorization")) or self.auth.cookie_ok(
            conn.cookies.get(COOKIE)
        )

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, code: int, text: str
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": text})
            return
        await self._send(PlainTextResponse(text + "\n", code), scope, receive, send)

    @staticmethod
    async def _send(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        for k, v in _HEADERS:
            response.headers[k.decode()] = v.decode()
        await response(scope, receive, send)


def _fmt_mm(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{x:.0f} mm" if math.isfinite(x) else "–"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mm"] = _fmt_mm
    env.filters["urlpart"] = lambda s: quote(str(s), safe="")
    return env


def make_app(
    hub: Site,
    auth: Auth,
    *,
    allowed_hosts: list[str] | None = None,
    run_hub: bool = True,
    api_extra: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """The ASGI app of ``hub``.

    Args:
        hub: the machines.
        auth: the hub's token.
        allowed_hosts: ``Host`` values accepted (None: any; the CLI restricts a loopback
            bind to loopback names).
        run_hub: run ``hub.run()`` for the app's lifetime.
        api_extra: more for ``/api/machines`` (e.g. the MQTT link's figures).
    """
    env = _environment()
    store = hub.store

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        cookie = request.cookies.get(COOKIE) or ""
        csrf = auth.csrf_token(cookie) if cookie else ""
        html = env.get_template(name).render(csrf=csrf, site_title="legpress hub", **context)
        return HTMLResponse(html, status)

    async def checked_form(request: Request) -> FormData:
        """The form of a write, after its CSRF check (bearer clients need none)."""
        form = await request.form()
        if auth.bearer_ok(request.headers.get("authorization")):
            return form
        candidate = form.get("csrf") or request.headers.get("x-csrf-token")
        if not auth.csrf_ok(request.cookies.get(COOKIE), str(candidate) if candidate else None):
            raise HTTPException(403, "the form expired or came from another site: reload the page")
        return form

    def back(request: Request, default: str) -> RedirectResponse:
        target = request.query_params.get("next", default)
        if not target.startswith("/") or target.startswith("//"):
            target = default
        return RedirectResponse(target, 303)

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    # -- sign in -----------------------------------------------------------------------------

    def _signed_in(target: str) -> Response:
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        response = RedirectResponse(target, 303)
        response.set_cookie(
            COOKIE,
            auth.new_cookie(),
            max_age=auth.cookie_max_age_s,
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    async def login(request: Request) -> Response:
        target = request.query_params.get("next", "/")
        if request.method == "POST":
            form = await request.form()
            token = form.get("token")
            if auth.token_ok(str(token).strip() if token else None):
                return _signed_in(target)
            return render(request, "login.html", 401, next=target, failed=True)
        token = request.query_params.get("token")
        if token is not None:
            if auth.token_ok(token.strip()):
                return _signed_in(target)
            return render(request, "login.html", 401, next=target, failed=True)
        return render(request, "login.html", next=target, failed=False)

    async def logout(request: Request) -> Response:
        await checked_form(request)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    # -- dashboard -----------------------------------------------------------------------------

    async def dashboard(request: Request) -> Response:
        return render(request, "dashboard.html", tiles=hub.tiles())

    async def api_machines(request: Request) -> Response:
        body: dict[str, Any] = {"machines": hub.tiles(), "store_errors": hub.store_errors}
        if api_extra is not None:
            body |= api_extra()
        return JSONResponse(json_ready(body))

    async def live(ws: WebSocket) -> None:
        await ws.accept()
        with hub.bus.subscribe() as sub:
            hello = {"type": "hello", "machines": hub.tiles(), "t_wall_ms": time.time() * 1000}
            reader = asyncio.create_task(_drain(ws))
            try:
                await ws.send_text(_dumps(hello))
                while not reader.done():
                    getter = asyncio.create_task(sub.get())
                    done, _ = await asyncio.wait(
                        {getter, reader}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter not in done:
                        getter.cancel()
                        break
                    await ws.send_text(_dumps(getter.result()))
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            finally:
                await stop_task(reader, errors=True)

    # -- machines ------------------------------------------------------------------------------

    async def machine_page(request: Request) -> Response:
        st = _station(request)
        return render(
            request,
            "machine.html",
            tile=st.tile(),
            people=[p.name for p in store.list_people()],
        )

    async def machine_person(request: Request) -> Response:
        st = _station(request)
        form = await checked_form(request)
        person = str(form.get("person") or "").strip()
        await _guarded(lambda: hub.assign(st.name, person or None))
        if wants_json(request):
            return JSONResponse(hub.station(st.name).tile())
        return back(request, "/")

    async def machine_command(request: Request) -> Response:
        st = _station(request)
        await checked_form(request)
        command = request.path_params["command"]
        if command not in ("start", "stop", "calibrate", "tare", "zero"):
            raise HTTPException(
                404,
                f"unknown machine command {command!r}: start, stop, calibrate, tare or zero",
            )
        if command == "start":
            hub.start(st.name)
        elif command == "stop":
            hub.stop(st.name)
        else:
            # Refused (409) with the reason when the machine cannot do it now.
            act = {"calibrate": hub.calibrate, "tare": hub.tare, "zero": hub.zero}[command]
            await _guarded(lambda: act(st.name), status=409)
        if wants_json(request):
            return JSONResponse({"ok": True, "machine": st.name, "command": command})
        return back(request, "/")

    def _station(request: Request) -> Any:
        try:
            return hub.station(request.path_params["mid"])
        except LegPressError as exc:
            raise HTTPException(404, str(exc)) from None

    # -- people and sessions -------------------------------------------------------------------

    async def people(request: Request) -> Response:
        if request.method == "POST":
            form = await checked_form(request)
            name = str(form.get("name") or "").strip()
            limit_text = str(form.get("rom_limit_mm") or "").strip()
            notes = str(form.get("notes") or "")
            try:
                limit = float(limit_text) if limit_text else None
            except ValueError:
                raise HTTPException(
                    400, f"the limit must be a number of mm, got {limit_text!r}"
                ) from None
            added = await _guarded(lambda: store.add_person(name, rom_limit_mm=limit, notes=notes))
            return RedirectResponse(f"/people/{added.id}", 303)
        return render(request, "people.html", people=[p.to_dict() for p in store.list_people()])

    async def person_page(request: Request) -> Response:
        person = _person(request)
        sessions = [s.to_dict() for s in store.list_sessions(person.name)]
        sessions.reverse()
        history = store.calibrations(person.name)
        calibrations = [
            {
                "at": c.at,
                "machine": c.detail.get("machine") or "",
                "reps": c.reps,
                "lift_off_reps": c.lift_off_reps,
                "lift_off_depth_mm": c.lift_off_depth_mm,
                "learned_limit_mm": c.learned_limit_mm,
                "in_force": where,
            }
            for c, where in zip(history, where_in_force(history), strict=True)
        ]
        calibrations.reverse()
        return render(
            request,
            "person.html",
            person=person.to_dict(),
            sessions=sessions,
            calibrations=calibrations,
        )

    async def person_progress(request: Request) -> Response:
        person = _person(request)
        rows = store.list_sessions(person.name)
        from legpress.report import progress_report_html

        html = await _guarded(lambda: progress_report_html(person.to_dict(), rows), 503)
        return HTMLResponse(html)

    def _person(request: Request) -> Any:
        pid = request.path_params["pid"]
        found = next((p for p in store.list_people() if p.id == pid), None)
        if found is None:
            raise HTTPException(404, f"no person {pid}: see the people page")
        return found

    async def session_report(request: Request) -> Response:
        sid = request.path_params["sid"]
        session = await _guarded(lambda: store.get_session(sid), 404)
        from legpress.report import session_report_html
        from legpress.report.series import load_series

        series, why = await asyncio.to_thread(load_series, session)
        html = await _guarded(lambda: session_report_html(session, series, why), 503)
        return HTMLResponse(html)

    async def not_found(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if wants_json(request) or "text/html" not in request.headers.get("accept", ""):
            return PlainTextResponse(f"{detail}\n", code)
        return render(request, "message.html", code, title=f"Error {code}", message=detail)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run(), name="legpress-hub") if run_hub else None
        try:
            yield
        finally:
            if task is not None:
                await stop_task(task)

    routes = [
        Route("/", dashboard),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/api/machines", api_machines),
        WebSocketRoute("/ws", live),
        Route("/machines/{mid}", machine_page),
        Route("/machines/{mid}/person", machine_person, methods=["POST"]),
        Route("/machines/{mid}/{command:str}", machine_command, methods=["POST"]),
        Route("/people", people, methods=["GET", "POST"]),
        Route("/people/{pid:int}", person_page),
        Route("/people/{pid:int}/progress", person_progress),
        Route("/sessions/{sid:int}", session_report),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    middleware = [Middleware(_Guard, auth=auth)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: not_found},
    )


async def _guarded(fn: Callable[[], Any], status: int = 400) -> Any:
    """Run ``fn``; a legpress error becomes an HTTP error with its one-line message."""
    try:
        result = fn()
        if isinstance(result, Awaitable):
            result = await result
        return result
    except LegPressError as exc:
        raise HTTPException(status, str(exc)) from None


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the browser sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()


def _dumps(message: dict[str, Any]) -> str:
    """A hub message as strict JSON (browsers reject NaN)."""
    try:
        return json.dumps(message, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(json_ready(message), allow_nan=False, default=str)
