"""The outputs of ``vidsentry evaluate identity``: report.json, probes.csv, roc.csv, roc.png
and the text summary printed on the terminal."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from vidsentry.plots import figure
from workers.face.evaluate import OUTCOMES, Enrolment, ProbeResult, Rates

REPORT_FILE = "report.json"
PROBES_FILE = "probes.csv"
ROC_TABLE = "roc.csv"
ROC_PLOT = "roc.png"


def write_outputs(out: Path, summary: dict, rates: Rates, enrolments: list[Enrolment], results: list[ProbeResult],
                  points: list[dict]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / REPORT_FILE, "probes": out / PROBES_FILE, "roc table": out / ROC_TABLE,
             "roc plot": out / ROC_PLOT}
    paths["report"].write_text(json.dumps({**summary, "rates": asdict(rates),
                                           "enrolment": [asdict(e) for e in enrolments], "roc": points}, indent=2) + "\n")
    with paths["probes"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(results[0]).keys()) if results else ["photo"])
        writer.writeheader()
        writer.writerows(asdict(r) for r in results)
    with paths["roc table"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["threshold", "tar", "far", "wrong"])
        writer.writeheader()
        writer.writerows(points)
    plot_roc(points, summary["config"]["match_threshold"], summary["data"], paths["roc plot"])
    return paths


def plot_roc(points: list[dict], threshold: float, title: str, path: Path) -> None:
    """TAR against FAR as the match threshold is swept; the configured threshold marked."""
    usable = [p for p in points if p["tar"] is not None and p["far"] is not None]
    fig = figure(6.4, 4.8)
    axes = fig.add_subplot()
    if usable:
        axes.plot([p["far"] for p in usable], [p["tar"] for p in usable], marker=".", label="one good sample")
        for p in usable[::5]:
            axes.annotate(f"{p['threshold']:.2f}", (p["far"], p["tar"]), fontsize=7, xytext=(3, -9),
                          textcoords="offset points")
        chosen = min(usable, key=lambda p: abs(p["threshold"] - threshold))
        axes.plot([chosen["far"]], [chosen["tar"]], "o", color="red", label=f"configured threshold {threshold:.2f}")
    axes.axvline(0.01, color="grey", linestyle=":", linewidth=1, label="FAR 1%")
    axes.set_xlabel("strangers named (FAR)")
    axes.set_ylabel("enrolled people named correctly (TAR)")
    axes.set_xlim(-0.02, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.set_title(f"Identity ROC: {Path(title).name}", fontsize=9)
    axes.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def format_summary(summary: dict, rates: Rates, enrolments: list[Enrolment], points: list[dict]) -> str:
    config = summary["config"]
    lines = [f"data: {summary['data']} ({summary['layout']}, {summary['mode']})",
             f"config: detector {config['detector']}, match threshold {config['match_threshold']}, margin "
             f"{config['match_margin']}, min identity score {config['min_identity_score']}",
             f"enrolled {sum(e.enrolled > 0 for e in enrolments)} of {len(enrolments)} people from "
             f"{sum(e.enrolled for e in enrolments)} of {sum(e.photos for e in enrolments)} photos"]
    refused = [f"  {e.person}/{r}" for e in enrolments for r in e.refused]
    if refused:
        lines += ["enrolment photos refused:"] + refused[:20] + ([f"  ... {len(refused) - 20} more"] if len(refused) > 20 else [])
    lines += ["",
              f"TAR (enrolled people named correctly): {_ratio(rates.outcomes['enrolled']['named correctly'], rates.enrolled_probes)}",
              f"wrong person (enrolled, named as someone else): {_ratio(rates.outcomes['enrolled']['named as someone else'], rates.enrolled_probes)}",
              f"FAR (strangers named as someone): {_ratio(rates.outcomes['strangers']['named as someone else'], rates.stranger_probes)}",
              f"pending: {rates.pending:.1%} of all probes; no face: {rates.no_face:.1%}", "",
              f"{'outcome':<24}{'enrolled':>10}{'strangers':>11}"]
    lines += [f"{o:<24}{rates.outcomes['enrolled'][o]:>10}{rates.outcomes['strangers'][o]:>11}" for o in OUTCOMES]
    if rates.pending_reasons:
        lines += ["", "pending reasons:"] + [f"  {n:>4}  {reason}" for reason, n in rates.pending_reasons.items()]
    best = [p for p in points if p["far"] is not None and p["far"] <= 0.01 and p["tar"] is not None]
    if best:
        top = max(best, key=lambda p: (p["tar"], -p["threshold"]))
        lines += ["", f"ROC (one good sample, margin {config['match_margin']}): best TAR at FAR <= 1%: "
                      f"{top['tar']:.1%} at threshold {top['threshold']:.2f} (wrong person {top['wrong'] or 0:.1%})"]
    return "\n".join(lines)


def _ratio(count: int, total: int) -> str:
    return f"{count}/{total} = {count / total:.1%}" if total else "no probes"
