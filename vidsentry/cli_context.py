"""What every command module shares: the configuration the command line chose, and one error exit.

The stage packages' commands (``workers.*.commands``, ``aggregator.commands``) use these instead of
importing ``vidsentry.cli``, which imports them."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from vidsentry.config import Config, ConfigError, load_config
from vidsentry.redact import redact_text


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` (secrets redacted) on stderr and exit with ``code``: 2 for bad
    input or configuration, 1 for a failure while doing the work."""
    typer.secho(f"error: {redact_text(message)}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def config_path(ctx: typer.Context) -> Path | None:
    """The ``--config`` given to ``vidsentry`` (None: $VIDSENTRY_CONFIG or the defaults; also when a
    command's app runs on its own, as in tests)."""
    return ctx.find_root().params.get("config")


def cli_config(ctx: typer.Context) -> Config:
    """The configuration the running command works with: defaults < ``--config`` file (or
    $VIDSENTRY_CONFIG) < ``VIDSENTRY_*`` variables; an invalid one ends the command. A command
    gets ``ctx`` by declaring a ``ctx: typer.Context`` parameter (not an option)."""
    try:
        return load_config(config_path(ctx))
    except ConfigError as exc:
        fail(str(exc))
