"""What `vidsentry run` and `vidsentry producer` say about a source they cannot take:
an unknown URL scheme is named (not "no such video file (foo:/...)"), and so is a bad
--blur-faces mode."""

from __future__ import annotations

from typer.testing import CliRunner

from vidsentry.cli import app

SUPPORTED = "(supported: rtsp, rtsps, rtmp, http, https, udp, tcp)"


def test_run_on_an_unknown_scheme_names_the_scheme(tmp_path):
    result = CliRunner().invoke(app, ["run", "foo://x", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"unsupported source scheme 'foo' {SUPPORTED}" in result.output
    assert "no such video file" not in result.output and not (tmp_path / "out").exists()


def test_producer_on_an_unknown_scheme_names_the_scheme():
    result = CliRunner().invoke(app, ["producer", "--source", "foo://x", "--camera-id", "cam"])
    assert result.exit_code == 2
    assert f"--source: unsupported source scheme 'foo' {SUPPORTED}" in result.output


def test_blur_faces_takes_a_mode(tmp_path):
    result = CliRunner().invoke(app, ["run", "clip.mp4", "--blur-faces", "strangers", "--out", str(tmp_path / "out")])
    text = " ".join(result.output.replace("│", " ").split())  # the usage error is drawn in a wrapped box
    assert result.exit_code == 2 and "--blur-faces" in text
    assert "'strangers' is not one of 'none', 'all', 'unknown'" in text
