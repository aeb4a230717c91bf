"""lib.attention_features against independent references: scipy's softmax, brute-force tensor
products, closed-form kernels, exact rational arithmetic, numpy.roots, scipy.optimize, numpy's
matrix_rank, and Monte Carlo with stated significance levels (chapter 4, kexue.fm/archives/8601)."""
import itertools
import math
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import softmax as scipy_softmax

from lib.attention_features import (
    MAX_FEATURE_ENTRIES,
    approximate_attention,
    approximation_sweep,
    attention_flops,
    attention_weights,
    crossover_length,
    draw_attention_maps,
    draw_error_vs_dimension,
    draw_error_vs_order,
    draw_exp_approximations,
    draw_feature_dimension,
    draw_performer_std,
    draw_singular_values,
    elu_feature_map,
    expdef_exp,
    expdef_feature_map,
    feature_dim,
    feature_map,
    kernel_matrix,
    linear_attention,
    make_qkv,
    numerical_rank,
    performer_estimates,
    performer_feature_map,
    performer_relative_std,
    rank_study,
    relative_error,
    sample_omegas,
    singular_values,
    softmax_attention,
    taylor_exp,
    taylor_feature_map,
    taylor_remainder_bound,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def kernel_close(got, expected):
    """rtol 1e-12 plus atol 1e-12·max|kernel|: entries near a zero of the polynomial lose relative
    accuracy (digest, corrections after audit)."""
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


# ---------------------------------------------------------------- exact and linear attention


@pytest.mark.parametrize("scale", [1.0, 0.125, 3.0])
def test_softmax_attention_matches_scipy_softmax(scale):
    Q, K, V = rng().normal(size=(7, 3)), rng(1).normal(size=(9, 3)), rng(2).normal(size=(9, 5))
    expected = scipy_softmax(scale * Q @ K.T, axis=1) @ V
    np.testing.assert_allclose(softmax_attention(Q, K, V, scale), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(attention_weights(Q, K, scale).sum(axis=1), 1.0, rtol=1e-14)


def test_softmax_attention_is_stable_for_huge_logits():
    Q = np.array([[100.0, 0.0]])
    K = np.array([[100.0, 0.0], [99.9, 0.0], [-100.0, 0.0]])
    w = attention_weights(Q, K)
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w, scipy_softmax(Q @ K.T, axis=1), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("D", [1, 5, 33])
def test_linear_attention_equals_the_quadratic_form(D):
    phi_q, phi_k = rng().uniform(0.1, 1, size=(6, D)), rng(1).uniform(0.1, 1, size=(8, D))
    V = rng(2).normal(size=(8, 3))
    A = phi_q @ phi_k.T  # brute force: build the N_q × N_k matrix and normalise its rows
    np.testing.assert_allclose(linear_attention(phi_q, phi_k, V), (A / A.sum(1, keepdims=True)) @ V, rtol=1e-12)


def test_linear_attention_never_builds_the_n_by_n_matrix():
    n, D = 20_000, 5  # an N × N float64 matrix would take 3.2 GB
    phi = rng().uniform(0.5, 1.0, size=(n, D))
    V = rng(1).normal(size=(n, 2))
    tracemalloc.start()
    out = linear_attention(phi, phi, V)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (n, 2)
    assert peak < 5 * n * D * 8  # a few N × D buffers at most


def test_linear_attention_with_exact_features_equals_softmax_attention():
    Q, K, V = make_qkv(16, 3, seed=4)
    # With p large the Taylor kernel is e^{q·k} to machine precision for |q·k| ≲ 3.
    out = approximate_attention("taylor_sym", Q, K, V, p=24)
    np.testing.assert_allclose(out, softmax_attention(Q, K, V), rtol=1e-10, atol=1e-12)


def test_negative_denominators_raise_naming_rows_and_can_be_bypassed():
    phi_q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    phi_k = np.array([[1.0, -2.0], [1.0, -1.0]])  # column sums (2, -3): row 1 and row 2 negative
    V = np.array([[1.0], [2.0]])
    with pytest.raises(ValueError, match=r"non-positive denominator in 2 of 3 query rows \(rows \[1, 2\]"):
        linear_attention(phi_q, phi_k, V)
    raw = linear_attention(phi_q, phi_k, V, check_positive=False)
    np.testing.assert_allclose(raw[:, 0], (phi_q @ (phi_k.T @ V))[:, 0] / (phi_q @ phi_k.sum(0)))


def test_odd_taylor_order_can_make_attention_non_positive_and_linear_attention_says_so():
    Q = np.array([[3.0, 0.0]])
    K = np.array([[-1.0, 0.0], [-2.0, 0.0]])  # q·k = −3, −6: T_1 = −2, −5
    with pytest.raises(ValueError, match="non-positive denominator"):
        approximate_attention("taylor", Q, K, np.ones((2, 1)), p=1)
    # An even order is positive everywhere, so the same inputs pass.
    out = approximate_attention("taylor", Q, K, np.ones((2, 1)), p=2)
    np.testing.assert_allclose(out, 1.0)


# ---------------------------------------------------------------- feature maps: exactness


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("p", [0, 1, 2, 3, 4])
def test_taylor_features_give_the_truncated_exponential_kernel(d, p):
    Q, K = rng(d).normal(size=(16, d)), rng(d + 10).normal(size=(16, d))
    G = Q @ K.T
    expected = sum(G**m / math.factorial(m) for m in range(p + 1))  # closed form, elementwise
    full = taylor_feature_map(Q, p)
    assert full.shape == (16, sum(d**m for m in range(p + 1)))
    kernel_close(full @ taylor_feature_map(K, p).T, expected)
    sym = taylor_feature_map(Q, p, symmetric=True)
    assert sym.shape == (16, math.comb(d + p, p))
    kernel_close(sym @ taylor_feature_map(K, p, symmetric=True).T, expected)


def test_taylor_features_are_the_scaled_tensor_powers_entry_by_entry():
    x = np.array([[0.3, -1.2, 2.0]])
    phi = taylor_feature_map(x, 3)[0]
    brute = [1.0]
    for m in range(1, 4):  # all products x_{i1}…x_{im} in lexicographic order, over √m!
        brute += [math.prod(x[0, list(ix)]) / math.sqrt(math.factorial(m)) for ix in itertools.product(range(3), repeat=m)]
    np.testing.assert_allclose(phi, brute, rtol=1e-14)


def test_symmetric_taylor_features_are_monomials_over_root_alpha_factorial():
    x = np.array([[0.7, -1.1, 1.9]])
    phi = taylor_feature_map(x, 3, symmetric=True)[0]
    brute = []
    for m in range(4):
        for combo in itertools.combinations_with_replacement(range(3), m):
            counts = [combo.count(j) for j in range(3)]
            brute.append(math.prod(x[0, j] ** c for j, c in enumerate(counts))
                         / math.sqrt(math.prod(math.factorial(c) for c in counts)))
    np.testing.assert_allclose(phi, brute, rtol=1e-14)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_expdef_features_give_one_plus_x_over_p_to_the_p(d, p):
    Q, K = rng(d).normal(size=(16, d)), rng(d + 10).normal(size=(16, d))
    phi_q = expdef_feature_map(Q, p)
    assert phi_q.shape == (16, (d + 1) ** p)
    kernel_close(phi_q @ expdef_feature_map(K, p).T, (1 + Q @ K.T / p) ** p)


def test_expdef_order_one_coincides_with_taylor_order_one():
    Q, K = rng().normal(size=(5, 3)), rng(1).normal(size=(6, 3))
    np.testing.assert_allclose(kernel_matrix("expdef", Q, K, 1), kernel_matrix("taylor", Q, K, 1), rtol=1e-14)
    np.testing.assert_allclose(kernel_matrix("expdef", Q, K, 1), 1 + Q @ K.T, rtol=1e-14)


def test_order_zero_gives_the_constant_kernel_and_uniform_attention():
    Q, K, V = make_qkv(9, 4, seed=3)
    np.testing.assert_array_equal(kernel_matrix("taylor", Q, K, 0), np.ones((9, 9)))
    np.testing.assert_allclose(approximate_attention("taylor", Q, K, V, p=0), np.tile(V.mean(0), (9, 1)), rtol=1e-12)


def test_zero_query_gives_kernel_one_for_every_construction():
    q, K = np.zeros((1, 3)), rng().normal(size=(4, 3))
    for kind, p in (("taylor", 3), ("taylor_sym", 3), ("expdef", 3), ("exact", None)):
        np.testing.assert_allclose(kernel_matrix(kind, q, K, p), 1.0, rtol=1e-14)
    omegas = sample_omegas(50, 3, 0)
    # Performer at q = k = 0: every feature is 1/√M, so the kernel is exactly 1.
    np.testing.assert_allclose(kernel_matrix("performer", q, q, omegas=omegas), 1.0, rtol=1e-14)


def test_single_row_and_single_feature_inputs():
    x = np.array([[0.4]])
    np.testing.assert_allclose(taylor_feature_map(x, 3), [[1, 0.4, 0.16 / math.sqrt(2), 0.064 / math.sqrt(6)]], rtol=1e-14)
    np.testing.assert_allclose(taylor_feature_map(x, 3, symmetric=True), taylor_feature_map(x, 3), rtol=1e-14)
    np.testing.assert_allclose(expdef_feature_map(x, 2), [[1, 0.4 / math.sqrt(2), 0.4 / math.sqrt(2), 0.08]], rtol=1e-14)


def test_float32_inputs_stay_float32_and_agree_with_float64():
    Q, K, V = make_qkv(12, 3, seed=5)
    for kind, p in (("taylor", 3), ("taylor_sym", 3), ("expdef", 3)):
        f32 = feature_map(kind, Q.astype(np.float32), p)
        assert f32.dtype == np.float32
        np.testing.assert_allclose(f32, feature_map(kind, Q, p), rtol=2e-6, atol=1e-6)
    omegas = sample_omegas(16, 3, 1)
    f32 = performer_feature_map(Q.astype(np.float32), omegas)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, performer_feature_map(Q, omegas), rtol=1e-5)
    np.testing.assert_allclose(approximate_attention("taylor", Q.astype(np.float32), K.astype(np.float32),
                                                     V.astype(np.float32), p=2),
                               approximate_attention("taylor", Q, K, V, p=2), rtol=1e-4, atol=1e-5)


def test_elu_feature_map_is_elu_plus_one():
    x = np.array([[-2.0, 0.0, 1.5]])
    np.testing.assert_allclose(elu_feature_map(x), [[math.exp(-2.0), 1.0, 2.5]], rtol=1e-15)


# ---------------------------------------------------------------- Performer


def test_sample_omegas_is_deterministic_and_standard_normal():
    a, b = sample_omegas(2000, 4, 7), sample_omegas(2000, 4, 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample_omegas(2000, 4, 8))
    # Mean of 8000 N(0,1) draws: standard error 0.0112; 4 SE ≈ 6e-5 two-sided significance.
    assert abs(a.mean()) < 4 / math.sqrt(a.size)
    assert abs(a.std() - 1) < 0.05


def test_performer_features_match_their_definition():
    X, omegas = rng().normal(size=(3, 2)), rng(1).normal(size=(5, 2))
    expected = np.array([[math.exp(w @ x - x @ x / 2) / math.sqrt(5) for w in omegas] for x in X])
    np.testing.assert_allclose(performer_feature_map(X, omegas), expected, rtol=1e-13)


def test_performer_is_unbiased_for_exp_q_dot_k_monte_carlo():
    # Digest claim 1: q = k = (0.5, 0, 0, 0), 200 000 samples, e^{q·k} = e^{0.25} = 1.284025.
    q = np.array([0.5, 0.0, 0.0, 0.0])
    omegas = sample_omegas(200_000, 4, 0)
    estimate = float(kernel_matrix("performer", q[None], q[None], omegas=omegas)[0, 0])
    se = math.exp(0.25) * math.sqrt(math.expm1(1.0) / 200_000)  # relative variance e^{‖q+k‖²} − 1
    assert math.exp(0.25) == pytest.approx(1.284025, abs=5e-7)
    assert abs(estimate - math.exp(0.25)) < 4 * se  # two-sided significance ≈ 6e-5 (normal approx.)


def test_performer_relative_std_formula_arithmetic():
    q = np.array([0.5, 0, 0, 0])
    assert performer_relative_std(q, q, 64) == pytest.approx(0.16385, abs=5e-6)  # √((e − 1)/64)
    u, v = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])  # orthogonal unit vectors: ‖q+k‖² = 2
    assert performer_relative_std(u, v, 1) ** 2 == pytest.approx(math.exp(2) - 1, rel=1e-12)


@pytest.mark.parametrize("M", [16, 64, 256, 1024])
def test_performer_measured_relative_std_matches_the_formula(M):
    # Digest claim 2: 2000 draws per M, tolerance 10 %. The sample std of 2000 estimates has a
    # relative standard error of about √((κ − 1)/4n) ≈ 2–3 % here (κ the kurtosis of the estimate),
    # so 10 % is over 3 standard errors for this fixed seed.
    q = np.array([0.5, 0, 0, 0])
    est = performer_estimates(q, q, M, 2000, seed=M)
    measured = est.std() / math.exp(q @ q)
    assert measured == pytest.approx(performer_relative_std(q, q, M), rel=0.10)
    assert est.mean() == pytest.approx(math.exp(q @ q), abs=4 * est.std() / math.sqrt(2000))


def test_performer_variance_grows_exponentially_with_the_norm():
    small, large = np.array([0.25, 0, 0]), np.array([1.0, 0, 0])
    assert performer_relative_std(large, large, 100) / performer_relative_std(small, small, 100) == pytest.approx(
        math.sqrt(math.expm1(4.0) / math.expm1(0.25)), rel=1e-12)


# ---------------------------------------------------------------- scalar approximations


def exact_taylor(x: Fraction, p: int) -> Fraction:
    return sum(x**m / math.factorial(m) for m in range(p + 1))


@pytest.mark.parametrize("x", [-4, -1, -0.5, 0.5, 1, 2, 4])
@pytest.mark.parametrize("p", [0, 1, 3, 8])
def test_taylor_exp_matches_exact_rational_arithmetic(x, p):
    assert float(taylor_exp(x, p)) == pytest.approx(float(exact_taylor(Fraction(x), p)), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize(("x", "expected"), [
    (1.0, [0.264, 0.0803, 0.0190, 0.00366, 5.94e-4, 8.32e-5, 1.02e-5, 1.13e-6]),
    (-1.0, [1, 0.359, 0.0939, 0.0194, 3.30e-3, 4.79e-4, 6.06e-5, 6.80e-6]),
    (2.0, [0.594, 0.323, 0.143, 0.0527, 0.0166, 4.53e-3, 1.10e-3, 2.37e-4]),
    (4.0, [0.908, 0.762, 0.567, 0.371, 0.215, 0.111, 0.0511, 0.0214]),
])
def test_taylor_relative_errors_match_the_digest_table(x, expected):
    got = [abs(math.exp(x) - float(taylor_exp(x, p))) / math.exp(x) for p in range(1, 9)]
    np.testing.assert_allclose(got, expected, rtol=6e-3)


@pytest.mark.parametrize(("x", "expected"), [
    (1.0, [0.264, 0.172, 0.128, 0.102, 0.0561, 0.0296, 0.0152, 0.0077]),
    (-1.0, [1, 0.32, 0.195, 0.14, 0.066, 0.0321, 0.0158, 0.00786]),
    (2.0, [0.594, 0.459, 0.373, 0.315, 0.193, 0.109, 0.0582, 0.0301]),
])
def test_expdef_relative_errors_match_the_digest_table(x, expected):
    ps = [1, 2, 3, 4, 8, 16, 32, 64]
    got = [abs(math.exp(x) - float(expdef_exp(x, p))) / math.exp(x) for p in ps]
    np.testing.assert_allclose(got, expected, rtol=2e-2)
    # The error behaves like x²/(2p) for large p (within 10 % at p = 64).
    assert got[-1] == pytest.approx(x * x / 128, rel=0.1)


def test_arithmetic_examples_of_claim_5():
    assert float(taylor_exp(1.0, 2)) == 2.5
    assert (math.e - 2.5) / math.e == pytest.approx(0.080301, abs=5e-7)
    assert float(expdef_exp(1.0, 8)) == pytest.approx(float(Fraction(9, 8) ** 8), rel=1e-15)
    assert float(Fraction(9, 8) ** 8) == pytest.approx(2.565784514, abs=1e-9)
    assert float(expdef_exp(1.0, 4)) == pytest.approx(2.441406, abs=1e-6) and float(taylor_exp(1.0, 4)) == pytest.approx(2.708333, abs=1e-6)


def test_max_error_on_minus_two_to_two_decreases_with_order_and_matches_the_digest():
    x = np.linspace(-2, 2, 401)
    taylor = [np.max(np.abs(np.exp(x) - taylor_exp(x, p)) / np.exp(x)) for p in range(1, 9)]
    expdef = [np.max(np.abs(np.exp(x) - expdef_exp(x, p)) / np.exp(x)) for p in (1, 2, 3, 4, 5, 6, 8, 16, 32)]
    np.testing.assert_allclose(taylor, [8.389, 6.389, 3.463, 1.463, 0.507, 0.149, 0.0383, 0.00866], rtol=5e-3)  # digest rounds to 3-4 digits
    np.testing.assert_allclose(expdef, [8.389, 1.0, 0.726, 0.538, 0.425, 0.351, 0.260, 0.128, 0.0632], rtol=5e-3)
    assert np.all(np.diff(taylor) < 0) and np.all(np.diff(expdef) < 0)


def test_on_minus_four_to_four_taylor_error_is_not_monotone_at_small_order():
    got = [abs(math.exp(-4) - float(taylor_exp(-4.0, p))) / math.exp(-4) for p in range(1, 5)]
    np.testing.assert_allclose(got, [165, 272, 310, 272], rtol=5e-3)


@pytest.mark.parametrize("p", [1, 2, 4, 8])
@pytest.mark.parametrize("x", [0.5, 1.0, 2.0, 3.0])
def test_expdef_below_taylor_below_exp_for_nonnegative_x(p, x):
    assert float(expdef_exp(x, p)) <= float(taylor_exp(x, p)) <= math.exp(x)
    # …because C(p, m)/p^m ≤ 1/m! coefficient by coefficient (exact rationals).
    for m in range(p + 1):
        assert Fraction(math.comb(p, m), p**m) <= Fraction(1, math.factorial(m))


def test_expdef_coefficients_for_p_4():
    coeffs = [math.comb(4, m) / 4**m for m in range(5)]
    np.testing.assert_allclose(coeffs, [1, 1, 0.375, 0.0625, 0.00390625])


@pytest.mark.parametrize("p", [0, 1, 2, 5, 9])
def test_taylor_remainder_bound_holds(p):
    x = np.linspace(-5, 5, 201)
    rel = np.abs(np.exp(x) - taylor_exp(x, p)) / np.exp(x)
    assert np.all(rel <= taylor_remainder_bound(x, p) * (1 + 1e-12) + 1e-15)


@pytest.mark.parametrize(("p", "root"), [(1, -1.0), (3, -1.596072), (5, -2.180607), (7, -2.759003), (9, -3.333551)])
def test_odd_taylor_polynomials_have_the_digests_real_root(p, root):
    coeffs = [1 / math.factorial(m) for m in range(p, -1, -1)]  # numpy.roots: highest degree first
    real = [r.real for r in np.roots(coeffs) if abs(r.imag) < 1e-9]
    assert len(real) == 1 and real[0] == pytest.approx(root, abs=2e-6)
    assert float(taylor_exp(root - 0.01, p)) < 0 < float(taylor_exp(root + 0.01, p))


@pytest.mark.parametrize(("p", "digest_minimum"), [(2, 0.5), (4, 0.270395), (6, 0.149331), (8, 0.083277)])
def test_even_taylor_polynomials_stay_positive_with_minimum_r_to_the_p_over_p_factorial(p, digest_minimum):
    res = minimize_scalar(lambda x: float(taylor_exp(x, p)), bounds=(-6, 0), method="bounded", options={"xatol": 1e-10})
    # The minimum sits at the real root r of T_{p−1} (T_p' = T_{p−1}), where T_p(r) = r^p/p!.
    r = [z.real for z in np.roots([1 / math.factorial(m) for m in range(p - 1, -1, -1)]) if abs(z.imag) < 1e-9][0]
    assert res.x == pytest.approx(r, abs=1e-6)
    assert res.fun == pytest.approx(r**p / math.factorial(p), rel=1e-9)
    assert np.all(taylor_exp(np.linspace(-30, 30, 6001), p) >= res.fun * (1 - 1e-9))
    # The digest's minima agree to 4 significant digits; for p = 6 and 8 its 5th-6th digits are off
    # (0.149331 vs 0.149325, 0.083277 vs 0.083272), so the closed form above is the reference.
    assert res.fun == pytest.approx(digest_minimum, rel=1e-4)


def test_expdef_sign_for_even_and_odd_p():
    x = np.linspace(-20, 5, 501)
    assert np.all(expdef_exp(x, 4) >= 0) and expdef_exp(-4.0, 4) == 0
    assert np.all(expdef_exp(x[x < -3], 3) < 0)


# ---------------------------------------------------------------- dimensions, guards, ranks, cost


@pytest.mark.parametrize("d", [1, 4, 8, 16, 64])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_feature_dims_follow_their_formulas(d, p):
    assert feature_dim("taylor", d, p) == sum(d**m for m in range(p + 1))
    if d <= 16:  # brute force: count the monomials of degree ≤ p in d variables
        n_monomials = sum(1 for m in range(p + 1) for _ in itertools.combinations_with_replacement(range(d), m))
        assert feature_dim("taylor_sym", d, p) == n_monomials
    assert feature_dim("taylor_sym", d, p) == math.comb(d + p, p)
    assert feature_dim("expdef", d, p) == (d + 1) ** p == sum(math.comb(p, m) * d**m for m in range(p + 1))
    assert feature_dim("expdef", d, p) >= feature_dim("taylor", d, p) >= feature_dim("taylor_sym", d, p)


def test_feature_dims_of_the_digest_table():
    assert [feature_dim("taylor", 64, p) for p in range(1, 5)] == [65, 4161, 266305, 17043521]
    assert [feature_dim("taylor", 8, p) for p in range(1, 5)] == [9, 73, 585, 4681]
    assert [feature_dim("taylor_sym", 64, p) for p in range(1, 5)] == [65, 2145, 47905, 814385]
    assert [feature_dim("taylor_sym", 8, p) for p in range(1, 5)] == [9, 45, 165, 495]
    assert [feature_dim("expdef", 8, p) for p in (2, 4, 8)] == [81, 6561, 43046721]
    assert feature_dim("expdef", 64, 8) == pytest.approx(3.19e14, rel=2e-3)


OMEGAS_100K = np.zeros((100_000, 64))  # 1000 × 100 000 Performer features would be 800 MB


@pytest.mark.parametrize(("call", "what"), [
    (lambda X: taylor_feature_map(X, 4), "taylor_feature_map"),
    (lambda X: taylor_feature_map(X, 5, symmetric=True), "taylor_feature_map"),
    (lambda X: expdef_feature_map(X, 4), "expdef_feature_map"),
    (lambda X: performer_feature_map(X, OMEGAS_100K), "performer_feature_map"),
])
def test_oversized_feature_maps_are_refused_before_allocating(call, what):
    X = np.ones((1000, 64))  # taylor p=4: 17 043 521 features per row
    tracemalloc.start()
    with pytest.raises(ValueError, match=rf"{what}.*entries.*over max_entries"):
        call(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000  # nothing close to N·D was allocated


def test_feature_cap_is_adjustable_and_reports_the_size():
    X = np.ones((10, 4))
    with pytest.raises(ValueError, match=r"10 × 341 = 3,410 entries"):
        taylor_feature_map(X, 4, max_entries=3000)
    assert taylor_feature_map(X, 4, max_entries=3410).shape == (10, 341)
    assert MAX_FEATURE_ENTRIES == 20_000_000


@pytest.mark.parametrize("d", [4, 8])
def test_ranks_of_exact_linear_and_taylor_kernels(d):
    N = 64
    Q, K, _ = make_qkv(N, d, seed=0)
    reference = lambda A: int(np.linalg.matrix_rank(A, rtol=1e-10))  # numpy's SVD-based rank
    assert numerical_rank(kernel_matrix("exact", Q, K)) == reference(kernel_matrix("exact", Q, K)) == N
    assert numerical_rank(kernel_matrix("elu", Q, K)) == d
    for p in (1, 2, 3):
        A = kernel_matrix("taylor_sym", Q, K, p)
        assert numerical_rank(A) == reference(A) == min(N, math.comb(d + p, p))
    # Row normalisation (the softmax denominator) does not change the rank.
    assert numerical_rank(attention_weights(Q, K)) == N
    W = kernel_matrix("taylor", Q, K, 2)
    assert numerical_rank(W / W.sum(1, keepdims=True)) == math.comb(d + 2, 2)


def test_rank_study_spectrum_of_the_digest_seed():
    s = rank_study(64, 4, (1,))["exact"]
    np.testing.assert_allclose(s[[0, 9, 19]], [570.5, 26.8, 3.99], rtol=3e-3)
    assert s[63] == pytest.approx(2.7e-4, rel=0.03)
    np.testing.assert_allclose(singular_values(np.diag([3.0, 1.0, 2.0])), [3, 2, 1])


def test_attention_flops_and_crossover():
    f = attention_flops(1000, 64, 64, 4161)
    assert f == {"standard": 1000 * 1000 * 128, "linear": 2 * 1000 * 4161 * 64}
    assert crossover_length(64, 64, feature_dim("taylor", 64, 2)) == 4161
    assert crossover_length(64, 64, feature_dim("taylor_sym", 64, 2)) == 2145
    N = 4162  # just above the crossover the linear form is cheaper, just below it is not
    assert attention_flops(N, 64, 64, 4161)["linear"] < attention_flops(N, 64, 64, 4161)["standard"]
    assert attention_flops(4160, 64, 64, 4161)["linear"] > attention_flops(4160, 64, 64, 4161)["standard"]


# ---------------------------------------------------------------- the experiment


def test_approximation_sweep_reproduces_the_digest_d4_numbers_and_its_orderings():
    rec = approximation_sweep(64, 4, 1.0, seed=0, expdef_orders=(1, 2, 4), n_draws=20)
    by = lambda m: {r["p"] if m != "performer" else r["D"]: r for r in rec if r["method"] == m}
    taylor, sym, expdef, perf = by("taylor"), by("taylor_sym"), by("expdef"), by("performer")
    np.testing.assert_allclose([taylor[p]["error"] for p in (1, 2, 3, 4)], [0.635, 0.527, 0.345, 0.249], atol=6e-4)
    np.testing.assert_allclose([expdef[p]["error"] for p in (1, 2, 4)], [0.635, 0.533, 0.409], atol=6e-4)
    assert [taylor[p]["D"] for p in (1, 2, 3, 4)] == [5, 21, 85, 341]
    assert [sym[p]["D"] for p in (1, 2, 3, 4)] == [5, 15, 35, 70]
    for p in (1, 2, 3, 4):  # compression changes D, not the kernel
        assert sym[p]["error"] == pytest.approx(taylor[p]["error"], rel=1e-10)
    errors = [taylor[p]["error"] for p in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    for p in (1, 2, 3, 4):  # equal budget M = D: deterministic Taylor beats random features here
        assert taylor[p]["error"] < perf[taylor[p]["D"]]["error"]


def test_relative_error_and_make_qkv():
    assert relative_error([[3.0, 4.0]], [[0.0, 5.0]]) == pytest.approx(math.sqrt(9 + 1) / 5)
    Q, K, V = make_qkv(4000, 16, scale=2.0, d_v=3, seed=1)
    assert V.shape == (4000, 3)
    # std(q·k) = 2 by construction; 4000 samples give a relative standard error ≈ 1.1 %.
    assert np.std(np.sum(Q * K, axis=1)) == pytest.approx(2.0, rel=0.05)


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(("order", "error"), [(True, TypeError), (2.0, TypeError), ("2", TypeError), (-1, ValueError)])
def test_bad_orders_are_refused(order, error):
    with pytest.raises(error, match="order"):
        taylor_feature_map(np.ones((2, 2)), order)


def test_bad_arguments_are_refused_with_their_names():
    with pytest.raises(ValueError, match="p=0"):
        expdef_feature_map(np.ones((2, 2)), 0)
    with pytest.raises(ValueError, match=r"X must be a non-empty 2-D array.*shape \(3,\)"):
        taylor_feature_map(np.ones(3), 2)
    with pytest.raises(ValueError, match="X has NaN"):
        taylor_feature_map(np.array([[np.nan, 1.0]]), 2)
    with pytest.raises(TypeError, match="X must be a real numeric array"):
        taylor_feature_map(np.array([["a", "b"]]), 2)
    with pytest.raises(TypeError, match="X must be a real numeric array"):
        taylor_feature_map(np.ones((2, 2), dtype=complex), 2)
    with pytest.raises(ValueError, match="kind='poly'"):
        feature_dim("poly", 4, 2)
    with pytest.raises(ValueError, match="kind='poly'"):
        feature_map("poly", np.ones((2, 2)))
    with pytest.raises(ValueError, match="needs the order p"):
        feature_map("taylor", np.ones((2, 2)))
    with pytest.raises(ValueError, match="needs omegas"):
        feature_map("performer", np.ones((2, 2)))
    with pytest.raises(ValueError, match="omegas has 3 columns"):
        performer_feature_map(np.ones((2, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="M=0"):
        sample_omegas(0, 2)
    with pytest.raises(ValueError, match="Q has d = 2 features but K has 3"):
        softmax_attention(np.ones((2, 2)), np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="K has N_k = 2 rows but V has 3"):
        softmax_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="phi_k has N_k = 2 rows but V has 3"):
        linear_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="phi_q has D = 2 features but phi_k has 3"):
        linear_attention(np.ones((2, 2)), np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="scale"):
        attention_weights(np.ones((2, 2)), np.ones((2, 2)), scale=float("inf"))
    with pytest.raises(ValueError, match="rtol"):
        numerical_rank(np.eye(2), rtol=0)
    with pytest.raises(ValueError, match="D=0"):
        attention_flops(10, 4, 4, 0)
    with pytest.raises(ValueError, match="scale"):
        make_qkv(4, 2, scale=-1.0)
    with pytest.raises(ValueError, match="q and k"):
        performer_relative_std(np.ones(2), np.ones(3), 4)
    with pytest.raises(TypeError, match="max_entries"):
        taylor_feature_map(np.ones((2, 2)), 2, max_entries=1.5)
    with pytest.raises(ValueError, match="approx has shape"):
        relative_error(np.ones(2), np.ones(3))


# ---------------------------------------------------------------- figures


def test_draw_functions_return_figures_with_the_measured_numbers():
    fig = draw_singular_values(4, 2)
    assert "ranks 64 (exact), 4 (elu+1), 15 (Taylor p = 2)" in fig.axes[0].get_title()
    fig = draw_feature_dimension(64, 4096)
    assert "up to p = 2" in fig.axes[0].get_title()  # C(66, 2) = 2145 ≤ 4096 < C(67, 3) = 47905
    for fig in (draw_exp_approximations(3, 4.0), draw_error_vs_order(), draw_error_vs_dimension(2, 1.0, n_draws=2),
                draw_performer_std(norms=(1.0,), Ms=(16, 64), n_draws=50), draw_attention_maps(N=8)):
        assert hasattr(fig, "savefig")


def test_scalar_relative_error_and_records_by():
    from lib.attention_features import records_by, scalar_relative_error

    assert float(scalar_relative_error("taylor", 1.0, 2)) == pytest.approx((math.e - 2.5) / math.e, rel=1e-14)
    assert float(scalar_relative_error("expdef", 1.0, 8)) == pytest.approx((math.e - 1.125**8) / math.e, rel=1e-12)
    with pytest.raises(ValueError, match="kind='exact'"):
        scalar_relative_error("exact", 1.0, 2)
    rec = [{"method": "taylor", "p": 2, "D": 7}, {"method": "performer", "p": None, "D": 7}]
    assert records_by(rec, "taylor") == {2: rec[0]} and records_by(rec, "performer") == {7: rec[1]}


def test_performer_relative_variance_for_orthogonal_unit_vectors_monte_carlo():
    # Digest claim 2: ‖q+k‖² = 2, relative variance e² − 1 = 6.389. One sample is log-normal with
    # σ² = 2, kurtosis ≈ 3.9e3, so the sample variance of 200 000 draws has a relative standard
    # error ≈ √(3.9e3 / 2e5) ≈ 0.14: a 50 % tolerance is about 3.5 standard errors (fixed seed).
    # A wrong formula such as e^{‖q+k‖²/2} − 1 = 1.72 would still fail it.
    q, k = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    est = performer_estimates(q, k, 1, 200_000, seed=3)  # M = 1: single samples, e^{q·k} = 1
    assert est.var() == pytest.approx(math.exp(2) - 1, rel=0.5)
    assert performer_relative_std(q, k, 1) ** 2 == pytest.approx(6.389, abs=5e-4)
