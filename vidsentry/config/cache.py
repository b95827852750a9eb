"""The cache root: model files, sample media and the data derived from them, outside the repository."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_CACHE_DIR = Path("~/.cache/vidsentry")
"""The default of ``models.cache_dir``."""
CACHE_DIR_VARIABLE = "VIDSENTRY_MODELS__CACHE_DIR"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``models.cache_dir`` as the environment sets it, expanded: for the tests and benchmarks,
    which read no config file."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(CACHE_DIR_VARIABLE) or DEFAULT_CACHE_DIR).expanduser()
