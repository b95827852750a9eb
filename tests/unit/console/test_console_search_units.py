"""The console's search store and person page without a server: retention on an injected clock,
filters, tolerance of odd event states, time parsing, and the person page's charts."""

from __future__ import annotations

import base64

import pytest

from schemas import EventMsg
from vidsentry.console.person import person_view
from vidsentry.console.search import SearchError, SearchIndexer, SearchQuery, SearchStore, parse_time

HAPPY, SAD = [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.1, 0.8, 0.0, 0.1]


def ev(person: str, ts: float, **state: object) -> EventMsg:
    return EventMsg(f"{person}@{ts:.3f}", person, str(state.pop("camera", "door")), ts, state)


def test_retention_follows_the_clock_and_ids_are_kept_once():
    now = [10_000.0]
    store = SearchStore(":memory:", retention_s=3600, clock=lambda: now[0])
    assert store.add([ev("a", 9_000.0, name="Ann"), ev("a", 9_000.0, name="Ann"), ev("b", 5_000.0)]) == 2
    assert [e["person_id"] for e in store.search(SearchQuery())] == ["a"], "past the retention: deleted on arrival"
    now[0] = 9_000.0 + 3601
    store.add([ev("c", now[0])])
    assert [e["person_id"] for e in store.search(SearchQuery())] == ["c"]


def test_odd_event_states_are_kept_without_their_odd_fields():
    store = SearchStore(":memory:", retention_s=3600, clock=lambda: 1_000.0)
    SearchIndexer(store).process([ev("a", 999.0, name=7, emotion_probs=["x"], face_tracks="t1", action="walking")])
    [row] = store.search(SearchQuery(action="walking"))
    assert (row["name"], row["emotion_probs"], row["face_tracks"]) == (None, None, [])


def test_person_matches_id_or_part_of_a_name_and_wildcards_are_text():
    store = SearchStore(":memory:", retention_s=3600, clock=lambda: 1_000.0)
    store.add([ev("p1", 990.0, name="Ann Lee"), ev("p2", 991.0, name="100%_real"), ev("p3", 992.0)])
    assert [e["person_id"] for e in store.search(SearchQuery(person="lee"))] == ["p1"]
    assert [e["person_id"] for e in store.search(SearchQuery(person="p3"))] == ["p3"]
    assert [e["person_id"] for e in store.search(SearchQuery(person="%_"))] == ["p2"]
    assert store.choices() == {"camera": ["door"], "emotion": [], "action": []}


def test_times_and_limits_are_checked():
    assert parse_time("2026-12-02T10:30", "since") == parse_time("1796207400", "since") == 1796207400.0
    for bad in ("yesterday", "nan", "2026-13-01"):
        with pytest.raises(SearchError, match="since"):
            parse_time(bad, "since")
    with pytest.raises(SearchError, match="before"):
        SearchQuery.from_query({"since": "2000", "until": "1000"})
    with pytest.raises(SearchError, match="limit"):
        SearchQuery.from_query({"limit": "0"})
    assert SearchQuery.from_query({"since": "1000", "camera": " "}).as_form()["since"] == "1970-01-01T00:16:40"


def test_person_view_draws_both_charts_from_the_events():
    rows = [{"ts": 100.0 + i, "name": "Ann" if i else None, "identity": "known", "camera": cam, "emotion_probs": probs,
             "action": action} for i, (cam, probs, action) in
            enumerate([("door", HAPPY, "walking"), ("door", SAD, "walking"), ("yard", SAD, "sitting")])]
    view = person_view("p1", rows)
    assert (view["who"], view["cameras"], view["events"]) == ("Ann", ["door", "yard"], 3)
    for chart in (view["emotion_plot"], view["action_plot"]):
        assert base64.b64decode(chart.removeprefix("data:image/png;base64,"))[:4] == b"\x89PNG"
    empty = person_view("p9", [])
    assert (empty["emotion_plot"], empty["action_plot"], empty["who"]) == (None, None, "p9")
