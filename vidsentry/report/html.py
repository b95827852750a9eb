"""report.html: one self-contained page (plots embedded as PNG) that opens without a server.

The page is a Jinja2 template rendered with autoescape on: names, camera ids, rule names,
sources and errors are data and can never become markup. Links and images only point at
relative files of the run (or the PNG data URLs made here); anything else is shown as text.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
import matplotlib

from schemas import ACTION_LABELS, EMOTION_LABELS
from vidsentry.plots import figure
from vidsentry.redact import redact_text, redact_url
from vidsentry.report.photos import pending_reason, photo_rows
from vidsentry.report.recorder import Recorder

EMOTION_COLOURS = ["#d62728", "#8c564b", "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e", "#7f7f7f"]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def emotion_plot(person: str, readings: list[tuple[float, list[float]]], t0: float) -> str:
    fig = figure(8, 2.6)
    ax = fig.add_subplot()
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
    fig = figure(8, 0.5 + 0.45 * max(1, len(people)))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["tab10"]
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


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    href: str


@dataclass(frozen=True)
class Plot:
    src: str
    alt: str = ""


_PNG_DATA_URL = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/]*={0,2}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("vidsentry.report", "templates"), autoescape=True,
                                  undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_ENVIRONMENT.tests["link"] = lambda value: isinstance(value, Link)
_ENVIRONMENT.tests["image"] = lambda value: isinstance(value, Image)


def safe_href(target: str | None) -> str | None:
    """``target`` as a link to a file of the run folder, or None when it is anything else: a
    URL of any scheme (``javascript:``, ``data:``, ``http:``...), an absolute or protocol-relative
    path, or text with control characters (browsers drop those inside a scheme name)."""
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target) or target != target.strip():
        return None
    if _SCHEME.match(target) or target.startswith("/") or "\\" in target:
        return None
    return quote(target, safe="/._-~")


def write_report(path: Path, recorder: Recorder, alerts: list[dict], timings: dict[str, dict], run: dict,
                 videos: dict[str, str]) -> None:
    """``timings``: per stage {batches, seconds, ms_per_batch}; ``run``: sources, frames, duration..."""
    path.write_text(render_report(recorder, alerts, timings, run, videos))


def render_report(recorder: Recorder, alerts: list[dict], timings: dict[str, dict], run: dict,
                  videos: dict[str, str]) -> str:
    all_times = [m.ts for frames in recorder.marks.values() for m in frames.values()]
    t0 = min(all_times, default=0.0)
    emotions = recorder.emotions_by_person()
    persons = []
    for person_id, state in sorted(recorder.persons.items(), key=lambda kv: kv[1].get("first_seen", 0)):
        actions = ", ".join(dict.fromkeys(a for _, a in recorder.action_history.get(person_id, []))) or "-"
        identity = state.get("name") or (state.get("identity") if state.get("face_tracks") else "no face seen")
        if identity == "pending" and (reason := pending_reason(recorder, state)):
            identity = f"pending ({reason})"
        persons.append([person_id, identity, ", ".join(state.get("cameras", [])),
                        f"{state['last_seen'] - state['first_seen']:.1f} s", _dominant(emotions.get(person_id, [])), actions])
    histories = {person: spans for person, spans in recorder.action_history.items() if spans}
    action = None
    if histories:
        ends = {person: state["last_seen"] for person, state in recorder.persons.items()}
        action = _plot(action_plot(histories, t0, ends))
    context = {
        "summary": redact_text(run.get("summary", "")),
        "sources": [[redact_url(str(s["source"])), s["camera"], s["frames"], _link(videos.get(s["camera"]))]
                    for s in run["sources"]],
        "persons": persons,
        "photos": photo_rows(recorder, run.get("photos", {})),
        "emotion_plots": [_plot(emotion_plot(p, r, t0), p) for p, r in emotions.items() if len(r) >= 2],
        "action_plot": action,
        "alerts": [[a["id"], f"{a['ts'] - t0:+.1f} s", a["rule"], a["severity"], a["status"], a["camera"], a["subject"],
                    _image(a.get("snapshot"))] for a in alerts],
        "timings": [[name, t["batches"], f"{t['seconds']:.2f}", f"{t['ms_per_batch']:.1f}", t["messages"],
                     f"{t['ms_per_message']:.1f}"] for name, t in timings.items()],
        "wall_s": run["wall_s"], "frames": run["frames"], "fps": run["fps"],
        "dead_letters": [[d["stage"], d["topic"], redact_text(str(d["error"]))] for d in recorder.dead_letters],
        "data": {"alerts": [a["id"] for a in alerts], "persons": sorted(recorder.persons)},
    }
    return _ENVIRONMENT.get_template("report.html.j2").render(context)


def _dominant(readings: list[tuple[float, list[float]]]) -> str:
    if not readings:
        return "-"
    totals = [sum(p[i] for _, p in readings) for i in range(len(EMOTION_LABELS))]
    return EMOTION_LABELS[max(range(len(totals)), key=totals.__getitem__)]


def _plot(src: str, alt: str = "") -> Plot:
    if not _PNG_DATA_URL.match(src):
        raise ValueError("a report plot must be a PNG data URL")
    return Plot(src, alt)


def _link(target: str | None) -> Link | str:
    href = safe_href(target)
    return Link(href, target) if href else (target or "-")


def _image(target: str | None) -> Image | str:
    href = safe_href(target)
    return Image(href, "snapshot", href) if href else (target or "-")
