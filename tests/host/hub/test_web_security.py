"""The dashboard's security: no token, no page; no CSRF token or another origin, no write;
names and notes escaped; the Host header checked on a loopback bind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the hub needs its extra: pip install 'legpress[hub]'")
pytest.importorskip("httpx2", reason="the web tests need httpx2")

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from legpress.hub import Hub, HubConfig, MachineSpec
from legpress.hub.auth import COOKIE, Auth, load_or_create_token
from legpress.hub.web import make_app
from legpress.storage.store import SessionStore

TOKEN = "test-token-0123456789abcdef"
BASE = "http://127.0.0.1:8080"
WS = "ws://127.0.0.1:8080/ws"
EVIL = "<script>alert('x')</script>"


class _Late:
    """The app, made after the test client started: SQLite wants the store opened on the
    thread that uses it, the client's event loop thread (as it is under uvicorn)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await self.app(scope, receive, send)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Hub]]:
    def build() -> Hub:
        store = SessionStore(tmp_path / "legpress.db")
        machines = (MachineSpec("Leg press 1", "sim:clean"), MachineSpec("LP & <2>", "sim:"))
        return Hub(HubConfig(machines=machines), store)

    late = _Late()
    with TestClient(late, base_url=BASE) as c:
        assert c.portal is not None
        hub = c.portal.call(build)
        late.app = make_app(
            hub, Auth(TOKEN), allowed_hosts=["127.0.0.1", "localhost"], run_hub=False
        )
        yield c, hub
        c.portal.call(hub.store.close)


@pytest.fixture
def client(served: tuple[TestClient, Hub]) -> TestClient:
    return served[0]


@pytest.fixture
def hub(served: tuple[TestClient, Hub]) -> Hub:
    return served[1]


def sign_in(client: TestClient) -> str:
    r = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303
    return str(client.cookies[COOKIE])


def csrf_of(client: TestClient, path: str = "/people") -> str:
    page = client.get(path, headers={"accept": "text/html"}).text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_a_request_without_the_token_is_refused(client: TestClient) -> None:
    assert client.get("/api/machines").status_code == 401
    assert client.get("/sessions/1").status_code == 401
    r = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = client.post("/machines/leg-press-1/person", data={"person": "Ana"})
    assert r.status_code == 401
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(WS) as ws:
        ws.receive_text()
    # A wrong token or a forged cookie are no better.
    assert client.get("/login?token=nope").status_code == 401
    assert client.get("/api/machines", headers={"authorization": "Bearer nope"}).status_code == 401
    client.cookies.set(COOKIE, "1700000000.abcd.0000")
    assert client.get("/api/machines").status_code == 401
    assert client.get("/healthz").text == "ok\n"


def test_signed_in_browser_sees_the_dashboard_and_live_feed(client: TestClient) -> None:
    sign_in(client)
    r = client.get("/", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    with client.websocket_connect(WS) as ws:
        hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert [t["machine"] for t in hello["machines"]] == ["Leg press 1", "LP & <2>"]
    bearer = {"authorization": f"Bearer {TOKEN}"}
    api = TestClient(client.app, base_url=BASE).get("/api/machines", headers=bearer)
    assert api.is_success
    assert api.json()["store_errors"] == 0


def test_a_cross_site_post_is_refused(client: TestClient, hub: Hub) -> None:
    sign_in(client)
    csrf = csrf_of(client, "/machines/leg-press-1")
    url = "/machines/leg-press-1/person"
    # Another site's page posting with the browser's cookie: its Origin gives it away ...
    r = client.post(
        url, data={"person": "Mallory", "csrf": csrf}, headers={"origin": "http://evil.example"}
    )
    assert r.status_code == 403
    r = client.post(url, data={"person": "Mallory"}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    # ... and without an Origin it has no CSRF token (or a wrong one).
    assert client.post(url, data={"person": "Mallory"}).status_code == 403
    r = client.post(url, data={"person": "Mallory", "csrf": "0" * 64})
    assert r.status_code == 403
    assert hub.station("Leg press 1").person is None
    # A cross-site WebSocket is refused even with the cookie.
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_text()
    # The hub's own form works.
    r = client.post(
        url, data={"person": "Ana", "csrf": csrf}, headers={"origin": BASE}, follow_redirects=False
    )
    assert r.status_code == 303
    assert hub.station("Leg press 1").person == "Ana"
    assert client.portal is not None
    assert client.portal.call(hub.store.get_person, "Ana").name == "Ana"


def test_bearer_clients_write_without_csrf(client: TestClient, hub: Hub) -> None:
    r = client.post(
        "/machines/leg-press-1/person",
        data={"person": "Ben"},
        headers={"authorization": f"Bearer {TOKEN}", "accept": "application/json"},
    )
    assert r.status_code == 200 and r.json()["person"] == "Ben"
    r = client.post("/machines/nope/start", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404


def test_names_and_notes_are_escaped(client: TestClient, hub: Hub) -> None:
    sign_in(client)
    csrf = csrf_of(client)
    r = client.post("/people", data={"name": EVIL, "notes": f"knee {EVIL}", "csrf": csrf})
    assert r.status_code == 200  # followed to the person's page
    for page in (
        r.text,
        client.get("/people", headers={"accept": "text/html"}).text,
        client.get("/machines/lp-2").text,
    ):
        assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in r.text
    assert "LP &amp; &lt;2&gt;" in client.get("/machines/lp-2").text
    r = client.post("/people", data={"name": "Zoe", "rom_limit_mm": "deep", "csrf": csrf})
    assert r.status_code == 400 and "number of mm" in r.text


def test_the_host_header_is_checked_on_a_loopback_bind(client: TestClient) -> None:
    r = client.get("/healthz", headers={"host": "attacker.example"})
    assert r.status_code == 400


def test_login_redirect_stays_on_this_site(client: TestClient) -> None:
    r = client.get(f"/login?token={TOKEN}&next=//evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_the_token_file_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "hub-token"
    token, made = load_or_create_token(path)
    assert made and len(token) >= 24
    assert path.stat().st_mode & 0o077 == 0
    assert load_or_create_token(path) == (token, False)
    new, made = load_or_create_token(path, renew=True)
    assert made and new != token
    path.write_text("short\n")
    with pytest.raises(Exception, match="shorter than"):
        load_or_create_token(path)


def test_cookies_expire_and_are_bound_to_the_token() -> None:
    auth = Auth(TOKEN)
    cookie = auth.new_cookie(now_s=1_000_000)
    assert auth.cookie_ok(cookie, now_s=1_000_000 + 3600)
    assert not auth.cookie_ok(cookie, now_s=1_000_000 + auth.cookie_max_age_s + 1)
    assert not Auth(TOKEN + "x").cookie_ok(cookie, now_s=1_000_000)
    assert not auth.csrf_ok(cookie, Auth(TOKEN + "x").csrf_token(cookie))
    assert auth.csrf_ok(cookie, auth.csrf_token(cookie))


def test_live_messages_are_strict_json() -> None:
    from legpress.hub.web import _dumps

    text = _dumps({"type": "rep", "rep": {"depth_mm": float("nan"), "n": np.int64(3)}})
    assert json.loads(text) == {"type": "rep", "rep": {"depth_mm": None, "n": 3}}


def test_a_persons_page_lists_their_calibrations_and_where_each_is_in_force(
    client: TestClient, hub: Hub
) -> None:
    from legpress.storage.store import CalibrationRecord

    sign_in(client)
    assert client.portal is not None
    ana = client.portal.call(hub.store.add_person, "Ana")
    page = client.get(f"/people/{ana.id}").text
    assert "Not calibrated yet" in page
    for depth, machine in ((300.0, "LP & <2>"), (310.0, "Leg press 1"), (320.0, "LP & <2>")):
        record = CalibrationRecord("Ana", 3, 1, depth, 0.3, depth + 15, 20.0)
        record = replace(record, detail={"machine": machine})
        client.portal.call(hub.store.add_calibration, record)
    page = client.get(f"/people/{ana.id}").text
    rows = re.findall(r"<tr><td>[^<]*</td><td>(.*?)</td>.*?<td>([^<]*)</td></tr>", page, re.S)
    assert rows == [  # newest first
        ("LP &amp; &lt;2&gt;", "on LP &amp; &lt;2&gt;, and on machines without one of their own"),
        ("Leg press 1", "on Leg press 1"),
        ("LP &amp; &lt;2&gt;", "replaced by a newer one"),
    ]
    assert "300 mm" in page and "290 mm" in page  # a lift-off depth and its learned limit


def test_a_machine_page_calibrates_the_person_on_it(client: TestClient, hub: Hub) -> None:
    sign_in(client)
    bearer = {"authorization": f"Bearer {TOKEN}", "accept": "application/json"}
    assert (
        "Pick who is on Leg press 1 to calibrate them" in client.get("/machines/leg-press-1").text
    )
    r = client.post("/machines/leg-press-1/calibrate", headers=bearer)
    assert r.status_code == 409 and "pick who is on Leg press 1 first" in r.text
    client.post("/machines/leg-press-1/person", data={"person": "Ben"}, headers=bearer)
    page = client.get("/machines/leg-press-1").text
    assert "Calibrate Ben</button>" in page and 'action="/machines/leg-press-1/calibrate"' in page
    r = client.post("/machines/leg-press-1/calibrate", data={"csrf": csrf_of(client)})
    assert r.status_code == 200  # followed back to the dashboard
    said = hub.station("Leg press 1").calibration or ""
    assert said.startswith("calibration of Ben starts at the next sample: 3 slow reps")
    assert said in client.get("/machines/leg-press-1").text
    r = client.post("/machines/leg-press-1/dance", headers=bearer)
    assert r.status_code == 404 and "start, stop, calibrate, tare or zero" in r.text


def test_a_machine_page_tares_and_zeroes(client: TestClient) -> None:
    """The buttons are there; a machine that is not connected says so (409)."""
    sign_in(client)
    page = client.get("/machines/leg-press-1").text
    assert 'action="/machines/leg-press-1/tare"' in page and "Tare the pad" in page
    assert 'action="/machines/leg-press-1/zero"' in page and "Zero the sled" in page
    bearer = {"authorization": f"Bearer {TOKEN}", "accept": "application/json"}
    for command, what in (("tare", "tare the pad"), ("zero", "zero the sled")):
        r = client.post(f"/machines/leg-press-1/{command}", headers=bearer)
        assert r.status_code == 409, r.text
        assert f"Leg press 1 is not connected: it cannot {what} now" in r.text
