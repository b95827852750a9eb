"""EMA and windowed means of probability vectors (for the aggregator)."""

from __future__ import annotations

import numpy as np
import pytest

from vidsentry.smoothing import EmaSmoother, WindowMean, as_distribution, ema_update

HAPPY = [0.0, 1.0, 0.0]
SAD = [0.0, 0.0, 1.0]


def test_ema_with_a_fixed_alpha():
    ema = EmaSmoother(alpha=0.25)
    np.testing.assert_allclose(ema.update("p1", HAPPY), HAPPY)
    np.testing.assert_allclose(ema.update("p1", SAD), [0.0, 0.75, 0.25])
    np.testing.assert_allclose(ema.update("p1", SAD), [0.0, 0.5625, 0.4375])
    np.testing.assert_allclose(ema.update("p2", SAD), SAD)
    assert len(ema) == 2
    ema.forget("p1")
    assert ema.value("p1") is None and len(ema) == 1


def test_ema_by_half_life_weighs_by_elapsed_time():
    ema = EmaSmoother(half_life_s=2.0)
    ema.update("p", HAPPY, ts=100.0)
    np.testing.assert_allclose(ema.update("p", SAD, ts=102.0), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(ema.update("p", SAD, ts=102.0), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(ema.update("p", SAD, ts=101.0), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(ema.update("p", SAD, ts=106.0), [0.0, 0.125, 0.875])
    with pytest.raises(ValueError, match="needs the observation's timestamp"):
        ema.update("p", SAD)


def test_window_mean_keeps_the_last_n():
    window = WindowMean(size=2)
    np.testing.assert_allclose(window.update("t", HAPPY), HAPPY)
    np.testing.assert_allclose(window.update("t", SAD), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(window.update("t", SAD), SAD)
    np.testing.assert_allclose(window.value("t"), SAD)
    window.forget("t")
    assert window.value("t") is None


def test_results_stay_distributions_and_bad_input_is_refused():
    rng = np.random.default_rng(0)
    ema, window = EmaSmoother(alpha=0.3), WindowMean(5)
    for _ in range(50):
        probs = rng.dirichlet(np.ones(7))
        for smoothed in (ema.update("k", probs), window.update("k", probs)):
            assert smoothed.min() >= 0 and abs(smoothed.sum() - 1) < 1e-12
    np.testing.assert_allclose(as_distribution([2.0, 2.0]), [0.5, 0.5])
    for bad in ([0.5], [np.nan, 1.0], [-0.1, 1.1], [0.0, 0.0], [[0.5, 0.5]]):
        with pytest.raises(ValueError):
            as_distribution(bad)
    with pytest.raises(ValueError, match="labels changed"):
        ema.update("k", [0.5, 0.5])
    with pytest.raises(ValueError, match="labels changed"):
        window.update("k", [0.5, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        ema_update(None, HAPPY, 0.0)
    with pytest.raises(ValueError, match="exactly one"):
        EmaSmoother()
    with pytest.raises(ValueError, match="exactly one"):
        EmaSmoother(alpha=0.5, half_life_s=1.0)
    with pytest.raises(ValueError, match="window size"):
        WindowMean(0)
