"""lib.checks: what each check accepts, what it returns, and what its errors say.

The reference for "in range" is Python's own comparison of the value with the bounds; every refusal
is checked for its exception class and for a message that names the argument, shows the value and
says what is allowed.
"""
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import checks


# --- integer -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.uint16(3)])
def test_integer_accepts_python_and_numpy_integers_and_returns_an_int(value):
    out = checks.integer("n", value, at_least=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, np.True_, 3.0, np.float32(3.0), "3", None, [3], 3 + 0j])
def test_integer_refuses_other_types_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^n=.* must be an integer >= 1"):
        checks.integer("n", value, at_least=1)


@pytest.mark.parametrize("value", [True, np.False_])
def test_integer_says_a_bool_is_not_an_integer(value):
    with pytest.raises(TypeError, match=r"must be an integer >= 0, not a bool$"):
        checks.integer("seed", value, at_least=0)


@given(st.integers(-50, 50), st.one_of(st.none(), st.integers(-20, 20)), st.one_of(st.none(), st.integers(-20, 20)))
def test_integer_accepts_exactly_the_values_in_range(value, low, high):
    inside = (low is None or value >= low) and (high is None or value <= high)
    if inside:
        assert checks.integer("k", value, at_least=low, at_most=high) == value
    else:
        with pytest.raises(ValueError, match=rf"^k={value} must be an integer"):
            checks.integer("k", value, at_least=low, at_most=high)


@pytest.mark.parametrize("low,high,value,words", [(1, None, -7, ">= 1"), (None, 4, 9, "<= 4"),
                                                 (0, 4, -7, r"in \[0, 4\]")])
def test_integer_messages_say_the_allowed_range(low, high, value, words):
    with pytest.raises(ValueError, match=rf"^depth={value} must be an integer {words}$"):
        checks.integer("depth", value, at_least=low, at_most=high)


@pytest.mark.parametrize("value,expected", [(512.0, 512), (np.float32(8.0), 8), (np.float64(1.0), 1)])
def test_integer_takes_integral_floats_only_when_asked(value, expected):
    out = checks.integer("n", value, at_least=1, integral_floats=True)
    assert out == expected and type(out) is int
    with pytest.raises(TypeError, match="n="):
        checks.integer("n", value, at_least=1)


@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf"), np.float64(-0.5)])
def test_integer_refuses_fractional_or_non_finite_floats_even_when_floats_are_allowed(value):
    with pytest.raises(TypeError, match="fractional or non-finite"):
        checks.integer("n", value, at_least=1, integral_floats=True)


def test_integer_range_applies_to_integral_floats():
    with pytest.raises(ValueError, match=r"^n=0.0 must be an integer >= 1$"):
        checks.integer("n", 0.0, at_least=1, integral_floats=True)


# --- real ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [2, 2.5, np.float32(0.25), np.int16(7), np.float64(1e300)])
def test_real_accepts_ints_and_floats_of_python_and_numpy_and_returns_a_float(value):
    out = checks.real("x", value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [True, np.True_, "1.0", None, [1.0], 1j, np.array(1.0)])
def test_real_refuses_other_types_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^x=.* must be a finite real number, not "):
        checks.real("x", value)


def test_real_always_refuses_nan():
    for finite in (True, False):
        with pytest.raises(ValueError, match=r"^x=nan must be .*real number.*, not NaN$"):
            checks.real("x", float("nan"), finite=finite)


def test_real_lets_infinity_through_only_when_asked():
    assert checks.real("a", -math.inf, finite=False) == -math.inf
    assert checks.real("c", math.inf, above=0, finite=False) == math.inf
    with pytest.raises(ValueError, match=r"^a=inf must be a finite real number$"):
        checks.real("a", math.inf)
    with pytest.raises(ValueError, match=r"^a=-inf must be a real number > 0$"):
        checks.real("a", -math.inf, above=0, finite=False)


_BOUNDS = st.one_of(st.none(), st.floats(-5, 5))


@given(st.floats(-10, 10), _BOUNDS, _BOUNDS, _BOUNDS, _BOUNDS)
def test_real_accepts_exactly_the_values_in_range(value, above, at_least, below, at_most):
    inside = ((above is None or value > above) and (at_least is None or value >= at_least)
              and (below is None or value < below) and (at_most is None or value <= at_most))
    if inside:
        assert checks.real("v", value, above=above, at_least=at_least, below=below, at_most=at_most) == value
    else:
        with pytest.raises(ValueError, match=r"^v=.* must be a finite real number"):
            checks.real("v", value, above=above, at_least=at_least, below=below, at_most=at_most)


@pytest.mark.parametrize("kwargs,value,words", [
    (dict(above=0), 0.0, "> 0"),
    (dict(at_least=0), -1.0, ">= 0"),
    (dict(below=1), 1.0, "< 1"),
    (dict(at_most=1), 2.0, "<= 1"),
    (dict(above=0, below=1), 1.0, r"in \(0, 1\)"),
    (dict(at_least=0, below=1), 1.0, r"in \[0, 1\)"),
    (dict(above=0, at_most=1), 0.0, r"in \(0, 1\]"),
])
def test_real_messages_say_the_allowed_range_with_open_and_closed_ends(kwargs, value, words):
    with pytest.raises(ValueError, match=rf"^tau={value!r} must be a finite real number {words}$"):
        checks.real("tau", value, **kwargs)


# --- boolean, choice -------------------------------------------------------------------------------

def test_boolean_accepts_python_and_numpy_bools_only():
    assert checks.boolean("flag", True) is True and checks.boolean("flag", np.False_) is False
    for value in (1, 0, "yes", None, 1.0):
        with pytest.raises(TypeError, match=r"^flag=.* must be a bool \(True or False\)"):
            checks.boolean("flag", value)


def test_choice_returns_the_value_and_lists_the_options_in_their_order():
    assert checks.choice("mode", "pre", ("post", "pre")) == "pre"
    with pytest.raises(ValueError, match=r"^mode='sandwich' must be one of 'post', 'pre', 'alpha'$"):
        checks.choice("mode", "sandwich", ("post", "pre", "alpha"))


def test_choice_sorts_a_set_of_options_and_accepts_dict_keys_including_none():
    with pytest.raises(ValueError, match=r"^dist='cauchy' must be one of 'normal', 'truncated', 'uniform'$"):
        checks.choice("dist", "cauchy", {"uniform", "normal", "truncated"})
    norms = {None: 0, "layer": 1, "rms": 2}
    assert checks.choice("norm", None, norms) is None
    with pytest.raises(ValueError, match=r"^norm='batch' must be one of None, 'layer', 'rms'$"):
        checks.choice("norm", "batch", norms)


def test_choice_names_an_unhashable_value_with_a_type_error_when_the_options_are_a_set():
    with pytest.raises(TypeError, match=r"^scheme=\['he'\] must be one of 'he', 'lecun'$"):
        checks.choice("scheme", ["he"], {"he", "lecun"})
    with pytest.raises(ValueError, match=r"^scheme=\['he'\] must be one of"):  # a tuple compares by ==
        checks.choice("scheme", ["he"], ("he", "lecun"))


# --- real_array, generator ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype,expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float64),
                                            (np.uint8, np.float64), (np.float16, np.float16)])
def test_real_array_keeps_floating_dtypes_and_turns_integers_into_float64(dtype, expected):
    out = checks.real_array("X", np.arange(6).reshape(2, 3).astype(dtype), ndim=2)
    assert out.dtype == expected and out.shape == (2, 3)
    np.testing.assert_array_equal(out, np.arange(6).reshape(2, 3))


def test_real_array_returns_a_float_array_unchanged():
    x = np.ones((2, 2))
    assert checks.real_array("X", x, ndim=2) is x


@pytest.mark.parametrize("value", [np.ones((2, 2), dtype=bool), np.ones((2, 2), dtype=complex), [["a", "b"]],
                                   np.array([[1.0, None]], dtype=object)])
def test_real_array_refuses_non_real_dtypes(value):
    with pytest.raises(TypeError, match=r"^X must be a real numeric array, got dtype "):
        checks.real_array("X", value, ndim=2)


@pytest.mark.parametrize("value,ndim,shape", [(np.ones(3), 2, r"\(3,\)"), (np.ones((2, 0)), 2, r"\(2, 0\)"),
                                              (np.ones((1, 2, 3)), 2, r"\(1, 2, 3\)"), ([], None, r"\(0,\)")])
def test_real_array_refuses_wrong_dimensions_and_empty_arrays(value, ndim, shape):
    what = "2-D array" if ndim else "array"
    with pytest.raises(ValueError, match=rf"^X must be a non-empty {what}, got shape {shape}$"):
        checks.real_array("X", value, ndim=ndim)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_real_array_refuses_non_finite_entries(bad):
    with pytest.raises(ValueError, match="^Q has NaN or infinite entries"):
        checks.real_array("Q", [[1.0, bad]], ndim=2)


def test_real_array_without_ndim_takes_any_dimension():
    assert checks.real_array("v", [1, 2, 3]).tolist() == [1.0, 2.0, 3.0]
    assert checks.real_array("s", 2.5).ndim == 0


def test_generator_passes_a_generator_through_and_seeds_a_new_one_otherwise():
    g = np.random.default_rng(1)
    assert checks.generator("rng", g) is g
    assert checks.generator("rng", None, 7).random() == np.random.default_rng(7).random()
    with pytest.raises(TypeError, match="^rng must be a numpy.random.Generator .*got RandomState"):
        checks.generator("rng", np.random.RandomState(0))


def test_checks_imports_numpy_and_nothing_heavy():
    code = "import sys, lib.checks; print(sorted(m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
