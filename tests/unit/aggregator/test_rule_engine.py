"""Every rule behaviour on the in-memory store: the aggregator fed generated scenes on a capture
clock (no Redis; tests/integration/aggregator runs the same stage on Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from aggregator import conditions
from aggregator.aggregator import AggregatorStage
from aggregator.conditions import CameraView, Condition, Context, register
from aggregator.config import AggregatorConfig
from aggregator.rules import RulesError, RuleSet, load_rules
from aggregator.state import Incident, MemoryStore
from tests.scenario import DEFAULT_RULE_SCENARIOS, T0, Scene, body, emotion, face
from vidsentry.config.cameras import Zone

FIGHTING = dict(bodies=[body("b1", "fighting"), body("b2", "fighting", box=(380, 90, 460, 400))], faces=None)
CALM = dict(bodies=[body("b1", "standing"), body("b2", "standing", box=(380, 90, 460, 400))], faces=None)


def make(rules: RuleSet | None = None, store: MemoryStore | None = None, zones=None) -> AggregatorStage:
    return AggregatorStage(rules or load_rules(), store or MemoryStore(), [], AggregatorConfig(), zones=zones)


def rules_file(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return load_rules(path)


def feed(stage: AggregatorStage, scene: Scene | list, batch: int = 1) -> list[dict]:
    """Rules are evaluated once per batch, at its latest capture time: batches of one give exact timings."""
    messages = scene.messages if isinstance(scene, Scene) else scene
    for i in range(0, len(messages), batch):
        stage.process(messages[i:i + batch])
    messages.clear()
    return [a.to_json() for a in stage.alerts_emitted]


def of(alerts: list[dict], rule: str, status: str | None = None) -> list[dict]:
    return [a for a in alerts if a["rule"] == rule and (status is None or a["status"] == status)]


@pytest.mark.parametrize("rule", list(DEFAULT_RULE_SCENARIOS))
def test_each_default_rule_fires_once_on_its_scenario(rule):
    positive, seconds, _, _ = DEFAULT_RULE_SCENARIOS[rule]
    scene = Scene()
    scene.run(seconds, **positive)
    assert len(of(feed(make(), scene, batch=7), rule, "raised")) == 1


@pytest.mark.parametrize("rule", list(DEFAULT_RULE_SCENARIOS))
def test_each_default_rule_stays_quiet_on_its_near_miss(rule):
    _, _, negative, seconds = DEFAULT_RULE_SCENARIOS[rule]
    scene = Scene()
    scene.run(seconds, **negative)
    assert of(feed(make(), scene, batch=7), rule) == []


def test_for_s_needs_the_conditions_unbroken():
    stage, scene = make(), Scene()
    scene.run(8, **FIGHTING)  # fight: for_s 1, cooldown 60
    alerts = of(feed(stage, scene), "fight")
    assert alerts[0]["status"] == "raised" and alerts[0]["ts"] == pytest.approx(T0 + 1.0)

    stage, scene = make(), Scene()
    for start in range(0, 10, 2):  # 0.8 s of fighting, then 1.2 s calm: never a whole second
        scene.run(0.8, start=start, **FIGHTING)
        scene.run(1.2, start=start + 0.8, **CALM)
    assert of(feed(stage, scene), "fight") == []


def test_an_incident_ends_after_the_grace_then_cools_down():
    stage, scene = make(), Scene()
    scene.run(10, **FIGHTING)
    scene.run(1.4, start=10, **CALM)  # shorter than end_grace_s (2 s): the incident goes on
    scene.run(2, start=11.4, **FIGHTING)
    scene.run(6, start=13.4, **CALM)
    scene.run(3, start=19.4, **FIGHTING)  # 60 s cooldown: suppressed
    scene.run(6, start=22.4, **CALM)
    scene.run(3, start=90, **FIGHTING)
    alerts = of(feed(stage, scene), "fight")
    assert [a["status"] for a in alerts] == ["raised", "ended", "raised"]
    assert alerts[0]["id"] == alerts[1]["id"] != alerts[2]["id"]
    assert alerts[1]["ts"] == pytest.approx(T0 + 15.4), "ended 2 s after the fight stopped at 13.4 s"
    assert alerts[2]["ts"] >= T0 + 90
    assert stage.tracker.incidents["fight:camera:cam-1"].status == "raised"


def test_a_lasting_incident_escalates_once_and_one_step():
    stage, scene = make(), Scene()
    scene.run(60, bodies=[body("b1", "lying")], faces=None)  # person-down: for_s 10, escalate_after_s 30
    down = of(feed(stage, scene), "person-down")
    assert [(a["status"], a["severity"]) for a in down] == [("raised", "high"), ("escalated", "critical")]
    assert down[1]["ts"] - down[0]["ts"] == pytest.approx(30.0)


def test_escalation_stops_at_critical(tmp_path):
    rules = rules_file(tmp_path, "rules:\n  - name: down\n    severity: critical\n    when: {action: lying}\n"
                                 "    escalate_after_s: 2\n")
    stage, scene = make(rules), Scene()
    scene.run(10, bodies=[body("b1", "lying")], faces=None)
    assert [(a["status"], a["severity"]) for a in feed(stage, scene)] == [("raised", "critical"), ("escalated", "critical")]


def test_dwell_counts_from_coming_into_view():
    stage, scene = make(), Scene()
    scene.run(59.8, faces=[face("f1")], bodies=None)  # unknown-loitering: dwell_s 60
    assert of(feed(stage, scene), "unknown-loitering") == []
    scene.run(1, start=59.8, faces=[face("f1")], bodies=None)
    (alert,) = of(feed(stage, scene), "unknown-loitering")
    assert alert["ts"] == pytest.approx(T0 + 60.0)


def test_leaving_view_restarts_the_dwell_clock():
    stage, scene = make(), Scene()
    scene.run(40, faces=[face("f1")], bodies=None)
    scene.run(40, start=50, faces=[face("f1")], bodies=None)  # gone 10 s (> regain_s): in view again from 50 s
    assert of(feed(stage, scene), "unknown-loitering") == []


def test_dwell_in_a_zone_counts_from_entering_it(tmp_path):
    rules = rules_file(tmp_path, "rules:\n  - name: at-door\n    when: {zone: door, dwell_s: 5}\n")
    door = Zone(name="door", polygon=[(0.4, 0.5), (0.6, 0.5), (0.6, 1.0), (0.4, 1.0)])
    stage, scene = make(rules, zones={"cam-1": [door]}), Scene()
    inside, outside = dict(bodies=[body("b1", "standing")], faces=None), dict(bodies=[body("b1", "standing", box=(20, 90, 100, 400))], faces=None)
    scene.run(4, **inside)
    scene.run(4, start=4, **outside)
    scene.run(6, start=8, **inside)
    (alert,) = of(feed(stage, scene), "at-door", "raised")
    assert alert["ts"] == pytest.approx(T0 + 13.0), "5 s after coming back into the zone at 8 s"
    assert alert["person"]["zones"] == {"door": pytest.approx(T0 + 8.0)}


def crowd(n: int, label: str = "angry") -> dict:
    return dict(faces=[face(f"f{i}", box=(100 * i, 50, 100 * i + 40, 100)) for i in range(n)], bodies=None,
                emotions=[emotion(f"f{i}", label, 0.9) for i in range(n)])


@pytest.mark.parametrize("people, fires", [(3, False), (4, True)])
def test_crowd_size(tmp_path, people, fires):
    rules = rules_file(tmp_path, "rules:\n  - name: crowd\n    scope: camera\n    when: {crowd_min: 4}\n")
    stage, scene = make(rules), Scene()
    scene.run(2, **crowd(people, "happy"))
    alerts = of(feed(stage, scene), "crowd", "raised")
    assert len(alerts) == fires
    if fires:
        assert alerts[0]["subject"] == "camera:cam-1" and alerts[0]["evidence"]["in_view"] == 4


def test_crowd_mood_is_the_share_of_negative_faces(tmp_path):
    rules = rules_file(tmp_path, "rules:\n  - name: mood\n    scope: camera\n    when: {negative_share: 0.5}\n")
    half = crowd(4)
    half["emotions"] = [emotion(f"f{i}", "fear" if i < 2 else "happy", 0.9) for i in range(4)]
    quarter = crowd(4)
    quarter["emotions"] = [emotion(f"f{i}", "disgust" if i < 1 else "neutral", 0.9) for i in range(4)]
    stage, scene = make(rules), Scene()
    scene.run(2, **quarter)
    assert of(feed(stage, scene), "mood") == []
    stage, scene = make(rules), Scene()
    scene.run(2, **half)
    (alert,) = of(feed(stage, scene), "mood")
    assert alert["evidence"]["negative_share"] == 0.5


def test_one_camera_incident_for_many_people_doing_it():
    stage, scene = make(), Scene()
    scene.run(3, bodies=[body(f"b{i}", "fighting", box=(100 * i, 90, 100 * i + 80, 400)) for i in range(3)], faces=None)
    (alert,) = of(feed(stage, scene), "fight")
    assert len(alert["evidence"]["persons"]) == 3


def test_watchlist_names_only_the_listed_person():
    stage, scene = make(load_rules().model_copy(update={"watchlist": ["Mallory"]})), Scene()
    scene.run(1, faces=[face("f1", "known", "Mallory"), face("f2", "known", "Bob", box=(10, 10, 50, 60))], bodies=None)
    assert [a["subject"] for a in of(feed(stage, scene), "watchlist")] == ["p-mallory"]


def test_emotion_needs_its_probability(tmp_path):
    rules = rules_file(tmp_path, "rules:\n  - name: sad\n    when: {emotion: sad, min_prob: 0.7}\n")
    stage, scene = make(rules), Scene()
    scene.run(3, faces=[face("f1")], bodies=None, emotions=[emotion("f1", "sad", 0.6)])
    assert of(feed(stage, scene), "sad") == []
    scene.run(3, start=3, faces=[face("f1")], bodies=None, emotions=[emotion("f1", "sad", 0.95)])
    assert len(of(feed(stage, scene), "sad", "raised")) == 1


def test_rules_apply_only_on_their_cameras_and_hours(tmp_path):
    rules = rules_file(tmp_path, "timezone: Europe/Paris\nrules:\n  - name: night-door\n    when: {action: falling}\n"
                                 "    cameras: [door]\n    active: [{start: '22:00', end: '06:00'}]\n")
    stage = make(rules)
    yard, door = Scene("yard"), Scene("door")
    yard.run(1, start=23 * 3600, bodies=[body("b1", "falling")], faces=None)
    door.run(1, start=12 * 3600, bodies=[body("b1", "falling")], faces=None)
    assert feed(stage, yard) + feed(stage, door) == [], "the yard, and 13:00 in Paris"
    door.run(1, start=23 * 3600, bodies=[body("b2", "falling")], faces=None)
    assert [a["camera"] for a in feed(stage, door)] == ["door"]


def test_a_person_who_leaves_ends_their_incident():
    stage, scene = make(), Scene()
    scene.run(2, bodies=[body("b1", "falling")], faces=None)  # fall: no for_s
    other = Scene(seq=1000)
    other.run(10, start=2, bodies=[body("b9", "walking", box=(10, 90, 90, 400))], faces=None)  # keeps the camera busy
    scene.messages += other.messages
    fall = of(feed(stage, scene), "fall")
    assert [a["status"] for a in fall] == ["raised", "ended"]
    assert fall[1]["person"]["identity"] == "gone"


def test_a_restart_on_the_same_store_neither_forgets_nor_raises_again():
    store, scene = MemoryStore(), Scene()
    scene.run(45, faces=[face("f1")], bodies=[body("b1", "lying")])  # raised at 10 s, escalated at 40 s
    half = len(scene.messages) // 2
    first = make(store=store)
    assert len(of(feed(first, scene.messages[:half], batch=7), "person-down", "raised")) == 1
    incident = store.load_incidents()["person-down:anon-f1"]
    assert isinstance(incident, Incident) and (incident.status, incident.severity) == ("raised", "high")

    restarted = make(store=store)
    assert restarted.tracker.incidents["person-down:anon-f1"] == incident
    assert of(feed(restarted, scene, batch=7), "person-down", "raised") == []
    assert [a.status for a in restarted.alerts_emitted] == ["escalated"], "the restored incident goes on"
    assert store.load_incidents()["person-down:anon-f1"].status == "escalated"


# A new kind of condition: one class and one registration.

@pytest.fixture
def registry():
    saved = dict(conditions.REGISTRY)
    yield conditions.REGISTRY
    conditions.REGISTRY.clear()
    conditions.REGISTRY.update(saved)


TOY_RULES = "rules:\n  - name: wanderer\n    when: {seen_on_cameras: 2, identity: known}\n"


def test_a_new_condition_is_one_registered_class(tmp_path, registry):
    with pytest.raises(RulesError, match=r":3: rules.0.when.seen_on_cameras \(rule wanderer\): unknown key"):
        rules_file(tmp_path, TOY_RULES)

    @register
    class SeenOnCameras(Condition):
        key = "seen_on_cameras"
        scopes = frozenset({"person"})
        seen_on_cameras: int = Field(ge=2, description="Seen on at least this many cameras.")

        def holds(self, subject, context: Context) -> bool:
            return len(subject.cameras) >= self.seen_on_cameras

    rules = rules_file(tmp_path, TOY_RULES)
    assert [type(c).__name__ for c in rules.rules[0].when] == ["Identity", "SeenOnCameras"]
    stage = make(rules)
    lobby, yard = Scene("lobby"), Scene("yard", seq=100)
    lobby.run(1, faces=[face("f1", "known", "Ann"), face("f2", "known", "Bob", box=(10, 10, 50, 60))], bodies=None)
    assert feed(stage, lobby) == []
    yard.run(1, start=30, faces=[face("x7", "known", "Ann")], bodies=None)
    assert [(a["subject"], a["camera"]) for a in feed(stage, yard)] == [("p-ann", "yard")]

    with pytest.raises(RulesError, match="Input should be greater than or equal to 2"):
        rules_file(tmp_path, TOY_RULES.replace("seen_on_cameras: 2", "seen_on_cameras: 1"))
    with pytest.raises(RulesError, match="seen_on_cameras need scope: person"):
        rules_file(tmp_path, "rules:\n  - name: w\n    scope: camera\n    when: {seen_on_cameras: 2}\n")


def test_registration_refuses_a_clash_or_a_missing_key(registry):
    class Other(Condition):
        key = "action"
        scopes = frozenset({"person"})
        action: str

    with pytest.raises(TypeError, match="already registered"):
        register(Other)

    class Keyless(Condition):
        key = "nothing"
        scopes = frozenset({"camera"})
        something: int

    with pytest.raises(TypeError, match="must name one of its fields"):
        register(Keyless)


def test_camera_conditions_see_everyone_in_view():
    view = CameraView("cam-1", [])
    context = Context(T0)
    action = conditions.Action(action="fighting")
    assert action.holds(view, context) is False
    assert conditions.CrowdMin(crowd_min=1).holds(view, context) is False
    assert conditions.NegativeShare(negative_share=0.1).holds(view, context) is False
