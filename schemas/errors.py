"""Typed errors of the bus contract; the runtime turns them into dead-letter messages."""

from __future__ import annotations


class SchemaError(ValueError):
    """A message that cannot be decoded or does not match its schema."""

    def __init__(self, reason: str, kind: str | None = None) -> None:
        self.reason = reason
        self.kind = kind
        super().__init__(f"{kind or 'message'}: {reason}")


class UnknownVersionError(SchemaError):
    """A message whose schema major version this build does not understand."""
