"""lib.initialization against references we did not write: scipy (truncnorm, quad, fsolve,
brentq, kstest), torch (trunc_normal_, SELU, GELU, layer_norm, rms_norm, autograd), closed
forms and brute-force unrolling. Statistical tests use fixed seeds; tolerances are stated as
z-scores (|z| < 4.5 is a two-sided level of about 7e-6) or as KS p-values (> 1e-3)."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.integrate import quad
from scipy.optimize import brentq, fsolve
from scipy.special import expit
from scipy.special import softmax as scipy_softmax

from lib import initialization as ini

Z_MAX = 4.5  # two-sided significance ~7e-6 per check


def sample_var_z(x, expected):
    """z-score of a sample variance against its expected value (delta method, 4th moment)."""
    x = np.asarray(x, dtype=float).ravel()
    c = x - x.mean()
    se = math.sqrt((np.mean(c**4) - np.mean(c**2) ** 2) / x.size)
    return (x.var() - expected) / se


# ---------------------------------------------------------------- 1. sampling distributions


@pytest.mark.parametrize("a,b", [(-2, 2), (-1, 3), (-0.5, 0.1), (5, 6), (-6, -5), (12, 13), (30, 31),
                                 (-np.inf, 0), (0.5, np.inf), (-np.inf, np.inf), (-8, 8)])
def test_truncated_normal_moments_match_scipy_truncnorm(a, b):
    mean, var = ini.truncated_normal_moments(a, b)
    ref_mean, ref_var = stats.truncnorm(a, b).stats("mv")
    assert mean == pytest.approx(float(ref_mean), rel=1e-9, abs=1e-12)
    assert var == pytest.approx(float(ref_var), rel=1e-9)
    assert var > 0


def test_truncated_normal_at_two_std_matches_closed_form_and_quadrature():
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    gamma = 1 - 4 * phi2 / mass  # 1 - 2 c phi(c) / (2 Phi(c) - 1) at c = 2
    num = quad(lambda x: x * x * math.exp(-x * x / 2), -2, 2)[0]
    den = quad(lambda x: math.exp(-x * x / 2), -2, 2)[0]
    assert ini.truncated_normal_moments(-2, 2)[1] == pytest.approx(gamma, rel=1e-13)
    assert gamma == pytest.approx(num / den, rel=1e-12)
    assert ini.truncated_normal_moments(-2, 2)[1] == pytest.approx(0.7737413035, abs=1e-10)
    assert ini.truncated_normal_std() == pytest.approx(0.8796256610, abs=1e-10)
    assert ini.truncation_correction(2.0) == pytest.approx(1.1368472343, abs=1e-10)


@pytest.mark.parametrize("c,expected", [(1.0, 0.291125), (1.5, 0.551524), (3.0, 0.973337)])
def test_truncation_variance_at_other_widths(c, expected):
    assert ini.truncated_normal_moments(-c, c)[1] == pytest.approx(expected, abs=1e-6)
    assert ini.truncation_correction(c) == pytest.approx(1 / math.sqrt(expected), rel=1e-5)


def test_rejection_sampler_follows_scipy_truncnorm_and_has_the_shrunk_variance():
    x = ini.sample_truncated_normal(200_000, seed=1)
    assert x.min() >= -2 and x.max() <= 2
    assert stats.kstest(x, stats.truncnorm(-2, 2).cdf).pvalue > 1e-3
    assert abs(sample_var_z(x, 0.7737413035)) < Z_MAX


def test_corrected_std_restores_unit_variance_and_bounds_follow_the_passed_std():
    corr = ini.truncation_correction(2.0)
    x = ini.sample_truncated_normal(200_000, std=corr, seed=2)
    assert abs(sample_var_z(x, 1.0)) < Z_MAX
    assert np.abs(x).max() <= 2 * corr and np.abs(x).max() > 2.0


def test_absolute_bounds_like_torch_truncate_nothing_at_small_std():
    rel = ini.sample_truncated_normal(200_000, std=0.02, bounds="relative", seed=3)
    ab = ini.sample_truncated_normal(200_000, std=0.02, bounds="absolute", seed=3)
    assert abs(sample_var_z(rel, 0.0004 * 0.7737413035)) < Z_MAX
    assert abs(sample_var_z(ab, 0.0004)) < Z_MAX


def test_torch_trunc_normal_uses_absolute_bounds():
    # torch.nn.init.trunc_normal_ is the reference: its a, b are absolute.
    n = 400_000
    v_small = ini.torch_trunc_normal_variance(0.02, n=n, seed=0)
    v_unit = ini.torch_trunc_normal_variance(1.0, -2.0, 2.0, n=n, seed=1)
    v_scaled = ini.torch_trunc_normal_variance(0.02, -0.04, 0.04, n=n, seed=2)
    se = math.sqrt(2 / n)  # relative std error of a variance, roughly
    assert v_small / 0.0004 == pytest.approx(1.0, abs=Z_MAX * se)
    assert v_unit == pytest.approx(0.7737413, abs=Z_MAX * se)
    assert v_scaled / 0.0004 == pytest.approx(0.7737413, abs=Z_MAX * se)


@pytest.mark.parametrize("mean,std", [(0.0, 0.5), (1.0, 2.0), (-3.0, 0.01)])
def test_uniform_bounds_give_the_requested_mean_and_variance(mean, std):
    lo, hi = ini.uniform_bounds(mean, std)
    u = stats.uniform(lo, hi - lo)
    assert u.mean() == pytest.approx(mean, abs=1e-12)
    assert u.var() == pytest.approx(std**2, rel=1e-12)
    x = np.random.default_rng(4).uniform(lo, hi, 1_000_000)
    assert abs(sample_var_z(x, std**2)) < Z_MAX


def test_init_variance_schemes():
    assert ini.init_variance(512) == 1 / 512
    assert ini.init_variance(512, scheme="he") == 2 / 512
    assert ini.init_variance(512, 128, scheme="xavier") == 2 / 640
    assert ini.init_variance(256, 256, scheme="xavier") == ini.init_variance(256)  # equal when square
    assert ini.init_variance(512, scheme="ntk") == 1.0


@pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
@pytest.mark.parametrize("scheme", ["lecun", "he", "xavier"])
def test_init_weights_hit_the_target_variance(dist, scheme):
    w = ini.init_weights((400, 300), scheme, dist, seed=5)
    assert abs(sample_var_z(w, ini.init_variance(400, 300, scheme))) < Z_MAX
    assert abs(w.mean()) < Z_MAX * w.std() / math.sqrt(w.size)


def test_lecun_layer_keeps_the_second_moment_of_all_positive_inputs():
    # x ~ U[0, sqrt 3]: mean 0.866, second moment 1; the derivation needs no zero-mean input
    # One weight draw moves E[y²] by ~5% (the inputs' mean is a component shared by the whole
    # batch, so it averages over the 512 output units only); 16 draws bring that to ~1.2%.
    x = np.random.default_rng(16).uniform(0, math.sqrt(3), size=(256, 512))
    ms = [np.mean((x @ ini.init_weights((512, 512), "lecun", seed=s)) ** 2) for s in range(16)]
    assert np.mean(ms) == pytest.approx(np.mean(x**2), rel=0.06)
    assert np.mean(x**2) == pytest.approx(1.0, rel=0.01)


def test_uncorrected_truncated_init_falls_short_by_gamma():
    w = ini.init_weights((400, 300), "lecun", "truncated_normal", correct_truncation=False, seed=6)
    assert abs(sample_var_z(w, 0.7737413035 / 400)) < Z_MAX


# ---------------------------------------------------------------- 2. second moments, activations, norms


def quad_moment(f, order):
    g = lambda x: float(f(np.float64(x))) ** order * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return quad(g, -np.inf, 0, epsabs=1e-14)[0] + quad(g, 0, np.inf, epsabs=1e-14)[0]


@pytest.mark.parametrize("name", sorted(ini.ACTIVATIONS))
@pytest.mark.parametrize("order", [1, 2, 3])
def test_activation_moments_match_scipy_quad(name, order):
    f = ini.ACTIVATIONS[name]
    assert ini.activation_moment(f, order) == pytest.approx(quad_moment(f, order), abs=1e-11)


def test_activation_second_moments_quoted_in_the_chapter():
    m = {k: ini.activation_moment(f) for k, f in ini.ACTIVATIONS.items()}
    assert m["relu"] == pytest.approx(0.5, abs=1e-13)
    assert m["sigmoid"] == pytest.approx(0.2933790, abs=1e-7)  # the article's constant
    assert m["tanh"] == pytest.approx(0.394294, abs=1e-6)
    assert m["gelu"] == pytest.approx(0.425221, abs=1e-6)
    assert m["sigmoid_rescaled"] == pytest.approx(1.0, abs=1e-12)
    assert ini.activation_moment(expit, 2) - ini.activation_moment(expit, 1) ** 2 == pytest.approx(0.043379, abs=1e-6)
    assert 1 / math.sqrt(m["sigmoid"]) == pytest.approx(1.84623, abs=1e-5)


def test_bounded_activations_stay_below_one_for_any_input_scale():
    z = np.random.default_rng(7).standard_normal(100_000)
    for s in (0.1, 1, 10, 1e3):
        assert np.mean(np.tanh(s * z) ** 2) < 1 and np.mean(expit(s * z) ** 2) < 1


def test_selu_constants_match_torch_and_a_numerical_root():
    lam, alpha = ini.selu_constants()
    t_lam = float(torch.nn.functional.selu(torch.tensor(1.0, dtype=torch.float64)))
    t_lam_alpha = -float(torch.nn.functional.selu(torch.tensor(-800.0, dtype=torch.float64)))
    assert lam == pytest.approx(t_lam, rel=1e-13)
    assert alpha == pytest.approx(t_lam_alpha / t_lam, rel=1e-13)

    def moments(p):
        la, al = p
        f = lambda x: la * (x if x > 0 else al * math.expm1(x))  # noqa: E731
        return [quad_moment(f, 1), quad_moment(f, 2) - 1]

    root = fsolve(moments, [1.0, 1.5], xtol=1e-13)
    assert (lam, alpha) == pytest.approx(tuple(root), rel=1e-9)
    x = np.linspace(-5, 5, 101)
    assert ini.selu(x) == pytest.approx(torch.nn.functional.selu(torch.tensor(x)).numpy(), rel=1e-13, abs=1e-15)


def test_gelu_matches_torch_exact_gelu():
    x = np.linspace(-6, 6, 121)
    assert ini.gelu(x) == pytest.approx(torch.nn.functional.gelu(torch.tensor(x)).numpy(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("center", [False, True])
def test_rescaled_activation_has_unit_second_moment(center):
    g = ini.rescaled_activation(expit, center=center)
    assert quad_moment(g, 2) == pytest.approx(1.0, abs=1e-10)
    if center:
        assert quad_moment(g, 1) == pytest.approx(0.0, abs=1e-10)
    else:
        assert g.scale == pytest.approx(math.sqrt(0.2933790359), rel=1e-9)
    with pytest.raises(ValueError, match="constant"):
        ini.rescaled_activation(lambda x: np.ones_like(x) * (0.0 if not center else 3.0), center=center)


def test_layer_norm_and_rms_norm_match_torch():
    rng = np.random.default_rng(8)
    x = rng.normal(0.7, 2.0, size=(3, 5, 16))
    g, b = rng.normal(size=16), rng.normal(size=16)
    tx = torch.tensor(x)
    ref_ln = torch.nn.functional.layer_norm(tx, (16,), torch.tensor(g), torch.tensor(b), eps=1e-6).numpy()
    ref_rms = torch.nn.functional.rms_norm(tx, (16,), torch.tensor(g), eps=1e-6).numpy()
    np.testing.assert_allclose(ini.layer_norm(x, g, b, eps=1e-6), ref_ln, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ini.rms_norm(x, g, eps=1e-6), ref_rms, rtol=1e-12, atol=1e-12)
    # another axis: same as moving that axis last
    np.testing.assert_allclose(ini.layer_norm(x, g[:5], axis=1),
                               np.moveaxis(ini.layer_norm(np.moveaxis(x, 1, -1), g[:5]), -1, 1), rtol=1e-13)


def test_norm_output_statistics():
    x = np.random.default_rng(9).normal(1.5, 3.0, size=(64, 128))
    ln, rms = ini.layer_norm(x, eps=0.0), ini.rms_norm(x, eps=0.0)
    np.testing.assert_allclose(ln.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(ln.var(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose((rms**2).mean(axis=1), 1, rtol=1e-12)
    assert np.all(rms.mean(axis=1) > 0.1)  # RMSNorm keeps the (positive) mean
    xc = x - x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(ini.rms_norm(xc, eps=0.0), ini.layer_norm(xc, eps=0.0), rtol=1e-12)


def test_mean_field_recursion_closed_forms():
    relu = ini.mean_field_second_moment(20, "relu")
    np.testing.assert_allclose(relu, 2.0 ** -np.arange(20), rtol=1e-12)  # halves every layer
    np.testing.assert_allclose(ini.mean_field_second_moment(20, "relu", scheme="he"), 2.0, rtol=1e-12)
    np.testing.assert_allclose(ini.mean_field_second_moment(20, "linear"), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ini.mean_field_second_moment(20, "relu", 3.0, norm="rms"), 3.0)
    # plain sigmoid settles at the fixed point of s = E[sigmoid(sqrt(s) z)^2], found here by brentq
    s_star = brentq(lambda s: quad_moment(lambda z: expit(math.sqrt(s) * z), 2) - s, 0.1, 1.0)
    assert s_star == pytest.approx(0.2647, abs=1e-4)
    assert ini.mean_field_second_moment(60, "sigmoid")[-1] == pytest.approx(s_star, rel=1e-9)
    # tanh decays like 1/(2l)
    tanh = ini.mean_field_second_moment(400, "tanh")
    assert tanh[-1] * 2 * 400 == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("activation,scheme,layers,rtol", [
    ("linear", "lecun", [0, 9, 29], 0.25), ("relu", "he", [0, 9], 0.35), ("relu", "lecun", [0, 9], 0.5),
    ("tanh", "lecun", [0, 9, 29], 0.15), ("sigmoid", "lecun", [1, 9, 29], 0.2),
    ("sigmoid_rescaled", "lecun", [1, 9, 29], 0.2), ("selu", "lecun", [0, 9, 29], 0.25),
])
def test_simulated_stack_follows_the_mean_field_recursion(activation, scheme, layers, rtol):
    # tolerances reflect finite-width drift at width 512 (see the chapter), checked over seeds 0..2
    mf = ini.mean_field_second_moment(30, activation, scheme=scheme)
    for seed in range(3):
        sim = ini.propagate_second_moment(30, 512, activation, scheme, batch=128, seed=seed)["second_moment"]
        np.testing.assert_allclose(sim[layers], mf[layers], rtol=rtol)


def test_normalization_pins_the_second_moment_and_layernorm_keeps_inputs_apart():
    for norm in ("layer", "rms"):
        r = ini.propagate_second_moment(40, 256, "sigmoid", "lecun", 2.0, norm, batch=64, seed=0)
        np.testing.assert_allclose(r["second_moment"][1:], 2.0, rtol=0.25)
    share = lambda r: r["across_input_variance"] / r["second_moment"]  # noqa: E731
    plain = ini.propagate_second_moment(30, 256, "sigmoid", batch=64, seed=0)
    layer = ini.propagate_second_moment(30, 256, "sigmoid", norm="layer", batch=64, seed=0)
    assert share(plain)[-1] < 1e-12 < 0.5 < share(layer)[-1]


def test_ntk_scheme_matches_lecun_in_the_forward_pass():
    a = ini.propagate_second_moment(10, 128, "tanh", "ntk", batch=32, seed=3)
    b = ini.propagate_second_moment(10, 128, "tanh", "lecun", batch=32, seed=3)
    np.testing.assert_allclose(a["second_moment"], b["second_moment"], rtol=1e-12)


# ---------------------------------------------------------------- 3. attention


def test_softmax_rows_and_jacobian_norm_match_scipy_and_autograd():
    z = np.random.default_rng(10).normal(size=(4, 7)) * 3
    p = ini.softmax_rows(z)
    np.testing.assert_allclose(p, scipy_softmax(z, axis=1), rtol=1e-13)
    for row, pr in zip(z, ini.softmax_jacobian_norm(p)):
        jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), torch.tensor(row))
        assert pr == pytest.approx(float(torch.linalg.norm(jac)), rel=1e-12)
    assert ini.softmax_jacobian_norm(np.eye(5)[:1])[0] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("d", [4, 16, 64])
def test_chi_shortcut_has_the_distribution_of_direct_dot_products(d):
    kw = dict(n_keys=32, n_trials=3000)
    direct = ini.attention_logits(d, scaling="none", method="direct", seed=11, **kw)
    chi = ini.attention_logits(d, scaling="none", method="chi", seed=12, **kw)
    assert stats.ks_2samp(direct.ravel()[::7], chi.ravel()[::7]).pvalue > 1e-3
    pd, pc = ini.softmax_rows(direct).max(1), ini.softmax_rows(chi).max(1)
    assert stats.ks_2samp(pd, pc).pvalue > 1e-3


def test_dot_product_variance_is_d_and_one_after_scaling():
    raw = ini.attention_logits(64, 64, 2000, scaling="none", method="direct", seed=13)
    # logits within a row share q, so use one logit per row for an i.i.d. sample
    assert abs(sample_var_z(raw[:, 0], 64.0)) < Z_MAX
    assert abs(sample_var_z(raw[:, 0] / 8.0, 1.0)) < Z_MAX


@pytest.mark.parametrize("d,max_w,onehot,entropy", [(16, 0.58, 0.02, None), (64, 0.79, 0.19, 0.57),
                                                    (256, 0.90, 0.47, None), (1024, 0.95, 0.70, 0.13)])
def test_softmax_saturation_numbers_of_the_digest(d, max_w, onehot, entropy):
    # reference values from an independent Monte Carlo run (the digest's, after its audit)
    s = ini.attention_logit_stats(d, 64, "none", n_trials=20_000, seed=d)
    assert s["mean_max_weight"] == pytest.approx(max_w, abs=0.02)
    assert s["frac_near_onehot"] == pytest.approx(onehot, abs=0.02)
    if entropy is not None:
        assert s["mean_entropy"] == pytest.approx(entropy, abs=0.03)
    t = ini.attention_logit_stats(d, 64, "sqrt", n_trials=20_000, seed=d)
    assert t["mean_max_weight"] == pytest.approx(0.107, abs=0.02)
    assert t["frac_near_onehot"] == 0.0
    assert t["mean_entropy"] == pytest.approx(3.68, abs=0.03)


def test_t5_init_stds_and_projected_logit_variance():
    stds = ini.t5_attention_init_stds(512, 64, 8)
    assert stds == pytest.approx({"q": 1 / math.sqrt(512 * 64), "k": 1 / math.sqrt(512),
                                  "v": 1 / math.sqrt(512), "o": 1 / math.sqrt(8 * 64)})
    assert ini.article_qk_std(512, 64) ** 2 == pytest.approx(1 / (512 * 8))
    expected = {"lecun": 64.0, "article": 1.0, "t5": 1.0, "extra_d_both": 1 / 64}
    for init, e in expected.items():
        assert ini.projected_logit_variance(512, 64, init, seed=14) == pytest.approx(e, rel=0.15), init


def test_key_retrieval_variants_start_as_the_theory_says_and_learn():
    runs = {v: ini.train_key_retrieval(v, seed=3, steps=60, n_test=500) for v in ini.RETRIEVAL_VARIANTS}
    log_n = math.log(32)
    # T5's init and the sqrt(d) division give the same logits at step 0 (product of stds)
    assert runs["t5"]["initial_loss"] == pytest.approx(runs["sqrt"]["initial_loss"], rel=1e-5)
    # logit variance ~2 (query = key + unit noise): loss ~ log n + var/2; unscaled: var ~2d, saturated
    assert log_n < runs["sqrt"]["initial_loss"] < log_n + 2
    assert runs["none"]["initial_loss"] > 5 * log_n
    assert runs["sqrt"]["test_loss"] < runs["sqrt"]["initial_loss"] / 3
    assert len(runs["sqrt"]["loss"]) == 60


# ---------------------------------------------------------------- 4. NTK parameterization


def test_ntk_linear_forward_and_init_statistics_match_lecun_linear():
    layer = ini.ntk_linear(256, 64, seed=0)
    x = torch.randn(512, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        manual = x @ layer.weight.T / 16.0 + layer.bias
        torch.testing.assert_close(layer(x), manual)
        assert float(layer.weight.var()) == pytest.approx(1.0, abs=0.03)
        lecun = torch.nn.Linear(256, 64, bias=False)
        torch.nn.init.normal_(lecun.weight, 0.0, 1 / 16.0, generator=torch.Generator().manual_seed(2))
        assert float(layer(x).pow(2).mean()) == pytest.approx(float(lecun(x).pow(2).mean()), rel=0.1)
        assert float(layer(x).pow(2).mean()) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("width", [64, 256, 1024])
def test_first_adam_step_moves_each_weight_by_lr(width):
    lr = 1e-2
    n = width * 16
    for par, w_rms in (("ntk", 1.0), ("standard", width**-0.5)):
        rel = ini.relative_change_after_step(width, par, "adam", lr, seed=0)
        # |update| = lr for every weight, so rel = lr * sqrt(n) / ||W|| and ||W|| ~ sqrt(n) * rms
        assert rel == pytest.approx(lr / w_rms, rel=0.05)
    layer = ini.standard_linear(width, 16, seed=0)
    exact = lr * math.sqrt(n) / float(torch.linalg.norm(layer.weight.detach()))
    assert ini.relative_change_after_step(width, "standard", "adam", lr, seed=0) == pytest.approx(exact, rel=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_ntk_equals_standard_parameterization_with_the_matching_learning_rate(optimizer):
    assert ini.equivalent_lr_gap(128, optimizer, 0.1, steps=3) < 1e-12
    # control: the same learning rate for both is NOT equivalent
    assert ini.equivalent_lr_gap(128, optimizer, 0.1, steps=3, std_lr=0.1) > 1e-3


# ---------------------------------------------------------------- 5. residuals


def brute_post_norm(depth):
    coef = np.zeros(depth + 1)
    coef[0] = 1.0  # x_0
    for t in range(depth):
        coef[t + 1] = 1.0  # F_t enters with weight 1, then the sum is divided by sqrt 2
        coef = coef / math.sqrt(2)
    return coef


@pytest.mark.parametrize("depth", [1, 2, 6, 12, 24])
def test_post_norm_coefficients_match_brute_force_unrolling(depth):
    c = ini.post_norm_coefficients(depth)
    np.testing.assert_allclose(c, brute_post_norm(depth), rtol=1e-14)
    assert np.sum(c**2) == pytest.approx(1.0, rel=1e-13)


def test_post_norm_weight_of_x0_and_pre_norm_scales():
    assert [ini.post_norm_coefficients(l)[0] for l in (6, 12, 24)] == pytest.approx([0.125, 0.015625, 0.000244140625])
    var = 1.0  # Pre-Norm: Var(x_t) = t + 1, so the branch input is x_t / sqrt(t + 1)
    scales = []
    for _ in range(5):
        scales.append(1 / math.sqrt(var))
        var += 1.0
    np.testing.assert_allclose(ini.pre_norm_input_scales(5), scales, rtol=1e-14)


@pytest.mark.parametrize("mode,alpha", [("post", 0.0), ("pre", 0.0), ("alpha", 0.5)])
@pytest.mark.parametrize("branch", ["linear", "mlp"])
def test_residual_stack_follows_theory(mode, alpha, branch):
    r = ini.residual_stack(12, 512, mode, alpha=alpha, branch=branch, batch=64, seed=0)
    th = ini.residual_theory(12, mode, alpha)
    np.testing.assert_allclose(r["corr"][:7], th["corr"][:7], atol=0.03)
    np.testing.assert_allclose(r["second_moment"], th["second_moment"], rtol=0.15)


def test_alpha_zero_residual_is_exactly_the_identity():
    x0 = np.random.default_rng(15).standard_normal((8, 64))
    r = ini.residual_stack(30, 64, "alpha", alpha=0.0, x0=x0)
    assert np.all(r["corr"] == 1.0) and np.all(r["second_moment"] == np.mean(x0**2))


def test_alpha_ramp_reaches_one_after_ceil_of_one_over_increment():
    for inc in (0.3, 1 / 1000, 0.007):
        n = math.ceil(1 / inc)
        assert ini.alpha_ramp(n, inc) == 1.0 and ini.alpha_ramp(n - 1, inc) < 1.0
    assert ini.alpha_ramp(0, 0.1) == 0.0


# ---------------------------------------------------------------- bad arguments and figures


@pytest.mark.parametrize("call,match", [
    (lambda: ini.truncated_normal_moments(2, 2), "a < b"),
    (lambda: ini.truncated_normal_moments(float("nan"), 1), "NaN"),
    (lambda: ini.truncation_correction(0), "c=0"),
    (lambda: ini.sample_truncated_normal(10, std=0), "std"),
    (lambda: ini.sample_truncated_normal(10, a=8, b=9), "rejection"),
    (lambda: ini.sample_truncated_normal(10, bounds="sigma"), "bounds"),
    (lambda: ini.uniform_bounds(0, -1), "std"),
    (lambda: ini.init_variance(0), "fan_in"),
    (lambda: ini.init_variance(4, scheme="glorot"), "scheme"),
    (lambda: ini.init_variance(4, scheme="xavier"), "fan_out"),
    (lambda: ini.init_weights((4,), "lecun"), "shape"),
    (lambda: ini.init_weights((4, 4), "lecun", "cauchy"), "dist"),
    (lambda: ini.activation_moment(np.tanh, 0), "order"),
    (lambda: ini.layer_norm(np.ones((3, 0))), "non-empty"),
    (lambda: ini.rms_norm(np.ones(3), eps=-1), "eps"),
    (lambda: ini.rms_norm(np.ones(3), axis=2), "axis"),
    (lambda: ini.layer_norm(np.ones((2, 3)), gamma=np.ones(2)), "gamma"),
    (lambda: ini.propagate_second_moment(5, 8, "swish"), "activation"),
    (lambda: ini.propagate_second_moment(5, 8, norm="batch"), "norm"),
    (lambda: ini.propagate_second_moment(5, 8, init_scale=0), "init_scale"),
    (lambda: ini.attention_logits(0, 8, 10), "d"),
    (lambda: ini.attention_logits(8, 1, 10), "n_keys"),
    (lambda: ini.attention_logits(8, 8, 10, scaling="t5"), "scaling"),
    (lambda: ini.attention_logit_stats(8, threshold=1.0), "threshold"),
    (lambda: ini.qk_init_stds(512, 64, "xavier"), "init"),
    (lambda: ini.relative_change_after_step(64, "mup"), "parameterization"),
    (lambda: ini.relative_change_after_step(64, optimizer="lion"), "optimizer"),
    (lambda: ini.post_norm_coefficients(0), "depth"),
    (lambda: ini.residual_stack(4, mode="sandwich"), "mode"),
    (lambda: ini.residual_stack(4, 8, x0=np.ones((2, 9))), "x0"),
    (lambda: ini.alpha_ramp(-1, 0.1), "step"),
    (lambda: ini.alpha_ramp(3, 0.0), "increment"),
    (lambda: ini.residual_path_weights(4, "Sandwich"), "form"),
    (lambda: ini.train_key_retrieval("article"), "variant"),
    (lambda: ini.train_key_retrieval("sqrt", noise=-1.0), "noise"),
])
def test_bad_arguments_raise_value_errors_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [lambda: ini.init_variance(2.5), lambda: ini.alpha_ramp(1.5, 0.1),
                                  lambda: ini.truncation_correction("2"), lambda: ini.activation_moment(3.0),
                                  lambda: ini.sample_truncated_normal(3, rng=np.random.RandomState(0))])
def test_wrong_types_raise_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_draw_functions_return_figures():
    figs = [ini.draw_init_distributions(n=2000), ini.draw_truncation(1.5),
            ini.draw_depth_propagation(1.0, "rms", depth=5, width=32, batch=8), ini.draw_activation_moments(),
            ini.draw_attention_saturation((4, 64), n_trials=200), ini.draw_attention_weights(16, "none", n_trials=100),
            ini.draw_ntk_relative_change((16, 64)),
            ini.draw_residual_paths("Pre-Norm", 4, max_depth=6, width=16, batch=8),
            ini.draw_alpha_ramp(),
            ini.draw_retrieval_training({"sqrt": [{"loss": np.ones(5)}], "t5": [{"loss": np.ones(5) / 2}]})]
    assert all(hasattr(f, "savefig") for f in figs)
