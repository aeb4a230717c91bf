"""lib.contrastive against independent references: numpy/scipy in float64, mpmath at 50 digits,
a hand-written Adam, brute force over random unit vectors, and the digest's arithmetic.

The numbered comments refer to the "Checkable claims" of the chapter 3 digest
(shared/articles/03-flatnce.md)."""
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_softmax, logsumexp, softmax

from lib import contrastive as C

torch.set_num_threads(1)
mpmath.mp.dps = 50
U32 = 2.0**-24


def random_scores(B=6, K=9, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(B, K)) * scale
    t = rng.integers(0, K, size=B)
    return s, t


def np_xi(s, t):
    """xi per row in float64 numpy, from the definition."""
    B, K = s.shape
    mask = np.ones_like(s, dtype=bool)
    mask[np.arange(B), t] = False
    return np.exp(s[mask].reshape(B, K - 1) - s[np.arange(B), t][:, None]).sum(1)


def exact_log1p_xi(xi):
    return float(mpmath.log1p(mpmath.mpf(xi)))


# 1. CE identity --------------------------------------------------------------------------------

def test_cross_entropy_equals_log1p_xi_and_softplus_v_against_scipy():
    s, t = random_scores()
    ref = -log_softmax(s, axis=1)[np.arange(len(t)), t]  # scipy, float64
    np.testing.assert_allclose(np.log1p(np_xi(s, t)), ref, atol=1e-12)
    st_, tt = torch.tensor(s), torch.tensor(t)
    for impl in C.INFO_NCE_IMPLS:
        np.testing.assert_allclose(C.info_nce(st_, tt, impl, "none").numpy(), ref, atol=1e-12, err_msg=impl)
    v = C.log_xi(st_, tt).numpy()
    np.testing.assert_allclose(v, logsumexp(np.log(np_xi(s, t))[:, None], axis=1), atol=1e-12)
    np.testing.assert_allclose(np.logaddexp(0, v), ref, atol=1e-12)  # softplus(v)


def test_reductions_and_xi_function():
    s, t = random_scores()
    st_, tt = torch.tensor(s), torch.tensor(t)
    per = C.info_nce(st_, tt, "softplus", "none")
    assert C.info_nce(st_, tt, "softplus", "sum").item() == pytest.approx(per.sum().item(), rel=1e-14)
    assert C.info_nce(st_, tt, "softplus").item() == pytest.approx(per.mean().item(), rel=1e-14)
    np.testing.assert_allclose(C.xi(st_.float(), tt).numpy(), np_xi(s.astype(np.float32).astype(float), t), rtol=1e-12)
    assert C.xi(st_, tt).dtype == torch.float64


# 2. Upper bound / first order ------------------------------------------------------------------

@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_log1p_xi_never_exceeds_xi(x):
    assert np.log1p(x) <= x


def test_first_order_gap_is_about_half_xi_digest_numbers():
    x = 1e-3
    assert np.log1p(x) == pytest.approx(9.9950033e-4, rel=1e-7)
    gap = (x - np.log1p(x)) / x
    assert gap == pytest.approx(4.99667e-4, rel=1e-5)
    assert gap == pytest.approx(x / 2 - x**2 / 3, rel=1e-5)  # series of log1p, an independent route


# 3. FlatNCE value ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_flatnce_sg_value_is_exactly_one_and_monitor_value_is_infonce(dtype):
    s, t = random_scores(B=8, K=5, seed=1, scale=20.0)
    st_, tt = torch.tensor(s, dtype=dtype), torch.tensor(t)
    assert torch.equal(C.flat_nce(st_, tt, "sg", "none"), torch.ones(8, dtype=dtype))
    mon = C.flat_nce(st_, tt, "sg", "none", monitor=True)
    assert torch.equal(mon, C.info_nce(st_, tt, "softplus", "none"))


def test_flatnce_log_form_can_be_negative_digest_15():
    s = C.equal_negative_scores([1e-3], K=4, dtype=torch.float64)
    assert C.flat_nce(s, 0, "log").item() == pytest.approx(math.log(1e-3), rel=1e-12)
    assert C.flat_nce(s.float(), 0, "log").item() == pytest.approx(-6.9078, abs=1e-4)


# 4. Gradient equality of the three forms -------------------------------------------------------

def grad_of(fn, s):
    x = s.clone().requires_grad_(True)
    fn(x).backward()
    return x.grad


def test_three_flatnce_forms_have_the_same_gradient_in_float64():
    s, t = random_scores(B=7, K=6, seed=2)
    st_, tt = torch.tensor(s), torch.tensor(t)
    g_sg = grad_of(lambda x: C.flat_nce(x, tt, "sg"), st_)
    g_log = grad_of(lambda x: C.flat_nce(x, tt, "log"), st_)
    g_ratio = grad_of(lambda x: C.flat_nce(x, tt, "ratio"), st_)
    g_mon = grad_of(lambda x: C.flat_nce(x, tt, "sg", monitor=True), st_)
    for g in (g_log, g_ratio, g_mon):
        torch.testing.assert_close(g, g_sg, atol=1e-12, rtol=0)


# 5 and 6. Same direction per anchor; closed forms ---------------------------------------------

def test_score_gradients_match_closed_forms_from_scipy():
    s, t = random_scores(B=5, K=8, seed=3)
    B, K = s.shape
    onehot = np.eye(K)[t]
    ce_ref = softmax(s, axis=1) - onehot  # (B, K)
    g_ce = grad_of(lambda x: C.info_nce(x, torch.tensor(t), "cross_entropy", "sum"), torch.tensor(s)).numpy()
    np.testing.assert_allclose(g_ce, ce_ref, atol=1e-12)
    np.testing.assert_allclose(C.info_nce_score_grad(torch.tensor(s), torch.tensor(t)).numpy(), ce_ref, atol=1e-12)
    flat_ref = np.zeros_like(s)
    for b in range(B):
        neg = [i for i in range(K) if i != t[b]]
        flat_ref[b, neg] = softmax(s[b, neg])
        flat_ref[b, t[b]] = -1.0
    np.testing.assert_allclose(C.flat_nce_score_grad(torch.tensor(s), torch.tensor(t)).numpy(), flat_ref, atol=1e-12)
    g_flat = grad_of(lambda x: C.flat_nce(x, torch.tensor(t), "log", "sum"), torch.tensor(s)).numpy()
    np.testing.assert_allclose(g_flat, flat_ref, atol=1e-12)
    np.testing.assert_allclose(ce_ref.sum(1), 0, atol=1e-12)
    np.testing.assert_allclose(flat_ref.sum(1), 0, atol=1e-12)


def test_infonce_gradient_is_sigmoid_v_times_flatnce_gradient_per_anchor():
    s, t = random_scores(B=6, K=7, seed=4)
    g_ce = grad_of(lambda x: C.info_nce(x, torch.tensor(t), "cross_entropy", "sum"), torch.tensor(s)).numpy()
    g_flat = C.flat_nce_score_grad(torch.tensor(s), torch.tensor(t)).numpy()
    xi = np_xi(s, t)
    np.testing.assert_allclose(g_ce, (xi / (1 + xi))[:, None] * g_flat, atol=1e-15)
    cos = (g_ce * g_flat).sum(1) / np.linalg.norm(g_ce, axis=1) / np.linalg.norm(g_flat, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-14)
    ratio = np.linalg.norm(g_flat, axis=1) / np.linalg.norm(g_ce, axis=1)
    np.testing.assert_allclose(ratio, (1 + xi) / xi, rtol=1e-12)


def test_seven_equal_negatives_get_one_seventh_each_in_float32():
    s = C.equal_negative_scores([1e-10], K=8, dtype=torch.float32)
    g = grad_of(lambda x: C.flat_nce(x, 0, "sg"), s)
    assert len(set(g[0, 1:].tolist())) == 1  # all seven identical
    # The digest printed 0.14285715 (= float32(1/7)); here exp(s_i - lse) gives 0.14285724: float32 rounding
    # of log 7 inside logsumexp, 6e-7 relative. Assert the rounding level, not the exact bits.
    np.testing.assert_allclose(g[0, 1:].double().numpy(), 1 / 7, rtol=2e-6)


def test_k2_single_negative_gets_exactly_plus_and_minus_one():
    s = torch.tensor([[3.0, -40.0]])
    g = grad_of(lambda x: C.flat_nce(x, 0, "sg"), s)
    assert g.tolist() == [[-1.0, 1.0]]


# 7. float32 saturation -------------------------------------------------------------------------

@pytest.mark.parametrize("K", [8, 64, 256])
@pytest.mark.parametrize("s_t", [0.0, 10.0, 20.0])
def test_float32_cross_entropy_is_exactly_zero_below_unit_roundoff(K, s_t):
    xis = [5e-8, 1e-8, 1e-10]
    s = C.equal_negative_scores(xis, K, s_t, torch.float32).requires_grad_(True)
    loss = C.info_nce(s, 0, "cross_entropy", "none")
    loss.sum().backward()
    assert loss.tolist() == [0.0, 0.0, 0.0]
    assert s.grad[:, 0].tolist() == [0.0, 0.0, 0.0]
    exact = [exact_log1p_xi(x) for x in C.xi(s.detach(), 0).tolist()]
    assert min(exact) > 0  # the true loss is not zero: what is lost is real
    # The negatives' gradients survive: exp(s_i - lse) is exact up to the rounding of s_i - lse, whose
    # absolute error is about ulp(s_t), so the relative error grows like |s_t| * 2^-23 (1e-7 at s_t = 0).
    np.testing.assert_allclose(s.grad[:, 1:].double().numpy(),
                               C.info_nce_score_grad(s.detach(), 0)[:, 1:].numpy(), rtol=(1 + s_t) * 2.0**-22)


def test_float64_positive_gradient_is_only_absolutely_accurate():
    s = C.equal_negative_scores([1e-10, 1e-17], 8, 0.0, torch.float64).requires_grad_(True)
    C.info_nce(s, 0, "cross_entropy", "sum").backward()
    exact = -C.xi(s.detach(), 0) / (1 + C.xi(s.detach(), 0))
    assert abs(s.grad[0, 0].item() - exact[0].item()) < 1e-15
    assert abs(s.grad[0, 0].item() / exact[0].item() - 1) > 1e-8  # not relatively exact (digest: 2e-6)
    assert s.grad[1, 0].item() == 0.0  # xi = 1e-17 < 2^-53: gone in float64 too


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_cross_entropy_is_zero_at_or_below_each_dtypes_unit_roundoff(dtype):
    u = C.unit_roundoff(dtype)
    s = C.equal_negative_scores([u * 0.9, u * 0.3, u * 1e-3], 8, 0.0, dtype)
    xi_exact = C.xi(s, 0)
    assert (xi_exact <= u).all()
    assert C.info_nce(s, 0, "cross_entropy", "none").double().abs().max().item() == 0.0


# 8. Partial absorption (safe bound only) -------------------------------------------------------

@pytest.mark.parametrize("K", [8, 64, 256])
def test_float32_cross_entropy_error_is_within_k_ulps(K):
    xis = np.logspace(-12, 0, 200)
    r = C.xi_sweep(xis, K, torch.float32)
    assert np.all(np.abs(r["ce_loss"] - np.log1p(r["xi"])) <= K * 2.0**-23)


# 9. FlatNCE precise in float32 -----------------------------------------------------------------

@pytest.mark.parametrize("K", [2, 8, 64])
def test_flatnce_is_precise_in_float32_down_to_tiny_xi(K):
    xis = np.logspace(-40, -3, 60)
    s32 = C.equal_negative_scores(xis, K, 0.0, torch.float32)
    v32 = C.log_xi(s32, 0).double()
    v_exact = np.array([float(mpmath.log((K - 1) * mpmath.exp(mpmath.mpf(float(x))))) for x in s32[:, 1].double()])
    np.testing.assert_allclose(v32.numpy(), v_exact, rtol=2e-7)
    g = grad_of(lambda x: C.flat_nce(x, 0, "sg", "sum"), s32)
    err = (g[:, 0].double() + 1).abs().numpy()
    assert err[xis >= 1e-12].max() <= 1e-6  # the digest's range (it tested down to 1e-10)
    # Deeper, the softmax over the negatives is computed from differences of numbers near v, so its
    # error grows like |v| * u: still relative to the gradient of size 1, never a collapse.
    assert np.all(err <= (1 + np.abs(v_exact)) * 2.0**-23)
    if K == 2:
        assert (g[:, 0] == -1).all()


def test_flatnce_digest_example_at_xi_1e10():
    s32 = C.equal_negative_scores([1e-10], 8, 0.0, torch.float32)
    assert C.log_xi(s32, 0).item() == pytest.approx(-23.02585, abs=2e-5)


# 10. Stable InfoNCE precise; standard CE not ---------------------------------------------------

def test_gradient_fidelity_designed_config():
    ce = C.gradient_fidelity("cross_entropy", 4, 0.02, 0.3, seed=0)
    assert ce["saturated"] == 1.0
    assert ce["rel_err"] > 1e-2 and ce["cos"] < 0.99
    for loss in ("softplus", "log1p", "flatnce"):
        assert C.gradient_fidelity(loss, 4, 0.02, 0.3, seed=0)["rel_err"] < 1e-4, loss


@pytest.mark.parametrize("loss", C.GRADIENT_LOSSES)
def test_gradient_fidelity_reference_agrees_with_float32_when_nothing_saturates(loss):
    r = C.gradient_fidelity(loss, 8, 0.1, 0.3, seed=1)
    assert r["saturated"] == 0.0
    assert r["rel_err"] < 1e-4 and r["cos"] > 1 - 1e-8


@pytest.mark.parametrize("tau", [0.1, 0.05, 0.03, 0.02, 0.01])
@pytest.mark.parametrize("K", [4, 8])
def test_stable_forms_stay_precise_at_every_temperature(tau, K):
    for loss in ("softplus", "flatnce"):
        assert C.gradient_fidelity(loss, K, tau, 0.3, seed=0)["rel_err"] < 1e-4


# 11 and 12. Saturation arithmetic --------------------------------------------------------------

@pytest.mark.parametrize("K,tau,expected", [(4, 0.05, 6.18e-9), (8, 0.05, 1.44e-8), (64, 0.05, 1.30e-7),
                                            (4096, 0.05, 8.44e-6), (8, 0.07, 4.37e-6), (8, 0.1, 3.18e-4),
                                            (4096, 0.1, 0.186)])
def test_xi_for_unit_gap_matches_digest(K, tau, expected):
    assert C.xi_for_gap(K, tau, 1.0) == pytest.approx(expected, rel=5e-3)


@pytest.mark.parametrize("K,tau,expected", [(4, 0.05, 0.887), (8, 0.05, 0.929), (256, 0.05, 1.109),
                                            (4, 0.1, 1.773), (8, 0.1, 1.858), (256, 0.1, 2.218)])
def test_saturation_gap_matches_digest_and_inverts_xi_for_gap(K, tau, expected):
    gap = C.saturation_gap(K, tau)
    assert gap == pytest.approx(expected, abs=1e-3)
    assert C.xi_for_gap(K, tau, gap) == pytest.approx(U32, rel=1e-12)
    assert math.log(2**24) == pytest.approx(16.6355, abs=1e-4)


def test_min_xi_digest_numbers_and_brute_force_on_random_unit_vectors():
    assert math.exp(-20) == pytest.approx(2.061e-9, rel=1e-3)
    assert C.min_xi(8, 0.1) == pytest.approx(1.443e-8, rel=1e-3)
    rng = np.random.default_rng(5)
    for K, tau in [(8, 0.1), (4, 0.05), (32, 0.2)]:
        z = rng.normal(size=(2000, K, 3))
        z /= np.linalg.norm(z, axis=-1, keepdims=True)
        cos = (z[:, :1] * z).sum(-1)  # (trials, K): anchor is candidate 0, its own positive
        cos[:, 0] = 1.0
        xi_obs = np.exp((cos[:, 1:] - 1.0) / tau).sum(1)
        assert xi_obs.min() >= C.min_xi(K, tau) * (1 - 1e-12)


def test_unit_roundoff_matches_torch_finfo():
    for name, dt in C.DTYPES.items():
        assert C.unit_roundoff(name) == torch.finfo(dt).eps / 2 == C.unit_roundoff(dt)
        one = torch.tensor(1.0, dtype=dt)
        assert (one + C.unit_roundoff(dt)).item() == 1.0  # ties to even
        assert (one + 2 * C.unit_roundoff(dt)).item() > 1.0


# 13. Adam scale invariance and its limit -------------------------------------------------------

def numpy_adam(scale, steps, lr=1e-3, theta0=(1.0, -2.0), b1=0.9, b2=0.999, eps=1e-8):
    th, m, v = np.array(theta0), 0.0, 0.0
    for k in range(1, steps + 1):
        g = scale * th
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        th = th - lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    return th - np.array(theta0)


def test_adam_updates_match_a_hand_written_adam_and_ignore_moderate_scales():
    scales = [1e-9, 1e-6, 1e-3, 1.0, 1e3]
    got = C.adam_scaled_updates(scales, steps=3)
    ref = np.array([numpy_adam(c, 3) for c in scales])
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    mid = got[2:, 0]
    assert np.ptp(mid) / abs(mid.mean()) < 1e-4
    assert mid.mean() == pytest.approx(-0.0029999, abs=1e-6)
    assert abs(got[0, 0]) < abs(mid.mean()) / 3  # c = 1e-9: |g| ~ eps, the update shrinks


def test_adam_first_step_ratio_digest_numbers():
    got = C.adam_first_step_ratio([1e-6, 1e-7, 1e-8, 1e-9])
    np.testing.assert_allclose(got, [0.990, 0.909, 0.5, 0.0909], atol=1e-3)
    step = C.adam_scaled_updates([1.0], steps=1, theta0=(1e-8,))[0, 0]
    assert -step == pytest.approx(1e-3 * C.adam_first_step_ratio(1e-8), rel=1e-9)


# 14. The literal ratio form produces NaN; the logsumexp form does not --------------------------

def test_ratio_form_nan_and_logsumexp_form_finite_digest_example():
    s = torch.tensor([[0.0, -120.0, -130.0]])
    x = s.clone().requires_grad_(True)
    r = C.flat_nce(x, 0, "ratio")
    r.backward()
    assert math.isnan(r.item()) and torch.isnan(x.grad).all()
    x = s.clone().requires_grad_(True)
    f = C.flat_nce(x, 0, "sg")
    f.backward()
    assert f.item() == 1.0
    q = softmax([-120.0, -130.0])  # scipy, float64
    np.testing.assert_allclose(x.grad[0].double().numpy(), [-1.0, q[0], q[1]], rtol=1e-6)
    assert q[1] == pytest.approx(4.54e-5, rel=1e-3)
    assert torch.exp(torch.tensor(-104.0)).item() == 0.0 and torch.exp(torch.tensor(-103.9)).item() > 0


# Half-precision what-if ------------------------------------------------------------------------

def test_half_precision_cross_entropy_vanishes_early_but_flatnce_v_survives():
    r16 = C.xi_sweep([2e-4, 1e-6, 1e-10], 8, "float16")
    assert r16["ce_loss"][0] == 0.0  # xi = 2e-4 < u(float16) = 4.9e-4
    assert np.all(np.abs(r16["flat_loss"] - r16["exact_v"]) < 0.05)
    assert r16["stable_loss"][2] == 0.0  # softplus(v) underflows below float16's smallest subnormal
    rb = C.xi_sweep([1e-3, 1e-10], 8, "bfloat16")
    assert rb["ce_loss"][0] == 0.0
    assert np.all(np.abs(rb["flat_loss"] - rb["exact_v"]) < 0.2)
    # bfloat16 keeps float32's exponent range, so softplus(v) does not underflow; its error is that of
    # rounding v (ulp(23) = 0.125 in bfloat16) passed through exp: up to ~6% relative, no collapse.
    assert np.all(relative_gap(rb["stable_loss"], rb["exact_loss"]) < 0.07)


def relative_gap(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))


def test_xi_sweep_reference_matches_mpmath():
    r = C.xi_sweep([1e-9, 1e-3], 8, "float32")
    for x, loss in zip(r["xi"], r["exact_loss"]):
        assert loss == pytest.approx(exact_log1p_xi(x), rel=1e-14)
    np.testing.assert_allclose(r["exact_gpos"], -r["xi"] / (1 + r["xi"]), rtol=1e-14)


# Input handling --------------------------------------------------------------------------------

def test_split_scores_shapes_order_int_target_and_vector_input():
    s = torch.arange(10.0).view(2, 5)
    pos, neg = C.split_scores(s, torch.tensor([1, 4]))
    assert pos.tolist() == [[1.0], [9.0]]
    assert neg.tolist() == [[0.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    pos, neg = C.split_scores(torch.tensor([0.5, 2.0, 1.0]), 1)
    assert pos.shape == (1, 1) and neg.tolist() == [[0.5, 1.0]]
    assert C.log_xi(torch.tensor([0.5, 2.0, 1.0]), 1).shape == (1,)


def test_gradients_flow_and_dtypes_are_kept():
    for dt in (torch.float32, torch.float64):
        s = torch.randn(3, 4, dtype=dt, requires_grad=True)
        for out in (C.info_nce(s, 0), C.flat_nce(s, 0), C.log_xi(s, 0)):
            assert out.requires_grad and out.dtype == dt


def test_logsumexp_forms_stay_finite_under_extreme_separation():
    s = torch.tensor([[50.0, -60.0, -70.0, -200.0]])
    for out in (C.info_nce(s, 0, "softplus"), C.flat_nce(s, 0, "sg"), C.flat_nce(s, 0, "log"), C.log_xi(s, 0)):
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("scores,target,exc,match", [
    (torch.zeros(3, 1), 0, ValueError, "at least one negative"),
    (torch.zeros(0, 4), 0, ValueError, "B = 0"),
    (torch.zeros(2, 3, 4), 0, ValueError, "shape"),
    (torch.zeros(2, 4, dtype=torch.long), 0, TypeError, "floating"),
    (torch.tensor([[0.0, float("nan")]]), 0, ValueError, "finite"),
    (torch.tensor([[0.0, float("inf")]]), 0, ValueError, "finite"),
    (torch.zeros(2, 4), 4, ValueError, r"\[0, 4\)"),
    (torch.zeros(2, 4), -1, ValueError, "target"),
    (torch.zeros(2, 4), torch.tensor([0, 1, 2]), ValueError, "shape"),
    (torch.zeros(2, 4), torch.tensor([0.0, 1.0]), TypeError, "integer"),
    (torch.zeros(2, 4), 1.0, TypeError, "target"),
    (torch.zeros(2, 4), True, TypeError, "target"),
    ([[0.0, 1.0]], 0, TypeError, "torch.Tensor"),
])
def test_bad_scores_or_targets_are_refused(scores, target, exc, match):
    with pytest.raises(exc, match=match):
        C.split_scores(scores, target)


def test_bad_options_are_refused():
    s = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="impl"):
        C.info_nce(s, 0, impl="nope")
    with pytest.raises(ValueError, match="reduction"):
        C.info_nce(s, 0, reduction="avg")
    with pytest.raises(ValueError, match="form"):
        C.flat_nce(s, 0, form="nope")
    with pytest.raises(ValueError, match="reduction"):
        C.flat_nce(s, 0, reduction="avg")
    with pytest.raises(TypeError, match="monitor"):
        C.flat_nce(s, 0, monitor=1)
    with pytest.raises(TypeError, match="dtype"):
        C.unit_roundoff(torch.int32)
    with pytest.raises(TypeError, match="dtype"):
        C.unit_roundoff("float8")
    with pytest.raises(ValueError, match="K"):
        C.saturation_gap(1, 0.1)
    with pytest.raises(ValueError, match="tau"):
        C.saturation_gap(8, 0.0)
    with pytest.raises(ValueError, match="tau"):
        C.xi_for_gap(8, -1.0, 1.0)
    with pytest.raises(ValueError, match="eps"):
        C.adam_first_step_ratio(1.0, eps=-1)
    with pytest.raises(ValueError, match="steps"):
        C.adam_scaled_updates([1.0], steps=0)
    with pytest.raises(ValueError, match="xis"):
        C.equal_negative_scores([0.0], 4)
    with pytest.raises(ValueError, match="K"):
        C.equal_negative_scores([1e-3], 1)
    with pytest.raises(ValueError, match="loss"):
        C.gradient_fidelity("nope", 4, 0.1)
    with pytest.raises(ValueError, match="K"):
        C.gradient_fidelity("softplus", 1, 0.1)
    with pytest.raises(ValueError, match="weights"):
        C.effective_batch_fraction([])


def test_xi_refuses_integer_scores_and_relative_error_is_plain():
    with pytest.raises(TypeError, match="floating"):
        C.xi(torch.zeros(2, 3, dtype=torch.long), 0)
    np.testing.assert_allclose(C.relative_error([1.1, -2.0, 0.0], [1.0, -1.0, 3.0]), [0.1, 1.0, 1.0])


def test_cosine_scores_against_numpy_and_bad_inputs():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    s, t = C.cosine_scores(torch.tensor(a), torch.tensor(b), 0.1)
    ref = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T / 0.1
    np.testing.assert_allclose(s.numpy(), ref, rtol=1e-12)
    assert t.tolist() == list(range(5))
    with pytest.raises(ValueError, match="tau"):
        C.cosine_scores(torch.tensor(a), torch.tensor(b), 0)
    with pytest.raises(ValueError, match="shape"):
        C.cosine_scores(torch.tensor(a), torch.tensor(b[:4]), 0.1)
    with pytest.raises(ValueError, match="zero rows"):
        C.cosine_scores(torch.zeros(2, 3), torch.ones(2, 3), 0.1)
    with pytest.raises(TypeError, match="tensors"):
        C.cosine_scores(a, b, 0.1)


def test_effective_batch_fraction_limits():
    assert C.effective_batch_fraction(np.full(10, 0.3)) == pytest.approx(1.0)
    assert C.effective_batch_fraction(np.eye(1, 10)[0]) == pytest.approx(0.1)
    w = np.random.default_rng(7).exponential(size=(3, 50))
    n_eff = w.sum(1) ** 2 / (w**2).sum(1)  # Kish's formula written out
    np.testing.assert_allclose(C.effective_batch_fraction(w), n_eff / 50)


# The toy learner -------------------------------------------------------------------------------

def test_toy_training_is_deterministic():
    a = C.train_toy_contrastive("flatnce", 8, 0.05, steps=40, seed=3)
    b = C.train_toy_contrastive("flatnce", 8, 0.05, steps=40, seed=3)
    assert a["acc"] == b["acc"]
    np.testing.assert_array_equal(a["history"]["weight"], b["history"]["weight"])


def test_stacked_group_trains_each_model_as_if_alone():
    runs = [("flatnce", 0.05, 0), ("infonce_stable", 0.1, 1), ("infonce_rescaled", 0.05, 1)]
    group = C.train_group(runs, K=8, steps=40)
    for m, (loss, tau, seed) in enumerate(runs):
        alone = C.train_toy_contrastive(loss, 8, tau, steps=40, seed=seed)
        np.testing.assert_allclose(group["weight"][m], alone["history"]["weight"], rtol=1e-4, atol=1e-9)
        assert abs(group["acc"][m] - alone["acc"]) <= 0.003


def test_same_seed_shares_initial_weights_and_data_across_losses():
    # At step 0 the weights are the initial ones: every loss sees the same first batch and the same v.
    runs = [(loss, 0.05, 2) for loss in C.TOY_LOSSES]
    out = C.train_group(runs, K=8, steps=1)
    assert np.ptp(out["weight"][:, 0]) == 0.0


def test_flatnce_sg_and_log_forms_train_identically():
    a = C.train_toy_contrastive("flatnce", 4, 0.05, steps=30, seed=1)
    b = C.train_toy_contrastive("flatnce_log", 4, 0.05, steps=30, seed=1)
    np.testing.assert_allclose(a["history"]["weight"], b["history"]["weight"], rtol=1e-5)


def test_accuracy_rises_with_batch_size():
    small = C.train_toy_contrastive("infonce_stable", 4, 0.1, steps=300, seed=0)["acc"]
    large = C.train_toy_contrastive("infonce_stable", 32, 0.1, steps=300, seed=0)["acc"]
    untrained = C.train_toy_contrastive("infonce_stable", 4, 0.1, steps=1, lr=1e-12, seed=0)["acc"]
    assert untrained < small < large


def test_sgd_option_and_float64_run():
    r = C.train_toy_contrastive("infonce", 4, 0.1, dtype=torch.float64, steps=20, lr=0.1, optimizer="sgd")
    assert 0 <= r["acc"] <= 1 and 0 <= r["sat_frac"] <= 1


def test_toy_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="loss"):
        C.train_toy_contrastive("nope", 4, 0.1, steps=1)
    with pytest.raises(ValueError, match="K"):
        C.train_toy_contrastive("flatnce", 1, 0.1, steps=1)
    with pytest.raises(ValueError, match="tau"):
        C.train_toy_contrastive("flatnce", 4, 0.0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        C.train_toy_contrastive("flatnce", 4, 0.1, steps=0)
    with pytest.raises(ValueError, match="optimizer"):
        C.train_toy_contrastive("flatnce", 4, 0.1, steps=1, optimizer="lbfgs")
    with pytest.raises(TypeError, match="dtype"):
        C.train_toy_contrastive("flatnce", 4, 0.1, dtype=torch.float16, steps=1)
    with pytest.raises(ValueError, match="runs"):
        C.train_group([], K=4)
    with pytest.raises(ValueError, match="loss"):
        C.batch_size_sweep(Ks=(4,), taus=(0.1,), variants=[("nope", "float32")], seeds=(0,), steps=1)


def test_batch_size_sweep_layout_matches_single_runs():
    sw = C.batch_size_sweep(Ks=(4, 8), taus=(0.05, 0.1), variants=[("flatnce", "float32"), ("infonce", "float64")],
                            seeds=(0, 1), steps=5)
    assert sw.acc.shape == (2, 2, 2, 2) and sw.weight.shape == (2, 2, 2, 2, 5)
    alone = C.train_toy_contrastive("infonce", 8, 0.1, dtype=torch.float64, steps=5, seed=1)
    np.testing.assert_allclose(sw.weight[1, 1, 1, 1], alone["history"]["weight"], rtol=1e-10)
    assert sw.labels()[0] == "FlatNCE (float32)"


def test_draw_functions_return_figures():
    sw = C.batch_size_sweep(Ks=(4, 8), taus=(0.05,), variants=C.DEFAULT_VARIANTS, seeds=(0,), steps=4)
    figs = [C.draw_precision("bfloat16", 4), C.draw_saturation_map(1.0, (0.05,), (4, 8)), C.draw_anchor_weight(),
            C.draw_adam_step(), C.draw_training(sw, 0.05), C.draw_batch_weights(sw, 4, 0.05),
            C.draw_gradient_fidelity([0.1, 0.05], {(l, 4): [C.gradient_fidelity(l, 4, t) for t in (0.1, 0.05)]
                                                   for l in C.GRADIENT_LOSSES}, [4])]
    assert all(hasattr(f, "savefig") for f in figs)
