"""The one way to reach Redis: the ``redis`` settings (url, username, password, TLS) to a client."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import redis

from vidsentry.config.models import RedisConfig


class RedisAccessError(RuntimeError):
    """Redis refused the login or the TLS handshake: retrying cannot help, the settings must change."""


def redis_client(config: RedisConfig, **options: Any) -> redis.Redis:
    """A client for ``config``; ``options`` are redis-py's (timeouts, health checks)."""
    if not config.url:
        raise ValueError("redis.url is not set (VIDSENTRY_REDIS__URL=redis://host:port/0)")
    url = config.url
    if config.tls and url.startswith("redis://"):
        url = "rediss://" + url.removeprefix("redis://")
    if config.username is not None:
        options["username"] = config.username
    if config.password is not None:
        options["password"] = config.password.get_secret_value()
    if url.startswith("rediss://") and config.tls_ca_file is not None:
        options["ssl_ca_certs"] = str(config.tls_ca_file)
    return redis.Redis.from_url(url, **options)


def redis_location(config: RedisConfig) -> str:
    """scheme://host:port/db, without credentials: for messages."""
    parts = urlsplit(config.url or "")
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    scheme = "rediss" if config.tls or parts.scheme == "rediss" else "redis"
    return f"{scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def check_redis_access(client: redis.Redis, config: RedisConfig) -> bool:
    """PING: True when Redis answers, False when it is unreachable (callers retry outages), and
    ``RedisAccessError`` when it refuses the login or the TLS handshake."""
    where = redis_location(config)
    try:
        client.ping()
        return True
    except redis.AuthenticationError as exc:
        user = f"user {config.username!r}" if config.username else "the default user"
        raise RedisAccessError(f"Redis at {where} refused the login of {user} ({exc}): check redis.username and "
                               f"redis.password (or redis.password_file)") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "NOPERM" in str(exc):
            raise RedisAccessError(f"Redis at {where} refused the request ({exc}): check redis.username and "
                                   f"redis.password (or redis.password_file) and that user's ACL") from None
        raise
    except redis.ConnectionError as exc:
        if isinstance(exc.__context__ or exc.__cause__, ssl.SSLError) or "SSL" in str(exc):
            raise RedisAccessError(f"Redis at {where}: TLS failed ({exc}): check redis.tls, redis.tls_ca_file and "
                                   f"that the server speaks TLS on that port") from None
        return False
    except redis.TimeoutError:
        return False
