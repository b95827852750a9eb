"""Where the action worker's pinned files are: the MoveNet model (in ``vidsentry.models``)
and the street video (``vtest`` in ``vidsentry.samples``)."""

from __future__ import annotations

from pathlib import Path

from vidsentry.models import MOVENET_GRAPH, MOVENET_WEIGHTS, model_cache
from vidsentry.registry import FetchError

STREET_SAMPLE = "vtest"


def require_movenet(root: Path, fetch_on_demand: bool = True) -> Path:
    """The verified MoveNet graph json, with its weight shard beside it."""
    from workers.action.errors import PoseModelError

    cache = model_cache(root)
    try:
        cache.require(MOVENET_WEIGHTS, fetch_on_demand)
        return cache.require(MOVENET_GRAPH, fetch_on_demand)
    except FetchError as exc:
        raise PoseModelError(str(exc)) from None
