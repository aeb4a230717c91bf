"""lib.optim against independent references: torch.optim.SGD / Adam / AdamW on the big batch,
closed forms, Monte Carlo, autograd, and brute-force simulation of the exact moment theory."""
import io
import math

import numpy as np
import pytest
import torch

from lib.optim import (VARIANTS, AccumAdam, AccumSGDM, EMASGDM, ExplicitAccumulator, adam_drift_study,
                       adam_v_inflation, beta_tilde, chi, expected_excess_risk, linear_regression_run, memory_census,
                       memory_table, mlp_adam_study, per_update_coefficients, quadratic_trajectories,
                       stationary_excess_risk, state_bytes, update_frequency_study, v_inflation_monte_carlo,
                       window_weights)
from lib.optim.memory import MEMORY_SCHEMES

F64 = torch.float64


# --------------------------------------------------------------------------------------------
# a random problem with several parameter groups (tanh MLP, float64)
# --------------------------------------------------------------------------------------------
GROUPS = [dict(lr=0.05, beta=0.9), dict(lr=0.02, beta=0.5), dict(lr=0.1, beta=0.99)]


def make_model(seed=0, dtype=F64):
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8, dtype=dtype), torch.nn.Tanh(), torch.nn.Linear(8, 8, dtype=dtype),
                                torch.nn.Tanh(), torch.nn.Linear(8, 2, dtype=dtype))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.5)
    return model


def grouped(model, settings=GROUPS, transform=lambda g: g):
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    return [dict(params=list(layer.parameters()), **transform(dict(s))) for layer, s in zip(layers, settings)]


def as_torch_sgd(s):  # EMA-form (lr, beta) -> torch.optim.SGD(lr * (1 - beta), momentum=beta)
    return dict(lr=s["lr"] * (1 - s["beta"]), momentum=s["beta"])


def batches(n, k, b=3, seed=1, dtype=F64):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, b, 5, generator=gen, dtype=dtype), torch.randn(n, k, b, 2, generator=gen, dtype=dtype))


def loss_fn(model, x, y):
    return 0.5 * ((model(x) - y) ** 2).sum(-1).mean()


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def run_micro(model, opt, xs, ys, *, set_to_none=True, after_step=None):
    """One step() per micro-batch; returns the flat parameters after each window."""
    n, k = xs.shape[:2]
    out = []
    for w in range(n):
        for i in range(k):
            loss_fn(model, xs[w, i], ys[w, i]).backward()
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
            if after_step:
                after_step()
        out.append(flat(model))
    return torch.stack(out)


def run_big_batch(model, opt, xs, ys, before_step=None):
    """The reference: one torch step per window on the mean of the k micro-batch losses."""
    n, k = xs.shape[:2]
    out = []
    for w in range(n):
        loss = sum(loss_fn(model, xs[w, i], ys[w, i]) for i in range(k)) / k
        loss.backward()
        if before_step:
            before_step(w)
        opt.step()
        opt.zero_grad()
        out.append(flat(model))
    return torch.stack(out)


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------
def test_chi_is_one_exactly_at_multiples_of_k():
    assert chi(np.arange(9), 4).tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert chi(0, 3) == 1 and chi(7, 7) == 1 and chi(8, 7) == 0
    assert chi(np.arange(12), 1).tolist() == [1] * 12


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "4", None])
def test_chi_refuses_bad_k(k):
    with pytest.raises(ValueError, match="k="):
        chi(3, k)


def test_chi_refuses_bad_t():
    with pytest.raises(ValueError, match="t="):
        chi(-1, 4)
    with pytest.raises(TypeError, match="t="):
        chi(2.0, 4)
    with pytest.raises(TypeError, match="t="):
        chi(np.array([True, False]), 4)


BETA_TILDE_TABLE = [(0.9, 2, 0.95, 0.902500), (0.9, 4, 0.975, 0.903688), (0.9, 8, 0.9875, 0.904267),
                    (0.9, 16, 0.99375, 0.904554), (0.99, 4, 0.9975, 0.990037), (0.999, 4, 0.99975, 0.999000)]


@pytest.mark.parametrize("beta,k,bt,btk", BETA_TILDE_TABLE)
def test_beta_tilde_matches_the_digest_table(beta, k, bt, btk):
    assert beta_tilde(beta, k) == pytest.approx(bt, abs=1e-15)
    assert beta_tilde(beta, k) ** k == pytest.approx(btk, abs=1e-6)


def test_beta_tilde_error_tends_to_exp_not_zero():
    assert beta_tilde(0.9, 4) ** 4 == pytest.approx(0.90368789, abs=1e-8)
    assert beta_tilde(0.9, 10**6) ** (10**6) == pytest.approx(math.exp(-0.1), abs=1e-6)
    errs = [beta_tilde(0.9, k) ** k - 0.9 for k in (2, 4, 8, 16, 64)]
    assert all(np.diff(errs) > 0)  # grows with k towards e^-0.1 - 0.9, it does not vanish
    assert beta_tilde(0.999, 4) ** 4 - 0.999 < 1e-6
    assert beta_tilde(0.3, 1) == 0.3  # k = 1 is the base optimizer, bit for bit


@pytest.mark.parametrize("beta,k", [(1.0, 4), (-0.1, 4), (float("nan"), 2), (0.9, 0), (0.9, 1.5)])
def test_beta_tilde_refuses_bad_arguments(beta, k):
    with pytest.raises(ValueError):
        beta_tilde(beta, k)
    with pytest.raises(TypeError, match="beta"):
        beta_tilde("0.9", 4)


def test_window_weights_digest_values():
    np.testing.assert_allclose(window_weights(0.9, 4, 2, "chi")[-4:], [0.025] * 4, rtol=1e-14)
    np.testing.assert_allclose(window_weights(0.9, 4, 2, "chi")[:4], [0.0225] * 4, rtol=1e-14)
    np.testing.assert_allclose(window_weights(0.9, 4, 1, "beta_tilde")[::-1], [0.025, 0.024375, 0.023766, 0.023171],
                               atol=5e-7)
    np.testing.assert_allclose(window_weights(0.9, 4, 1, "sparse")[::-1], [0.1, 0.09, 0.081, 0.0729], rtol=1e-14)
    assert window_weights(0.9, 4, 1, "sparse").sum() == pytest.approx(0.3439, abs=1e-14)


@pytest.mark.parametrize("beta,k,n", [(0.9, 4, 3), (0.5, 3, 5), (0.99, 8, 2), (0.0, 2, 2)])
def test_window_weights_sums(beta, k, n):
    bt = 1 - (1 - beta) / k
    assert window_weights(beta, k, n, "chi").sum() == pytest.approx(1 - beta**n, abs=1e-14)
    assert window_weights(beta, k, n, "beta_tilde").sum() == pytest.approx(1 - bt ** (k * n), abs=1e-14)
    assert window_weights(beta, k, n, "sparse").sum() == pytest.approx(1 - beta ** (k * n), abs=1e-14)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("beta,k,n", [(0.9, 4, 3), (0.7, 3, 2)])
def test_window_weights_equal_the_momentum_of_the_optimizer_fed_one_hot_gradients(variant, beta, k, n):
    # Linearity: feeding g_t = e_t makes coordinate t of the momentum the weight of g_t.
    size = k * n
    p = torch.zeros(size, dtype=F64, requires_grad=True)
    opt = AccumSGDM([p], lr=0.1, beta=beta, k=k, variant=variant)
    for t in range(size):
        p.grad = torch.nn.functional.one_hot(torch.tensor(t), size).to(F64)
        opt.step()
    np.testing.assert_allclose(opt.state[p]["momentum"].numpy(), window_weights(beta, k, n, variant), rtol=1e-13)


def test_window_weights_refuses_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        window_weights(0.9, 4, 2, "exact")
    with pytest.raises(ValueError, match="n_windows"):
        window_weights(0.9, 4, 0, "chi")
    with pytest.raises(ValueError, match="k="):
        window_weights(0.9, 0, 2, "chi")


def test_adam_v_inflation_closed_form_values():
    for k in (2, 4, 8):
        assert adam_v_inflation(0.0, 1.0, k) == pytest.approx(k, rel=1e-15)
    assert adam_v_inflation(1.0, 1.0, 4) == pytest.approx(1.6, rel=1e-15)
    assert adam_v_inflation(math.sqrt(10), 1.0, 4) == pytest.approx(1.0732, abs=1e-4)
    assert adam_v_inflation(3.0, 0.0, 4) == 1.0


@pytest.mark.parametrize("mu,sigma,k", [(0.0, 1.0, 2), (0.0, 1.0, 4), (0.0, 1.0, 8), (1.0, 1.0, 4),
                                        (math.sqrt(10), 1.0, 4)])
def test_adam_v_inflation_matches_monte_carlo(mu, sigma, k):
    # Independent estimate: 1e5 windows of k normal draws (seeded). The ratio estimator's relative
    # standard error is below 0.5% here; 2% is more than 4 standard errors (significance < 1e-4).
    rng = np.random.default_rng(12345)
    g = rng.normal(mu, sigma, size=(100_000, k))
    mc = (g**2).mean() / (g.mean(axis=1) ** 2).mean()
    assert adam_v_inflation(mu, sigma, k) == pytest.approx(mc, rel=0.02)
    assert v_inflation_monte_carlo(mu, sigma, k, trials=100_000, seed=7) == pytest.approx(mc, rel=0.02)


def test_adam_v_inflation_refuses_bad_arguments():
    with pytest.raises(ValueError, match="sigma"):
        adam_v_inflation(0.0, -1.0, 4)
    with pytest.raises(ValueError, match="k="):
        adam_v_inflation(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="undefined"):
        adam_v_inflation(0.0, 0.0, 4)


# --------------------------------------------------------------------------------------------
# SGDM: the EMA-form reference and the built-in accumulation
# --------------------------------------------------------------------------------------------
def test_ema_sgdm_equals_torch_sgd_with_rescaled_lr_and_several_groups():
    a, b = make_model(0), make_model(0)
    xs, ys = batches(30, 1)
    ours = run_micro(a, EMASGDM(grouped(a)), xs, ys)
    ref = run_micro(b, torch.optim.SGD(grouped(b, transform=as_torch_sgd)), xs, ys)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-13)


def test_torch_sgd_momentum_is_not_the_ema_form():
    # Even with dampening = momentum, torch's buffer starts at g, not (1 - beta) g.
    p, q = (torch.zeros(1, dtype=F64, requires_grad=True) for _ in range(2))
    ours, theirs = EMASGDM([p], lr=1.0, beta=0.9), torch.optim.SGD([q], lr=1.0, momentum=0.9, dampening=0.9)
    for opt, x in ((ours, p), (theirs, q)):
        x.grad = torch.ones(1, dtype=F64)
        opt.step()
    assert float(p.detach()) == pytest.approx(-0.1) and float(q.detach()) == pytest.approx(-1.0)


@pytest.mark.parametrize("k", [2, 4, 5])
def test_accum_sgdm_equals_torch_sgd_on_the_big_batch_in_float64(k):
    a, b = make_model(3), make_model(3)
    xs, ys = batches(25, k, seed=k)
    ours = run_micro(a, AccumSGDM(grouped(a), k=k), xs, ys)
    ref = run_big_batch(b, torch.optim.SGD(grouped(b, transform=as_torch_sgd)), xs, ys)
    assert (ours - ref).abs().max() < 1e-12
    assert (ref[-1] - ref[0]).abs().max() > 0.1  # the run really moved


def test_accum_sgdm_equals_explicit_accumulation_of_ema_sgdm():
    a, b = make_model(4), make_model(4)
    xs, ys = batches(25, 4, seed=9)
    ours = run_micro(a, AccumSGDM(grouped(a), k=4), xs, ys)
    ref = run_micro(b, ExplicitAccumulator(EMASGDM(grouped(b)), 4), xs, ys)
    assert (ours - ref).abs().max() < 1e-12


def test_accum_sgdm_in_float32_stays_within_1e_5_of_the_reference():
    a, b = make_model(5, torch.float32), make_model(5, torch.float32)
    xs, ys = batches(25, 4, seed=2, dtype=torch.float32)
    ours = run_micro(a, AccumSGDM(grouped(a), k=4), xs, ys)
    ref = run_big_batch(b, torch.optim.SGD(grouped(b, transform=as_torch_sgd)), xs, ys)
    assert (ours - ref).abs().max() < 1e-5


def test_parameters_are_frozen_inside_a_window_and_update_count_is_floor_t_over_k():
    model = make_model(6)
    opt = AccumSGDM(grouped(model), k=3)
    xs, ys = batches(4, 3)
    before = flat(model)
    for t in range(1, 12):
        assert opt.is_update_step() == (t % 3 == 0)
        loss_fn(model, xs.flatten(0, 1)[t % 12], ys.flatten(0, 1)[t % 12]).backward()
        opt.step()
        opt.zero_grad()
        now = flat(model)
        assert torch.equal(now, before) == (t % 3 != 0)
        before = now
        assert opt.micro_step == t and opt.num_updates == t // 3


@pytest.mark.parametrize("variant", VARIANTS)
def test_k_equal_one_is_ema_sgdm_bit_for_bit(variant):
    a, b = make_model(7), make_model(7)
    xs, ys = batches(20, 1)
    ours = run_micro(a, AccumSGDM(grouped(a), k=1, variant=variant), xs, ys)
    ref = run_micro(b, EMASGDM(grouped(b)), xs, ys)
    assert torch.equal(ours, ref)


def test_constant_gradient_gives_plain_sgdm_at_window_count():
    # g = 1, beta = 0.9, lr = 0.1, k = 4: theta_12 = -0.1 * (0.1 + 0.19 + 0.271) = -0.0561.
    p = torch.zeros(1, dtype=F64, requires_grad=True)
    opt = AccumSGDM([p], lr=0.1, beta=0.9, k=4)
    for t in range(1, 13):
        p.grad = torch.ones(1, dtype=F64)
        opt.step()
        if t % 4 == 0:
            n = t // 4
            assert float(opt.state[p]["momentum"]) == pytest.approx(1 - 0.9**n, abs=1e-15)
    assert float(p.detach()) == pytest.approx(-0.0561, abs=1e-15)


def test_beta_tilde_form_under_constant_gradient():
    # exact: m = 1 - beta^n; beta_tilde form: m = 1 - bt^(kn). Digest: 0.1 vs 0.0963121 (n=1), 0.19 vs
    # 0.1833482 (n=2), 0.6513216 vs 0.6367676 (n=10).
    expected = {1: (0.1, 0.0963121), 2: (0.19, 0.1833482), 10: (0.6513216, 0.6367676)}
    ps = {v: torch.zeros(1, dtype=F64, requires_grad=True) for v in ("chi", "beta_tilde")}
    opts = {v: AccumSGDM([ps[v]], lr=0.1, beta=0.9, k=4, variant=v) for v in ps}
    for t in range(1, 41):
        for v in ps:
            ps[v].grad = torch.ones(1, dtype=F64)
            opts[v].step()
        if t % 4 == 0 and t // 4 in expected:
            exact, approx = expected[t // 4]
            assert float(opts["chi"].state[ps["chi"]]["momentum"]) == pytest.approx(exact, abs=5e-8)
            assert float(opts["beta_tilde"].state[ps["beta_tilde"]]["momentum"]) == pytest.approx(approx, abs=5e-8)


def test_lr_schedule_in_micro_steps_uses_the_lr_of_the_update_step():
    a, b = make_model(8), make_model(8)
    xs, ys = batches(20, 4, seed=4)
    lam = lambda t: 1.0 / (1 + 0.05 * t)  # noqa: E731
    opt = AccumSGDM(grouped(a), k=4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    ours = run_micro(a, opt, xs, ys, after_step=sched.step)
    ref_opt = torch.optim.SGD(grouped(b, transform=as_torch_sgd))

    def set_lr(w):  # the update at micro-step t = 4(w + 1) ran with lr * lam(t - 1)
        for g, s in zip(ref_opt.param_groups, GROUPS):
            g["lr"] = s["lr"] * (1 - s["beta"]) * lam(4 * (w + 1) - 1)
    ref = run_big_batch(b, ref_opt, xs, ys, before_step=set_lr)
    assert (ours - ref).abs().max() < 1e-12


def test_decoupled_weight_decay_is_applied_only_at_updates():
    a, b = make_model(9), make_model(9)
    xs, ys = batches(20, 4, seed=5)
    wd = 0.3
    ours = run_micro(a, AccumSGDM(grouped(a, transform=lambda s: {**s, "weight_decay": wd}), k=4), xs, ys)
    ref_opt = torch.optim.SGD(grouped(b, transform=as_torch_sgd))

    def decay(w):  # theta <- theta (1 - lr wd) once per window, then the momentum step
        with torch.no_grad():
            for g, s in zip(ref_opt.param_groups, GROUPS):
                for p in g["params"]:
                    p.mul_(1 - s["lr"] * wd)
    ref = run_big_batch(b, ref_opt, xs, ys, before_step=decay)
    assert (ours - ref).abs().max() < 1e-12


# --------------------------------------------------------------------------------------------
# a parameter with no gradient in some micro-steps
# --------------------------------------------------------------------------------------------
class Branchy(torch.nn.Module):
    """A trunk used on every micro-batch, a branch used only where ``use`` says, and a head never used."""

    def __init__(self, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.trunk = torch.nn.Parameter(torch.randn(5, 2, generator=gen, dtype=F64))
        self.branch = torch.nn.Parameter(torch.randn(5, 2, generator=gen, dtype=F64))
        self.unused = torch.nn.Parameter(torch.randn(3, generator=gen, dtype=F64))

    def forward(self, x, use):
        out = torch.tanh(x @ self.trunk)
        return out + x @ self.branch if use else out


def branch_pattern(n, k):
    # Branch first used mid-window (window 2, micro-step 3), then absent for a whole window (window 4).
    use = np.zeros((n, k), dtype=bool)
    use[1, 2] = True
    use[2] = [True, False, True, False]
    use[4:] = np.random.default_rng(0).random((n - 4, k)) < 0.5
    return use


def run_branchy(opt_factory, *, set_to_none, big_batch=False, n=12, k=4):
    model = Branchy()
    opt = opt_factory(model)
    xs, ys = batches(n, k, seed=11)
    use = branch_pattern(n, k)
    out = []
    for w in range(n):
        if big_batch:
            (sum(0.5 * ((model(xs[w, i], use[w, i]) - ys[w, i]) ** 2).sum(-1).mean() for i in range(k)) / k).backward()
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
        else:
            for i in range(k):
                (0.5 * ((model(xs[w, i], use[w, i]) - ys[w, i]) ** 2).sum(-1).mean()).backward()
                opt.step()
                opt.zero_grad(set_to_none=set_to_none)
        out.append(torch.cat([model.trunk.detach().flatten(), model.branch.detach().flatten(), model.unused.detach()]))
    return torch.stack(out), model, opt


def test_missing_gradient_counts_as_zero_whatever_zero_grad_does():
    f = lambda m: AccumSGDM(m.parameters(), lr=0.1, beta=0.9, k=4)  # noqa: E731
    none, _, _ = run_branchy(f, set_to_none=True)
    zeros, _, _ = run_branchy(f, set_to_none=False)
    assert torch.equal(none, zeros)


def test_missing_gradients_match_big_batch_torch_sgd_with_zero_filled_gradients():
    ours, model, opt = run_branchy(lambda m: AccumSGDM(m.parameters(), lr=0.1, beta=0.9, k=4), set_to_none=True)
    ref, _, _ = run_branchy(lambda m: torch.optim.SGD(m.parameters(), lr=0.1 * 0.1, momentum=0.9), set_to_none=False,
                         big_batch=True)
    assert (ours - ref).abs().max() < 1e-12
    explicit, _, _ = run_branchy(lambda m: ExplicitAccumulator(EMASGDM(m.parameters(), lr=0.1, beta=0.9), 4),
                              set_to_none=True)
    assert (ours - explicit).abs().max() < 1e-12
    # The branch kept moving in window 4 (no gradient at all) because its momentum did.
    assert not torch.equal(ours[3, 10:20], ours[2, 10:20])
    # A parameter that never had a gradient is left alone and gets no state.
    assert torch.equal(ours[-1, 20:], ours[0, 20:]) and model.unused not in opt.state


def test_a_never_seen_parameter_gets_no_state_and_no_weight_decay():
    used, unused = (torch.ones(2, dtype=F64, requires_grad=True) for _ in range(2))
    opt = AccumSGDM([used, unused], lr=0.1, beta=0.9, k=2, weight_decay=0.5)
    for _ in range(4):
        used.grad = torch.ones(2, dtype=F64)
        opt.step()
    assert unused not in opt.state and torch.equal(unused.detach(), torch.ones(2, dtype=F64))


# --------------------------------------------------------------------------------------------
# state_dict round trips (resume in the middle of a window)
# --------------------------------------------------------------------------------------------
def _round_trip(make_opt, steps_before=10, steps_after=11, k=4):
    xs, ys = batches(1, steps_before + steps_after, seed=13)
    xs, ys = xs[0], ys[0]

    def train(model, opt, ts):
        for t in ts:
            loss_fn(model, xs[t], ys[t]).backward()
            opt.step()
            opt.zero_grad()
    a = make_model(1)
    opt_a = make_opt(a)
    train(a, opt_a, range(steps_before + steps_after))
    b = make_model(1)
    opt_b = make_opt(b)
    train(b, opt_b, range(steps_before))
    buf = io.BytesIO()
    torch.save({"model": b.state_dict(), "opt": opt_b.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    c = make_model(99)  # different initial values: everything must come from the checkpoint
    c.load_state_dict(saved["model"])
    opt_c = make_opt(c)
    opt_c.load_state_dict(saved["opt"])
    train(c, opt_c, range(steps_before, steps_before + steps_after))
    return flat(a), flat(c), saved["opt"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_accum_sgdm_state_dict_resumes_mid_window_bit_for_bit(variant):
    full, resumed, saved = _round_trip(lambda m: AccumSGDM(grouped(m), k=4, variant=variant))
    assert torch.equal(full, resumed)
    assert [g["micro_step"] for g in saved["param_groups"]] == [10, 10, 10]


@pytest.mark.parametrize("variant", VARIANTS)
def test_accum_adam_state_dict_resumes_mid_window_bit_for_bit(variant):
    full, resumed, _ = _round_trip(lambda m: AccumAdam(m.parameters(), lr=1e-2, k=4, variant=variant))
    assert torch.equal(full, resumed)


def test_explicit_accumulator_state_dict_resumes_mid_window_bit_for_bit():
    full, resumed, saved = _round_trip(lambda m: ExplicitAccumulator(EMASGDM(grouped(m)), 4))
    assert torch.equal(full, resumed) and saved["micro_step"] == 10


def test_new_param_group_joins_the_current_window():
    a = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = AccumSGDM([a], lr=0.1, k=4)
    for _ in range(3):
        a.grad = torch.ones(2, dtype=F64)
        opt.step()
    b = torch.zeros(2, dtype=F64, requires_grad=True)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["micro_step"] == 3 and opt.is_update_step()
    with pytest.raises(ValueError, match="k="):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "k": 2})


# --------------------------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (F64, 1e-12)])
def test_accum_adam_with_k_one_is_torch_adam(variant, dtype, tol):
    a, b = make_model(2, dtype), make_model(2, dtype)
    xs, ys = batches(40, 1, dtype=dtype)
    ours = run_micro(a, AccumAdam(a.parameters(), lr=1e-2, k=1, variant=variant), xs, ys)
    ref = run_micro(b, torch.optim.Adam(b.parameters(), lr=1e-2), xs, ys)
    assert (ours - ref).abs().max() < tol


def test_accum_adam_weight_decay_with_k_one_is_torch_adamw():
    a, b = make_model(2), make_model(2)
    xs, ys = batches(40, 1)
    ours = run_micro(a, AccumAdam(a.parameters(), lr=1e-2, weight_decay=0.1), xs, ys)
    ref = run_micro(b, torch.optim.AdamW(b.parameters(), lr=1e-2, weight_decay=0.1), xs, ys)
    assert (ours - ref).abs().max() < 1e-12


def test_chi_adam_is_exact_when_the_micro_gradients_of_a_window_are_equal():
    k = 4
    a, b = make_model(3), make_model(3)
    xs, ys = batches(30, 1, seed=3)
    xs, ys = xs.expand(-1, k, -1, -1), ys.expand(-1, k, -1, -1)  # the same micro-batch k times per window
    ours = run_micro(a, AccumAdam(a.parameters(), lr=1e-2, k=k), xs, ys)
    ref = run_big_batch(b, torch.optim.Adam(b.parameters(), lr=1e-2), xs, ys)
    assert (ours - ref).abs().max() < 1e-12


def test_chi_adam_is_not_exact_on_noisy_micro_batches():
    a, b = make_model(3), make_model(3)
    xs, ys = batches(30, 4, seed=3)
    ours = run_micro(a, AccumAdam(a.parameters(), lr=1e-2, k=4), xs, ys)
    ref = run_big_batch(b, torch.optim.Adam(b.parameters(), lr=1e-2), xs, ys)
    assert (ours - ref).abs().max() > 1e-3


@pytest.mark.parametrize("eps", [1e-8, 0.5])
def test_first_chi_adam_update_uses_the_mean_of_squares(eps):
    # m_hat = mean g, v_hat = mean g^2 exactly; explicit accumulation uses (mean g)^2.
    g = torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, 0.5], [-1.0, 1.0, 0.5], [2.0, 4.0, 0.5]], dtype=F64)  # (k, D)
    lr = 0.1
    p = torch.zeros(3, dtype=F64, requires_grad=True)
    q = torch.zeros(3, dtype=F64, requires_grad=True)
    built_in = AccumAdam([p], lr=lr, eps=eps, k=4, eps_inside_sqrt=True)
    explicit = ExplicitAccumulator(AccumAdam([q], lr=lr, eps=eps, eps_inside_sqrt=True), 4)
    for gi in g:
        p.grad, q.grad = gi.clone(), gi.clone()
        built_in.step()
        explicit.step()
    mean, mean_sq = g.mean(0), (g**2).mean(0)
    torch.testing.assert_close(p.detach(), -lr * mean / torch.sqrt(mean_sq + eps), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(q.detach(), -lr * mean / torch.sqrt(mean**2 + eps), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(built_in.v_hat(p), mean_sq, rtol=1e-12, atol=0)


def test_constant_gradient_chi_adam_moves_lr_times_sign_every_update():
    p = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = AccumAdam([p], lr=0.01, eps=1e-8, k=3, eps_inside_sqrt=True)
    g = torch.tensor([2.0, -0.5], dtype=F64)
    for t in range(1, 13):
        p.grad = g.clone()
        opt.step()
    expected = -4 * 0.01 * g / torch.sqrt(g**2 + 1e-8)
    torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=0)


def test_sparse_and_beta_tilde_adam_bias_correct_with_micro_steps():
    # With a constant gradient the EMA of any beta has m = (1 - b^t) g, so m_hat = g exactly when
    # corrected with the micro-step count t; the update is then lr * sign(g) (eps = 0).
    for variant in ("sparse", "beta_tilde"):
        p = torch.zeros(1, dtype=F64, requires_grad=True)
        opt = AccumAdam([p], lr=0.01, eps=0.0, k=4, variant=variant)
        for _ in range(8):
            p.grad = torch.full((1,), 3.0, dtype=F64)
            opt.step()
        assert float(p.detach()) == pytest.approx(-0.02, abs=1e-15)


def test_element_wise_optimizers_treat_rows_as_independent_runs():
    rng = torch.Generator().manual_seed(0)
    grads = torch.randn(12, 2, 3, generator=rng, dtype=F64)  # (T, rows, D)
    joint = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    rows = [torch.zeros(3, dtype=F64, requires_grad=True) for _ in range(2)]
    opt_j = AccumAdam([joint], lr=0.1, k=3)
    opt_r = [AccumAdam([r], lr=0.1, k=3) for r in rows]
    for g in grads:
        joint.grad = g.clone()
        opt_j.step()
        for r, o, gi in zip(rows, opt_r, g):
            r.grad = gi.clone()
            o.step()
    assert torch.equal(joint.detach(), torch.stack([r.detach() for r in rows]))


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def _p():
    return [torch.zeros(2, requires_grad=True)]


@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=-0.1), "lr"), (dict(beta=1.0), "beta"), (dict(beta=-0.5), "beta"), (dict(k=0), "k="), (dict(k=2.0), "k="),
    (dict(k=True), "k="), (dict(variant="exact"), "variant"), (dict(weight_decay=-1.0), "weight_decay"),
    (dict(lr=float("inf")), "lr"),
])
def test_accum_sgdm_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AccumSGDM(_p(), **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=-1.0), "lr"), (dict(betas=(0.9, 1.0)), r"betas\[1\]"), (dict(betas=(-0.1, 0.9)), r"betas\[0\]"),
    (dict(betas=(0.9,)), "betas"), (dict(eps=-1e-8), "eps"), (dict(k=-2), "k="), (dict(variant="adam"), "variant"),
    (dict(weight_decay=-0.1), "weight_decay"),
])
def test_accum_adam_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AccumAdam(_p(), **kwargs)


def test_type_errors_name_the_argument():
    with pytest.raises(TypeError, match="lr"):
        AccumSGDM(_p(), lr="0.1")
    with pytest.raises(TypeError, match="eps_inside_sqrt"):
        AccumAdam(_p(), eps_inside_sqrt=1)
    with pytest.raises(TypeError, match="optimizer"):
        ExplicitAccumulator("sgd", 4)
    with pytest.raises(ValueError, match="k="):
        ExplicitAccumulator(EMASGDM(_p()), 0)
    with pytest.raises(ValueError, match="lr"):
        EMASGDM(_p(), lr=-1.0)


@pytest.mark.parametrize("make", [lambda ps: AccumSGDM(ps, k=2), lambda ps: AccumAdam(ps, k=2), lambda ps: EMASGDM(ps)])
def test_sparse_gradients_raise_runtime_error(make):
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = make(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


def test_step_accepts_a_closure_and_returns_its_loss():
    model = make_model(0)
    opt = AccumSGDM(model.parameters(), k=2)
    x, y = torch.randn(3, 5, dtype=F64), torch.randn(3, 2, dtype=F64)

    def closure():
        opt.zero_grad()
        loss = loss_fn(model, x, y)
        loss.backward()
        return loss
    assert float(opt.step(closure).detach()) == pytest.approx(float(loss_fn(model, x, y).detach()))


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def test_memory_census_counts_one_buffer_saved_and_all_schemes_agree():
    census = {s: memory_census(s) for s in MEMORY_SCHEMES}
    p = census["built-in χ-form"]["param_bytes"]
    largest = 256 * 256 * 8
    assert census["explicit buffer"]["state_bytes"] == 2 * p
    assert census[".grad accumulation"]["state_bytes"] == p and census[".grad accumulation"]["idle_grad_bytes"] == p
    assert census["built-in χ-form"]["state_bytes"] == p and census["built-in χ-form"]["idle_grad_bytes"] == 0
    assert census["built-in χ-form"]["peak_grad_bytes"] == p
    hooks = census["built-in χ-form in backward hooks"]
    assert hooks["state_bytes"] == p and hooks["peak_grad_bytes"] == largest and hooks["idle_grad_bytes"] == 0
    ref = census["explicit buffer"]["params"]
    for c in census.values():
        np.testing.assert_allclose(c["params"], ref, rtol=0, atol=1e-12)
    table = memory_table(census)
    assert "1.00 P" in repr(table) and "<td style='text-align:right'>1.00 P</td>" in table._repr_html_()
    with pytest.raises(ValueError, match="scheme"):
        memory_census("keras")


def test_state_bytes_of_adam_is_two_parameter_copies():
    p = torch.zeros(10, 10, dtype=torch.float32, requires_grad=True)
    opt = AccumAdam([p], k=4)
    p.grad = torch.ones_like(p)
    opt.step()
    assert state_bytes(opt) == 2 * 400


# --------------------------------------------------------------------------------------------
# the linear-regression toy and its exact theory
# --------------------------------------------------------------------------------------------
def test_linear_regression_gradient_is_the_autograd_gradient():
    seen = {}

    class Spy(EMASGDM):
        def step(self, closure=None):
            seen.setdefault("grad", self.param_groups[0]["params"][0].grad.clone())
            seen.setdefault("w", self.param_groups[0]["params"][0].detach().clone())
            return super().step(closure)
    linear_regression_run(lambda ps: Spy(ps, lr=0.05), steps=1, problems=3, dim=4, micro_batch=5, seed=3)
    from lib.optim.experiments import _linear_regression_data
    _, x, y = _linear_regression_data(4, 5, 1.0, 1, 3, 3, False)
    w = seen["w"].clone().requires_grad_(True)
    (0.5 * ((torch.einsum("pbd,pd->pb", x[0], w) - y[0]) ** 2).mean(-1).sum()).backward()
    torch.testing.assert_close(seen["grad"], w.grad, rtol=1e-14, atol=1e-14)


def test_stationary_risk_without_momentum_matches_the_hand_derived_closed_form():
    # beta = 0: a = (sigma^2 / B) / (2 / lr - 1 - (1 + D) / B) per coordinate; risk D a.
    for lr, b, d, s in [(0.05, 2, 20, 1.0), (0.01, 8, 5, 0.5)]:
        a = (s**2 / b) / (2 / lr - 1 - (1 + d) / b)
        got = stationary_excess_risk(lr=lr, beta=0.0, variant="plain", micro_batch=b, dim=d, noise=s)
        assert got == pytest.approx(d * a, rel=1e-12)


def test_expected_risk_first_update_by_hand():
    lr, beta, b, d, s = 0.05, 0.9, 2, 20, 1.0
    a0, g = 1 / d, 1 - beta
    kappa = 1 + (1 + d) / b
    a1 = a0 - 2 * lr * g * a0 + lr**2 * g**2 * (kappa * a0 + s**2 / b)
    curve = expected_excess_risk(1, lr=lr, beta=beta, variant="plain", micro_batch=b, dim=d, noise=s)
    assert curve[0] == pytest.approx(1.0) and curve[1] == pytest.approx(d * a1, rel=1e-13)


def test_per_update_coefficients():
    assert per_update_coefficients(0.9, 4, "chi", 2) == pytest.approx((0.9, 0.1, 8.0))
    rho, s, beff = per_update_coefficients(0.9, 4, "sparse", 2)
    w = 0.1 * 0.9 ** np.arange(4)
    assert (rho, s, beff) == pytest.approx((0.9**4, w.sum(), 2 * w.sum() ** 2 / (w**2).sum()))
    with pytest.raises(ValueError, match="variant"):
        per_update_coefficients(0.9, 4, "lr/k", 2)


@pytest.mark.parametrize("variant,k", [("plain", 1), ("sparse", 4), ("chi", 8)])
def test_expected_risk_curve_matches_simulation_of_many_problems(variant, k):
    # 400 independent problems; at each checked step the mean risk is within 4 standard errors
    # (two-sided significance about 6e-5 per point) of the exact expectation.
    lr, steps = 0.05, 480
    make = (lambda ps: EMASGDM(ps, lr=lr, beta=0.9)) if variant == "plain" else \
        (lambda ps: AccumSGDM(ps, lr=lr, beta=0.9, k=k, variant=variant))
    r = linear_regression_run(make, steps=steps, problems=400, seed=21, record_every=k * 12)
    theory = expected_excess_risk(steps // k, lr=lr, beta=0.9, k=k, variant=variant)[r["steps"] // k]
    se = r["risk"].std(axis=1, ddof=1) / math.sqrt(400)
    assert np.all(np.abs(r["risk"].mean(axis=1) - theory) < 4 * se + 1e-12)
    assert theory[0] == 1.0 and theory[-1] < 0.5


def test_noise_floor_matches_long_simulation():
    # Tail average over the last half of 4000 micro-steps, 200 problems; 4 standard errors (a 6% error fails).
    lr = 0.05
    for make, floor in [
        (lambda ps: EMASGDM(ps, lr=lr, beta=0.9), stationary_excess_risk(lr=lr, beta=0.9, variant="plain")),
        (lambda ps: AccumSGDM(ps, lr=lr, beta=0.9, k=4, variant="beta_tilde"),
         stationary_excess_risk(lr=lr, beta=0.9, k=4, variant="beta_tilde")),
    ]:
        r = linear_regression_run(make, steps=4000, problems=200, seed=5, record_every=50)
        tail = r["risk"][len(r["risk"]) // 2:].mean(axis=0)  # (problems,)
        assert abs(tail.mean() - floor) < 4 * tail.std(ddof=1) / math.sqrt(200)


def test_stationary_risk_refuses_divergent_settings():
    with pytest.raises(ValueError, match="diverge"):
        stationary_excess_risk(lr=0.2, beta=0.9, variant="plain")
    assert stationary_excess_risk(lr=0.2, beta=0.9, k=4, variant="chi") > 0  # a bigger effective batch is stable


# --------------------------------------------------------------------------------------------
# experiments and figures
# --------------------------------------------------------------------------------------------
def test_quadratic_trajectories_chi_equals_explicit_and_is_a_staircase():
    paths = quadratic_trajectories(4, 0.9, steps=40)
    t = np.arange(41)
    np.testing.assert_allclose(paths["chi"][t % 4 == 0], paths["explicit"][t % 4 == 0], rtol=0, atol=1e-14)
    assert np.all(np.diff(paths["chi"])[(t[1:] % 4) != 0] == 0)
    assert np.abs(paths["beta_tilde"] - paths["chi"]).max() > 1e-4


def test_update_frequency_study_is_deterministic_and_labelled():
    a = update_frequency_study((2,), steps=200, problems=2, record_every=20)
    b = update_frequency_study((2,), steps=200, problems=2, record_every=20)
    assert list(a["score"]) == ["plain", "k=2 chi", "k=2 beta_tilde", "k=2 sparse", "k=2 lr/k"]
    assert a["score"] == b["score"]


def test_adam_drift_study_exact_for_equal_gradients_and_inflated_v_for_noise():
    det = adam_drift_study(4, steps=200, problems=2, fixed_batch=True, noise=0.0)
    assert det["drift"]["chi"] < 1e-12 and det["drift"]["sparse"] > 1e-3
    noisy = adam_drift_study(4, steps=4000, problems=4, record_every=400)
    ratio = noisy["chi"]["v_hat"][-1] / noisy["explicit"]["v_hat"][-1]
    assert 3.0 < ratio < 4.2  # noise-dominated gradients near the optimum: close to k = 4, never above it by much


def test_mlp_study_runs_small_and_is_deterministic():
    a = mlp_adam_study(steps=20, replicates=2, test_size=50, variants=("plain", "chi"))
    b = mlp_adam_study(steps=20, replicates=2, test_size=50, variants=("plain", "chi"))
    assert a["variants"]["chi"]["accuracy"].shape == (2,)
    np.testing.assert_array_equal(a["variants"]["chi"]["loss"], b["variants"]["chi"]["loss"])
    assert 0.3 < a["bayes"] <= 1.0
    with pytest.raises(ValueError, match="variants"):
        mlp_adam_study(steps=2, variants=("momentum",))


def test_draw_functions_return_figures():
    from lib.optim import plots

    figs = [plots.draw_trajectories(4, 0.9, steps=16), plots.draw_window_weights(2, 0.8),
            plots.draw_beta_tilde_error(), plots.draw_v_inflation(trials=200),
            plots.draw_noise_floor(4, 0.2, steps=200)]
    study = update_frequency_study((2,), steps=100, problems=2, record_every=10)
    theory = {label: 0.1 for label in study["score"]}
    figs.append(plots.draw_update_frequency(study, theory))
    figs.append(plots.draw_adam_drift(adam_drift_study(2, steps=40, problems=1, record_every=10), 2))
    figs.append(plots.draw_mlp_study(mlp_adam_study(steps=4, replicates=1, test_size=20)))
    assert all(hasattr(f, "savefig") for f in figs)


# --------------------------------------------------------------------------------------------
# the notebook's harness (lib.optim.problems) and small helpers
# --------------------------------------------------------------------------------------------
def test_random_problem_run_big_batch_reference_matches_built_in_with_schedule_decay_and_branch():
    from lib.optim import ema_param_groups, max_gap, random_problem_run, torch_sgd_param_groups

    lam = lambda t: 1 / (1 + 0.02 * t)  # noqa: E731
    a = random_problem_run(lambda m: AccumSGDM(ema_param_groups(m, weight_decay=0.1), k=4), k=4, lr_factor=lam)
    b = random_problem_run(lambda m: torch.optim.SGD(torch_sgd_param_groups(m)), k=4, mode="big", set_to_none=False,
                           lr_factor=lam, reference_weight_decay=0.1)
    assert max_gap(a, b) < 1e-12 and a["moved"] > 0.1 and a["frozen_inside_windows"]
    assert not torch.equal(a["branch"][4], a["branch"][3])  # moves in window 4 without any gradient
    assert torch.equal(a["branch"][1], a["branch"][0])  # untouched before its first gradient
    with pytest.raises(ValueError, match="mode"):
        random_problem_run(lambda m: EMASGDM(m.parameters()), k=2, mode="huge")
    with pytest.raises(ValueError, match="windows"):
        random_problem_run(lambda m: EMASGDM(m.parameters()), k=2, windows=0)


def test_resume_gap_is_zero_for_a_correct_optimizer_and_not_for_a_forgetful_one():
    from lib.optim import ema_param_groups, resume_gap

    assert resume_gap(lambda m: AccumSGDM(ema_param_groups(m), k=4)) == 0.0

    class Forgetful(AccumSGDM):  # drops the micro-step counter on load: resumes in the wrong phase
        def load_state_dict(self, state):
            super().load_state_dict(state)
            for g in self.param_groups:
                g["micro_step"] = 0
    assert resume_gap(lambda m: Forgetful(ema_param_groups(m), k=4)) > 1e-6


def test_constant_gradient_run_and_adam_first_update_helpers():
    from lib.optim import adam_first_update, constant_gradient_run

    r = constant_gradient_run(4, 0.9, lr=0.1, steps=12)
    assert r["theta"][12] == pytest.approx(-0.0561, abs=1e-15) and r["momentum"][4] == pytest.approx(0.1)
    g = np.array([[1.0, 2.0], [3.0, -1.0]])
    built_in, explicit = adam_first_update(g, lr=0.1, eps=0.0)
    np.testing.assert_allclose(built_in, -0.1 * g.mean(0) / np.sqrt((g**2).mean(0)), rtol=1e-14)
    np.testing.assert_allclose(explicit, -0.1 * np.sign(g.mean(0)), rtol=1e-14)


def test_tables_render():
    from lib.optim import beta_tilde_table

    t = beta_tilde_table([(0.9, 4)])
    assert "0.975" in repr(t) and "0.903688" in t._repr_html_()
