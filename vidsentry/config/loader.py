"""Load the configuration: defaults < YAML file < ``VIDSENTRY_SECTION__KEY`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from vidsentry.config.models import Config
from vidsentry.config.secrets import FILE_SUFFIX, secret_fields
from vidsentry.config.yaml_file import YamlFile, read_yaml

ENV_PREFIX = "VIDSENTRY_"
ENV_CONFIG_FILE = "VIDSENTRY_CONFIG"


class ConfigError(ValueError):
    """Invalid configuration; the message names each bad key and where it came from."""


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    path = path or environ.get(ENV_CONFIG_FILE)
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path:
        source = _read_config_file(Path(path))
        data = source.data
        origin = {k: source.where(k.split(".")) for k in _leaf_keys(data)}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG_FILE:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        parsed = value if _is_secret(keys) else yaml.safe_load(value)
        _set_nested(data, keys, parsed if value != "" else None, name)
        origin[".".join(keys)] = f"environment variable {name}"
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def _is_secret(keys: list[str]) -> bool:
    """Secrets (and their ``_file`` paths) keep the variable's text as it is: YAML would read
    ``0123`` as a number and ``yes`` as a boolean."""
    model: type[BaseModel] = Config
    for key in keys[:-1]:
        field = model.model_fields.get(key)
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return False
        model = field.annotation
    return keys[-1].removesuffix(FILE_SUFFIX) in secret_fields(model)


def _read_config_file(path: Path) -> YamlFile:
    source = read_yaml(path, ConfigError, "config file")
    if source.data is None:
        return replace(source, data={})
    if not isinstance(source.data, dict):
        raise ConfigError(f"{source.where([])}: the top level must be a mapping of sections, got {type(source.data).__name__}")
    return source


def _set_nested(data: dict[str, Any], keys: list[str], value: Any, name: str) -> None:
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{name}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def _leaf_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        keys.extend(_leaf_keys(value, dotted + ".") if isinstance(value, dict) else [dotted])
    return keys


def _describe(exc: ValidationError, origin: dict[str, str]) -> str:
    lines = ["invalid configuration:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        source = next((origin[k] for k in (key, *_parents(key)) if k in origin), None) or _within(key, origin)
        message = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {key}: {message} (from {source})")
    return "\n".join(lines)


def _within(section: str, origin: dict[str, str]) -> str:
    """Where the keys of a section came from, for an error about the section as a whole."""
    sources = sorted({source for key, source in origin.items() if key.startswith(section + ".")})
    return ", ".join(sources) or "defaults"


def _parents(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
