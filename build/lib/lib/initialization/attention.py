"""Attention logits: why they are divided by sqrt(d), and T5's initialization instead (chapter 6, section 5).

With unit-variance queries and keys a logit q·k has variance d, so undivided logits saturate the
softmax as d grows; T5 drops the division and shrinks W_q's initialization instead. This module
measures the saturation, the variance each reading of T5's trick gives, and trains one attention
head each way (torch, imported inside :func:`train_key_retrieval`).
Chapter 6, after Su Jianlin, kexue.fm/archives/8620.
"""
from __future__ import annotations

import math

import numpy as np

from lib import checks


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, subtracting each row's maximum first."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian_norm(p: np.ndarray) -> np.ndarray:
    r"""Frobenius norm of the softmax Jacobian :math:`J=\mathrm{diag}(p)-pp^\top` for each row.

    :math:`\|J\|_F^2=\sum_i p_i^2-2\sum_i p_i^3+(\sum_i p_i^2)^2`; it tends to 0 as p becomes
    one-hot, which is the vanishing gradient of a saturated attention (chapter 6, section 5).
    """
    p = np.asarray(p, dtype=float)
    s2 = (p * p).sum(axis=-1)
    s3 = (p * p * p).sum(axis=-1)
    return np.sqrt(np.maximum(s2 - 2 * s3 + s2 * s2, 0.0))


def attention_logits(d: int, n_keys: int, n_trials: int, *, scaling: str = "sqrt", temperature: float = 1.0,
                     rng: np.random.Generator | None = None, seed: int | None = None,
                     method: str = "chi") -> np.ndarray:
    r"""Logits :math:`q\cdot k_j` of ``n_trials`` queries against ``n_keys`` keys, all entries
    i.i.d. N(0, 1) in dimension ``d``; shape ``(n_trials, n_keys)``.

    ``method="chi"`` uses an exact shortcut: given q, the :math:`q\cdot k_j` are i.i.d.
    :math:`\mathcal N(0,\|q\|^2)` and :math:`\|q\|^2\sim\chi^2_d`, so one chi draw and n_keys
    normals per trial replace n_keys·d products. ``method="direct"`` forms the dot products.
    ``scaling="sqrt"`` divides by sqrt(d) (BERT), ``"none"`` does not; both are then multiplied
    by ``temperature``.
    """
    d = checks.integer("d", d, at_least=1)
    n_keys = checks.integer("n_keys", n_keys, at_least=2)
    n_trials = checks.integer("n_trials", n_trials, at_least=1)
    checks.choice("scaling", scaling, {"sqrt", "none"})
    checks.choice("method", method, {"chi", "direct"})
    temperature = checks.real("temperature", temperature, above=0)
    gen = checks.generator("rng", rng, seed)
    if method == "chi":
        norm_q = np.sqrt(gen.chisquare(d, size=(n_trials, 1)))  # (trials, 1)
        logits = norm_q * gen.standard_normal((n_trials, n_keys))  # (trials, keys)
    else:
        q = gen.standard_normal((n_trials, 1, d))  # (trials, 1, d)
        k = gen.standard_normal((n_trials, n_keys, d))  # (trials, keys, d)
        logits = (q * k).sum(axis=-1)
    if scaling == "sqrt":
        logits = logits / math.sqrt(d)
    return logits * temperature


def attention_logit_stats(d: int, n_keys: int = 64, scaling: str = "sqrt", *, temperature: float = 1.0,
                          n_trials: int = 2000, threshold: float = 0.99, seed: int = 0,
                          method: str = "chi") -> dict[str, float]:
    """Saturation statistics of softmax attention over random logits (:func:`attention_logits`).

    Returns ``var_logits``, ``mean_max_weight``, ``frac_near_onehot`` (share of rows whose largest
    weight exceeds ``threshold``), ``mean_entropy`` (nats; uniform is log n_keys) and
    ``mean_jacobian_norm`` (:func:`softmax_jacobian_norm`). Chapter 6, section 5.
    """
    threshold = checks.real("threshold", threshold, above=0, below=1)
    logits = attention_logits(d, n_keys, n_trials, scaling=scaling, temperature=temperature, seed=seed, method=method)
    p = softmax_rows(logits)  # (trials, keys)
    pmax = p.max(axis=-1)
    entropy = -np.sum(p * np.log(np.where(p > 0, p, 1.0)), axis=-1)
    return {
        "var_logits": float(logits.var()),
        "mean_max_weight": float(pmax.mean()),
        "frac_near_onehot": float(np.mean(pmax > threshold)),
        "mean_entropy": float(entropy.mean()),
        "mean_jacobian_norm": float(softmax_jacobian_norm(p).mean()),
    }


def article_qk_std(d_model: int, d_kv: int) -> float:
    r"""Std of W_q and W_k in the article's wording of T5: LeCun variance times an extra
    :math:`1/\sqrt{d}` on each, i.e. std :math:`d_{model}^{-1/2}d_{kv}^{-1/4}`."""
    d_model = checks.integer("d_model", d_model, at_least=1)
    return d_model**-0.5 * checks.integer("d_kv", d_kv, at_least=1) ** -0.25


def t5_attention_init_stds(d_model: int, d_kv: int, n_heads: int) -> dict[str, float]:
    r"""Init stds of T5's attention projections as its code sets them (not from the article).

    Mesh TensorFlow ``AttentionParams`` (and the Hugging Face port's ``_init_weights``):
    :math:`W_q\sim\mathcal N(0,(d_{model}d_{kv})^{-1})`, :math:`W_k,W_v\sim\mathcal N(0,d_{model}^{-1})`,
    :math:`W_o\sim\mathcal N(0,(n_{heads}d_{kv})^{-1})`: the whole :math:`1/d_{kv}` sits on W_q.
    """
    d_model = checks.integer("d_model", d_model, at_least=1)
    d_kv = checks.integer("d_kv", d_kv, at_least=1)
    n_heads = checks.integer("n_heads", n_heads, at_least=1)
    return {"q": (d_model * d_kv) ** -0.5, "k": d_model**-0.5, "v": d_model**-0.5, "o": (n_heads * d_kv) ** -0.5}


QK_INITS = ("lecun", "article", "extra_d_both", "t5")


def qk_init_stds(d_model: int, d_kv: int, init: str) -> tuple[float, float]:
    """(std of W_q, std of W_k) for the four readings of T5's trick compared in chapter 6:
    ``lecun`` (plain 1/d_model, no compensation), ``article`` (extra 1/sqrt(d_kv) on each
    variance), ``extra_d_both`` (a misquotation: extra 1/d_kv on each; overshoots) and ``t5``
    (T5's code: extra 1/d_kv on W_q only)."""
    checks.choice("init", init, set(QK_INITS))
    base = checks.integer("d_model", d_model, at_least=1) ** -0.5
    d_kv = checks.integer("d_kv", d_kv, at_least=1)
    if init == "lecun":
        return base, base
    if init == "article":
        return article_qk_std(d_model, d_kv), article_qk_std(d_model, d_kv)
    if init == "extra_d_both":
        return base / math.sqrt(d_kv), base / math.sqrt(d_kv)
    t5 = t5_attention_init_stds(d_model, d_kv, n_heads=1)
    return t5["q"], t5["k"]


def projected_logit_variance(d_model: int, d_kv: int, init: str, *, n_tokens: int = 256, n_draws: int = 8,
                             seed: int = 0) -> float:
    r"""Variance of unscaled logits :math:`(xW_q)\cdot(x'W_k)` for inputs ``x ~ N(0, I_{d_model})``
    with projections drawn per :func:`qk_init_stds`, pooled over ``n_draws`` weight draws.
    Expected: ``d_kv`` for ``lecun``, 1 for ``article`` and ``t5``, ``1/d_kv`` for ``extra_d_both``.
    """
    n_tokens = checks.integer("n_tokens", n_tokens, at_least=2)
    n_draws = checks.integer("n_draws", n_draws, at_least=1)
    std_q, std_k = qk_init_stds(d_model, d_kv, init)
    rng = np.random.default_rng(seed)
    logits = []
    for _ in range(n_draws):
        x = rng.standard_normal((n_tokens, d_model))  # (tokens, d_model)
        q = x @ (rng.standard_normal((d_model, d_kv)) * std_q)  # (tokens, d_kv)
        k = x @ (rng.standard_normal((d_model, d_kv)) * std_k)  # (tokens, d_kv)
        logits.append((q @ k.T).ravel())  # (tokens * tokens,)
    return float(np.var(np.concatenate(logits)))

RETRIEVAL_VARIANTS = ("sqrt", "none", "t5")


def train_key_retrieval(variant: str = "sqrt", seed: int = 0, *, d_model: int = 64, d: int = 128,
                        n_keys: int = 32, steps: int = 200, lr: float = 1e-3, batch: int = 32,
                        noise: float = 1.0, n_test: int = 2000) -> dict[str, object]:
    r"""Train one attention head to find, among ``n_keys`` random keys, the one a noisy query copies.

    Each example draws keys :math:`K\in\mathbb R^{n\times d_{model}}` and an index j; the query is
    :math:`K_j+` ``noise`` × N(0, I). The head's logits :math:`(qW_q)(KW_k)^\top` are trained with
    cross-entropy on j (Adam, float32). Variants (chapter 6, section 5): ``sqrt`` (LeCun W_q, W_k,
    logits ÷ sqrt(d)), ``none`` (LeCun, no division: the article's bug), ``t5`` (no division, T5's
    init: W_q std (d_model·d)^-1/2, W_k std d_model^-1/2). ``sqrt`` and ``t5`` start from identical
    logits for the same seed. Returns ``loss`` (per step), ``initial_loss``, ``test_loss`` and
    ``test_accuracy`` (on ``n_test`` fresh examples).
    """
    import torch

    checks.choice("variant", variant, set(RETRIEVAL_VARIANTS))
    d_model = checks.integer("d_model", d_model, at_least=1)
    d = checks.integer("d", d, at_least=1)
    n_keys = checks.integer("n_keys", n_keys, at_least=2)
    steps = checks.integer("steps", steps, at_least=1)
    batch = checks.integer("batch", batch, at_least=1)
    n_test = checks.integer("n_test", n_test, at_least=1)
    lr = checks.real("lr", lr, above=0)
    noise = checks.real("noise", noise, at_least=0)
    gen = torch.Generator().manual_seed(int(seed))
    std_q, std_k = (((d_model * d) ** -0.5, d_model**-0.5) if variant == "t5" else (d_model**-0.5,) * 2)
    w_q = torch.nn.Parameter(torch.randn(d_model, d, generator=gen) * std_q)  # (d_model, d)
    w_k = torch.nn.Parameter(torch.randn(d_model, d, generator=gen) * std_k)  # (d_model, d)
    divide = math.sqrt(d) if variant == "sqrt" else 1.0

    def examples(g, b):
        keys = torch.randn(b, n_keys, d_model, generator=g)  # (b, n, d_model)
        target = torch.randint(0, n_keys, (b,), generator=g)  # (b,)
        query = keys[torch.arange(b), target] + noise * torch.randn(b, d_model, generator=g)  # (b, d_model)
        return query, keys, target

    def logits(query, keys):  # -> (b, n)
        return torch.einsum("bd,bnd->bn", query @ w_q, keys @ w_k) / divide

    opt = torch.optim.Adam([w_q, w_k], lr=lr)
    losses = np.empty(steps)
    for step in range(steps):
        query, keys, target = examples(gen, batch)
        loss = torch.nn.functional.cross_entropy(logits(query, keys), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[step] = loss.item()
    with torch.no_grad():
        query, keys, target = examples(torch.Generator().manual_seed(10_000 + int(seed)), n_test)
        z = logits(query, keys)
        test_loss = float(torch.nn.functional.cross_entropy(z, target))
        accuracy = float((z.argmax(dim=1) == target).float().mean())
    return {"loss": losses, "initial_loss": float(losses[0]), "test_loss": test_loss, "test_accuracy": accuracy}
