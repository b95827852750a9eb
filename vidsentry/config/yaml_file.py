"""The one YAML loader of the configuration, cameras and rules files, and their one error format:
``<file>:<line>: <key path>: <message>``, the line being where the bad key or value is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


@dataclass(frozen=True)
class YamlFile:
    path: Path
    data: Any
    """The parsed document (None for an empty file)."""
    root: yaml.Node | None
    """The node tree, for the line of a key."""

    def line_of(self, loc: tuple | list) -> int:
        """1-based line of the deepest node along a key path (``("rules", 0, "when")``)."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == key), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def where(self, loc: tuple | list) -> str:
        return f"{self.path}:{self.line_of(loc)}"

    def problems(self, exc: ValidationError, label: Callable[[Any, list], str | None] | None = None) -> list[str]:
        """One ``<file>:<line>: <key path>[ (label)]: <message>`` line per validation error;
        ``label(data, loc)`` may name what the key belongs to (``rule fight``)."""
        lines = []
        for err in exc.errors():
            loc = error_path(err)
            extra = label(self.data, loc) if label else None
            key = ".".join(str(p) for p in loc) or "(top level)"
            lines.append(f"{self.where(loc)}: {key}{f' ({extra})' if extra else ''}: {error_message(err)}")
        return lines


def error_path(err: Any) -> list:
    """The key path of a pydantic error, without the validator names pydantic inserts."""
    return [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]


def error_message(err: Any) -> str:
    return "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]


def read_yaml(path: str | Path, error: type[Exception], what: str) -> YamlFile:
    """Read and parse ``path``; an unreadable file or bad YAML raises ``error`` naming ``what``
    (``"config file"``), the file and the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"cannot read {what} {path}: not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return YamlFile(path, data, root)
