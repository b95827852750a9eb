import pytest

from aggregator.rules import DEFAULT_RULES, RulesError, load_rules


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

