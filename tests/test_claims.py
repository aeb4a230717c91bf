"""lib.claims: each check passes or raises, rows are recorded, the table counts them."""
import numpy as np
import pytest

from lib.claims import ClaimFailed, Claims, fmt


def test_passing_claims_return_rows_and_are_recorded():
    c = Claims("Test chapter")
    assert c.equal("2hd for BERT-base", 2 * 12 * 64, 1536).passed
    assert c.close("pi", np.pi, 3.14159265, rtol=1e-8).passed
    assert c.within("a ratio", 2.2, 2.0, 2.5).passed
    assert c.less("an error", 1e-9, 1e-6).passed
    assert c.greater("a gain", 3, 2).passed
    assert c.holds("sorted", bool(np.all(np.diff([1, 2, 3]) > 0))).passed
    assert len(c) == 6
    table = c.table()
    assert "6 of 6 claims verified" in table._repr_html_()
    assert table._repr_html_().count("<tr>") == 7  # header + 6 rows


@pytest.mark.parametrize(
    "method, args",
    [
        ("equal", (1535, 1536)),
        ("close", (3.2, 3.14159, 1e-3)),
        ("within", (2.6, 2.0, 2.5)),
        ("less", (1.0, 1.0)),
        ("greater", (2, 2)),
    ],
)
def test_failing_claims_raise_an_assertion_naming_the_claim(method, args):
    c = Claims("Test chapter")
    fn = getattr(c, method)
    with pytest.raises(ClaimFailed, match=r"\[Test chapter\] claim does not hold: the claim"):
        if method == "close":
            fn("the claim", args[0], args[1], rtol=args[2])
        else:
            fn("the claim", *args)
    assert len(c) == 1 and not c.rows[0].passed
    assert "0 of 1 claims verified" in repr(c.table())
    assert issubclass(ClaimFailed, AssertionError)


def test_non_strict_bounds_and_array_closeness():
    c = Claims("Test chapter")
    assert c.less("at most", 1.0, 1.0, strict=False).passed
    assert c.greater("at least", 2, 2, strict=False).passed
    assert c.close("arrays", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), rtol=1e-9).passed
    with pytest.raises(ClaimFailed):
        c.close("arrays differ", np.array([1.0, 2.0]), np.array([1.0, 2.1]), rtol=1e-3)
    with pytest.raises(ClaimFailed):
        c.close("nan is never close", float("nan"), 1.0, atol=10.0)


def test_rows_escape_html():
    c = Claims("Test chapter")
    row = c.holds("a < b & c", True)
    assert "a &lt; b &amp; c" in row._repr_html_()


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="chapter"):
        Claims("")
    c = Claims("Test chapter")
    with pytest.raises(ValueError, match="statement"):
        c.equal("", 1, 1)
    with pytest.raises(TypeError, match="bool"):
        c.holds("not a bool", 1)
    with pytest.raises(ValueError, match="tolerances"):
        c.close("x", 1.0, 1.0, rtol=-1)
    with pytest.raises(ValueError, match="shape"):
        c.close("x", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="above"):
        c.within("x", 1, 3, 2)
    assert len(c) == 0


def test_number_formatting():
    assert fmt(1536) == "1,536"
    assert fmt(0.1234567) == "0.1235"
    assert fmt(1e-9) == "1.0000e-09"
    assert fmt(True) == "True"
    assert fmt(np.int64(4608)) == "4,608"
