"""report.html: one self-contained page (plots embedded as PNG) that opens without a server."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from schemas import ACTION_LABELS, EMOTION_LABELS  # noqa: E402
from vidsentry.report.recorder import Recorder  # noqa: E402

EMOTION_COLOURS = ["#d62728", "#8c564b", "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e", "#7f7f7f"]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def emotion_plot(person: str, readings: list[tuple[float, list[float]]], t0: float) -> str:
    fig, ax = plt.subplots(figsize=(8, 2.6))
    times = [t - t0 for t, _ in readings]
    for i, label in enumerate(EMOTION_LABELS):
        ax.plot(times, [p[i] for _, p in readings], label=label, color=EMOTION_COLOURS[i], linewidth=1.4)
    ax.set_ylim(0, 1)
    ax.set_xlabel("seconds")
    ax.set_ylabel("probability")
    ax.set_title(f"Emotion probabilities: {person}")
    ax.legend(loc="upper right", ncol=7, fontsize=7)
    return _png(fig)


def action_plot(histories: dict[str, list[tuple[float, str]]], t0: float, ends: dict[str, float]) -> str:
    people = sorted(histories)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(1, len(people))))
    cmap = plt.get_cmap("tab10")
    for row, person in enumerate(people):
        spans = histories[person] + [(ends.get(person, histories[person][-1][0]), "")]
        for (start, action), (end, _) in zip(spans, spans[1:]):
            colour = cmap(ACTION_LABELS.index(action) % 10) if action in ACTION_LABELS else "grey"
            ax.barh(row, max(end - start, 0.05), left=start - t0, color=colour, edgecolor="white")
            ax.text(start - t0, row, f" {action}", va="center", fontsize=7)
    ax.set_yticks(range(len(people)), people, fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title("Action timeline")
    return _png(fig)


def write_report(path: Path, recorder: Recorder, alerts: list[dict], timings: dict[str, dict], run: dict,
                 videos: dict[str, str]) -> None:
    """``timings``: per stage {batches, seconds, ms_per_batch}; ``run``: sources, frames, duration..."""
    all_times = [m.ts for frames in recorder.marks.values() for m in frames.values()]
    t0 = min(all_times, default=0.0)
    parts = [f"<h1>vidsentry report</h1><p>{html.escape(run.get('summary', ''))}</p>"]
    parts.append(_table(["source", "camera", "frames analysed", "annotated video"],
                        [[s["source"], s["camera"], s["frames"], _link(videos.get(s["camera"]))] for s in run["sources"]]))
    parts.append("<h2>Who was seen</h2>")
    rows = []
    emotions = recorder.emotions_by_person()
    for person_id, state in sorted(recorder.persons.items(), key=lambda kv: kv[1].get("first_seen", 0)):
        readings = emotions.get(person_id, [])
        dominant = _dominant(readings)
        actions = ", ".join(dict.fromkeys(a for _, a in recorder.action_history.get(person_id, []))) or "-"
        identity = state.get("name") or (state.get("identity") if state.get("face_tracks") else "no face seen")
        rows.append([person_id, identity, ", ".join(state.get("cameras", [])),
                     f"{state['last_seen'] - state['first_seen']:.1f} s", dominant, actions])
    parts.append(_table(["person", "identity", "cameras", "time in view", "dominant emotion", "actions"], rows)
                 if rows else "<p>Nobody was seen.</p>")
    parts.append("<h2>Emotions over time</h2>")
    plotted = [(p, r) for p, r in emotions.items() if len(r) >= 2]
    parts.extend(f'<img alt="emotions of {html.escape(p)}" src="{emotion_plot(p, r, t0)}">' for p, r in plotted)
    if not plotted:
        parts.append("<p>No face was seen long enough to plot.</p>")
    parts.append("<h2>Actions</h2>")
    histories = {person: spans for person, spans in recorder.action_history.items() if spans}
    if histories:
        ends = {person: state["last_seen"] for person, state in recorder.persons.items()}
        parts.append(f'<img alt="action timeline" src="{action_plot(histories, t0, ends)}">')
    else:
        parts.append("<p>No body was tracked.</p>")
    parts.append(f"<h2>Alerts ({len(alerts)})</h2>")
    parts.append(_table(["id", "time", "rule", "severity", "status", "camera", "subject", "snapshot"],
                        [[a["id"], f"{a['ts'] - t0:+.1f} s", a["rule"], a["severity"], a["status"], a["camera"], a["subject"],
                          _img(a.get("snapshot"))] for a in alerts]) if alerts else "<p>No alerts.</p>")
    parts.append("<h2>Per-stage timings</h2>")
    parts.append(_table(["stage", "batches", "busy seconds", "ms per batch", "messages", "ms per message"],
                        [[name, t["batches"], f"{t['seconds']:.2f}", f"{t['ms_per_batch']:.1f}", t["messages"],
                          f"{t['ms_per_message']:.1f}"] for name, t in timings.items()]))
    parts.append(f"<p>Wall time {run['wall_s']:.1f} s; {run['frames']} frames analysed at {run['fps']:.1f} frames/s.</p>")
    if recorder.dead_letters:
        parts.append(f"<h2>Dead letters ({len(recorder.dead_letters)})</h2>")
        parts.append(_table(["stage", "topic", "error"], [[d["stage"], d["topic"], d["error"]] for d in recorder.dead_letters]))
    data = json.dumps({"alerts": [a["id"] for a in alerts], "persons": sorted(recorder.persons)}).replace("</", "<\\/")
    parts.append(f'<script type="application/json" id="vidsentry-data">{data}</script>')
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>vidsentry report</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#eee}img{max-width:100%}"
            "td img{height:48px}</style></head><body>" + "\n".join(parts) + "</body></html>\n")
    path.write_text(page)


def _dominant(readings: list[tuple[float, list[float]]]) -> str:
    if not readings:
        return "-"
    totals = [sum(p[i] for _, p in readings) for i in range(len(EMOTION_LABELS))]
    return EMOTION_LABELS[max(range(len(totals)), key=totals.__getitem__)]


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if str(c).startswith('<') else html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _link(target: str | None) -> str:
    return f'<a href="{html.escape(target)}">{html.escape(target)}</a>' if target else "-"


def _img(target: str | None) -> str:
    return f'<a href="{html.escape(target)}"><img alt="snapshot" src="{html.escape(target)}"></a>' if target else "-"
