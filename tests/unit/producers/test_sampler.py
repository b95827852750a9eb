import pytest

from producers.sampler import FpsSampler


@pytest.mark.parametrize("source_fps, target_fps, expected", [(30, 10, 10), (25, 10, 10), (29.97, 5, 5), (10, 10, 10), (8, 10, 8), (60, 7, 7)])
def test_kept_rate_matches_the_target_over_ten_seconds(source_fps, target_fps, expected):
    sampler = FpsSampler(target_fps)
    kept = sum(sampler.keep(i / source_fps) for i in range(int(10 * source_fps)))
    assert abs(kept - 10 * expected) <= 1


def test_jittery_live_source_at_the_target_rate_loses_nothing():
    sampler = FpsSampler(25, live=True)
    arrivals = [i / 25 + (0.012 if i % 2 else -0.012) for i in range(250)]
    assert sum(sampler.keep(t) for t in arrivals) == 250


def test_a_fast_burst_is_sampled_down_to_the_target():
    sampler = FpsSampler(10, live=True)
    one_second_at_1000_fps = [i * 0.001 for i in range(1000)]
    assert 10 <= sum(sampler.keep(t) for t in one_second_at_1000_fps) <= 11


def test_after_a_gap_the_schedule_restarts_instead_of_catching_up():
    sampler = FpsSampler(10)
    assert [sampler.keep(t) for t in (0.0, 0.1, 5.0, 5.01, 5.02, 5.1)] == [True, True, True, False, False, True]


def test_file_sampling_keeps_exactly_every_third_frame():
    sampler = FpsSampler(10)
    assert [i for i in range(12) if sampler.keep(i / 30)] == [0, 3, 6, 9]
