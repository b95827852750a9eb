"""Headless plotting: every chart is drawn on its own off-screen (Agg) figure. No display is needed,
and no global pyplot state is touched, so charts can be drawn from any thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure(width: float, height: float) -> Figure:
    """A new figure of ``width`` x ``height`` inches that draws with Agg; save it with ``savefig``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig
