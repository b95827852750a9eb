"""Credentials never leave the process in clear: URLs, free text, nested data and log records.

``rtsp://user:pass@host/x`` becomes ``rtsp://user:***@host/x``; query parameters that carry a
secret (``?token=...``) become ``***``; a config key named like a secret (``password``,
``sasl_password``...) is shown as ``**********``, the way pydantic shows a ``SecretStr``.
Everything here is idempotent: redacting twice gives the same text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
SECRET_MASK = "**********"
"""What a secret-named value is shown as (pydantic's own ``SecretStr`` rendering)."""

SECRET_PARAMS = frozenset({
    "password", "passwd", "pwd", "pass", "token", "key", "secret", "auth", "apikey", "api_key", "access_token",
    "refresh_token", "client_secret", "sig", "signature", "credential", "credentials",
})
"""Query parameter names whose value is a secret (compared in lower case)."""

SECRET_KEYS = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)
"""Names of structured fields (config keys, JSON keys) whose string value is a secret..."""
NOT_SECRET_KEYS = re.compile(r"(_file|_path|_dir|_env|_var)$", re.IGNORECASE)
"""...unless it only says where the secret is (``password_file``, ``token_env``)."""

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+._\-]*:/+)(?P<netloc>[^/?#\s]*)(?P<rest>.*)$", re.DOTALL)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+._\-]*:/+[^\s'\"<>`]+")
"""Also ``scheme:/`` with one slash: what ``Path("ftp://u:p@h/x")`` prints."""
_BARE_USERINFO = re.compile(r"(?<![\w.%+\-:/@])(?P<user>[\w.%+\-]*):(?P<password>[^\s@/'\"<>`]+)@(?=[\w\[])")
"""``user:pass@host`` without a scheme (Kafka-style host lists)."""
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<key>\b[\w\-]*(?:password|passwd|secret|token|api_?key|access_?key)[\w\-]*)(?P<sep>\s*=\s*)(?P<value>[^\s&,;'\"]+?)(?=[)\]}>.]*(?:[\s&,;'\"]|$))",
    re.IGNORECASE)
"""``password=...`` in free text (error messages quoting a connection string)."""
_TRAILING_CLOSERS = re.compile(r"[)\]}>.]*$")
"""Punctuation after a URL in prose ("(see http://h/?token=x).") is not part of a value."""


def redact_url(url: str) -> str:
    """The URL with its password (or lone token user-info) and secret query values masked.

    Strings that are not URLs are returned as they are, except a schemeless
    ``user:pass@host`` list, whose password is masked too.
    """
    match = _URL.match(url)
    if match is None:
        return _BARE_USERINFO.sub(_mask_bare, url)
    netloc = match["netloc"]
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = f"{_mask_userinfo(userinfo)}@{hosts}"
    return match["scheme"] + netloc + _mask_query(match["rest"])


def redact_text(text: str) -> str:
    """``text`` with every credential in URLs, ``user:pass@host`` lists and ``password=...`` masked."""
    if not text:
        return text
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    text = _BARE_USERINFO.sub(_mask_bare, text)
    return _SECRET_ASSIGNMENT.sub(lambda m: m["key"] + m["sep"] + (m["value"] if _masked(m["value"]) else MASK), text)


def redact_data(value: Any, key: str | None = None) -> Any:
    """A copy of JSON-like ``value`` (dicts, lists, strings) safe to show: strings redacted with
    ``redact_text``, and any non-empty string under a secret-named key replaced by ``**********``."""
    if isinstance(value, dict):
        return {k: redact_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v, key) for v in value]
    if isinstance(value, str):
        if key is not None and value and SECRET_KEYS.search(key) and not NOT_SECRET_KEYS.search(key) and not _is_url(value):
            return SECRET_MASK
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """Masks credentials in a record's formatted message, exception text and stack, before any
    handler formats it. Install it on handlers (filters on a logger do not see records that
    propagate from child loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a bad format string is the handler's to report)
            return True
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Put one ``RedactingFilter`` on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def install_traceback_redaction() -> None:
    """Uncaught exceptions (main thread and other threads) are printed with credentials masked."""
    import sys
    import threading
    import traceback

    def print_redacted(kind: type[BaseException], value: BaseException, tb: Any, thread: str = "") -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write((f"Exception in thread {thread}:\n" if thread else "") + redact_text(text))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        print_redacted(args.exc_type, args.exc_value, args.exc_traceback, args.thread.name if args.thread else "?")

    sys.excepthook = print_redacted
    threading.excepthook = thread_hook


def _mask_userinfo(userinfo: str) -> str:
    if ":" in userinfo:
        user, _ = userinfo.split(":", 1)
        return f"{user}:{MASK}"
    return userinfo if _masked(userinfo) else MASK


def _mask_bare(match: re.Match) -> str:
    return f"{match['user']}:{MASK}@"


def _mask_query(rest: str) -> str:
    if "?" not in rest:
        return rest
    path, _, query = rest.partition("?")
    query, hash_mark, fragment = query.partition("#")
    pairs = []
    for pair in re.split(r"([&;])", query):
        name, equals, value = pair.partition("=")
        if equals and value and name.lower().replace("-", "_") in SECRET_PARAMS and not _masked(value):
            value = MASK + _TRAILING_CLOSERS.search(value).group(0)
        pairs.append(name + equals + value)
    return f"{path}?{''.join(pairs)}{hash_mark}{fragment}"


def _masked(value: str) -> bool:
    return value in (MASK, SECRET_MASK)


def _is_url(value: str) -> bool:
    return _URL.match(value) is not None
