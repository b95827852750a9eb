"""What the console's API tests share: an HTTP client that keeps the session cookie, and a config on the
suite's real Kafka and Redis."""

from __future__ import annotations

import http.client
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.conftest import kafka_config
from vidsentry.config import Config

PASSWORD = "correct horse battery"


class Browser:
    """A tiny HTTP client that keeps the session cookie, like a browser would."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookie: str | None = None
        self.set_cookie: str | None = None

    def request(self, method: str, path: str, form: dict | list | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        body = urlencode(form, doseq=True) if form is not None else None
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.set_cookie = cookie
            self.cookie = cookie.split(";")[0]
        conn.close()
        return response.status, response.getheader("Location"), data, response

    def login(self, password: str = PASSWORD):
        """As a browser does: fetch the login form (its pre-session cookie and token), then post it."""
        page = self.request("GET", "/login")[2].decode()
        token = page.split('name="csrf" value="')[1].split('"')[0]
        return self.request("POST", "/login", {"password": password, "csrf": token})

    def csrf(self) -> str:
        page = self.request("GET", "/")[2].decode()
        return page.split('<meta name="csrf" content="')[1].split('"')[0]


def kafka_console_config(redis_url: str, bootstrap_servers: str, tmp_path: Path, **console: object) -> Config:
    """A config on the suite's Kafka and Redis with fresh Redis prefixes, the console on a free port and its search
    store in ``tmp_path``; ``console`` adds or overrides console settings."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    return Config.model_validate({
        "redis": {"url": redis_url},
        "bus": {"kind": "kafka", "kafka": kafka_config(bootstrap_servers).model_dump()},
        "aggregator": {"redis_prefix": prefix},
        "face": {"gallery_redis_prefix": f"{prefix}:gallery"},
        "console": {"password": PASSWORD, "port": 0, "search_path": str(tmp_path / "search.sqlite3"), **console},
        "runtime": {"poll_timeout_s": 0.1},
    })
