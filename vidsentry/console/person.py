"""A person's page: the report's emotion-over-time and action timeline charts, drawn from the
search store's events for that person."""

from __future__ import annotations

from schemas import EMOTION_LABELS
from vidsentry.report.html import action_plot, emotion_plot


def person_view(person_id: str, events: list[dict]) -> dict:
    """Who the events say the person is, where they were seen, and the two charts (PNG data URLs, None without data)."""
    if not events:
        return {"person_id": person_id, "who": person_id, "cameras": [], "events": 0, "first": None, "last": None,
                "emotion_plot": None, "action_plot": None}
    who = next((e["name"] for e in reversed(events) if e["name"]), None) or events[-1]["identity"] or person_id
    t0, end = events[0]["ts"], events[-1]["ts"]
    readings = [(e["ts"], e["emotion_probs"]) for e in events if e["emotion_probs"] and len(e["emotion_probs"]) == len(EMOTION_LABELS)]
    spans: list[tuple[float, str]] = []
    for e in events:
        if e["action"] and (not spans or spans[-1][1] != e["action"]):
            spans.append((e["ts"], e["action"]))
    return {"person_id": person_id, "who": who, "cameras": sorted({e["camera"] for e in events}), "events": len(events),
            "first": t0, "last": end,
            "emotion_plot": emotion_plot(who, readings, t0) if len(readings) >= 2 else None,
            "action_plot": action_plot({who: spans}, t0, {who: end}) if spans else None}
