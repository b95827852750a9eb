import random

import pytest

from vidsentry.backoff import Backoff


def test_doubles_up_to_the_cap_and_starts_over_after_a_reset():
    backoff = Backoff(0.5, 5.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.attempts == 6
    backoff.reset()
    assert backoff.peek() == 0.5 and backoff.next() == 0.5


def test_without_a_cap_it_keeps_doubling():
    backoff = Backoff(0.5)
    assert [backoff.next() for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    for _ in range(200):  # no overflow however long the outage
        backoff.next()
    assert backoff.peek() > 1e18


def test_jitter_stays_within_its_band_around_the_schedule():
    backoff = Backoff(0.2, 10.0, jitter=0.2, rng=random.Random(7))
    waits = [backoff.next() for _ in range(12)]
    schedule = [min(10.0, 0.2 * 2 ** i) for i in range(12)]
    assert all(0.8 * s <= w <= 1.2 * s for w, s in zip(waits, schedule))
    assert waits != schedule


@pytest.mark.parametrize("args", [(0.0, 1.0), (2.0, 1.0), (1.0, 2.0, 1.0)])
def test_bad_settings_are_refused(args):
    with pytest.raises(ValueError):
        Backoff(*args)
