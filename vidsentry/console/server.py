"""The console's HTTP side on the standard library's threading server: pages from Jinja2
templates with autoescape, JSON and Server-Sent Events for the live parts, a login with a
session cookie (HttpOnly, SameSite=Strict) and a CSRF token on every state change, the login
form's own included (a pre-session double-submit token, so no other site can log a browser in)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jinja2
import redis

from vidsentry.console.alerts import AlertFilter
from vidsentry.console.auth import LOGIN_FORM_TTL_S, Session, TooManyAttempts
from vidsentry.console.search import SearchError, SearchQuery
from vidsentry.console.unknowns import UnknownsError
from vidsentry.redact import redact_text
from workers.face.errors import GalleryError

if TYPE_CHECKING:
    from vidsentry.console.app import Console

log = logging.getLogger(__name__)

COOKIE = "vidsentry_session"
LOGIN_COOKIE = "vidsentry_login"
LOGIN_REFUSED = ("the login form was not sent from this console's login page (its CSRF token is missing, wrong or "
                 "expired): reload the page and log in again")
MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STATIC = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("vidsentry.console", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["url"] = lambda value: quote(str(value), safe="")
    env.filters["clock"] = lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts))) if ts else ""
    return env


class Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, console: Console, host: str, port: int) -> None:
        self.console = console
        self.env = templates()
        super().__init__((host, port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    server_version = "vidsentry-console"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        log.debug("console %s: %s", self.address_string(), redact_text(format % args))

    # -- dispatch -------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        try:
            if path.startswith("/static/"):
                return self._static(path.removeprefix("/static/"))
            if path == "/login":
                return self._login() if method == "POST" else self._login_page(HTTPStatus.OK, None)
            session = self.server.console.sessions.get(self._cookie())
            if session is None:
                if method == "GET" and not path.startswith("/api/") and not path.endswith(".jpg"):
                    return self._redirect("/login")
                raise Refused(HTTPStatus.UNAUTHORIZED, "log in first")
            self.session = session
            if method == "POST":
                form = self._form()
                if not self.server.console.sessions.csrf_ok(session, self.headers.get("X-CSRF-Token") or form.get("csrf", [None])[-1]):
                    raise Refused(HTTPStatus.FORBIDDEN, "missing or wrong CSRF token: reload the page and try again")
                return self._post(path, form)
            return self._get(path)
        except Refused as exc:
            self._refuse(exc.status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except redis.RedisError as exc:
            log.warning("console: %s", redact_text(str(exc)))
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "Redis is unavailable; try again shortly")

    def _get(self, path: str) -> None:
        console = self.server.console
        if path == "/":
            return self._page("cameras.html.j2", cameras=console.cameras(), people=console.people())
        if path == "/alerts":
            wanted = AlertFilter.from_query(self.query)
            return self._page("alerts.html.j2", alerts=console.alerts.recent(wanted), wanted=wanted,
                              choices=console.alerts.choices())
        if path == "/unknowns":
            return self._page("unknowns.html.j2", clusters=console.unknowns.clusters(),
                              named=console.unknowns.named_tracks(), message=self.query.get("done"))
        if path == "/search":
            wanted = self._search_query()
            return self._page("search.html.j2", events=console.search(wanted), wanted=wanted.as_form(),
                              choices=console.search_store.choices())
        if path == "/api/search":
            return self._json(console.search(self._search_query()))
        if path.startswith("/person/"):
            return self._page("person.html.j2", person=console.person(unquote(path[len("/person/"):])))
        if path == "/api/state":
            return self._json({"cameras": console.cameras(), "people": console.people()})
        if path == "/api/alerts":
            return self._json(console.alerts.recent(AlertFilter.from_query(self.query)))
        if path == "/api/unknowns":
            return self._json(console.unknowns.clusters())
        if path == "/api/stream":
            return self._stream(AlertFilter.from_query(self.query))
        if path.startswith("/camera/") and path.endswith(".jpg"):
            tile = console.live.tile(unquote(path[len("/camera/"):-4]))
            return self._jpeg(tile[1] if tile else None)
        if path.startswith("/snapshot/") and path.endswith(".jpg"):
            return self._jpeg(console.alerts.snapshot(unquote(path[len("/snapshot/"):-4])))
        if path.startswith("/crop/") and path.endswith(".jpg"):
            return self._jpeg(console.unknowns.crop(unquote(path[len("/crop/"):-4])))
        raise Refused(HTTPStatus.NOT_FOUND, "no such page")

    def _search_query(self) -> SearchQuery:
        try:
            return SearchQuery.from_query(self.query)
        except SearchError as exc:
            raise Refused(HTTPStatus.BAD_REQUEST, str(exc)) from None

    def _post(self, path: str, form: dict[str, list[str]]) -> None:
        console = self.server.console

        def one(name: str) -> str:
            value = (form.get(name) or [""])[-1].strip()
            if not value:
                raise Refused(HTTPStatus.BAD_REQUEST, f"{name} is missing")
            return value

        if path == "/logout":
            console.sessions.logout(self.session.token)
            return self._redirect("/login", cookie=f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict")
        if path == "/api/ack":
            entries = form.get("entry") or []
            if not entries:
                raise Refused(HTTPStatus.BAD_REQUEST, "entry is missing")
            return self._json({"acknowledged": console.alerts.ack(entries), "of": len(entries)})
        try:
            if path == "/unknowns/name":
                done = f"{one('cluster')} is now {console.unknowns.name(one('cluster'), one('name'), console.gallery())}"
            elif path == "/unknowns/merge":
                done = f"merged into {console.unknowns.merge(form.get('cluster') or [])}"
            elif path == "/unknowns/split":
                done = f"split off as {console.unknowns.split(one('cluster'), form.get('track') or [])}"
            elif path == "/unknowns/reject":
                done = f"recorded as not {console.unknowns.reject(one('track'), console.gallery())}"
            elif path == "/unknowns/delete":
                done = console.erase(one("cluster")).summary()
            else:
                raise Refused(HTTPStatus.NOT_FOUND, "no such action")
        except (UnknownsError, GalleryError) as exc:
            raise Refused(HTTPStatus.BAD_REQUEST, str(exc)) from None
        return self._redirect("/unknowns?done=" + quote(done))

    # -- login ----------------------------------------------------------------------------
    def _login(self) -> None:
        form = self._form()
        if not self.server.console.sessions.login_token_ok(self._cookie(LOGIN_COOKIE), (form.get("csrf") or [""])[-1]):
            log.warning("console: login refused from %s: no valid login form token", self.client_address[0])
            return self._login_page(HTTPStatus.FORBIDDEN, LOGIN_REFUSED, fresh=True)
        try:
            session = self.server.console.sessions.login((form.get("password") or [""])[-1], self.client_address[0])
        except TooManyAttempts as exc:
            return self._login_page(HTTPStatus.TOO_MANY_REQUESTS, str(exc))
        if session is None:
            log.warning("console: failed login from %s", self.client_address[0])
            return self._login_page(HTTPStatus.UNAUTHORIZED, "wrong password")
        self._redirect("/", cookie=self._session_cookie(session))

    def _login_page(self, status: HTTPStatus, error: str | None, fresh: bool = False) -> None:
        """The login form with its pre-session token: the browser's own while it is valid, else a new one in a cookie."""
        sessions = self.server.console.sessions
        token = self._cookie(LOGIN_COOKIE)
        extra = None
        if fresh or not sessions.login_token_ok(token, token):
            token = sessions.login_token()
            secure = "; Secure" if self.server.console.config.secure_cookie else ""
            extra = {"Set-Cookie": f"{LOGIN_COOKIE}={token}; Max-Age={int(LOGIN_FORM_TTL_S)}; Path=/login; HttpOnly; "
                                   f"SameSite=Strict{secure}"}
        self._page("login.html.j2", status=status, extra=extra, error=error, login_token=token)

    def _session_cookie(self, session: Session) -> str:
        console = self.server.console
        secure = "; Secure" if console.config.secure_cookie else ""
        return f"{COOKIE}={session.token}; Max-Age={int(console.config.session_ttl_s)}; Path=/; HttpOnly; SameSite=Strict{secure}"

    def _cookie(self, name: str = COOKIE) -> str | None:
        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(name)
        return morsel.value if morsel else None

    def _form(self) -> dict[str, list[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        return parse_qs(body, keep_blank_values=True)

    # -- responses ------------------------------------------------------------------------
    def _headers(self, status: HTTPStatus, content_type: str, length: int | None, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: HTTPStatus, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self._headers(status, content_type, len(body), extra)
        self.wfile.write(body)

    def _page(self, template: str, status: HTTPStatus = HTTPStatus.OK, extra: dict[str, str] | None = None,
              **context: object) -> None:
        session = getattr(self, "session", None)
        html = self.server.env.get_template(template).render(csrf=session.csrf if session else "", **context)
        self._send(status, "text/html; charset=utf-8", html.encode(), extra)

    def _json(self, data: object) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(data).encode())

    def _jpeg(self, data: bytes | None) -> None:
        if data is None:
            raise Refused(HTTPStatus.NOT_FOUND, "no such image")
        self._send(HTTPStatus.OK, "image/jpeg", data)

    def _redirect(self, target: str, cookie: str | None = None) -> None:
        extra = {"Location": target}
        if cookie:
            extra["Set-Cookie"] = cookie
        self._send(HTTPStatus.SEE_OTHER, "text/plain; charset=utf-8", b"", extra)

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        if self.path.startswith("/api/") or self.headers.get("Accept", "").startswith("application/json"):
            self._send(status, "application/json", json.dumps({"error": message}).encode())
        else:
            html = self.server.env.get_template("error.html.j2").render(status=int(status), message=message, csrf="")
            self._send(status, "text/html; charset=utf-8", html.encode())

    def _static(self, name: str) -> None:
        if name not in STATIC:
            raise Refused(HTTPStatus.NOT_FOUND, "no such file")
        body = resources.files("vidsentry.console").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, STATIC[name], body)

    def _stream(self, wanted: AlertFilter) -> None:
        """Server-Sent Events: alerts and acks as they happen, camera and people updates as the ticker sends them."""
        console = self.server.console
        events = console.fanout.subscribe()
        try:
            self._headers(HTTPStatus.OK, "text/event-stream", None, {"X-Accel-Buffering": "no"})
            self.wfile.write(b"retry: 2000\n\n")
            for kind, data in console.initial_events():
                self._event(kind, data)
            while not console.stopping.is_set():
                try:
                    kind, data = events.get(timeout=10)
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                if kind == "alert" and not wanted.accepts(data):
                    continue
                self._event(kind, data)
        finally:
            console.fanout.unsubscribe(events)
            self.close_connection = True

    def _event(self, kind: str, data: object) -> None:
        self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def serve_in_thread(server: ConsoleServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="console-http", kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    return thread
