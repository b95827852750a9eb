import pytest

from aggregator.conditions import KnownCameras
from aggregator.role import build_aggregator
from aggregator.rules import DEFAULT_RULES, RulesError, RuleSet, load_rules
from vidsentry.config import Config


def test_default_rules_load():
    rules = load_rules()
    assert {r.name for r in rules.rules} >= {"fight", "fall", "person-down", "unknown-loitering", "watchlist",
                                              "sustained-anger", "angry-crowd"}
    assert load_rules(DEFAULT_RULES) == rules


@pytest.mark.parametrize("text, expected", [
    ("rules:\n  - name: fight\n    when: {action: punching}\n", ":3: rules.0.when.action (rule fight): Value error, unknown action 'punching'"),
    ("rules:\n  - name: x\n    when:\n      identity: unknown\n      dwel_s: 3\n", ":5: rules.0.when.dwel_s (rule x): unknown key"),
    ("rules:\n  - name: x\n    severity: apocalyptic\n    when: {action: lying}\n", ":3: rules.0.severity (rule x)"),
    ("rules:\n  - name: crowd\n    when: {crowd_min: 3}\n", "need scope: camera"),
    ("rules:\n  - name: a\n    when: {action: lying}\n  - name: a\n    when: {action: lying}\n", "unique: a"),
    ("timezone: Mars/Olympus\nrules:\n  - name: a\n    when: {action: lying}\n", ":1: timezone"),
    ("rules:\n  - name: a\n    when: {}\n", "at least one condition"),
    ("rules:\n  - name: a\n    when: {action: lying\n", "not valid YAML"),
    ("rules:\n  - name: a\n    when: {action: lying}\n    active: [{start: '25:00', end: '06:00'}]\n", ":4: rules.0.active.0.start"),
])
def test_malformed_rules_name_the_line_rule_and_key(tmp_path, text, expected):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)



CAMERAS = KnownCameras(frozenset({"entrance", "yard"}), {"entrance": frozenset({"door"}), "yard": frozenset()},
                       "cameras file cams.yaml")


@pytest.mark.parametrize("text, known, expected", [
    ("rules:\n  - name: a\n    when: {action: lying}\n    cameras: [entrance, lobby]\n", CAMERAS,
     ":4: rules.0.cameras.1 (rule a): Value error, unknown camera 'lobby'; cameras in cameras file cams.yaml: entrance, yard"),
    ("rules:\n  - name: a\n    when: {zone: dor}\n", CAMERAS,
     ":3: rules.0.when.zone (rule a): Value error, unknown zone 'dor': no zone of that name on any camera in cameras file"),
    ("rules:\n  - name: a\n    when:\n      zone: door\n      dwell_s: 5\n    cameras: [yard]\n", CAMERAS,
     ":4: rules.0.when.zone (rule a): Value error, unknown zone 'door': no zone of that name on cameras yard"),
    ("rules:\n  - name: a\n    when: {zone: door}\n", KnownCameras(ids=None),
     "zones are defined in the cameras file, and there is no cameras file"),
    ("rules:\n  - name: a\n    when: {action: lying}\n    cameras: ['front door']\n", None,
     ":4: rules.0.cameras.0 (rule a): Value error, 'front door' cannot be a camera id"),
    ("watchlist:\n  - Ann\n  - Eve  Smith\n  - '<b>Bob</b>'\nrules:\n  - name: a\n    when: {identity: watchlist}\n", None,
     ":3: watchlist.1: Value error, the gallery holds this name as 'Eve Smith'"),
    ("watchlist:\n  - Ann\n  - '<b>Bob</b>'\nrules:\n  - name: a\n    when: {identity: watchlist}\n", None,
     ":3: watchlist.1: Value error, invalid person name '<b>Bob</b>'"),
    ("watchlist: [Ann, Ann]\nrules:\n  - name: a\n    when: {identity: watchlist}\n", None, "watchlist names must be unique: Ann"),
    ("rules:\n  - name: a\n    when: {identity: known, min_prob: 0.9}\n", None, ":3: rules.0.when.min_prob (rule a): min_prob goes with emotion"),
    ("rules:\n  - name: a\n    scope: camera\n    when: {action: fighting, zone: door}\n", None, "zone need scope: person"),
    ("rules:\n  - name: a\n    when: [action]\n", None, ":3: rules.0.when (rule a): expected a mapping of conditions"),
])
def test_rules_naming_what_does_not_exist_are_refused(tmp_path, text, known, expected):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as err:
        load_rules(path, known)
    assert expected in str(err.value)


def test_cameras_and_zones_that_exist_load(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("watchlist: [Ann, José María]\nrules:\n  - name: a\n    when: {zone: door, dwell_s: 5}\n"
                    "    cameras: [entrance]\n  - name: b\n    when: {zone: door}\n")
    rules = load_rules(path, CAMERAS)
    assert [c.key for c in rules.rules[0].when] == ["zone", "dwell_s"] and rules.rules[0].cameras == ["entrance"]
    assert load_rules(path) == rules, "without cameras to check against, only what the file says is checked"
    assert RuleSet.model_validate(rules.model_dump()) == rules, "a dump is a rules file again"
    assert rules.model_dump()["rules"][0]["when"] == {"zone": "door", "dwell_s": 5.0}


def test_the_role_checks_rules_against_the_cameras_file(tmp_path):
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text("cameras:\n  - id: entrance\n    source: x.mp4\n    zones:\n      - name: door\n"
                       "        polygon: [[0, 0], [1, 0], [1, 1]]\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: a\n    when: {zone: door, dwell_s: 5}\n    cameras: [lobby]\n")
    config = Config.model_validate({"aggregator": {"rules": str(rules), "cameras": str(cameras)}})
    with pytest.raises(RulesError, match=f"unknown camera 'lobby'; cameras in cameras file {cameras}: entrance"):
        build_aggregator(config, alerts_file=tmp_path / "alerts.jsonl")
    rules.write_text("rules:\n  - name: a\n    when: {zone: door, dwell_s: 5}\n    cameras: [entrance]\n")
    stage = build_aggregator(config, alerts_file=tmp_path / "alerts.jsonl")
    try:
        assert [z.name for z in stage.zones["entrance"]] == ["door"]
    finally:
        stage.close()
    with pytest.raises(RulesError, match="unknown camera 'entrance'; cameras in this run's sources"):
        build_aggregator(config, alerts_file=tmp_path / "alerts.jsonl", camera_ids=["clip"])
    config.aggregator.cameras = None
    with pytest.raises(RulesError, match="zones are defined in the cameras file, and there is no cameras file"):
        build_aggregator(config, alerts_file=tmp_path / "alerts.jsonl")
