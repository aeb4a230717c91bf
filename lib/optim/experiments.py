"""The experiments of chapter 5: staircase trajectories on a 1-D quadratic, the "update less often"
study on linear regression, Adam's drift from explicit accumulation, and a small MLP with Adam."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

from lib import checks
from lib.optim.formulas import VARIANTS, _check_k, _check_real
from lib.optim.optimizers import AccumAdam, AccumSGDM, EMASGDM, ExplicitAccumulator


TRAJECTORY_VARIANTS = ("plain", "explicit", "chi", "beta_tilde", "sparse")


def make_sgdm(variant: str, params, *, lr: float, beta: float, k: int):
    """The optimizer of one trajectory variant: ``"plain"`` (:class:`EMASGDM`, every micro-step),
    ``"explicit"`` (:class:`ExplicitAccumulator` around :class:`EMASGDM`) or an :class:`AccumSGDM` variant."""
    if variant == "plain":
        return EMASGDM(params, lr=lr, beta=beta)
    if variant == "explicit":
        return ExplicitAccumulator(EMASGDM(params, lr=lr, beta=beta), k)
    checks.choice("variant", variant, TRAJECTORY_VARIANTS)  # "plain" and "explicit" returned above
    return AccumSGDM(params, lr=lr, beta=beta, k=k, variant=variant)


def quadratic_trajectories(k: int, beta: float, *, lr: float = 0.2, curvature: float = 1.0, noise: float = 1.0,
                           steps: int = 64, theta0: float = 3.0, seed: int = 0) -> dict[str, np.ndarray]:
    """theta_t, t = 0..steps, on L = curvature theta^2 / 2 with noisy gradients, for every variant.

    The micro-gradient is g_t = curvature * theta_{t-1} + noise * eps_t with the same eps_t
    (standard normal, from ``seed``) for every variant (ch. 5, staircase figure). float64.
    """
    k = _check_k(k)
    eps = torch.randn(steps, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)  # (T,)
    out = {}
    for variant in TRAJECTORY_VARIANTS:
        theta = torch.tensor([theta0], dtype=torch.float64, requires_grad=True)  # (1,)
        opt = make_sgdm(variant, [theta], lr=lr, beta=beta, k=k)
        path = [theta0]
        for t in range(steps):
            theta.grad = curvature * theta.detach() + noise * eps[t : t + 1]
            opt.step()
            path.append(float(theta.detach()))
        out[variant] = np.array(path)
    return out


def constant_gradient_run(k: int, beta: float, *, lr: float, steps: int, variant: str = "chi",
                          gradient: float = 1.0) -> dict[str, np.ndarray]:
    """theta_t and m_t, t = 0..steps, of :class:`AccumSGDM` fed the same gradient every micro-step.

    From theta_0 = m_0 = 0 the chi-form gives m_kn = (1 - beta^n) g and
    theta_kn = -lr g sum_{j<=n} (1 - beta^j), plain SGDM's values after n steps (ch. 5, claim 5).
    """
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = AccumSGDM([p], lr=lr, beta=beta, k=k, variant=variant)
    theta, m = [0.0], [0.0]
    for _ in range(steps):
        p.grad = torch.full((1,), float(gradient), dtype=torch.float64)
        opt.step()
        theta.append(float(p.detach()))
        m.append(float(opt.state[p]["momentum"]))
    return {"theta": np.array(theta), "momentum": np.array(m)}


def adam_first_update(grads, *, lr: float, eps: float, eps_inside_sqrt: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The first parameter change of chi-form :class:`AccumAdam` and of explicit accumulation
    around ``AccumAdam(k=1)``, from zero state, for the k micro-gradients ``grads`` (k, D)."""
    g = torch.as_tensor(np.asarray(grads, dtype=float))  # (k, D)
    k = g.shape[0]
    p, q = (torch.zeros(g.shape[1], dtype=torch.float64, requires_grad=True) for _ in range(2))
    built_in = AccumAdam([p], lr=lr, eps=eps, k=k, eps_inside_sqrt=eps_inside_sqrt)
    explicit = ExplicitAccumulator(AccumAdam([q], lr=lr, eps=eps, eps_inside_sqrt=eps_inside_sqrt), k)
    for gi in g:
        p.grad, q.grad = gi.clone(), gi.clone()
        built_in.step()
        explicit.step()
    return p.detach().numpy().copy(), q.detach().numpy().copy()


def _linear_regression_data(dim: int, micro_batch: int, noise: float, steps: int, problems: int, seed: int,
                            fixed_batch: bool):
    gen = torch.Generator().manual_seed(seed)
    w_star = torch.randn(problems, dim, generator=gen, dtype=torch.float64) / math.sqrt(dim)  # (P, D)
    n = 1 if fixed_batch else steps
    x = torch.randn(n, problems, micro_batch, dim, generator=gen, dtype=torch.float64)  # (T, P, B, D)
    y = torch.einsum("tpbd,pd->tpb", x, w_star)  # (T, P, B)
    y = y + noise * torch.randn(y.shape, generator=gen, dtype=torch.float64)
    return w_star, x, y


def linear_regression_run(make_optimizer: Callable, *, dim: int = 20, micro_batch: int = 2, noise: float = 1.0,
                          steps: int = 8000, problems: int = 5, seed: int = 0, record_every: int = 100,
                          fixed_batch: bool = False, probe: Callable | None = None) -> dict:
    """Train ``problems`` independent linear regressions at once with one optimizer; record the excess risk.

    Each problem has w* ~ N(0, I/dim) and a stream of micro-batches x ~ N(0, I), y = x.w* + noise * N(0, 1)
    (the same stream for every optimizer with the same ``seed``); the micro-batch loss is
    mean_b (x_b.w - y_b)^2 / 2, whose gradient x^T (x w - y) / B is set as ``.grad`` before each
    ``step()``. The parameter is one (problems, dim) tensor; the optimizers are element-wise,
    so this is the same as ``problems`` separate runs. The excess risk ||w - w*||^2 is the
    expected squared error on clean test points (x ~ N(0, I)) (ch. 5, "Fewer updates").
    ``fixed_batch`` reuses the first micro-batch (deterministic gradients). ``probe(opt, w)`` is
    called at every record and its values are collected.

    Returns ``risk`` (records, problems), ``steps`` (records,), ``w`` (final, (problems, dim))
    and ``probe`` (list).
    """
    for name, v in (("dim", dim), ("micro_batch", micro_batch), ("steps", steps), ("problems", problems),
                    ("record_every", record_every)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}={v!r} must be a positive integer")
    _check_real("noise", noise, 0.0)
    w_star, x, y = _linear_regression_data(dim, micro_batch, noise, steps, problems, seed, fixed_batch)
    w = torch.zeros(problems, dim, dtype=torch.float64, requires_grad=True)  # (P, D)
    opt = make_optimizer([w])
    risks, marks, probes = [], [], []

    def record(t):
        risks.append(((w.detach() - w_star) ** 2).sum(-1).numpy().copy())
        marks.append(t)
        if probe is not None:
            probes.append(probe(opt, w))
    record(0)
    for t in range(steps):
        xt, yt = (x[0], y[0]) if fixed_batch else (x[t], y[t])  # (P, B, D), (P, B)
        residual = torch.einsum("pbd,pd->pb", xt, w.detach()) - yt  # (P, B)
        w.grad = torch.einsum("pbd,pb->pd", xt, residual) / micro_batch  # (P, D)
        opt.step()
        if (t + 1) % record_every == 0:
            record(t + 1)
    return {"risk": np.array(risks), "steps": np.array(marks), "w": w.detach().numpy().copy(), "probe": probes}


def update_frequency_study(ks: Sequence[int] = (4, 8), *, lr: float = 0.05, beta: float = 0.9, steps: int = 8000,
                           problems: int = 5, seed: int = 0, tail: float = 0.25, **data) -> dict:
    """The "update less often" experiment: plain SGDM, the three every-k variants, and plain at lr / k.

    All runs see the same micro-batches (:func:`linear_regression_run`). The score of a run is
    its excess risk averaged over the last ``tail`` fraction of training and over problems.
    Returns ``{"curves": {label: (records,) mean over problems}, "score": {label: float},
    "score_per_problem": {label: (problems,)}, "steps": (records,)}`` with labels ``"plain"``,
    ``"k=4 chi"``, ``"k=4 beta_tilde"``, ``"k=4 sparse"``, ``"k=4 lr/k"``, ...
    """
    runs = {"plain": lambda ps: EMASGDM(ps, lr=lr, beta=beta)}
    for k in ks:
        for variant in VARIANTS:
            runs[f"k={k} {variant}"] = lambda ps, k=k, v=variant: AccumSGDM(ps, lr=lr, beta=beta, k=k, variant=v)
        runs[f"k={k} lr/k"] = lambda ps, k=k: EMASGDM(ps, lr=lr / k, beta=beta)
    out = {"curves": {}, "score": {}, "score_per_problem": {}}
    for label, make in runs.items():
        r = linear_regression_run(make, steps=steps, problems=problems, seed=seed, **data)
        start = int(round((1 - tail) * (len(r["steps"]) - 1)))
        per_problem = r["risk"][start:].mean(axis=0)  # (P,)
        out["curves"][label] = r["risk"].mean(axis=1)
        out["score_per_problem"][label] = per_problem
        out["score"][label] = float(per_problem.mean())
        out["steps"] = r["steps"]
    return out


def adam_drift_study(k: int = 4, *, lr: float = 1e-2, betas: tuple[float, float] = (0.9, 0.999), steps: int = 8000,
                     problems: int = 5, seed: int = 0, fixed_batch: bool = False, record_every: int | None = None,
                     **data) -> dict:
    """Built-in Adam variants against explicit accumulation around ``torch.optim.Adam`` (ch. 5, "Adam").

    Every variant sees the same micro-batches. Returns per label (``"explicit"``, ``"chi"``,
    ``"beta_tilde"``, ``"sparse"``): ``risk`` (records,) mean excess risk, ``w`` final weights,
    ``v_hat`` (records,) mean bias-corrected second moment after the last update; and
    ``drift[label]``: max over records of ||w - w_explicit|| / max ||w_explicit - w_0|| (records,
    every ``record_every`` micro-steps, default k * 25).
    """
    k = _check_k(k)
    record_every = record_every or 25 * k

    def explicit_v(opt, w):
        st = opt.optimizer.state.get(w)
        if not st:
            return 0.0, w.detach().clone()
        n = float(st["step"])
        return float((st["exp_avg_sq"] / (1 - betas[1] ** n)).mean()), w.detach().clone()

    def builtin_v(opt, w):
        return float(opt.v_hat(w).mean()), w.detach().clone()

    makers = {"explicit": (lambda ps: ExplicitAccumulator(torch.optim.Adam(ps, lr=lr, betas=betas), k), explicit_v)}
    for variant in VARIANTS:
        makers[variant] = (lambda ps, v=variant: AccumAdam(ps, lr=lr, betas=betas, k=k, variant=v), builtin_v)
    out = {}
    for label, (make, probe) in makers.items():
        r = linear_regression_run(make, steps=steps, problems=problems, seed=seed, record_every=record_every,
                                  fixed_batch=fixed_batch, probe=probe, **data)
        out[label] = {"risk": r["risk"].mean(axis=1), "steps": r["steps"], "w": r["w"],
                      "v_hat": np.array([p[0] for p in r["probe"]]),
                      "path": torch.stack([p[1] for p in r["probe"]]).numpy()}  # (records, P, D)
    ref = out["explicit"]["path"]
    scale = np.linalg.norm((ref - ref[:1]).reshape(len(ref), -1), axis=1).max()
    out["drift"] = {label: float(np.linalg.norm((out[label]["path"] - ref).reshape(len(ref), -1), axis=1).max() / scale)
                    for label in VARIANTS}
    return out


def mixture_task(*, dim: int = 10, classes: int = 3, separation: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Class means (classes, dim) of the Gaussian-mixture task of :func:`mlp_adam_study`: N(0, separation^2 I)."""
    gen = torch.Generator().manual_seed(seed)
    return separation * torch.randn(classes, dim, generator=gen, dtype=torch.float64)


def _mixture_sample(means: torch.Tensor, shape: tuple[int, ...], label_noise: float, gen: torch.Generator):
    classes, dim = means.shape
    labels = torch.randint(classes, shape, generator=gen)
    x = means[labels] + torch.randn(*shape, dim, generator=gen, dtype=means.dtype)  # (*shape, dim)
    flip = torch.rand(shape, generator=gen, dtype=means.dtype) < label_noise
    noisy = torch.where(flip, torch.randint(classes, shape, generator=gen), labels)
    return x, labels, noisy


MLP_VARIANTS = ("plain", "explicit", "chi", "beta_tilde", "sparse", "lr/k")


def mlp_adam_study(k: int = 4, *, lr: float = 1e-2, steps: int = 2000, replicates: int = 3, micro_batch: int = 4,
                   width: int = 64, label_noise: float = 0.1, separation: float = 0.5, test_size: int = 4000,
                   seed: int = 0,
                   variants: Sequence[str] = MLP_VARIANTS) -> dict:
    """A 2-hidden-layer tanh MLP on a 10-D, 3-class Gaussian mixture, trained with Adam variants (ch. 5, E5-5).

    ``replicates`` independent networks (own initialisation and micro-batch stream, same task)
    are trained at once as batched matrices; Adam is element-wise, so this equals separate runs.
    Training labels are resampled uniformly with probability ``label_noise``; the test set is
    clean. Variants: ``"plain"`` and ``"lr/k"``: ``torch.optim.Adam`` every micro-step at lr and
    lr / k; ``"explicit"``: :class:`ExplicitAccumulator` around ``torch.optim.Adam``; ``"chi"``,
    ``"beta_tilde"``, ``"sparse"``: :class:`AccumAdam`. Returns ``{"variants": {variant:
    {"accuracy": (R,), "loss": (R,)}}, "bayes": accuracy of the Bayes classifier}`` on the test set.
    """
    k = _check_k(k)
    unknown = set(variants) - set(MLP_VARIANTS)
    if unknown:
        raise ValueError(f"variants {sorted(unknown)} are not among {MLP_VARIANTS}")
    means = mixture_task(separation=separation, seed=seed)
    classes, dim = means.shape
    data_gen = torch.Generator().manual_seed(seed + 1)
    x, _, y = _mixture_sample(means, (steps, replicates, micro_batch), label_noise, data_gen)  # (T, R, B, d), (T, R, B)
    x_test, y_test, _ = _mixture_sample(means, (test_size,), 0.0, data_gen)  # (N, d), (N,)
    init_gen = torch.Generator().manual_seed(seed + 2)
    sizes = [(dim, width), (width, width), (width, classes)]
    init = [(torch.randn(replicates, a, b, generator=init_gen, dtype=torch.float64) / math.sqrt(a),
             torch.zeros(replicates, 1, b, dtype=torch.float64)) for a, b in sizes]

    def forward(params, inputs):  # inputs (R, n, d) -> logits (R, n, classes)
        h = inputs
        for i in range(0, len(params), 2):
            h = torch.baddbmm(params[i + 1], h, params[i])
            if i + 2 < len(params):
                h = torch.tanh(h)
        return h

    bayes = torch.cdist(x_test, means).argmin(-1)  # equal priors, identity covariance: nearest mean
    out = {}
    for variant in variants:
        params = [t.clone().requires_grad_(True) for pair in init for t in pair]
        if variant in ("plain", "lr/k"):
            opt = torch.optim.Adam(params, lr=lr if variant == "plain" else lr / k)
        elif variant == "explicit":
            opt = ExplicitAccumulator(torch.optim.Adam(params, lr=lr), k)
        else:
            opt = AccumAdam(params, lr=lr, k=k, variant=variant)
        for t in range(steps):
            logits = forward(params, x[t])  # (R, B, classes)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, classes), y[t].reshape(-1)) * replicates
            loss.backward()
            opt.step()
            opt.zero_grad()
        with torch.no_grad():
            logits = forward(params, x_test.expand(replicates, -1, -1))  # (R, N, classes)
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y_test.expand(replicates, -1),
                                                   reduction="none")  # (R, N)
            out[variant] = {"accuracy": (logits.argmax(-1) == y_test).double().mean(-1).numpy(),
                            "loss": ce.mean(-1).numpy()}
    return {"variants": out, "bayes": float((bayes == y_test).double().mean())}
