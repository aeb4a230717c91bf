"""Sampling weights with a given variance: normal, uniform, truncated normal (chapter 6, section 1).

Chapter 6 (``book/06-init-and-normalization.ipynb``) follows Su Jianlin, "浅谈Transformer的初始化、
参数化与标准化" (Notes on Transformer initialization, parameterization and normalization),
kexue.fm/archives/8620.
Truncating a normal at ±2 std shrinks its variance to 0.7737 of the target, which TensorFlow-style
initializers must correct by 1.1368; PyTorch's ``trunc_normal_`` takes absolute bounds instead. The
initialization schemes (LeCun, He, Xavier, NTK) set the target variance from the fan-in.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from lib import checks


INIT_SCHEMES = ("lecun", "he", "xavier", "ntk")


def _interval(a, b) -> tuple[float, float]:
    """``(a, b)`` as floats with a < b; infinite ends are allowed."""
    a, b = checks.real("a", a, finite=False), checks.real("b", b, finite=False)
    if not a < b:
        raise ValueError(f"a={a!r}, b={b!r}: need a < b")
    return a, b


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
    a, b = _interval(a, b)
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
    c = checks.real("c", c, above=0, finite=False)  # the truncation half-width in std units
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
    mean = checks.real("mean", mean, finite=False)
    std = checks.real("std", std, above=0)
    checks.choice("bounds", bounds, {"relative", "absolute"})
    a, b = _interval(a, b)
    lo, hi = (mean + a * std, mean + b * std) if bounds == "relative" else (a, b)
    za, zb = (lo - mean) / std, (hi - mean) / std
    accept = math.exp(_log_mass(za, zb))
    if accept < 1e-6:
        raise ValueError(f"the interval [{lo:g}, {hi:g}] holds only {accept:.2e} of N({mean:g}, {std:g}²); "
                         "rejection sampling would almost never accept (need at least 1e-6)")
    gen = checks.generator("rng", rng, seed)
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
    mean = checks.real("mean", mean, finite=False)
    std = checks.real("std", std, at_least=0)
    half = math.sqrt(3.0) * std
    return mean - half, mean + half


def init_variance(fan_in: int, fan_out: int | None = None, scheme: str = "lecun") -> float:
    """Weight variance of an initialization scheme (chapter 6, section 2).

    ``lecun``: 1/fan_in (keeps the second moment of a linear layer); ``he``: 2/fan_in (ReLU
    halves the second moment); ``xavier``: 2/(fan_in + fan_out) (needs fan_out; equals 1/fan_in
    only for square layers); ``ntk``: 1, because an NTK-parameterized layer divides its output
    by sqrt(fan_in) instead.
    """
    fan_in = checks.integer("fan_in", fan_in, at_least=1)
    checks.choice("scheme", scheme, set(INIT_SCHEMES))
    if scheme == "lecun":
        return 1.0 / fan_in
    if scheme == "he":
        return 2.0 / fan_in
    if scheme == "ntk":
        return 1.0
    if fan_out is None:
        raise ValueError("scheme='xavier' needs fan_out (a positive integer), got None")
    return 2.0 / (fan_in + checks.integer("fan_out", fan_out, at_least=1))


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
    fan_in = checks.integer("shape[0]", shape[0], at_least=1)
    fan_out = checks.integer("shape[1]", shape[1], at_least=1)
    checks.choice("dist", dist, {"normal", "uniform", "truncated_normal"})
    std = math.sqrt(init_variance(fan_in, fan_out, scheme))
    gen = checks.generator("rng", rng, seed)
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

    std = checks.real("std", std, above=0)
    n = checks.integer("n", n, at_least=2)
    gen = torch.Generator().manual_seed(int(seed))
    t = torch.empty(n, dtype=torch.float64)
    torch.nn.init.trunc_normal_(t, mean=0.0, std=std, a=float(a), b=float(b), generator=gen)
    return float(t.var())
