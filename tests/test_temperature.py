"""lib.temperature against scipy.special.softmax and closed forms."""
import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy

from lib.temperature import draw_softmax_temperature, draw_top_class_probability, entropy, softmax


@pytest.mark.parametrize("t", [0.01, 0.3, 1.0, 7.0, 1e3])
def test_softmax_matches_scipy(t):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 9)) * 5
    np.testing.assert_allclose(softmax(z, t), scipy_softmax(z / t, axis=-1), rtol=1e-12, atol=1e-300)


def test_softmax_is_stable_for_huge_logits_and_shift_invariant():
    z = np.array([1000.0, 999.0, -1000.0])
    p = softmax(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, softmax(z - 1000.0), rtol=1e-14)


def test_top_class_probability_closed_form():
    k, g, t = 7, 1.3, 0.4
    p = softmax(np.r_[g, np.zeros(k - 1)], t)
    assert p[0] == pytest.approx(np.exp(g / t) / (np.exp(g / t) + k - 1), rel=1e-12)


def test_entropy_matches_scipy_and_limits():
    p = softmax([2.0, 1.0, 0.0], 1.0)
    assert entropy(p) == pytest.approx(scipy_entropy(p), rel=1e-12)
    assert entropy(softmax([2.0, 1.0, 0.0], 1e6)) == pytest.approx(np.log(3), rel=1e-6)
    assert entropy([1.0, 0.0]) == 0.0


@pytest.mark.parametrize("t", [0, -1, float("inf"), float("nan")])
def test_bad_temperature_is_refused(t):
    with pytest.raises(ValueError, match="temperature"):
        softmax([1.0, 2.0], t)


def test_bad_logits_are_refused():
    with pytest.raises(ValueError, match="logits"):
        softmax([])
    with pytest.raises(ValueError, match="finite"):
        softmax([1.0, float("nan")])
    with pytest.raises(ValueError, match="n_classes"):
        draw_top_class_probability(1, 1.0)


def test_draw_functions_return_figures():
    assert hasattr(draw_softmax_temperature(2.0), "savefig")
    assert hasattr(draw_top_class_probability(5, 0.5), "savefig")
