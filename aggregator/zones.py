"""Which configured zones a point of the frame falls in."""

from __future__ import annotations

import cv2
import numpy as np

from vidsentry.config.cameras import Zone


def zones_containing(zones: list[Zone], x: float, y: float) -> list[str]:
    """Names of the zones containing (x, y), both as fractions of the frame."""
    return [zone.name for zone in zones
            if cv2.pointPolygonTest(np.asarray(zone.polygon, np.float32), (float(x), float(y)), False) >= 0]
