"""Render the documented example config from the models, so the two never drift apart."""

from __future__ import annotations

from pydantic import BaseModel

from vidsentry.config.models import Config


def example_yaml(model: type[BaseModel] = Config, indent: int = 0) -> str:
    lines: list[str] = []
    pad = "  " * indent
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.append(example_yaml(annotation, indent + 1))
            continue
        default = field.get_default(call_default_factory=True)
        if field.description:
            lines.append(f"{pad}# {field.description}")
        lines.append(f"{pad}{name}: {_yaml_scalar(default)}")
    return "\n".join(lines)


def _yaml_scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return f'"{value}"'
