"""Config sections that hold secrets.

A secret is a ``SecretStr`` field: it prints as ``**********`` (logs, ``config show``, reprs) and
validation errors of its section never echo their input. Each one may instead be given as
``<field>_file``, the path of a file holding it (a Docker or Kubernetes secret), from YAML or
the environment (``VIDSENTRY_REDIS__PASSWORD_FILE=/run/secrets/redis``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, ConfigDict, SecretStr, model_validator

from vidsentry.config.section import Section

FILE_SUFFIX = "_file"


def _existing_file(path: Path) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


ExistingFile = Annotated[Path, AfterValidator(_existing_file)]
"""A path that must name a readable file when the config is loaded (certificates, keys)."""


class SecretSection(Section):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in secret_fields(cls):
            path = data.pop(name + FILE_SUFFIX, None)
            if path is None:
                continue
            if data.get(name) is not None:
                raise ValueError(f"give {name} or {name}{FILE_SUFFIX}, not both")
            data[name] = read_secret_file(path, name + FILE_SUFFIX)
        return data


def secret_fields(model: type[Section]) -> list[str]:
    return [name for name, field in model.model_fields.items()
            if field.annotation is SecretStr or SecretStr in get_args(field.annotation)]


def read_secret_file(path: object, key: str) -> SecretStr:
    """The file's text without its trailing newline (``echo`` and editors add one)."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise ValueError(f"{key} must be a file path")
    file = Path(path).expanduser()
    try:
        secret = file.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{key}: {file} is not UTF-8 text") from None
    if not secret:
        raise ValueError(f"{key}: {file} is empty")
    return SecretStr(secret)
