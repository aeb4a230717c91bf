"""lib.jl against independent references: the digest's table, high-precision arithmetic (decimal),
scipy (chi2, optimize, integrate, spatial, stats), torch's incomplete gamma, brute-force loops and
Monte Carlo with fixed seeds (significance levels stated per test)."""
import math
import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.spatial.distance import cdist, pdist

from lib import jl

# ---------------------------------------------------------------------------------------------
# Dimension bound (digest checkable claims 1, 2)

TABLE_24 = {  # digest claim 1: N -> {eps: bound n}
    100: {0.1: 11053, 0.2: 2764, 0.5: 443},
    1000: {0.1: 16579, 0.2: 4145, 0.5: 664},
    10_000: {0.1: 22105, 0.2: 5527, 0.5: 885},
    10**6: {0.1: 33158, 0.2: 8290, 0.5: 1327},
    10**9: {0.1: 49736, 0.2: 12434, 0.5: 1990},
}
TABLE_CASES = [(N, e, n) for N, row in TABLE_24.items() for e, n in row.items()]


@pytest.mark.parametrize("N,eps,expected", TABLE_CASES)
def test_jl_min_dim_matches_the_digest_table_exactly(N, eps, expected):
    assert jl.jl_min_dim(N, eps) == expected


def test_jl_min_dim_constant_16_matches_the_digest():
    assert jl.jl_min_dim(10**6, 0.1, constant=16) == 22105
    assert jl.jl_min_dim(100, 0.2, constant=16) == 1843


@pytest.mark.parametrize("N,eps,constant", [(2, 0.99, 24), (7, 0.3, 24), (12345, 0.05, 16), (10**12, 0.7, 24),
                                            (999_983, 0.123, 8.5)])
def test_jl_min_dim_is_the_smallest_integer_strictly_above_the_bound_in_50_digit_arithmetic(N, eps, constant):
    getcontext().prec = 50
    x = Decimal(str(constant)) * Decimal(N).ln() / Decimal(str(eps)) ** 2
    n = jl.jl_min_dim(N, eps, constant)
    assert Decimal(n) > x >= Decimal(n - 1)


# ---------------------------------------------------------------------------------------------
# Union bound (claim 3) and the steps of the proof


@pytest.mark.parametrize("N,n,eps,expected", [(100, 2764, 0.2, 0.0098557), (1000, 16579, 0.1, 9.98516e-4),
                                               (10**6, 33158, 0.1, 9.99031e-7)])
def test_failure_bound_at_the_threshold_matches_the_digest_and_is_below_one_over_N(N, n, eps, expected):
    got = jl.jl_failure_bound(N, n, eps)
    assert got == pytest.approx(expected, rel=1e-5)
    assert got < 1 / N


def test_failure_bound_in_log_space_equals_the_direct_formula_and_survives_huge_N():
    for N, n, eps in [(2, 1, 0.5), (50, 300, 0.3), (10**5, 9000, 0.25)]:
        assert jl.jl_failure_bound(N, n, eps) == pytest.approx(N * (N - 1) * math.exp(-eps**2 * n / 8), rel=1e-12)
    big = jl.jl_failure_bound(10**12, 10, 0.1)
    assert big == pytest.approx(math.exp(2 * math.log(10**12) - 0.0125), rel=1e-6)
    assert jl.jl_failure_bound(10**12, 10, 0.1, clip=True) == 1.0
    assert jl.jl_failure_bound(10**12, 10**6, 0.5, clip=True) == jl.jl_failure_bound(10**12, 10**6, 0.5)


@pytest.mark.parametrize("N", [2, 3, 10, 1000, 10**6, 10**12])
@pytest.mark.parametrize("eps", [0.05, 0.3, 0.9])
def test_key_substitution_and_both_guarantees_hold_at_the_bound(N, eps):
    n24 = jl.jl_min_dim(N, eps)
    assert -eps**2 * n24 / 8 < -3 * math.log(N)  # exp(-eps^2 n / 8) < N^-3
    assert 1 - jl.jl_failure_bound(N, n24, eps) >= (N - 1) / N
    n16 = jl.jl_min_dim(N, eps, constant=16)
    assert 1 - jl.jl_failure_bound(N, n16, eps) >= 1 / N  # existence: success probability >= 1/N


def test_union_bound_min_dim_article_tail_has_a_closed_form():
    for N, eps in [(100, 0.2), (30, 0.5), (10**6, 0.1)]:
        closed = math.ceil(8 * math.log(N**2 * (N - 1)) / eps**2)  # N(N-1) e^{-eps^2 n/8} <= 1/N
        assert jl.union_bound_min_dim(N, eps, "article") == closed <= jl.jl_min_dim(N, eps)


@pytest.mark.parametrize("N,eps", [(30, 0.5), (100, 0.3)])
def test_union_bound_min_dim_matches_a_brute_force_scan_with_scipy(N, eps):
    pairs = N * (N - 1) / 2
    last_fail = {"exact": 0, "chernoff": 0}
    for n in range(1, jl.jl_min_dim(N, eps) + 1):
        exact = stats.chi2.sf(n * (1 + eps), n) + stats.chi2.cdf(n * (1 - eps), n)
        chern = math.exp(n * (math.log(1 + eps) - eps) / 2) + math.exp(n * (math.log(1 - eps) + eps) / 2)
        if pairs * exact > 1 / N:
            last_fail["exact"] = n
        if pairs * chern > 1 / N:
            last_fail["chernoff"] = n
    assert jl.union_bound_min_dim(N, eps, "exact") == last_fail["exact"] + 1
    assert jl.union_bound_min_dim(N, eps, "chernoff") == last_fail["chernoff"] + 1
    assert last_fail["exact"] < last_fail["chernoff"]


# ---------------------------------------------------------------------------------------------
# The unit-norm lemma: MGF, Chernoff optimisation, exact tails (claims 4, 5, 6)


@pytest.mark.parametrize("n,lam", [(10, 2.0), (100, 8.3), (100, -30.0), (7, 3.4)])
def test_square_mgf_matches_numerical_gaussian_integral(n, lam):
    density = lambda t: math.sqrt(n / (2 * math.pi)) * math.exp(-n * t * t / 2 + lam * t * t)  # noqa: E731
    got, _ = integrate.quad(density, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
    assert jl.square_mgf(lam, n) == pytest.approx(got, rel=1e-9)


def test_chernoff_minimiser_matches_scipy_minimisation_of_the_raw_objective():
    n, eps = 100, 0.2
    raw = lambda lam: math.exp(-lam * (1 + eps)) * (n / (n - 2 * lam)) ** (n / 2)  # noqa: E731
    res = optimize.minimize_scalar(raw, bounds=(1e-9, 50 - 1e-9), method="bounded", options={"xatol": 1e-8})
    assert jl.chernoff_lambda_star(n, eps) == pytest.approx(25 / 3, rel=1e-12)
    assert res.x == pytest.approx(jl.chernoff_lambda_star(n, eps), abs=1e-3)
    assert res.fun == pytest.approx(0.413159, rel=1e-5)
    assert math.exp(jl.chernoff_log_objective(jl.chernoff_lambda_star(n, eps), n, eps)) == pytest.approx(
        jl.chernoff_tails(n, eps)[0], rel=1e-12)


def test_elementary_inequalities_of_the_proof_hold_on_a_fine_grid():
    e = np.linspace(1e-6, 1 - 1e-6, 100_001)
    assert np.all(np.log1p(e) - e <= -e**2 / 4)
    assert np.all(np.log1p(-e) + e <= np.log1p(e) - e)


EXACT_CASES = [  # digest claim 5: (n, eps, exact two-sided, optimised Chernoff sum, article bound)
    (100, 0.2, 0.15474, 0.7275, 1.2131),
    (100, 0.5, 9.1089e-4, 8.919e-3, 8.7874e-2),
    (500, 0.2, 1.7395e-3, 1.511e-2, 0.16417),
    (1000, 0.2, 1.3067e-5, 1.544e-4, 1.3476e-2),
]


@pytest.mark.parametrize("n,eps,exact,chern,article", EXACT_CASES)
def test_tails_match_the_digest_values(n, eps, exact, chern, article):
    up, lo = jl.unit_norm_tail_exact(n, eps)
    assert up + lo == pytest.approx(exact, rel=1e-4)
    cu, cl = jl.chernoff_tails(n, eps)
    assert cu + cl == pytest.approx(chern, rel=1e-3)
    assert jl.unit_norm_tail_bound(n, eps) == pytest.approx(article, rel=1e-4)


def test_exact_tails_agree_with_40_digit_mpmath_and_with_torch_incomplete_gamma():
    import mpmath
    import torch

    mpmath.mp.dps = 40
    ns = np.array([1, 2, 5, 10, 50, 100, 333, 1000, 5000])
    for eps in (0.05, 0.2, 0.5, 0.9):
        up, lo = jl.unit_norm_tail_exact(ns, eps)
        for k, n in enumerate(ns):
            ref_up = float(mpmath.gammainc(n / 2, n * (1 + eps) / 2, mpmath.inf, regularized=True))
            ref_lo = float(mpmath.gammainc(n / 2, 0, n * (1 - eps) / 2, regularized=True))
            assert up[k] == pytest.approx(ref_up, rel=1e-9, abs=1e-300)
            assert lo[k] == pytest.approx(ref_lo, rel=1e-9, abs=1e-300)
        a = torch.tensor(ns / 2, dtype=torch.float64)  # torch's incomplete gamma is good to about 1e-9
        t_up = torch.special.gammaincc(a, torch.tensor(ns * (1 + eps) / 2, dtype=torch.float64)).numpy()
        t_lo = torch.special.gammainc(a, torch.tensor(ns * (1 - eps) / 2, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(up, t_up, atol=1e-8, rtol=0)
        np.testing.assert_allclose(lo, t_lo, atol=1e-8, rtol=0)


def test_exact_two_sided_tail_matches_monte_carlo_on_gaussian_vectors():
    # 200 000 vectors u with N(0, 1/n) entries; the test fails with probability ~1e-4 (3.9 standard errors).
    n, eps, draws = 100, 0.2, 200_000
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(10):
        u = rng.standard_normal((draws // 10, n)) / math.sqrt(n)  # (draws/10, n)
        hits += int(np.sum(np.abs(np.sum(u * u, axis=1) - 1) >= eps))
    up, lo = jl.unit_norm_tail_exact(n, eps)
    p = up + lo
    assert abs(hits / draws - p) < 3.9 * math.sqrt(p * (1 - p) / draws)


@pytest.mark.parametrize("n", [10, 11, 30, 77, 100, 500, 1234, 5000])
def test_exact_le_optimised_chernoff_le_article_bound_for_each_tail(n):
    for eps in np.linspace(0.01, 0.99, 50):
        up, lo = jl.unit_norm_tail_exact(n, eps)
        cu, cl = jl.chernoff_tails(n, eps)
        single = jl.unit_norm_tail_bound(n, eps) / 2
        assert up <= cu * (1 + 1e-12) and lo <= cl * (1 + 1e-12)
        assert cu <= single * (1 + 1e-12) and cl <= single * (1 + 1e-12)
        assert up + lo <= cu + cl <= 2 * single * (1 + 1e-12)


def test_lower_tail_is_smaller_beyond_one_standard_deviation_and_larger_below():
    ns = np.arange(2, 5001)
    for eps in np.linspace(0.01, 0.95, 95):
        log_up = stats.chi2.logsf(ns * (1 + eps), ns)
        log_lo = stats.chi2.logcdf(ns * (1 - eps), ns)
        beyond = (eps >= 1.05 * np.sqrt(2 / ns)) & np.isfinite(log_lo)
        assert np.all(log_lo[beyond] < log_up[beyond])
    up, lo = jl.unit_norm_tail_exact(100, 0.5)
    assert up == pytest.approx(9.039e-4, rel=1e-3) and lo == pytest.approx(6.953e-6, rel=1e-3)
    for n, eps in [(100, 0.1), (10, 0.3)]:  # within one standard deviation the order reverses
        up, lo = jl.unit_norm_tail_exact(n, eps)
        assert lo > up
    assert jl.unit_norm_tail_exact(100, 0.1) == pytest.approx((0.2322, 0.2468), rel=1e-3)


def test_chebyshev_and_markov_bounds_hold_but_are_weaker_than_chernoff_for_large_n():
    for n in (10, 100, 1000):
        for eps in (0.1, 0.5):
            up, lo = jl.unit_norm_tail_exact(n, eps)
            assert up + lo <= jl.chebyshev_tail_bound(n, eps)
            assert up <= jl.markov_upper_tail_bound(eps)
    assert jl.unit_norm_tail_bound(1000, 0.5) < jl.chebyshev_tail_bound(1000, 0.5)


# ---------------------------------------------------------------------------------------------
# Random projections (claims 7, 8, 11, 13)


def test_distortion_ratio_has_mean_one_and_variance_two_over_n_for_any_fixed_x():
    # 20 000 independent A (n=100, m=20); the tolerances are about 5 standard errors (p < 1e-5).
    n, m, draws = 100, 20, 20_000
    rng = np.random.default_rng(11)
    for x in (rng.standard_normal(m) * np.arange(1, m + 1), np.eye(m)[3]):  # anisotropic, and a basis vector
        r = jl.projected_norm_ratios(x, n, draws, seed=rng)
        assert abs(r.mean() - 1) < 0.005
        assert r.var(ddof=1) == pytest.approx(2 / n, rel=0.05)
        assert stats.kstest(r * n, stats.chi2(n).cdf).pvalue > 0.001  # chi2_n / n in distribution


def test_projected_norm_ratios_match_a_direct_loop():
    x = np.arange(1.0, 6.0)
    rng = np.random.default_rng(3)
    direct = [np.sum((rng.standard_normal((7, 5)) / math.sqrt(7) @ x) ** 2) / (x @ x) for _ in range(4)]
    np.testing.assert_allclose(jl.projected_norm_ratios(x, 7, 4, seed=3, chunk=4), direct, rtol=1e-12)
    with pytest.raises(ValueError, match="non-zero"):
        jl.projected_norm_ratios(np.zeros(3), 5, 10)


def test_inner_product_of_independent_gaussian_vectors_has_variance_one_over_n():
    # 200 000 pairs at n = 100; 2 % is about 6 standard errors of the sample variance.
    ip = jl.random_inner_products(100, 200_000, seed=12)
    assert ip.var() == pytest.approx(1 / 100, rel=0.02)
    p_emp = np.mean(np.abs(ip) >= 0.2)
    assert p_emp == pytest.approx(0.046, abs=0.004)  # digest: about 0.046
    assert p_emp <= jl.orthogonality_tail_bound(100, 0.2)
    ip1000 = jl.random_inner_products(1000, 20_000, seed=13)
    assert np.mean(np.abs(ip1000) >= 0.2) <= jl.orthogonality_tail_bound(1000, 0.2) == pytest.approx(0.02695, rel=1e-3)


def test_random_inner_products_match_a_direct_computation():
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal((2, 3, 9))
    np.testing.assert_allclose(jl.random_inner_products(9, 3, seed=4, chunk=3), np.sum(u * v, axis=1) / 9, rtol=1e-12)


def test_polarisation_identities_used_in_the_proofs():
    rng = np.random.default_rng(13)
    u, v = rng.standard_normal((2, 50))
    assert np.sum(((u + v) / math.sqrt(2)) ** 2) - np.sum(((u - v) / math.sqrt(2)) ** 2) == pytest.approx(
        2 * u @ v, abs=1e-12)
    assert np.sum((u + v) ** 2) + np.sum((u - v) ** 2) == pytest.approx(2 * (u @ u + v @ v), rel=1e-14)


def test_gaussian_projection_shape_moments_determinism_and_warning():
    A = jl.gaussian_projection(200, 1000, seed=3)
    assert A.shape == (200, 1000) and A.dtype == np.float64
    assert abs(A.mean()) < 5 * math.sqrt(1 / 200 / A.size)
    assert A.var() == pytest.approx(1 / 200, rel=0.01)  # 200 000 entries: 1 % is about 3.5 standard errors
    np.testing.assert_array_equal(A, jl.gaussian_projection(200, 1000, seed=3))
    assert jl.gaussian_projection(5, 9, seed=0, dtype=np.float32).dtype == np.float32
    with pytest.warns(UserWarning, match="does not reduce"):
        jl.gaussian_projection(10, 10, seed=0)


def test_pairwise_sq_dists_match_scipy_and_have_an_exact_zero_diagonal():
    X = np.random.default_rng(14).standard_normal((40, 300)) * 3 + 100  # far from the origin
    d2 = jl.pairwise_sq_dists(X)
    np.testing.assert_allclose(d2, cdist(X, X, "sqeuclidean"), rtol=1e-9, atol=1e-7)
    assert np.all(np.diag(d2) == 0) and np.all(d2 >= 0)


def test_distortion_ratios_match_a_brute_force_loop():
    rng = np.random.default_rng(15)
    X = rng.standard_normal((12, 50))
    Y = jl.project(X, jl.gaussian_projection(20, 50, seed=rng))
    brute = [np.sum((Y[i] - Y[j]) ** 2) / np.sum((X[i] - X[j]) ** 2) for i in range(12) for j in range(i + 1, 12)]
    np.testing.assert_allclose(jl.distortion_ratios(X, Y), brute, rtol=1e-10)
    assert jl.max_distortion(X, Y) == pytest.approx(np.max(np.abs(np.array(brute) - 1)), rel=1e-10)


def test_distortion_ratios_refuse_or_skip_duplicates_and_bad_shapes():
    X = np.random.default_rng(16).standard_normal((5, 8))
    X[3] = X[1]
    Y = X[:, :4]
    with pytest.raises(ValueError, match="points 1 and 3"):
        jl.distortion_ratios(X, Y)
    assert jl.distortion_ratios(X, Y, on_duplicate="skip").size == 9
    with pytest.raises(ValueError, match="on_duplicate"):
        jl.distortion_ratios(X, Y, on_duplicate="ignore")
    with pytest.raises(ValueError, match="5 points but Y has 4"):
        jl.distortion_ratios(X, Y[:4])
    with pytest.raises(ValueError, match="NaN"):
        jl.distortion_ratios(np.full((3, 2), np.nan), np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        jl.distortion_ratios(X[:1], Y[:1])
    with pytest.raises(ValueError, match=r"X has shape \(5, 8\) and A has shape \(3, 7\)"):
        jl.project(X, np.ones((3, 7)))


@pytest.mark.parametrize("N,m", [(30, 500), (50, 20), (8, 8)])
def test_span_coordinates_preserve_all_distances_and_inner_products(N, m):
    X = np.random.default_rng(17).standard_normal((N, m))
    Z = jl.span_coordinates(X)
    assert Z.shape == (N, min(N, m))
    np.testing.assert_allclose(pdist(Z), pdist(X), rtol=1e-10)
    np.testing.assert_allclose(Z @ Z.T, X @ X.T, rtol=1e-10, atol=1e-10 * m)


def test_projecting_span_coordinates_gives_the_same_distortion_distribution_as_the_original_points():
    # Two-sample KS test on 300 max distortions each; fails by chance with probability 1 % (fixed seeds).
    rng = np.random.default_rng(18)
    X = rng.standard_normal((30, 500))
    Z = jl.span_coordinates(X)
    n = 100
    direct = jl.direct_max_distortions(X, n, 300, seed=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        span = [jl.max_distortion(Z, jl.project(Z, jl.gaussian_projection(n, 30, rng))) for _ in range(300)]
    assert stats.ks_2samp(direct, span).pvalue > 0.01
    curve = jl.max_distortion_curve(X, [n], 300, seed=rng)[:, 0]
    assert stats.ks_2samp(direct, curve).pvalue > 0.01


def test_correlated_unit_vectors_are_unit_and_spread_their_inner_products():
    V = jl.correlated_unit_vectors(100, 400, seed=19)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1, rtol=1e-12)
    ip = (V @ V.T)[np.triu_indices(100, 1)]
    assert ip.max() > 0.5 and ip.min() < -0.5


def test_inner_product_errors_match_a_brute_force_loop_and_require_unit_vectors():
    V = jl.correlated_unit_vectors(10, 60, seed=20)
    A = jl.gaussian_projection(30, 60, seed=21)
    brute = [(A @ V[i]) @ (A @ V[j]) - V[i] @ V[j] for i in range(10) for j in range(i + 1, 10)]
    np.testing.assert_allclose(jl.inner_product_errors(V, A), brute, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="row 0 of V has norm"):
        jl.inner_product_errors(2 * V, A)


# ---------------------------------------------------------------------------------------------
# Experiments (claims 9, 10, 12)


def test_one_projection_ratios_have_the_chi2_over_n_spread():
    X = np.random.default_rng(40).standard_normal((60, 500))
    r = jl.one_projection_ratios(X, 400, seed=1)
    assert r.shape == (60 * 59 // 2,)
    assert r.std() == pytest.approx(math.sqrt(2 / 400), rel=0.15)
    np.testing.assert_array_equal(r, jl.one_projection_ratios(X, 400, seed=1))


def test_max_distortion_curve_uses_nested_prefixes_of_one_gaussian_matrix():
    X = np.random.default_rng(22).standard_normal((15, 40))
    ns = [3, 10, 27]
    D = jl.max_distortion_curve(X, ns, trials=2, seed=5)
    Z = jl.span_coordinates(X - X.mean(axis=0))
    rng = np.random.default_rng(5)
    for t in range(2):
        G = rng.standard_normal((27, Z.shape[1]))
        for j, n in enumerate(ns):
            expected = jl.max_distortion(Z, Z @ G[:n].T / math.sqrt(n))  # A_n = G[:n] / sqrt(n)
            assert D[t, j] == pytest.approx(expected, rel=1e-9)


def test_success_rate_of_the_fast_experiment_agrees_with_a_direct_simulation():
    # Direct: fresh A in the original m = 400 dimensions, distances with scipy. Binomial 99.9 % interval.
    rng = np.random.default_rng(23)
    X = rng.standard_normal((40, 400))
    n, eps, trials = 120, 0.4, 300
    fast = jl.jl_success_rate(X, n, eps, trials, seed=1)
    d0 = pdist(X, "sqeuclidean")
    direct = np.mean([np.max(np.abs(pdist(X @ (rng.standard_normal((n, 400)) / math.sqrt(n)).T, "sqeuclidean") / d0 - 1))
                      <= eps for _ in range(trials)])
    p = (fast + direct) / 2
    assert 0.05 < p < 0.95  # an informative operating point
    assert abs(fast - direct) < 3.3 * math.sqrt(2 * p * (1 - p) / trials)


@pytest.mark.parametrize("eps,n", [(0.5, 443), (0.2, 2764)])
def test_jl_succeeds_at_the_bound_for_100_gaussian_points(eps, n):
    X = np.random.default_rng(24).standard_normal((100, 1000))
    assert jl.jl_min_dim(100, eps) == n
    assert jl.jl_success_rate(X, n, eps, trials=200, seed=2) >= 0.99


def test_empirical_min_dim_is_two_to_two_and_a_half_times_below_the_bound():
    X = np.random.default_rng(25).standard_normal((100, 1000))
    got = jl.empirical_min_dim(X, 0.5, trials=100, seed=3)
    bound = jl.jl_min_dim(100, 0.5)
    assert got is not None and got < bound
    assert 1.5 <= bound / got <= 3.5
    assert jl.empirical_min_dim(X, 0.5, trials=20, seed=3, n_hi=20) is None  # far too small to succeed


def test_min_dim_from_curve_takes_the_first_n_after_the_last_failure():
    ns = [10, 20, 30, 40, 50]
    D = np.array([[0.9, 0.3, 0.1, 0.35, 0.1],   # fails at 10, 40
                  [0.9, 0.1, 0.1, 0.1, 0.1]])
    assert jl.min_dim_from_curve(ns, D, 0.3, 1.0) == 50
    assert jl.min_dim_from_curve(ns, D, 0.3, 0.5) == 20
    assert jl.min_dim_from_curve(ns, D, 0.35, 1.0) == 20
    assert jl.min_dim_from_curve(ns[:1], D[:, :1], 0.3, 0.5) is None


def test_inner_product_version_holds_at_the_bound_for_200_unit_vectors():
    n = jl.jl_min_dim(200, 0.5)
    assert n == 509
    V = jl.correlated_unit_vectors(200, 1000, seed=26)
    worst = jl.max_inner_product_errors(V, n, trials=100, seed=27)
    assert np.mean(worst <= 0.5) >= 0.99  # theory: at least (N-2)/N = 0.99


def test_max_inner_product_errors_equal_the_direct_computation_in_distribution():
    # KS test on 200 trials each; fails by chance with probability 1 %.
    V = jl.correlated_unit_vectors(20, 300, seed=30)
    fast = jl.max_inner_product_errors(V, 40, trials=200, seed=31)
    rng = np.random.default_rng(32)
    direct = [np.max(np.abs(jl.inner_product_errors(V, jl.gaussian_projection(40, 300, rng)))) for _ in range(200)]
    assert stats.ks_2samp(fast, direct).pvalue > 0.01


def test_wilson_interval_matches_scipy():
    lo, hi = jl.wilson_interval(np.array([0, 37, 100]), 100)
    for k, a, b in zip([0, 37, 100], lo, hi):
        ci = stats.binomtest(k, 100).proportion_ci(confidence_level=0.95, method="wilson")
        assert (a, b) == pytest.approx((ci.low, ci.high), abs=1e-4)


# ---------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize("N,exc", [(1, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError),
                                   ("10", TypeError), (100.0, TypeError)])
def test_bad_N_is_refused(N, exc):
    with pytest.raises(exc, match="N="):
        jl.jl_min_dim(N, 0.5)


@pytest.mark.parametrize("eps,exc", [(0, ValueError), (1, ValueError), (1.5, ValueError), (-0.1, ValueError),
                                     (float("nan"), ValueError), (float("inf"), ValueError), (True, TypeError),
                                     ("0.1", TypeError)])
def test_bad_eps_is_refused_everywhere(eps, exc):
    for call in (lambda: jl.jl_min_dim(10, eps), lambda: jl.jl_failure_bound(10, 5, eps),
                 lambda: jl.unit_norm_tail_bound(5, eps), lambda: jl.chernoff_tails(5, eps),
                 lambda: jl.unit_norm_tail_exact(5, eps), lambda: jl.chernoff_lambda_star(5, eps)):
        with pytest.raises(exc, match="eps="):
            call()


def test_other_bad_arguments_are_refused_with_their_names():
    cases = [
        (lambda: jl.jl_min_dim(10, 0.5, constant=0), ValueError, "constant="),
        (lambda: jl.jl_min_dim(10, 0.5, constant=float("inf")), ValueError, "constant="),
        (lambda: jl.jl_min_dim(10, 0.5, constant="24"), TypeError, "constant="),
        (lambda: jl.jl_failure_bound(10, 0, 0.5), ValueError, "n="),
        (lambda: jl.unit_norm_tail_bound(2.0, 0.5), TypeError, "n="),
        (lambda: jl.unit_norm_tail_bound([3, 0], 0.5), ValueError, "n="),
        (lambda: jl.orthogonality_tail_bound(True, 0.5), TypeError, "n="),
        (lambda: jl.square_mgf(5.0, 10), ValueError, "lam="),
        (lambda: jl.chernoff_log_objective(0.0, 10, 0.5), ValueError, "lam="),
        (lambda: jl.union_bound_min_dim(10, 0.5, "bernstein"), ValueError, "tail="),
        (lambda: jl.gaussian_projection(0, 10), ValueError, "n="),
        (lambda: jl.gaussian_projection(3, 10.0), TypeError, "m="),
        (lambda: jl.gaussian_projection(3, 10, seed="a"), TypeError, "seed="),
        (lambda: jl.span_coordinates(np.ones(4)), ValueError, "X must be a 2-D array"),
        (lambda: jl.max_distortion_curve(np.eye(4), [5, 3], 2), ValueError, "ns="),
        (lambda: jl.max_distortion_curve(np.eye(4), [3], 0), ValueError, "trials="),
        (lambda: jl.max_distortion_curve(np.ones((3, 4)), [3], 1), ValueError, "coincide"),
        (lambda: jl.empirical_min_dim(np.eye(4), 0.5, target=0), ValueError, "target="),
        (lambda: jl.empirical_min_dim(np.eye(4), 0.5, target=1.5), ValueError, "target="),
        (lambda: jl.empirical_min_dim(np.eye(4), 0.5, n_lo=50, n_hi=10), ValueError, "n_lo="),
        (lambda: jl.min_dim_from_curve([1, 2], np.zeros((3, 3)), 0.5, 0.9), ValueError, "max_distortions"),
        (lambda: jl.correlated_unit_vectors(10, 5, noise=-1), ValueError, "noise="),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()


# ---------------------------------------------------------------------------------------------
# Figures


def test_draw_functions_return_figures():
    rng = np.random.default_rng(28)
    X = rng.standard_normal((20, 50))
    ns = np.array([5, 20, 80])
    curves = {20: (ns, jl.max_distortion_curve(X, ns, 5, seed=0))}
    V = jl.correlated_unit_vectors(20, 50, seed=1)
    figs = [jl.draw_chernoff_objective(50, 0.3), jl.draw_tail_bounds(0.3, n_max=200, mc_draws=1000),
            jl.draw_distortion_histogram(30, 0.3, {30: jl.one_projection_ratios(X, 30, seed=0)}), jl.draw_success_curve(0.5, 20, curves),
            jl.draw_dimension_bound(0.5, {(20, 0.5): 40}, N_max=1e6),
            jl.draw_inner_products(V, jl.gaussian_projection(30, 50, seed=2), 0.5)]
    assert all(hasattr(f, "savefig") for f in figs)

