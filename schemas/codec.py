"""Encode and decode bus messages: a small JSON header plus raw binary attachments.

Wire format (all integers big-endian)::

    b"VS" | framing version (1 byte, = 1) | reserved (1 byte) | header length (uint32)
    | header (UTF-8 JSON) | attachment 0 | attachment 1 | ...

The header holds the message fields, ``kind``, the schema version ``v`` ("major.minor")
and ``blobs``, the byte length of each attachment. Every ``bytes`` field is replaced in
the header by ``{"$blob": i}``, so a 40 KB JPEG costs 40 KB on the wire, not 54 KB of
base64. The header is validated against ``schemas/v1/<kind>.schema.json``.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import types
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

from schemas.errors import SchemaError, UnknownVersionError
from schemas.messages import MESSAGE_TYPES, Message

MAGIC = b"VS"
FRAMING_VERSION = 1
SCHEMA_VERSION = "1.3"
SUPPORTED_MAJOR = 1
_PREFIX = struct.Struct(">2sBBI")
_SCHEMA_DIR = Path(__file__).parent / "v1"


@cache
def _validator(kind: str) -> Callable[[dict], Any]:
    schema = json.loads((_SCHEMA_DIR / f"{kind}.schema.json").read_text())
    return fastjsonschema.compile(schema)


def schema_path(kind: str) -> Path:
    return _SCHEMA_DIR / f"{kind}.schema.json"


def encode(msg: Message) -> bytes:
    """Serialise a message; raises SchemaError if the message breaks its own schema."""
    blobs: list[bytes] = []

    def lift(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            blobs.append(bytes(value))
            return {"$blob": len(blobs) - 1}
        if dataclasses.is_dataclass(value):
            return {f.name: lift(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {k: lift(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [lift(v) for v in value]
        return value

    body = lift(msg)
    header = {"kind": msg.KIND, "v": SCHEMA_VERSION, "blobs": [len(b) for b in blobs], **body}
    _validate(msg.KIND, header)
    header_bytes = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return b"".join([_PREFIX.pack(MAGIC, FRAMING_VERSION, 0, len(header_bytes)), header_bytes, *blobs])


def decode(data: bytes, expect: type | None = None) -> Message:
    """Parse and validate one message; any defect raises SchemaError (never a crash)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SchemaError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _PREFIX.size:
        raise SchemaError(f"truncated: {len(data)} bytes is shorter than the {_PREFIX.size}-byte prefix")
    magic, framing, _, header_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SchemaError(f"not a vidsentry message (magic {magic!r})")
    if framing != FRAMING_VERSION:
        raise UnknownVersionError(f"unknown framing version {framing}")
    header_end = _PREFIX.size + header_len
    if header_end > len(data):
        raise SchemaError(f"truncated header: needs {header_len} bytes, {len(data) - _PREFIX.size} present")
    try:
        header = json.loads(data[_PREFIX.size:header_end])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise SchemaError("header is not a JSON object")
    kind = header.get("kind")
    cls = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise SchemaError(f"unknown message kind {kind!r}")
    version = str(header.get("v", ""))
    major = version.split(".", 1)[0]
    if not major.isdigit():
        raise SchemaError(f"missing or malformed schema version {version!r}", kind)
    if int(major) != SUPPORTED_MAJOR:
        raise UnknownVersionError(f"schema version {version} is not supported (this build reads {SUPPORTED_MAJOR}.x)", kind)
    _validate(kind, header)
    if expect is not None and cls is not expect:
        raise SchemaError(f"expected a {expect.KIND} message, got {kind}", kind)

    blobs: list[bytes] = []
    offset = header_end
    for length in header["blobs"]:
        if offset + length > len(data):
            raise SchemaError(f"truncated attachment {len(blobs)}: needs {length} bytes", kind)
        blobs.append(data[offset:offset + length])
        offset += length
    if offset != len(data):
        raise SchemaError(f"{len(data) - offset} trailing bytes after the attachments", kind)

    def sink(value: Any) -> Any:
        if isinstance(value, dict):
            if value.keys() == {"$blob"}:
                index = value["$blob"]
                if not 0 <= index < len(blobs):
                    raise SchemaError(f"attachment {index} does not exist", kind)
                return blobs[index]
            return {k: sink(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sink(v) for v in value]
        return value

    return _build(cls, sink({k: v for k, v in header.items() if k not in ("kind", "v", "blobs")}), kind)


def _validate(kind: str, header: dict) -> None:
    try:
        _validator(kind)(header)
    except fastjsonschema.JsonSchemaException as exc:
        raise SchemaError(f"fails {kind}.schema.json: {exc.message}", kind) from None


def _build(cls: type, values: dict, kind: str) -> Any:
    """Build a (nested) dataclass from validated values, ignoring fields of newer minor versions."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            kwargs[f.name] = _convert(hints[f.name], values[f.name], kind)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SchemaError(str(exc), kind) from None


def _convert(hint: Any, value: Any, kind: str) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value, kind) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v, kind) for v in value]
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _build(hint, value, kind)
    return value
