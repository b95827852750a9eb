"""RELIABILITY.md from the test results: every test marked
``@pytest.mark.reliability(fault=..., happened=..., lost=...)`` is one row saying which
fault or bad input was tried, what the system did, what was lost, which test shows it and
whether that test passed in this run.

    .venv/bin/python -m pytest -m reliability --reliability-md RELIABILITY.md
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vidsentry.machine import cpu_summary


@dataclass
class Row:
    fault: str
    happened: str
    lost: str
    test: str
    outcome: str = "not run"


_rows: dict[str, Row] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reliability-md", metavar="FILE", default=None,
                     help="write the reliability table (tests marked 'reliability') to FILE")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in item.iter_markers("reliability"):
            missing = {"fault", "happened", "lost"} - set(mark.kwargs)
            if missing:
                raise pytest.UsageError(f"{item.nodeid}: reliability marker lacks {sorted(missing)}")
            _rows[f"{item.nodeid}|{mark.kwargs['fault']}"] = Row(mark.kwargs["fault"], mark.kwargs["happened"],
                                                                 mark.kwargs["lost"], item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for row in _rows.values():
        if row.test != report.nodeid:
            continue
        if report.failed:
            row.outcome = "FAILED"
        elif report.skipped and row.outcome == "not run":
            row.outcome = "skipped"
        elif report.when == "call" and report.passed and row.outcome == "not run":
            row.outcome = "passed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--reliability-md")
    if target and _rows:
        Path(target).write_text(render(list(_rows.values())))


def render(rows: list[Row]) -> str:
    passed = sum(r.outcome == "passed" for r in rows)
    lines = [
        "# Reliability: faults and bad input tried, and what was lost",
        "",
        "Generated from the test results by `.venv/bin/python -m pytest -m reliability --reliability-md RELIABILITY.md`",
        "(`tests/reliability.py`); do not edit by hand. Every row is a test that runs in `.ci/run` against the real",
        "Kafka and Redis the suite starts.",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_summary()} ({platform.python_version()}); "
        f"{passed} of {len(rows)} passed.",
        "",
        "| fault or bad input | what happened | what was lost | test | result |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: r.test):
        cells = [row.fault, row.happened, row.lost, f"`{row.test}`", row.outcome]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
