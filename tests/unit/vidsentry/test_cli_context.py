"""Every command module reads the configuration through one context: `vidsentry --config FILE` reaches
the stage packages' commands too, and a bad file ends each of them with the same error exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidsentry.cli import app

runner = CliRunner()


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  no_such_key: 1\n")
    return path


@pytest.mark.parametrize("command", [
    ["config", "check"],
    ["evaluate", "emotion", "{data}", "bundled", "--out", "{tmp}/eval"],
    ["evaluate", "identity", "{data}", "--out", "{tmp}/identity"],
    ["evaluate", "action", "--photos", "{data}"],
    ["gallery", "list", "--store", "{tmp}/gallery.json"],
    ["persons"],
    ["alerts", "tail", "--no-follow"],
], ids=lambda c: " ".join(a for a in c if not a.startswith("{") and not a.startswith("--"))[:40])
def test_every_command_module_reads_the_config_given_with_dash_dash_config(command, bad_config, tmp_path, monkeypatch):
    """`evaluate emotion` used to load the config without the path and so ignored --config."""
    monkeypatch.delenv("VIDSENTRY_CONFIG", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    args = [a.format(data=data, tmp=tmp_path) for a in command]
    result = runner.invoke(app, ["--config", str(bad_config), *args])
    assert result.exit_code == 2, result.output
    assert "error: invalid configuration:" in result.output
    assert "models.no_such_key: unknown key (check the spelling)" in result.output
    assert f"(from {bad_config}:2)" in result.output


def test_the_stage_commands_do_not_import_the_cli():
    """aggregator.commands imported vidsentry.cli, which imports it back (a cycle)."""
    import ast

    repo = Path(__file__).resolve().parents[3]
    for path in [*repo.glob("workers/*/commands.py"), *repo.glob("workers/*/*_command*.py"), repo / "aggregator/commands.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "vidsentry.cli", path
            elif isinstance(node, ast.Import):
                assert all(alias.name != "vidsentry.cli" for alias in node.names), path
