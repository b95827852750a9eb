"""Console login: the password kept only as an scrypt hash, sessions with a CSRF token each, and a
pre-session token on the login form itself (against login CSRF)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 64}
LOGIN_FORM_TTL_S = 3600.0
"""How long a login form (its pre-session token) may be posted after it was served."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>``."""
    if not password:
        raise ValueError("the console password cannot be empty")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


@dataclass
class Session:
    token: str
    csrf: str
    expires: float


class TooManyAttempts(Exception):
    """Logins from this address failed too often lately; it must wait."""


class Sessions:
    """Logged-in browsers: an unguessable cookie token -> its CSRF token and expiry. After
    ``max_failures`` wrong passwords from one address within ``lockout_s``, that address may
    not try again until the oldest of them is ``lockout_s`` old."""

    def __init__(self, password_hash: str, ttl_s: float, clock: Callable[[], float] = time.time,
                 max_failures: int = 5, lockout_s: float = 300.0) -> None:
        self.password_hash = password_hash
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._login_key = secrets.token_bytes(32)

    def login(self, password: str, client: str = "") -> Session | None:
        """A new session, None for a wrong password; TooManyAttempts while ``client`` is locked out."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.lockout_s]
            self._failures[client] = recent
            if len(recent) >= self.max_failures:
                raise TooManyAttempts(f"too many wrong passwords; try again in {math.ceil(self.lockout_s - (now - recent[0]))} s")
        if not verify_password(password, self.password_hash):
            with self._lock:
                self._failures.setdefault(client, []).append(now)
                if len(self._failures) > 10_000:
                    self._failures.pop(next(iter(self._failures)))
            return None
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock() + self.ttl_s)
        with self._lock:
            now = self.clock()
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.expires <= self.clock():
                self._sessions.pop(token, None)
                return None
            return session

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def login_token(self) -> str:
        """A pre-session token for the login form, sent both as a cookie and as a hidden field
        (double submit): ``<nonce>.<issued>.<HMAC of both under this process's key>``."""
        body = f"{secrets.token_urlsafe(16)}.{int(self.clock())}"
        return f"{body}.{self._sign(body)}"

    def login_token_ok(self, cookie: str | None, sent: str | None) -> bool:
        """The form's field equals the cookie, was issued by this process and is not older than ``LOGIN_FORM_TTL_S``.
        A cross-site post carries neither: the cookie is SameSite=Strict and the page cannot read it."""
        if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
            return False
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return False
        try:
            issued = int(body.rpartition(".")[2])
        except ValueError:
            return False
        return 0 <= self.clock() - issued <= LOGIN_FORM_TTL_S

    def _sign(self, body: str) -> str:
        return hmac.new(self._login_key, body.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(session.csrf.encode(), sent.encode())
