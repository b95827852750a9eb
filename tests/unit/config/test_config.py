from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidsentry.cli import app
from vidsentry.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[3]


def test_defaults_need_no_file():
    config = load_config(None, {})
    assert config.bus.kind == "memory"
    assert config.bus.kafka.partitions >= 1


def test_yaml_then_environment_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("bus:\n  kind: kafka\n  kafka:\n    bootstrap_servers: 10.0.0.5:9092\n    partitions: 12\n")
    config = load_config(path, {"VIDSENTRY_BUS__KAFKA__PARTITIONS": "3", "VIDSENTRY_REDIS__URL": "redis://127.0.0.1:6399/0"})
    assert config.bus.kind == "kafka"
    assert config.bus.kafka.bootstrap_servers == "10.0.0.5:9092"
    assert config.bus.kafka.partitions == 3
    assert config.redis.url == "redis://127.0.0.1:6399/0"


def test_config_file_from_environment(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("runtime:\n  batch_size: 4\n")
    assert load_config(None, {"VIDSENTRY_CONFIG": str(path)}).runtime.batch_size == 4


def test_out_of_bounds_value_names_key_and_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("bus:\n  kafka:\n    partitions: 0\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, {})
    assert "bus.kafka.partitions" in str(err.value)
    assert str(path) in str(err.value)
    assert "greater than or equal to 1" in str(err.value)


@pytest.mark.reliability(fault='a misspelt configuration key',
                         happened='reported with its path and source, not ignored',
                         lost='nothing (the role does not start)')
def test_misspelt_key_is_reported_not_ignored(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("runtime:\n  batchsize: 4\n")
    with pytest.raises(ConfigError, match=r"runtime.batchsize: unknown key"):
        load_config(path, {})


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="VIDSENTRY_BUS__KIND"):
        load_config(None, {"VIDSENTRY_BUS__KIND": "carrier-pigeon"})


@pytest.mark.reliability(fault='a broken YAML config',
                         happened='a one-line error naming file and line',
                         lost='nothing (the role does not start)')
def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("bus:\n  kind: memory\n  kafka: [unclosed\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:4: not valid YAML"):  # file:line, as the rules and cameras files
        load_config(path, {})


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(path, {})


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml", {})


def test_example_config_is_generated_from_the_models():
    committed = (REPO / "deploy" / "vidsentry.example.yaml").read_text()
    assert committed == CliRunner().invoke(app, ["config", "example"]).output, \
        "regenerate: vidsentry config example > deploy/vidsentry.example.yaml"
    assert load_config(REPO / "deploy" / "vidsentry.example.yaml", {}) == load_config(None, {})


def test_cli_reports_config_errors_in_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("metrics:\n  port: 99999\n")
    result = CliRunner().invoke(app, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    assert "metrics.port" in result.output
    assert "Traceback" not in result.output


def test_the_config_cameras_and_rules_files_share_one_error_format(tmp_path):
    """file:line: key: message, the line being where the bad key is written."""
    from aggregator.rules import RulesError, load_rules
    from vidsentry.config.cameras import load_cameras

    config = tmp_path / "config.yaml"
    config.write_text("bus:\n  kafka:\n    partitions: 0\n")
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text("cameras:\n  - id: a\n    source: x.mp4\n    fps: 0\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: a\n    severity: apocalyptic\n    when: {action: lying}\n")
    with pytest.raises(ConfigError, match=rf"bus\.kafka\.partitions: .* \(from {config}:3\)"):
        load_config(config, {})
    with pytest.raises(ConfigError, match=rf"{cameras}:4: cameras\.0\.fps: "):
        load_cameras(cameras)
    with pytest.raises(RulesError, match=rf"{rules}:3: rules\.0\.severity \(rule a\): "):
        load_rules(rules)
    for path, load, error in [(config, lambda p: load_config(p, {}), ConfigError), (cameras, load_cameras, ConfigError),
                              (rules, load_rules, RulesError)]:
        path.write_text("a: [unclosed\n")
        with pytest.raises(error, match=rf"^{path}:2: not valid YAML: "):
            load(path)
