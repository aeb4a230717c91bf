"""Initialization, parameterization and normalization of Transformers (chapter 6).

Reference code for the chapter built on Su Jianlin, "浅谈Transformer的初始化、参数化与标准化"
(Notes on Transformer initialization, parameterization and normalization), kexue.fm/archives/8620.
The code sections (with the chapter's section numbers):

1. sampling distributions with a given variance, and the truncated normal's shrinkage (§1);
2. the second moment through layers and activations, LayerNorm and RMSNorm (§2, §3);
3. why attention divides its logits by sqrt(d), and T5's initialization that replaces it (§5);
4. NTK parameterization, in torch (§4);
5. Post-Norm, Pre-Norm and the alpha-weighted residual (§6);
6. the figures (each ``draw_*`` returns a matplotlib Figure).

Everything random takes a ``seed`` (or an ``np.random.Generator``); nothing runs at import.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.special import erf, expit, log_ndtr, ndtr

# ----------------------------------------------------------------------------------------
# argument checks (messages name the argument, the value and what is allowed)


def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an integer >= {low}")
    if value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def _check_float(name: str, value, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} must be a real number")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name}={value!r} must not be NaN")
    if positive and not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name}={value!r} must be a positive finite number")
    if nonneg and not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{name}={value!r} must be a non-negative finite number")
    return v


def _check_choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {sorted(allowed, key=str)}")
    return value


def _rng(rng=None, seed: int | None = None) -> np.random.Generator:
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------
# 1. Sampling distributions


def _log_phi(x: float) -> float:
    return -0.5 * x * x - 0.5 * math.log(2 * math.pi) if math.isfinite(x) else -math.inf


def _log_mass(a: float, b: float) -> float:
    """log(Phi(b) - Phi(a)) for a < b, without cancellation in either tail."""
    if a >= 0:  # right tail: Phi(-a) - Phi(-b), both survival functions
        la, lb = log_ndtr(-a), log_ndtr(-b)
        return float(la + np.log1p(-np.exp(lb - la)))
    if b <= 0:  # left tail, mirrored
        la, lb = log_ndtr(b), log_ndtr(a)
        return float(la + np.log1p(-np.exp(lb - la)))
    return math.log(float(ndtr(b) - ndtr(a)))


def truncated_normal_moments(a: float, b: float) -> tuple[float, float]:
    r"""Mean and variance of a standard normal truncated to ``[a, b]`` (bounds in std units).

    With :math:`Z=\Phi(b)-\Phi(a)`: mean :math:`(\varphi(a)-\varphi(b))/Z`, variance
    :math:`1+(a\varphi(a)-b\varphi(b))/Z-\text{mean}^2` (chapter 6, section 1).
    The ratios :math:`\varphi/Z` are formed in log space so that tails such as ``[5, 6]`` stay
    accurate (relative error ~1e-12 for bounds within ±30). Infinite bounds are allowed.
    """
    a = _check_float("a", a)
    b = _check_float("b", b)
    if not a < b:
        raise ValueError(f"a={a!r}, b={b!r}: need a < b")
    log_z = _log_mass(a, b)
    ra = math.exp(_log_phi(a) - log_z)  # phi(a) / Z
    rb = math.exp(_log_phi(b) - log_z)
    mean = ra - rb
    a_term = a * ra if math.isfinite(a) else 0.0
    b_term = b * rb if math.isfinite(b) else 0.0
    return mean, 1.0 + a_term - b_term - mean * mean


def truncated_normal_std(a: float = -2.0, b: float = 2.0) -> float:
    """Standard deviation of a standard normal truncated to ``[a, b]``; 0.8796256610 at ±2."""
    return math.sqrt(truncated_normal_moments(a, b)[1])


def truncation_correction(c: float = 2.0) -> float:
    r"""The factor :math:`1/\sqrt{\gamma(c)}` to multiply the std by when truncating at ±c std.

    TensorFlow's ``truncated_normal`` redraws everything outside ±2 std, which leaves variance
    :math:`\gamma(2)\sigma^2=0.7737\sigma^2`; passing std :math:`1.1368\sigma` restores
    :math:`\sigma^2` (chapter 6). ``c`` must be positive.
    """
    c = _check_float("c", c)
    if not c > 0:
        raise ValueError(f"c={c!r} must be positive (the truncation half-width in std units)")
    return 1.0 / truncated_normal_std(-c, c)


def sample_truncated_normal(
    shape,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    bounds: str = "relative",
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    max_rounds: int = 10_000,
) -> np.ndarray:
    """Draw from N(mean, std²) and redraw every sample outside the bounds (rejection sampling).

    ``bounds="relative"``: the interval is ``[mean + a·std, mean + b·std]`` (TensorFlow's
    ``truncated_normal``, where a, b = ∓2 are fixed). ``bounds="absolute"``: the interval is
    ``[a, b]`` itself (what ``torch.nn.init.trunc_normal_`` does with its ``a``, ``b``).
    Refuses intervals that accept fewer than one draw in a million.
    """
    mean = _check_float("mean", mean)
    std = _check_float("std", std, positive=True)
    _check_choice("bounds", bounds, {"relative", "absolute"})
    a, b = _check_float("a", a), _check_float("b", b)
    if not a < b:
        raise ValueError(f"a={a!r}, b={b!r}: need a < b")
    lo, hi = (mean + a * std, mean + b * std) if bounds == "relative" else (a, b)
    za, zb = (lo - mean) / std, (hi - mean) / std
    accept = math.exp(_log_mass(za, zb))
    if accept < 1e-6:
        raise ValueError(f"the interval [{lo:g}, {hi:g}] holds only {accept:.2e} of N({mean:g}, {std:g}²); "
                         "rejection sampling would almost never accept (need at least 1e-6)")
    gen = _rng(rng, seed)
    out = gen.normal(mean, std, size=shape)
    bad = (out < lo) | (out > hi)
    for _ in range(max_rounds):
        n_bad = int(bad.sum())
        if n_bad == 0:
            return out
        out[bad] = gen.normal(mean, std, size=n_bad)
        bad = (out < lo) | (out > hi)
    raise RuntimeError(f"rejection sampling did not finish in {max_rounds} rounds")  # pragma: no cover


def uniform_bounds(mean: float, std: float) -> tuple[float, float]:
    r"""``(mean − √3·std, mean + √3·std)``: the uniform distribution with that mean and std.

    A uniform on ``[lo, hi]`` has variance :math:`(hi-lo)^2/12`; width :math:`2\sqrt3\sigma`
    gives :math:`\sigma^2` (chapter 6).
    """
    mean = _check_float("mean", mean)
    std = _check_float("std", std, nonneg=True)
    half = math.sqrt(3.0) * std
    return mean - half, mean + half


INIT_SCHEMES = ("lecun", "he", "xavier", "ntk")


def init_variance(fan_in: int, fan_out: int | None = None, scheme: str = "lecun") -> float:
    """Weight variance of an initialization scheme (chapter 6, section 2).

    ``lecun``: 1/fan_in (keeps the second moment of a linear layer); ``he``: 2/fan_in (ReLU
    halves the second moment); ``xavier``: 2/(fan_in + fan_out) (needs fan_out; equals 1/fan_in
    only for square layers); ``ntk``: 1, because an NTK-parameterized layer divides its output
    by sqrt(fan_in) instead.
    """
    fan_in = _check_int("fan_in", fan_in)
    _check_choice("scheme", scheme, set(INIT_SCHEMES))
    if scheme == "lecun":
        return 1.0 / fan_in
    if scheme == "he":
        return 2.0 / fan_in
    if scheme == "ntk":
        return 1.0
    if fan_out is None:
        raise ValueError("scheme='xavier' needs fan_out (a positive integer), got None")
    return 2.0 / (fan_in + _check_int("fan_out", fan_out))


def init_weights(
    shape: tuple[int, int],
    scheme: str = "lecun",
    dist: str = "normal",
    *,
    correct_truncation: bool = True,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """A weight matrix of shape ``(fan_in, fan_out)`` (used as ``y = x @ W``) whose variance is
    the scheme's target, drawn from a normal, a uniform or a ±2-std truncated normal.

    With ``dist="truncated_normal"`` and ``correct_truncation=True`` the std passed to the
    sampler is multiplied by :func:`truncation_correction` (1.1368), so that the *actual*
    variance hits the target; with ``False`` it falls short by the factor 0.7737.
    """
    if not (isinstance(shape, tuple) and len(shape) == 2):
        raise ValueError(f"shape={shape!r} must be a (fan_in, fan_out) tuple")
    fan_in, fan_out = _check_int("shape[0]", shape[0]), _check_int("shape[1]", shape[1])
    _check_choice("dist", dist, {"normal", "uniform", "truncated_normal"})
    std = math.sqrt(init_variance(fan_in, fan_out, scheme))
    gen = _rng(rng, seed)
    if dist == "normal":
        return gen.normal(0.0, std, size=shape)
    if dist == "uniform":
        return gen.uniform(*uniform_bounds(0.0, std), size=shape)
    if correct_truncation:
        std *= truncation_correction(2.0)
    return sample_truncated_normal(shape, 0.0, std, -2.0, 2.0, bounds="relative", rng=gen)


def torch_trunc_normal_variance(std: float, a: float = -2.0, b: float = 2.0, n: int = 1_000_000,
                                seed: int = 0) -> float:
    """Sample variance of ``n`` draws of ``torch.nn.init.trunc_normal_(t, 0, std, a, b)``.

    PyTorch's ``a``, ``b`` are *absolute* bounds, not multiples of ``std``: with the defaults
    ±2 and ``std=0.02`` nothing is truncated (chapter 6, section 1, "A PyTorch detail").
    """
    import torch

    std = _check_float("std", std, positive=True)
    n = _check_int("n", n, low=2)
    gen = torch.Generator().manual_seed(int(seed))
    t = torch.empty(n, dtype=torch.float64)
    torch.nn.init.trunc_normal_(t, mean=0.0, std=std, a=float(a), b=float(b), generator=gen)
    return float(t.var())


# ----------------------------------------------------------------------------------------
# 2. The second moment through layers, activations and normalization


def relu(x):
    return np.maximum(x, 0.0)


def gelu(x):
    """Exact GELU, x·Phi(x)."""
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


@lru_cache(maxsize=1)
def selu_constants() -> tuple[float, float]:
    r"""``(lambda, alpha)`` of SELU: the output of a standard-normal input has mean 0, variance 1.

    For :math:`z\sim\mathcal N(0,1)`, :math:`E[e^{kz};z\le0]=e^{k^2/2}\Phi(-k)`, so the two
    moment conditions are solvable in closed form: the mean condition fixes
    :math:`\alpha=\varphi(0)/(\tfrac12-e^{1/2}\Phi(-1))` (it does not involve λ) and the second
    moment then fixes :math:`\lambda=(\tfrac12+\alpha^2(e^2\Phi(-2)-2e^{1/2}\Phi(-1)+\tfrac12))^{-1/2}`
    (chapter 6, section 2, "Activations"; Klambauer et al. 2017).
    """
    e_half = math.exp(0.5) * float(ndtr(-1.0))  # E[e^z; z <= 0]
    e_two = math.exp(2.0) * float(ndtr(-2.0))  # E[e^{2z}; z <= 0]
    alpha = (1.0 / math.sqrt(2 * math.pi)) / (0.5 - e_half)
    lam = 1.0 / math.sqrt(0.5 + alpha**2 * (e_two - 2 * e_half + 0.5))
    return lam, alpha


def selu(x):
    lam, alpha = selu_constants()
    x = np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
    return lam * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@lru_cache(maxsize=1)
def _gaussian_rule(n_half: int = 96, cut: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[g(z)], z ~ N(0, 1): Gauss–Legendre on [-cut, 0] and [0, cut]."""
    x, w = np.polynomial.legendre.leggauss(n_half)
    x, w = (x + 1.0) * cut / 2.0, w * cut / 2.0  # on [0, cut]
    nodes = np.concatenate([-x[::-1], x])
    weights = np.concatenate([w[::-1], w]) * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)
    return nodes, weights


def activation_moment(f: Callable, order: int = 2) -> float:
    r""":math:`E[f(z)^{order}]` for :math:`z\sim\mathcal N(0,1)`; ``f`` must accept numpy arrays.

    Gauss–Legendre quadrature on each half-line (cut at ±12, where the density is below
    1e-31): splitting at 0, where ReLU and SELU have their kink, keeps each half smooth, so
    the rule is accurate to ~1e-12 for them too (chapter 6, section 2). ReLU gives 1/2,
    sigmoid 0.2933790, tanh 0.394294.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    order = _check_int("order", order, low=1)
    nodes, weights = _gaussian_rule()
    return float(np.sum(weights * np.asarray(f(nodes), dtype=float) ** order))


def rescaled_activation(f: Callable, center: bool = False) -> Callable:
    r"""Return :math:`g(x)=(f(x)-c)/s` with :math:`E[g(z)^2]=1` (and :math:`E[g(z)]=0` if
    ``center``) for standard-normal z: the article's "rescaled activation", e.g.
    :math:`\mathrm{sigmoid}(x)/\sqrt{0.293379}`. ``g.shift`` and ``g.scale`` hold c and s.
    """
    m1 = activation_moment(f, 1)
    m2 = activation_moment(f, 2)
    shift = m1 if center else 0.0
    spread = m2 - m1 * m1 if center else m2
    if not spread > 1e-12 * max(1.0, m2):
        raise ValueError(f"f is constant on the standard normal (center={center}); it cannot be rescaled")
    scale = math.sqrt(spread)

    def g(x):
        return (f(x) - shift) / scale

    g.shift, g.scale = shift, scale
    return g


@lru_cache(maxsize=1)
def _sigmoid_rms() -> float:
    return math.sqrt(activation_moment(expit, 2))


def sigmoid_rescaled(x):
    """sigmoid(x)/sqrt(E[sigmoid(z)²]) = sigmoid(x)/sqrt(0.293379)."""
    return expit(x) / _sigmoid_rms()


ACTIVATIONS: dict[str, Callable] = {
    "linear": lambda x: x,
    "relu": relu,
    "tanh": np.tanh,
    "sigmoid": expit,
    "sigmoid_rescaled": sigmoid_rescaled,
    "gelu": gelu,
    "selu": selu,
}


def _activation(name: str) -> Callable:
    return ACTIVATIONS[_check_choice("activation", name, set(ACTIVATIONS))]


def _check_norm_args(x, eps, axis):
    x = np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
    eps = _check_float("eps", eps, nonneg=True)
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis!r} is not an axis of x with shape {x.shape}")
    if x.shape[axis] == 0:
        raise ValueError(f"x has shape {x.shape}: the normalized axis {axis} must be non-empty")
    return x, eps


def _along(v, x: np.ndarray, axis: int) -> np.ndarray:
    """Reshape a per-feature vector so that it broadcasts along ``axis`` of ``x``."""
    v = np.asarray(v, dtype=float)
    if v.shape != (x.shape[axis],):
        raise ValueError(f"gamma/beta has shape {v.shape}; expected ({x.shape[axis]},) for axis {axis}")
    shape = [1] * x.ndim
    shape[axis] = -1
    return v.reshape(shape)


def layer_norm(x, gamma=None, beta=None, eps: float = 1e-6, axis: int = -1) -> np.ndarray:
    r"""LayerNorm along ``axis``: :math:`(x-\mu)/\sqrt{\sigma^2+\epsilon}\cdot\gamma+\beta` with the
    biased variance (chapter 6, section 3)."""
    x, eps = _check_norm_args(x, eps, axis)
    xc = x - x.mean(axis=axis, keepdims=True)
    y = xc / np.sqrt((xc * xc).mean(axis=axis, keepdims=True) + eps)
    if gamma is not None:
        y = y * _along(gamma, x, axis)
    if beta is not None:
        y = y + _along(beta, x, axis)
    return y


def rms_norm(x, gamma=None, eps: float = 1e-6, axis: int = -1) -> np.ndarray:
    r"""RMSNorm along ``axis``: :math:`x/\sqrt{\overline{x^2}+\epsilon}\cdot\gamma`, LayerNorm
    without the centering (Zhang & Sennrich 2019; used by T5; chapter 6, section 3)."""
    x, eps = _check_norm_args(x, eps, axis)
    y = x / np.sqrt((x * x).mean(axis=axis, keepdims=True) + eps)
    if gamma is not None:
        y = y * _along(gamma, x, axis)
    return y


NORMS: dict[str | None, Callable | None] = {None: None, "layer": layer_norm, "rms": rms_norm}


def propagate_second_moment(
    depth: int,
    width: int,
    activation: str = "relu",
    scheme: str = "lecun",
    init_scale: float = 1.0,
    norm: str | None = None,
    batch: int = 256,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Push a batch of standard-normal inputs through ``depth`` random square layers.

    Layer l computes the pre-activation ``h_l = x_{l-1} @ W_l`` (no bias), then
    ``x_l = f(h_l)`` and, if ``norm`` is ``"layer"`` or ``"rms"``, normalizes ``x_l`` over its
    features before the next layer. ``W_l`` has variance ``init_scale * init_variance(width,
    width, scheme)``; for ``scheme="ntk"`` it has variance ``init_scale`` and the product is
    divided by sqrt(width). Returns, per layer (length ``depth``), ``second_moment`` = mean of
    h² over inputs and units, and ``across_input_variance`` = variance of each unit over the
    batch, averaged over units (the "signal collapse" diagnostic). Chapter 6, section 2,
    "Through a deep stack". Float64 throughout, so that a collapse of the across-input variance is
    not hidden by rounding.
    """
    depth, width, batch = _check_int("depth", depth), _check_int("width", width), _check_int("batch", batch, low=2)
    f = _activation(activation)
    _check_choice("norm", norm, set(NORMS))
    init_scale = _check_float("init_scale", init_scale, positive=True)
    var = init_scale * init_variance(width, width, scheme)
    post = 1.0 / math.sqrt(width) if scheme == "ntk" else 1.0
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))  # (batch, width)
    second, across = np.empty(depth), np.empty(depth)
    for layer in range(depth):
        w = rng.standard_normal((width, width)) * (math.sqrt(var) * post)  # (width, width)
        h = x @ w  # (batch, width)
        second[layer] = float(np.mean(h * h))
        across[layer] = float(np.mean(h.var(axis=0)))
        x = f(h)
        if norm is not None:
            x = NORMS[norm](x)
    return {"second_moment": second, "across_input_variance": across}


def mean_field_second_moment(depth: int, activation: str = "relu", init_scale: float = 1.0,
                             scheme: str = "lecun", norm: str | None = None) -> np.ndarray:
    r"""The infinite-width prediction for :func:`propagate_second_moment`'s ``second_moment``.

    At large width the pre-activations of one input are i.i.d. :math:`\mathcal N(0,q_l)` over
    units, so :math:`q_1=g`, :math:`q_{l+1}=g\,E[f(\sqrt{q_l}\,z)^2]` with the variance gain
    :math:`g` = ``init_scale`` × (2 for He, 1 for LeCun, NTK and Xavier on square layers). With a
    normalization the normalized activations have mean square 1, so :math:`q_l=g`.
    """
    depth = _check_int("depth", depth)
    f = _activation(activation)
    _check_choice("norm", norm, set(NORMS))
    _check_choice("scheme", scheme, set(INIT_SCHEMES))
    gain = _check_float("init_scale", init_scale, positive=True) * (2.0 if scheme == "he" else 1.0)
    q = np.empty(depth)
    q[0] = gain
    for layer in range(1, depth):
        q[layer] = gain if norm else gain * activation_moment(lambda z: f(math.sqrt(q[layer - 1]) * z), 2)
    return q


# ----------------------------------------------------------------------------------------
# 3. Attention logits: variance d, saturation, and T5's initialization


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
    d, n_keys, n_trials = _check_int("d", d), _check_int("n_keys", n_keys, low=2), _check_int("n_trials", n_trials)
    _check_choice("scaling", scaling, {"sqrt", "none"})
    _check_choice("method", method, {"chi", "direct"})
    temperature = _check_float("temperature", temperature, positive=True)
    gen = _rng(rng, seed)
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
    threshold = _check_float("threshold", threshold)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must lie strictly between 0 and 1")
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
    return _check_int("d_model", d_model) ** -0.5 * _check_int("d_kv", d_kv) ** -0.25


def t5_attention_init_stds(d_model: int, d_kv: int, n_heads: int) -> dict[str, float]:
    r"""Init stds of T5's attention projections as its code sets them (not from the article).

    Mesh TensorFlow ``AttentionParams`` (and the Hugging Face port's ``_init_weights``):
    :math:`W_q\sim\mathcal N(0,(d_{model}d_{kv})^{-1})`, :math:`W_k,W_v\sim\mathcal N(0,d_{model}^{-1})`,
    :math:`W_o\sim\mathcal N(0,(n_{heads}d_{kv})^{-1})`: the whole :math:`1/d_{kv}` sits on W_q.
    """
    d_model, d_kv, n_heads = _check_int("d_model", d_model), _check_int("d_kv", d_kv), _check_int("n_heads", n_heads)
    return {"q": (d_model * d_kv) ** -0.5, "k": d_model**-0.5, "v": d_model**-0.5, "o": (n_heads * d_kv) ** -0.5}


QK_INITS = ("lecun", "article", "extra_d_both", "t5")


def qk_init_stds(d_model: int, d_kv: int, init: str) -> tuple[float, float]:
    """(std of W_q, std of W_k) for the four readings of T5's trick compared in chapter 6:
    ``lecun`` (plain 1/d_model, no compensation), ``article`` (extra 1/sqrt(d_kv) on each
    variance), ``extra_d_both`` (a misquotation: extra 1/d_kv on each; overshoots) and ``t5``
    (T5's code: extra 1/d_kv on W_q only)."""
    _check_choice("init", init, set(QK_INITS))
    base = _check_int("d_model", d_model) ** -0.5
    d_kv = _check_int("d_kv", d_kv)
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
    n_tokens, n_draws = _check_int("n_tokens", n_tokens, low=2), _check_int("n_draws", n_draws)
    std_q, std_k = qk_init_stds(d_model, d_kv, init)
    rng = np.random.default_rng(seed)
    logits = []
    for _ in range(n_draws):
        x = rng.standard_normal((n_tokens, d_model))  # (tokens, d_model)
        q = x @ (rng.standard_normal((d_model, d_kv)) * std_q)  # (tokens, d_kv)
        k = x @ (rng.standard_normal((d_model, d_kv)) * std_k)  # (tokens, d_kv)
        logits.append((q @ k.T).ravel())  # (tokens * tokens,)
    return float(np.var(np.concatenate(logits)))


# ----------------------------------------------------------------------------------------
# 4. NTK parameterization (torch)


def ntk_linear(in_features: int, out_features: int, bias: bool = True, seed: int = 0, dtype=None):
    r"""A torch layer in NTK parameterization: weight ~ N(0, 1), output
    :math:`xW^\top/\sqrt{\text{in}}+b`, bias zero (chapter 6, section 4).
    At initialization it has the statistics of ``nn.Linear`` with LeCun variance 1/in.
    ``dtype`` defaults to torch's default float type."""
    import torch

    in_features, out_features = _check_int("in_features", in_features), _check_int("out_features", out_features)

    class NTKLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            gen = torch.Generator().manual_seed(int(seed))
            w = torch.randn(out_features, in_features, generator=gen, dtype=dtype)  # (out, in)
            self.weight = torch.nn.Parameter(w)
            self.bias = torch.nn.Parameter(torch.zeros(out_features, dtype=dtype)) if bias else None
            self.scale = in_features**-0.5

        def forward(self, x):  # (..., in) -> (..., out)
            y = torch.nn.functional.linear(x, self.weight) * self.scale
            return y + self.bias if self.bias is not None else y

    return NTKLinear()


def standard_linear(in_features: int, out_features: int, seed: int = 0, dtype=None):
    """``nn.Linear`` without bias and with LeCun normal init, drawn from the same standard
    normals as :func:`ntk_linear` with the same seed (so the two compute the same function)."""
    import torch

    layer = ntk_linear(in_features, out_features, bias=False, seed=seed, dtype=dtype)
    std = torch.nn.Linear(in_features, out_features, bias=False, dtype=layer.weight.dtype)
    with torch.no_grad():
        std.weight.copy_(layer.weight * layer.scale)
    return std


def _one_layer_run(width: int, parameterization: str, optimizer: str, lr: float, steps: int, seed: int,
                   out_features: int, batch: int, dtype, eps: float):
    import torch

    _check_choice("parameterization", parameterization, {"ntk", "standard"})
    _check_choice("optimizer", optimizer, {"adam", "sgd"})
    width, steps = _check_int("width", width), _check_int("steps", steps)
    lr = _check_float("lr", lr, positive=True)
    layer = (ntk_linear(width, out_features, bias=False, seed=seed, dtype=dtype) if parameterization == "ntk"
             else standard_linear(width, out_features, seed=seed, dtype=dtype))
    gen = torch.Generator().manual_seed(int(seed) + 1)
    x = torch.randn(batch, width, generator=gen, dtype=dtype)  # (batch, width)
    y = torch.randn(batch, out_features, generator=gen, dtype=dtype)  # (batch, out)
    opt = (torch.optim.Adam(layer.parameters(), lr=lr, eps=eps) if optimizer == "adam"
           else torch.optim.SGD(layer.parameters(), lr=lr))
    w0 = layer.weight.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(layer(x), y).backward()
        opt.step()
    return layer, x, w0


def relative_change_after_step(width: int, parameterization: str = "ntk", optimizer: str = "adam",
                               lr: float = 1e-2, *, steps: int = 1, seed: int = 0, out_features: int = 16,
                               batch: int = 64) -> float:
    r"""``‖W_after − W_before‖ / ‖W_before‖`` (Frobenius) for one layer ``width → out_features``
    trained ``steps`` steps on a random regression target (float32).

    With Adam the first update of every weight is ±lr, so the ratio is ≈ lr for NTK
    parameterization (weights O(1)) and ≈ lr·sqrt(width) for standard LeCun parameterization
    (weights O(1/sqrt(width))): the article's "1% per step at lr 1e-2" holds for NTK only.
    """
    import torch

    layer, _, w0 = _one_layer_run(width, parameterization, optimizer, lr, steps, seed, out_features, batch,
                                  torch.float32, 1e-8)
    return float(torch.linalg.norm(layer.weight.detach() - w0) / torch.linalg.norm(w0))


def equivalent_lr_gap(width: int, optimizer: str = "sgd", lr: float = 0.1, *, steps: int = 3, seed: int = 0,
                      out_features: int = 8, batch: int = 32, std_lr: float | None = None) -> float:
    """Largest output difference (float64) between an NTK layer trained with ``lr`` and the
    standard layer trained with ``std_lr``, by default the matching rate: ``lr/width`` for SGD
    (exact), ``lr/sqrt(width)`` for Adam (exact when Adam's epsilon is 0, which is used here).
    Derived in chapter 6, not in the article."""
    import torch

    _check_choice("optimizer", optimizer, {"adam", "sgd"})
    width = _check_int("width", width)
    if std_lr is None:
        std_lr = lr / width if optimizer == "sgd" else lr / math.sqrt(width)
    ntk, x, _ = _one_layer_run(width, "ntk", optimizer, lr, steps, seed, out_features, batch, torch.float64, 0.0)
    std, _, _ = _one_layer_run(width, "standard", optimizer, std_lr, steps, seed, out_features, batch,
                               torch.float64, 0.0)
    with torch.no_grad():
        return float((ntk(x) - std(x)).abs().max())


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

    _check_choice("variant", variant, set(RETRIEVAL_VARIANTS))
    d_model, d, n_keys = _check_int("d_model", d_model), _check_int("d", d), _check_int("n_keys", n_keys, low=2)
    steps, batch, n_test = _check_int("steps", steps), _check_int("batch", batch), _check_int("n_test", n_test)
    lr = _check_float("lr", lr, positive=True)
    noise = _check_float("noise", noise, nonneg=True)
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


# ----------------------------------------------------------------------------------------
# 5. Residual connections: Post-Norm, Pre-Norm, alpha


def post_norm_coefficients(depth: int) -> np.ndarray:
    r"""Weights of :math:`[x_0, F_0, \dots, F_{l-1}]` in :math:`x_l` for Post-Norm at
    initialization, :math:`x_{t+1}=(x_t+F_t)/\sqrt2`: :math:`[2^{-l/2}, 2^{-l/2}, 2^{-(l-1)/2},
    \dots, 2^{-1/2}]` (chapter 6, section 6); their squares sum to 1."""
    depth = _check_int("depth", depth)
    branch = 2.0 ** (-(depth - np.arange(depth)) / 2)  # F_0 ... F_{l-1}
    return np.concatenate([[2.0 ** (-depth / 2)], branch])


def pre_norm_input_scales(depth: int) -> np.ndarray:
    r"""Scales of the inputs of :math:`F_0,\dots,F_{l-1}` in Pre-Norm at initialization,
    :math:`x_l=x_0+F_0(x_0)+F_1(x_1/\sqrt2)+\dots+F_{l-1}(x_{l-1}/\sqrt l)`: ``[1, 1/√2, …, 1/√l]``."""
    depth = _check_int("depth", depth)
    return 1.0 / np.sqrt(np.arange(1, depth + 1))


def alpha_ramp(step: int, increment: float) -> float:
    """The article's schedule for the residual weight: ``min(1, step * increment)``."""
    step = _check_int("step", step, low=0)
    increment = _check_float("increment", increment)
    if not increment > 0:
        raise ValueError(f"increment={increment!r} must be positive")
    return min(1.0, step * increment)


RESIDUAL_MODES = ("post", "pre", "alpha")


def residual_stack(depth: int, width: int = 256, mode: str = "post", *, alpha: float = 0.0,
                   branch: str = "linear", norm: str = "rms", batch: int = 128, seed: int = 0,
                   x0: np.ndarray | None = None) -> dict[str, np.ndarray]:
    r"""Run a residual stack at initialization and measure how much of x_0 survives.

    ``post``: :math:`x_{t+1}=\mathrm{Norm}(x_t+F_t(x_t))`; ``pre``: :math:`x_{t+1}=x_t+F_t(\mathrm{Norm}(x_t))`;
    ``alpha``: :math:`x_{t+1}=x_t+\alpha F_t(x_t)` (SkipInit/ReZero; the article ramps α from 0).
    Branches: ``linear`` :math:`F(x)=xW`, W ~ N(0, 1/width); ``mlp`` :math:`F(x)=\mathrm{relu}(xW_1)W_2`
    with He then LeCun variance. Returns ``second_moment`` and ``corr`` (mean cosine between the
    rows of x_t and x_0), both of length depth + 1 (t = 0 … depth).
    """
    depth, width, batch = _check_int("depth", depth), _check_int("width", width), _check_int("batch", batch)
    _check_choice("mode", mode, set(RESIDUAL_MODES))
    _check_choice("branch", branch, {"linear", "mlp"})
    _check_choice("norm", norm, {"layer", "rms"})
    alpha = _check_float("alpha", alpha)
    normalize = NORMS[norm]
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((batch, width)) if x0 is None else np.asarray(x0, dtype=float)  # (batch, width)
    if x0.ndim != 2 or x0.shape[1] != width:
        raise ValueError(f"x0 has shape {x0.shape}; expected (batch, {width})")

    def f(x):  # (batch, width) -> (batch, width)
        if branch == "linear":
            return x @ (rng.standard_normal((width, width)) / math.sqrt(width))
        hidden = relu(x @ (rng.standard_normal((width, width)) * math.sqrt(2.0 / width)))
        return hidden @ (rng.standard_normal((width, width)) / math.sqrt(width))

    def cosine(a, b):
        return float(np.mean(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

    x = x0
    second, corr = [float(np.mean(x0**2))], [1.0]
    for _ in range(depth):
        if mode == "post":
            x = normalize(x + f(x))
        elif mode == "pre":
            x = x + f(normalize(x))
        else:
            x = x + alpha * f(x)
        second.append(float(np.mean(x**2)))
        corr.append(cosine(x, x0))
    return {"second_moment": np.array(second), "corr": np.array(corr)}


def residual_theory(depth: int, mode: str = "post", alpha: float = 0.0) -> dict[str, np.ndarray]:
    r"""Infinite-width prediction for :func:`residual_stack` with linear branches (t = 0 … depth).

    Post: second moment 1, corr :math:`2^{-t/2}`; Pre: second moment t+1, corr
    :math:`1/\sqrt{t+1}`; alpha: second moment :math:`(1+\alpha^2)^t`, corr :math:`(1+\alpha^2)^{-t/2}`.
    """
    depth = _check_int("depth", depth)
    _check_choice("mode", mode, set(RESIDUAL_MODES))
    t = np.arange(depth + 1, dtype=float)
    if mode == "post":
        return {"second_moment": np.ones_like(t), "corr": 2.0 ** (-t / 2)}
    if mode == "pre":
        return {"second_moment": t + 1, "corr": 1 / np.sqrt(t + 1)}
    g = 1.0 + _check_float("alpha", alpha) ** 2
    return {"second_moment": g**t, "corr": g ** (-t / 2)}


# ----------------------------------------------------------------------------------------
# 6. Figures (each returns a matplotlib Figure; the chapter shows one statically, then drives it)

DEPTH_CURVES = (  # (activation, scheme, label, palette colour)
    ("linear", "lecun", "linear, LeCun", "black"),
    ("relu", "lecun", "ReLU, LeCun", "vermillion"),
    ("relu", "he", "ReLU, He", "orange"),
    ("tanh", "lecun", "tanh, LeCun", "sky"),
    ("sigmoid", "lecun", "sigmoid, LeCun", "green"),
    ("sigmoid_rescaled", "lecun", "sigmoid/√0.2934, LeCun", "blue"),
    ("selu", "lecun", "SELU, LeCun", "purple"),
)
NORM_LABELS = {None: "no normalization", "layer": "LayerNorm", "rms": "RMSNorm"}


@lru_cache(maxsize=256)
def _depth_run(activation: str, scheme: str, init_scale: float, norm: str | None, depth: int, width: int,
               batch: int, seed: int) -> dict[str, np.ndarray]:
    return propagate_second_moment(depth, width, activation, scheme, init_scale, norm, batch, seed)


def draw_init_distributions(sigma: float = 1.0, n: int = 200_000, seed: int = 0):
    """Densities and samples of four initializers aimed at variance sigma²: normal, uniform,
    TF-style truncated normal (±2 std) as passed, and with the std corrected by 1.1368."""
    from scipy.stats import norm as normal_dist
    from scipy.stats import truncnorm

    from lib import style

    sigma = _check_float("sigma", sigma, positive=True)
    rng = np.random.default_rng(seed)
    corr = truncation_correction(2.0)
    lo, hi = uniform_bounds(0.0, sigma)
    samples = {
        "normal": rng.normal(0, sigma, n),
        "uniform": rng.uniform(lo, hi, n),
        "truncated, std σ": sample_truncated_normal(n, 0, sigma, rng=rng),
        "truncated, std 1.1368σ": sample_truncated_normal(n, 0, corr * sigma, rng=rng),
    }
    x = np.linspace(-3.5 * sigma, 3.5 * sigma, 701)
    pdfs = {
        "normal": normal_dist(0, sigma).pdf(x),
        "uniform": np.where((x >= lo) & (x <= hi), 1 / (hi - lo), 0.0),
        "truncated, std σ": truncnorm(-2, 2, scale=sigma).pdf(x),
        "truncated, std 1.1368σ": truncnorm(-2, 2, scale=corr * sigma).pdf(x),
    }
    colours = ["black", "orange", "vermillion", "blue"]
    fig, ax = style.figure(size="wide")
    bins = np.linspace(x[0], x[-1], 90)
    for (name, s), c in zip(samples.items(), colours):
        ax.hist(s, bins=bins, density=True, histtype="stepfilled", alpha=0.12, color=style.PALETTE[c])
        ax.plot(x, pdfs[name], color=style.PALETTE[c], label=f"{name}: sample variance {s.var() / sigma**2:.4f} σ²")
    ax.set_xlabel(f"weight value (σ = {sigma:g})")
    ax.set_ylabel("density")
    ax.set_title("Four ways to draw weights aimed at variance σ² (curves: densities; shading: samples)")
    ax.legend(loc="upper right")
    return fig


def draw_truncation(c: float = 2.0):
    """Left: N(0,1) truncated at ±c against the corrected version (std × 1/sqrt(gamma(c)),
    still cut at ±c of the std passed). Right: gamma(c) and the correction against c."""
    from scipy.stats import norm as normal_dist
    from scipy.stats import truncnorm

    from lib import style

    c = _check_float("c", c, positive=True)
    gamma = truncated_normal_moments(-c, c)[1]
    corr = 1 / math.sqrt(gamma)
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    x = np.linspace(-4.6, 4.6, 801)
    ax.plot(x, normal_dist.pdf(x), color=style.PALETTE["black"], lw=1.2, label="N(0, 1), variance 1")
    ax.fill_between(x, truncnorm(-c, c).pdf(x), color=style.PALETTE["vermillion"], alpha=0.25)
    ax.plot(x, truncnorm(-c, c).pdf(x), color=style.PALETTE["vermillion"],
            label=f"cut at ±{c:g}: variance {gamma:.4f}")
    ax.plot(x, truncnorm(-c, c, scale=corr).pdf(x), color=style.PALETTE["blue"],
            label=f"std × {corr:.4f}, cut at ±{c:g}·std: variance 1")
    ax.set_ylim(0, 1.15 * max(truncnorm(-c, c).pdf(0.0), 0.45))
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.set_title(f"Truncating at ±{c:g} std keeps {math.erf(c / math.sqrt(2)):.1%} of draws")
    ax.legend(loc="upper left", fontsize=8)
    cs = np.linspace(0.3, 4.0, 200)
    gammas = np.array([truncated_normal_moments(-t, t)[1] for t in cs])
    bx.plot(cs, gammas, color=style.PALETTE["vermillion"], label="variance factor γ(c)")
    bx.plot(cs, 1 / np.sqrt(gammas), color=style.PALETTE["blue"], label="std correction 1/√γ(c)")
    bx.axvline(2.0, color=style.PALETTE["grey"], ls=":", lw=1)
    bx.text(2.05, 2.6, "TensorFlow: c = 2", fontsize=8, color=style.PALETTE["grey"])
    bx.plot([c, c], [gamma, corr], "o", color=style.PALETTE["black"], ms=5)
    bx.set_ylim(0, 3.5)
    bx.set_xlabel("truncation half-width c (in std)")
    bx.set_title(f"c = {c:g}: γ = {gamma:.4f}, correction {corr:.4f}")
    bx.legend(loc="upper right", fontsize=8)
    return fig


def draw_depth_propagation(init_scale: float = 1.0, norm: str | None = None, *, depth: int = 50,
                           width: int = 256, batch: int = 128, seed: int = 0):
    """Second moment of the pre-activations (left) and the share of it that varies across
    inputs (right, across-input variance / second moment) against depth, for the
    activation/initialization pairs of :data:`DEPTH_CURVES`; dashed:
    the infinite-width recursion :func:`mean_field_second_moment`."""
    from lib import style

    init_scale = _check_float("init_scale", init_scale, positive=True)
    _check_choice("norm", norm, set(NORMS))
    fig, (ax, bx) = style.figure(1, 2, size=(9.0, 3.9))
    layers = np.arange(1, depth + 1)
    for act, scheme, label, colour in DEPTH_CURVES:
        run = _depth_run(act, scheme, float(init_scale), norm, depth, width, batch, seed)
        col = style.PALETTE[colour]
        ax.plot(layers, run["second_moment"], color=col, label=label, lw=1.5)
        ax.plot(layers, mean_field_second_moment(depth, act, init_scale, scheme, norm), color=col, ls="--", lw=0.9)
        share = run["across_input_variance"] / run["second_moment"]
        bx.plot(layers, np.maximum(share, 1e-300), color=col, lw=1.5)
    for a in (ax, bx):
        a.set_yscale("log")
        a.set_xlabel("layer")
    ax.set_ylim(1e-18, 1e18)
    bx.set_ylim(1e-24, 3)
    ax.set_ylabel("E[h²] (pre-activation)")
    ax.set_title(f"second moment; weight variance × {init_scale:g}, {NORM_LABELS[norm]}", fontsize=10)
    bx.set_ylabel("share of E[h²] that varies across inputs")
    bx.set_title("do different inputs stay different?", fontsize=10)
    ax.legend(loc="lower left", fontsize=7, ncol=2)
    return fig


def draw_activation_moments():
    """Bar chart of E[f(z)²] for z ~ N(0, 1), split into mean² and variance, per activation."""
    from lib import style

    names = {"linear": "identity", "relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "GELU",
             "selu": "SELU", "sigmoid_rescaled": "sigmoid/√0.2934"}
    m1 = np.array([activation_moment(ACTIVATIONS[k], 1) for k in names])
    m2 = np.array([activation_moment(ACTIVATIONS[k], 2) for k in names])
    fig, ax = style.figure(size="single")
    pos = np.arange(len(names))
    ax.bar(pos, m1**2, color=style.PALETTE["orange"], label="mean² E[f]²")
    ax.bar(pos, m2 - m1**2, bottom=m1**2, color=style.PALETTE["blue"], label="variance")
    for p, v in zip(pos, m2):
        ax.text(p, v + 0.02, f"{v:.4f}", ha="center", fontsize=8)
    ax.axhline(1.0, color=style.PALETTE["grey"], ls="--", lw=1)
    ax.set_xticks(pos, list(names.values()), fontsize=8)
    ax.set_ylim(0, 1.4)
    ax.set_ylabel("E[f(z)²], z ~ N(0, 1)")
    ax.set_title("Second moment after each activation (a LeCun layer keeps it as it is)")
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return fig


def draw_attention_saturation(d_values=(4, 8, 16, 32, 64, 128, 256, 512, 1024), n_keys: int = 64,
                              n_trials: int = 4000, seed: int = 0):
    """Mean largest attention weight, mean entropy and mean softmax-Jacobian norm against the
    head dimension d, with and without dividing the logits by sqrt(d)."""
    from lib import style

    fig, axes = style.figure(1, 3, size="wide")
    stats = {s: [attention_logit_stats(d, n_keys, s, n_trials=n_trials, seed=seed + i) for i, d in enumerate(d_values)]
             for s in ("none", "sqrt")}
    keys = [("mean_max_weight", "largest weight"), ("mean_entropy", "entropy (nats)"),
            ("mean_jacobian_norm", "‖softmax Jacobian‖_F")]
    for ax, (key, label) in zip(axes, keys):
        for s, colour, name in (("none", "vermillion", "q·k"), ("sqrt", "blue", "q·k / √d")):
            ax.plot(d_values, [st[key] for st in stats[s]], "o-", ms=3.5, color=style.PALETTE[colour], label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("head dimension d")
        ax.set_title(label)
    axes[0].axhline(1 / n_keys, color=style.PALETTE["grey"], ls=":", lw=1)
    axes[1].axhline(math.log(n_keys), color=style.PALETTE["grey"], ls=":", lw=1)
    axes[1].text(d_values[0], math.log(n_keys) - 0.35, "uniform", fontsize=8, color=style.PALETTE["grey"])
    axes[0].legend(loc="center right", fontsize=8)
    axes[0].set_ylim(0, 1)
    return fig


def draw_attention_weights(d: int = 64, scaling: str = "sqrt", n_keys: int = 64, n_trials: int = 2000,
                           seed: int = 0):
    """Left: sorted attention weights of five random queries over ``n_keys`` random keys.
    Right: histogram of the largest weight over ``n_trials`` queries."""
    from lib import style

    logits = attention_logits(d, n_keys, n_trials, scaling=scaling, seed=seed)
    p = softmax_rows(logits)  # (trials, keys)
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    ranks = np.arange(1, n_keys + 1)
    for i, colour in enumerate(("blue", "orange", "green", "vermillion", "purple")):
        ax.plot(ranks, np.sort(p[i])[::-1], "o-", ms=2.5, lw=1, color=style.PALETTE[colour])
    ax.axhline(1 / n_keys, color=style.PALETTE["grey"], ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 1.5)
    ax.set_xlabel("key, sorted by weight")
    ax.set_ylabel("attention weight")
    shown = "q·k / √d" if scaling == "sqrt" else "q·k (not divided)"
    ax.set_title(f"d = {d}, logits {shown}: five queries")
    pmax = p.max(axis=1)
    bx.hist(pmax, bins=np.linspace(0, 1, 41), color=style.PALETTE["vermillion" if scaling == "none" else "blue"])
    bx.set_xlim(0, 1)
    bx.set_xlabel("largest weight of a query")
    bx.set_ylabel("queries")
    bx.set_title(f"mean largest weight {pmax.mean():.3f}; > 0.99 in {np.mean(pmax > 0.99):.0%}")
    return fig


def draw_ntk_relative_change(widths=(16, 64, 256, 1024, 4096), lr: float = 1e-2, seed: int = 0):
    """Relative weight change after one Adam step against width: NTK vs standard (LeCun)."""
    from lib import style

    fig, ax = style.figure(size="single")
    for par, colour, name in (("standard", "vermillion", "standard (weights ~ N(0, 1/m))"),
                              ("ntk", "blue", "NTK (weights ~ N(0, 1), output ÷ √m)")):
        rel = [relative_change_after_step(m, par, "adam", lr, seed=seed) for m in widths]
        ax.plot(widths, rel, "o", color=style.PALETTE[colour], label=name)
    w = np.array(widths, dtype=float)
    ax.plot(w, lr * np.sqrt(w), color=style.PALETTE["vermillion"], lw=1, ls="--", label="lr·√m")
    ax.plot(w, np.full_like(w, lr), color=style.PALETTE["blue"], lw=1, ls="--", label="lr")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("fan-in m")
    ax.set_ylabel("‖ΔW‖ / ‖W‖ after one step")
    ax.set_title(f"One Adam step at lr = {lr:g}: how much do the weights move?")
    ax.legend(loc="upper left", fontsize=8)
    return fig


RESIDUAL_FORMS = {  # label -> (mode, alpha)
    "Post-Norm": ("post", 0.0),
    "Pre-Norm": ("pre", 0.0),
    "α = 0": ("alpha", 0.0),
    "α = 0.3": ("alpha", 0.3),
    "α = 1": ("alpha", 1.0),
}


@lru_cache(maxsize=32)
def _residual_run(mode: str, alpha: float, depth: int, width: int, batch: int, seed: int) -> dict[str, np.ndarray]:
    return residual_stack(depth, width, mode, alpha=alpha, batch=batch, seed=seed)


def residual_path_weights(depth: int, form: str) -> np.ndarray:
    """Weights of ``[x_0, F_0, …, F_{l-1}]`` in x_l at initialization for a form of
    :data:`RESIDUAL_FORMS` (Post-Norm: :func:`post_norm_coefficients`; Pre-Norm: all 1, the
    branches see their input scaled by :func:`pre_norm_input_scales`; α: ``[1, α, …, α]``)."""
    _check_choice("form", form, set(RESIDUAL_FORMS))
    mode, alpha = RESIDUAL_FORMS[form]
    depth = _check_int("depth", depth)
    if mode == "post":
        return post_norm_coefficients(depth)
    return np.concatenate([[1.0], np.full(depth, 1.0 if mode == "pre" else alpha)])


def draw_residual_paths(form: str = "Post-Norm", depth: int = 12, *, max_depth: int = 24, width: int = 256,
                        batch: int = 64, seed: int = 0):
    """Left: weight of each path into x_l (the article's unrolled sums). Right: cosine between
    x_t and x_0 over depth, simulated (markers) and predicted (lines), for every form."""
    from lib import style

    _check_choice("form", form, set(RESIDUAL_FORMS))
    depth = _check_int("depth", depth)
    max_depth = max(_check_int("max_depth", max_depth), depth)
    colours = dict(zip(RESIDUAL_FORMS, ("vermillion", "blue", "green", "orange", "purple")))
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    weights = residual_path_weights(depth, form)
    labels = ["x₀"] + [f"F{j}" for j in range(depth)]
    ax.bar(np.arange(depth + 1), weights, color=style.PALETTE[colours[form]])
    step = max(1, (depth + 1) // 8)
    ax.set_xticks(np.arange(depth + 1)[::step], labels[::step], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(f"weight in x_{depth}")
    mode, alpha = RESIDUAL_FORMS[form]
    ms = _residual_run(mode, alpha, max_depth, width, batch, seed)["second_moment"][depth]
    ax.set_title(f"{form}, l = {depth}: E[x_l²] = {ms:.3g}")
    t = np.arange(max_depth + 1)
    for name, (m, a) in RESIDUAL_FORMS.items():
        run = _residual_run(m, a, max_depth, width, batch, seed)
        lw, alpha_line = (2.2, 1.0) if name == form else (1.0, 0.45)
        bx.plot(t, residual_theory(max_depth, m, a)["corr"], color=style.PALETTE[colours[name]], lw=lw,
                alpha=alpha_line, label=name)
        bx.plot(t[::2], run["corr"][::2], "o", ms=3, color=style.PALETTE[colours[name]], alpha=alpha_line)
    bx.axvline(depth, color=style.PALETTE["grey"], ls=":", lw=1)
    bx.set_ylim(0, 1.05)
    bx.set_xlabel("layer t")
    bx.set_ylabel("cos(x_t, x_0)")
    bx.set_title("how much of the input survives (lines: theory)")
    bx.legend(loc="upper right", fontsize=8)
    return fig


def draw_alpha_ramp(increments=(1 / 200, 1 / 1000, 1 / 4000), steps: int = 5000):
    """The article's schedule alpha(step) = min(1, step · increment) for a few increments."""
    from lib import style

    fig, ax = style.figure(size=(6.4, 2.6))
    s = np.arange(steps + 1)
    for inc, colour in zip(increments, ("blue", "orange", "green", "vermillion")):
        ax.plot(s, [alpha_ramp(int(k), inc) for k in s], color=style.PALETTE[colour],
                label=f"increment {inc:.2g}: α = 1 after {math.ceil(1 / inc)} steps")
    ax.set_xlabel("training step")
    ax.set_ylabel("α")
    ax.set_title("α-residual: start as the identity, grow α by a fixed step, freeze at 1")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_retrieval_training(runs: dict[str, list[dict]], n_keys: int = 32):
    """Training loss of :func:`train_key_retrieval` per variant (thin: seeds; thick: their mean)."""
    from lib import style

    names = {"sqrt": ("LeCun, logits ÷ √d", "blue"), "none": ("LeCun, no division", "vermillion"),
             "t5": ("T5 init, no division", "green")}
    fig, ax = style.figure(size="single")
    steps = 1
    for variant, results in runs.items():
        label, colour = names[_check_choice("variant", variant, set(names))]
        curves = np.array([r["loss"] for r in results])  # (seeds, steps)
        for c in curves:
            ax.plot(c, color=style.PALETTE[colour], lw=0.6, alpha=0.35)
        ax.plot(curves.mean(axis=0), color=style.PALETTE[colour], lw=1.8, label=label)
        steps = max(steps, curves.shape[1])
    ax.axhline(math.log(n_keys), color=style.PALETTE["grey"], ls=":", lw=1)
    ax.text(0.55 * steps, math.log(n_keys) * 1.15, f"log {n_keys}: uniform attention", fontsize=8,
            color=style.PALETTE["grey"])
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("One attention head learning to retrieve the matching key")
    ax.legend(loc="upper right", fontsize=8)
    return fig
