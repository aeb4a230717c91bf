"""InfoNCE, FlatNCE and floating point: the computations of chapter 3 (book/03-flatnce.ipynb).

One anchor is scored against K candidates, s_1..s_K, of which s_t is the positive. With

    xi = sum_{i != t} exp(s_i - s_t)        v = log xi = logsumexp_{i != t}(s_i - s_t)

the two losses of the chapter are (eqs. 1, 3 and 5 of the chapter)

    InfoNCE  = -log softmax(s)_t = log(1 + xi) = softplus(v)
    FlatNCE  = xi / sg(xi)   (value 1, gradient = grad of v = grad of log xi)

Both are functions of the same scalar v per anchor, and per anchor their gradients point the
same way: grad InfoNCE = sigmoid(v) * grad v (chapter 3, "Gradient anatomy").

Sections: scores and the two losses; analytic gradients and floating-point sweeps; the
saturation arithmetic; Adam's scale invariance; a small deterministic contrastive learner;
figures. torch is imported here (this module needs autograd); callers should set
``torch.set_num_threads(1)`` for the small problems of the chapter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

# Unit roundoff u = 2^-(p) for a p-bit significand (p counts the implicit bit): 1 + x == 1 for x <= u.
UNIT_ROUNDOFF = {torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8, torch.float32: 2.0**-24, torch.float64: 2.0**-53}
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
LOG_U32 = math.log(2.0**-24)  # an anchor is "saturated" when v = log xi <= this: float32 1 + xi == 1


# --------------------------------------------------------------------------------------------
# Scores and the two losses
# --------------------------------------------------------------------------------------------

def _as_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if isinstance(dtype, torch.dtype) and dtype in UNIT_ROUNDOFF:
        return dtype
    raise TypeError(f"dtype={dtype!r} must be one of {sorted(DTYPES)} (a name or a torch.dtype)")


def unit_roundoff(dtype) -> float:
    """Unit roundoff u of a floating dtype: 2^-24 (float32), 2^-53 (float64), 2^-11 (float16), 2^-8 (bfloat16).

    In round-to-nearest, ``1 + x`` rounds to exactly 1 for 0 <= x <= u: the threshold below which the
    standard cross-entropy of chapter 3 returns a loss of exactly zero.
    """
    return UNIT_ROUNDOFF[_as_dtype(dtype)]


def check_scores(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate scores and target; return scores as (B, K) and target as a long tensor (B,).

    ``scores`` is a floating tensor of shape (B, K) or (K,) (taken as B = 1) with finite entries;
    ``target`` is an int or an integer tensor of shape (B,) (or a scalar) with entries in [0, K).
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a floating tensor, got dtype {scores.dtype}")
    if scores.ndim == 1:
        scores = scores.unsqueeze(0)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (B, K) or (K,), got shape {tuple(scores.shape)}")
    B, K = scores.shape
    if B == 0:
        raise ValueError("scores has B = 0 anchors: need at least one row")
    if K < 2:
        raise ValueError(f"scores has K = {K} candidates: need at least one negative (K >= 2)")
    if not torch.isfinite(scores.detach()).all():
        raise ValueError("scores must be finite (found NaN or inf)")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer, torch.Tensor)):
        raise TypeError(f"target must be an int or an integer tensor, got {type(target).__name__}")
    if isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must be an integer tensor, got dtype {target.dtype}")
        if target.ndim == 0:
            target = target.expand(B)
        if target.shape != (B,):
            raise ValueError(f"target must have shape ({B},) to match scores, got {tuple(target.shape)}")
        target = target.to(torch.long)
    else:
        target = torch.full((B,), int(target), dtype=torch.long)
    if (target < 0).any() or (target >= K).any():
        raise ValueError(f"target entries must be in [0, {K}), got {target.tolist()}")
    return scores, target


def _split(scores: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, K = scores.shape
    keep = torch.ones(B, K, dtype=torch.bool)
    keep[torch.arange(B), target] = False  # True at the negatives
    return scores.gather(1, target[:, None]), scores[keep].view(B, K - 1), keep  # (B, 1), (B, K-1), (B, K)


def split_scores(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Split scores (B, K) into the positive (B, 1) and the negatives (B, K-1), order kept.

    Accepts what :func:`check_scores` accepts; gradients flow through both outputs.
    """
    pos, neg, _ = _split(*check_scores(scores, target))
    return pos, neg


def log_xi(scores: torch.Tensor, target) -> torch.Tensor:
    """v = log xi = logsumexp_{i != t}(s_i - s_t), shape (B,), stable in any dtype (chapter 3, eq. 5)."""
    pos, neg = split_scores(scores, target)
    return torch.logsumexp(neg - pos, dim=-1)  # (B,)


def xi(scores: torch.Tensor, target, dtype=torch.float64) -> torch.Tensor:
    """xi = sum_{i != t} exp(s_i - s_t), shape (B,), computed as exp(v) in ``dtype`` (float64 by default).

    exp(v) underflows to 0 once v < about -745 in float64 (-104 in float32); use :func:`log_xi` there.
    """
    dtype = _as_dtype(dtype)
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError(f"scores must be a floating torch.Tensor, got {getattr(scores, 'dtype', type(scores).__name__)}")
    return torch.exp(log_xi(scores.to(dtype), target))


def _reduce(per_anchor: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    if reduction == "none":
        return per_anchor
    raise ValueError(f"reduction={reduction!r} must be 'mean', 'sum' or 'none'")


INFO_NCE_IMPLS = ("cross_entropy", "lse", "softplus", "log1p")


def info_nce(scores: torch.Tensor, target, impl: str = "cross_entropy", reduction: str = "mean") -> torch.Tensor:
    """InfoNCE = log(1 + xi) per anchor (chapter 3, eq. 1), four ways that agree in exact arithmetic.

    impl:
      "cross_entropy"  ``F.cross_entropy`` (what training code calls; loses xi <= u, see chapter 3)
      "lse"            logsumexp over all K, minus s_t (same cancellation as cross_entropy)
      "softplus"       softplus(v) with v = logsumexp(neg - pos): stable, the chapter's "stable InfoNCE"
      "log1p"          log1p(sum exp(neg - pos)): stable until the terms underflow
    """
    if impl not in INFO_NCE_IMPLS:
        raise ValueError(f"impl={impl!r} must be one of {INFO_NCE_IMPLS}")
    _reduce(torch.zeros(1), reduction)  # validate early
    scores, target = check_scores(scores, target)
    pos, neg, _ = _split(scores, target)
    if impl == "cross_entropy":
        per = F.cross_entropy(scores, target, reduction="none")
    elif impl == "lse":
        per = torch.logsumexp(torch.cat([pos, neg], dim=-1), dim=-1) - pos[:, 0]
    elif impl == "softplus":
        per = F.softplus(torch.logsumexp(neg - pos, dim=-1))
    else:
        per = torch.log1p(torch.exp(neg - pos).sum(dim=-1))
    return _reduce(per, reduction)  # (B,) or scalar


FLAT_NCE_FORMS = ("sg", "log", "ratio")


def flat_nce(scores: torch.Tensor, target, form: str = "sg", reduction: str = "mean", monitor: bool = False) -> torch.Tensor:
    """FlatNCE per anchor (chapter 3, eqs. 3-5); all three forms have the gradient of v = log xi.

    form:
      "sg"     exp(v - sg(v)): value exactly 1, computed from the stable v (the official code's form)
      "log"    v itself (the article's preferred, stop-gradient-free form; negative when xi < 1)
      "ratio"  the literal xi / sg(xi); NaN when xi underflows (kept only to show that failure)
    With ``monitor=True`` the value is replaced by InfoNCE's (softplus form) while the gradient stays
    FlatNCE's: ``flat - sg(flat) + sg(InfoNCE)``, as the official FlatCLR code reports its loss.
    """
    if form not in FLAT_NCE_FORMS:
        raise ValueError(f"form={form!r} must be one of {FLAT_NCE_FORMS}")
    if not isinstance(monitor, bool):
        raise TypeError(f"monitor={monitor!r} must be a bool")
    _reduce(torch.zeros(1), reduction)
    scores, target = check_scores(scores, target)
    pos, neg, _ = _split(scores, target)
    if form == "ratio":
        total = torch.exp(neg - pos).sum(dim=-1)  # (B,)
        per = total / total.detach()
    else:
        v = torch.logsumexp(neg - pos, dim=-1)  # (B,)
        per = torch.exp(v - v.detach()) if form == "sg" else v
    if monitor:
        per = per - per.detach() + F.softplus(torch.logsumexp(neg - pos, dim=-1)).detach()
    return _reduce(per, reduction)


def _score_grads(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    s64, target = check_scores(scores.detach().to(torch.float64), target)
    pos, neg, keep = _split(s64, target)
    v = torch.logsumexp(neg - pos, dim=-1)  # (B,)
    grad_v = torch.full_like(s64, -1.0)  # (B, K): -1 at the positive
    grad_v[keep] = torch.softmax(neg - pos, dim=-1).reshape(-1)  # softmax over the negatives only
    return grad_v, v


def flat_nce_score_grad(scores: torch.Tensor, target) -> torch.Tensor:
    """Exact gradient of FlatNCE (= of v) with respect to the scores, float64, shape (B, K).

    Negatives get q_i = softmax over the negatives (sum 1), the positive gets -1 (chapter 3, "Gradient anatomy").
    """
    return _score_grads(scores, target)[0]


def info_nce_score_grad(scores: torch.Tensor, target) -> torch.Tensor:
    """Exact gradient of InfoNCE with respect to the scores, float64, shape (B, K).

    Computed as sigmoid(v) * grad v, so the positive entry is -sigmoid(v), never the cancelling p_t - 1.
    """
    grad_v, v = _score_grads(scores, target)
    return torch.sigmoid(v)[:, None] * grad_v


def cosine_scores(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores s_ij = cos(z1_i, z2_j) / tau, shape (B, B), and the targets arange(B) (positives on the diagonal)."""
    if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
        raise TypeError("z1 and z2 must be torch tensors")
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both have shape (B, d), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau={tau!r} must be a positive finite number")
    if (z1.detach().norm(dim=-1) == 0).any() or (z2.detach().norm(dim=-1) == 0).any():
        raise ValueError("z1 and z2 must have no zero rows (a cosine needs a direction)")
    scores = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).T / tau  # (B, B)
    return scores, torch.arange(z1.shape[0])


# --------------------------------------------------------------------------------------------
# Floating-point sweeps: what each dtype computes against the exact values
# --------------------------------------------------------------------------------------------

def equal_negative_scores(xis, K: int, s_t: float = 0.0, dtype=torch.float32) -> torch.Tensor:
    """Score rows (N, K) with the positive s_t first and K-1 equal negatives giving xi = xis[n].

    The negatives are s_t + log(xi / (K - 1)), computed in float64 and then rounded to ``dtype``;
    the exact xi of the rounded scores is what :func:`xi_sweep` uses as reference.
    """
    dtype = _as_dtype(dtype)
    if not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"K={K!r} must be an integer >= 2")
    x = np.atleast_1d(np.asarray(xis, dtype=float))
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("xis must be positive finite numbers")
    neg = s_t + np.log(x / (K - 1))
    rows = np.concatenate([np.full((len(x), 1), s_t), np.repeat(neg[:, None], K - 1, axis=1)], axis=1)
    return torch.tensor(rows, dtype=torch.float64).to(dtype)  # (N, K)


def xi_sweep(xis, K: int = 8, dtype=torch.float32, s_t: float = 0.0) -> dict[str, np.ndarray]:
    """Loss values and score gradients of three implementations against the exact values (chapter 3, §"float32").

    For each xi, one anchor with K-1 equal negatives is evaluated in ``dtype`` by
    InfoNCE via ``F.cross_entropy`` ("ce"), InfoNCE as softplus(v) ("stable") and FlatNCE's v ("flat").
    The reference is float64 arithmetic on the same rounded scores, using the analytic gradients.
    Returns arrays of length N: ``xi`` (exact), ``*_loss``, ``*_gpos`` (d/ds_t), ``*_gneg`` (d/ds_i, one
    negative) for ce/stable/flat, and ``exact_loss`` (log1p xi), ``exact_v``, ``exact_gpos``,
    ``exact_gneg``, ``flat_exact_gneg``.
    """
    dtype = _as_dtype(dtype)
    s = equal_negative_scores(xis, K, s_t, dtype)  # (N, K)
    target = torch.zeros(s.shape[0], dtype=torch.long)
    losses = {"ce": lambda x: info_nce(x, target, "cross_entropy", "none"),
              "stable": lambda x: info_nce(x, target, "softplus", "none"),
              "flat": lambda x: flat_nce(x, target, "log", "none")}
    out: dict[str, np.ndarray] = {}
    for name, per_anchor in losses.items():
        x = s.clone().requires_grad_(True)
        per = per_anchor(x)  # (N,): rows are independent, so one backward gives every row's gradient
        per.sum().backward()
        out[f"{name}_loss"] = per.detach().double().numpy()
        out[f"{name}_gpos"] = x.grad[:, 0].double().numpy()
        out[f"{name}_gneg"] = x.grad[:, 1].double().numpy()
    s64 = s.double()
    v = log_xi(s64, target)
    g_ce = info_nce_score_grad(s64, target)
    g_flat = flat_nce_score_grad(s64, target)
    out.update(xi=torch.exp(v).numpy(), exact_v=v.numpy(), exact_loss=F.softplus(v).numpy(),
               exact_gpos=g_ce[:, 0].numpy(), exact_gneg=g_ce[:, 1].numpy(), flat_exact_gneg=g_flat[:, 1].numpy())
    return out


def relative_error(got, exact) -> np.ndarray:
    """|got - exact| / |exact| elementwise (exact must be non-zero)."""
    got, exact = np.asarray(got, dtype=float), np.asarray(exact, dtype=float)
    return np.abs(got - exact) / np.abs(exact)


GRADIENT_LOSSES = ("cross_entropy", "lse", "softplus", "log1p", "flatnce")


def gradient_fidelity(loss: str, K: int, tau: float, sigma: float = 0.3, seed: int = 0, D: int = 32, L: int = 16) -> dict:
    """Float32 parameter gradient of a loss against its exact value, for a random linear encoder.

    K points x ~ N(0, I_D) get two views x + sigma * noise, are encoded by one random D -> L linear map and
    scored by cosine / tau (positives on the diagonal). ``loss`` is an InfoNCE impl (see :func:`info_nce`)
    or "flatnce". The reference is the float64 gradient of sg(sigmoid(v)) * v for InfoNCE and of v for FlatNCE,
    on the same float32 weights: exact up to float64 rounding, with no cancellation (chapter 3, §"float32").
    Returns ``cos`` (cosine to the reference), ``rel_err`` (relative L2 error) and ``saturated`` (fraction
    of anchors with xi <= 2^-24).
    """
    if loss not in GRADIENT_LOSSES:
        raise ValueError(f"loss={loss!r} must be one of {GRADIENT_LOSSES}")
    if not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"K={K!r} must be an integer >= 2")
    if not (isinstance(sigma, (int, float)) and sigma >= 0):
        raise ValueError(f"sigma={sigma!r} must be a non-negative number")
    g = torch.Generator().manual_seed(int(seed))
    W = (torch.randn(D, L, generator=g, dtype=torch.float64) / math.sqrt(D)).float()  # (D, L)
    x = torch.randn(K, D, generator=g, dtype=torch.float64)
    x1 = (x + sigma * torch.randn(K, D, generator=g, dtype=torch.float64)).float()  # (K, D)
    x2 = (x + sigma * torch.randn(K, D, generator=g, dtype=torch.float64)).float()

    w32 = W.clone().requires_grad_(True)
    s32, t = cosine_scores(x1 @ w32, x2 @ w32, tau)  # (K, K)
    if loss == "flatnce":
        flat_nce(s32, t, "sg").backward()
    else:
        info_nce(s32, t, loss).backward()

    w64 = W.double().requires_grad_(True)
    s64, _ = cosine_scores(x1.double() @ w64, x2.double() @ w64, tau)
    v = log_xi(s64, t)  # (K,)
    ref = v.mean() if loss == "flatnce" else (torch.sigmoid(v).detach() * v).mean()
    ref.backward()

    got, exact = w32.grad.double().flatten(), w64.grad.flatten()
    return {"cos": float(F.cosine_similarity(got, exact, dim=0)),
            "rel_err": float((got - exact).norm() / exact.norm()),
            "saturated": float((v <= LOG_U32).double().mean())}


# --------------------------------------------------------------------------------------------
# Saturation arithmetic: when is xi below the unit roundoff?
# --------------------------------------------------------------------------------------------

def _check_K_tau(K, tau) -> None:
    if np.any(np.asarray(K, dtype=float) < 2):
        raise ValueError(f"K={K!r} must be at least 2 (one positive and one negative)")
    if np.any(~np.isfinite(np.asarray(tau, dtype=float))) or np.any(np.asarray(tau, dtype=float) <= 0):
        raise ValueError(f"tau={tau!r} must be positive and finite")


def xi_for_gap(K, tau, gap):
    """xi = (K - 1) exp(-gap / tau): every negative's cosine sits ``gap`` below the positive's (chapter 3)."""
    _check_K_tau(K, tau)
    return (np.asarray(K, dtype=float) - 1) * np.exp(-np.asarray(gap, dtype=float) / np.asarray(tau, dtype=float))


def saturation_gap(K, tau, dtype=torch.float32):
    """Cosine gap at which xi reaches the unit roundoff: tau (ln(1/u) + ln(K - 1)) (chapter 3).

    Scores are cosines over tau, so gaps above 2 are impossible: no saturation can happen there.
    """
    _check_K_tau(K, tau)
    return np.asarray(tau, dtype=float) * (-math.log(unit_roundoff(dtype)) + np.log(np.asarray(K, dtype=float) - 1))


def min_xi(K, tau):
    """Smallest xi that cosine scores allow: (K - 1) exp(-2 / tau), every negative antipodal (chapter 3)."""
    return xi_for_gap(K, tau, 2.0)


# --------------------------------------------------------------------------------------------
# Adam and the scale of the loss
# --------------------------------------------------------------------------------------------

def adam_first_step_ratio(g, eps: float = 1e-8):
    """Adam's first update over the learning rate, |g| / (|g| + eps): 1 for large gradients, 0 for tiny ones."""
    if not (eps >= 0):
        raise ValueError(f"eps={eps!r} must be non-negative")
    g = np.abs(np.asarray(g, dtype=float))
    return g / (g + eps)


def adam_scaled_updates(scales, steps: int = 3, lr: float = 1e-3, theta0=(1.0, -2.0), eps: float = 1e-8) -> np.ndarray:
    """Parameter change after ``steps`` Adam steps on c * ||theta||^2 / 2, for each scale c (rows), float64.

    The article's argument: Adam's update does not depend on c. It holds until c * |theta| nears eps.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer")
    out = []
    for c in np.atleast_1d(np.asarray(scales, dtype=float)):
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=lr, eps=eps)
        for _ in range(steps):
            opt.zero_grad()
            (float(c) * 0.5 * (theta**2).sum()).backward()
            opt.step()
        out.append(theta.detach().numpy() - np.asarray(theta0))
    return np.array(out)  # (len(scales), len(theta0))


# --------------------------------------------------------------------------------------------
# A small deterministic contrastive learner
# --------------------------------------------------------------------------------------------

TOY_LOSSES = ("infonce", "infonce_stable", "flatnce", "flatnce_log", "infonce_rescaled")
DEFAULT_VARIANTS = (("infonce", "float32"), ("infonce_stable", "float32"), ("infonce", "float64"),
                    ("flatnce", "float32"), ("infonce_rescaled", "float32"))
VARIANT_LABELS = {
    ("infonce", "float32"): "InfoNCE, standard (float32)",
    ("infonce_stable", "float32"): "InfoNCE, stable (float32)",
    ("infonce", "float64"): "InfoNCE, standard (float64)",
    ("flatnce", "float32"): "FlatNCE (float32)",
    ("infonce_rescaled", "float32"): "InfoNCE ÷ sg(batch mean σ(v))",
}


def toy_loss(loss: str, scores: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-model batch loss (M,) from scores (M, K, K) with positives on the diagonal and v (M, K).

    "infonce" uses F.cross_entropy; "infonce_stable" softplus(v); "flatnce" exp(v - sg v); "flatnce_log" v;
    "infonce_rescaled" mean softplus(v) / sg(mean sigmoid(v)): InfoNCE's batch gradient direction with its
    anchor weights sigmoid(v_a) normalised to sum to 1 (FlatNCE gives every anchor 1/K instead).
    """
    M, K, _ = scores.shape
    if loss == "infonce":
        tgt = torch.arange(K).repeat(M)
        return F.cross_entropy(scores.reshape(M * K, K), tgt, reduction="none").view(M, K).mean(1)
    if loss == "infonce_stable":
        return F.softplus(v).mean(1)
    if loss == "flatnce":
        return torch.exp(v - v.detach()).mean(1)
    if loss == "flatnce_log":
        return v.mean(1)
    if loss == "infonce_rescaled":
        return F.softplus(v).mean(1) / torch.sigmoid(v).mean(1).detach()
    raise ValueError(f"loss={loss!r} must be one of {TOY_LOSSES}")


@dataclass
class ToyTask:
    """x = z A with z ~ N(0, I_L), A (L, D) Gaussian / sqrt(L); views are x + sigma * noise."""

    D: int = 32
    L: int = 16
    H: int = 64
    sigma: float = 0.3
    task_seed: int = 12345
    n_eval: int = 1000
    A: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        g = torch.Generator().manual_seed(self.task_seed)
        self.A = torch.randn(self.L, self.D, generator=g) / math.sqrt(self.L)  # (L, D)

    def views(self, n: int, g: torch.Generator) -> torch.Tensor:
        """Two noisy views of n fresh points, shape (2, n, D)."""
        x = torch.randn(n, self.L, generator=g) @ self.A  # (n, D)
        return torch.stack([x + self.sigma * torch.randn(n, self.D, generator=g),
                            x + self.sigma * torch.randn(n, self.D, generator=g)])

    def init_params(self, seed: int) -> list[torch.Tensor]:
        """MLP D -> H -> L weights with torch.nn.Linear's default ranges, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        g = torch.Generator().manual_seed(10_000 + int(seed))

        def u(shape, fan_in):
            return (torch.rand(shape, generator=g) * 2 - 1) / math.sqrt(fan_in)

        return [u((self.D, self.H), self.D), u((1, self.H), self.D), u((self.H, self.L), self.H), u((1, self.L), self.H)]


def _encode(params, x):  # params (M, ...) stacked; x (M, n, D) -> (M, n, L) unit vectors
    W1, b1, W2, b2 = params
    h = torch.relu(torch.baddbmm(b1, x, W1))  # (M, n, H)
    return F.normalize(torch.baddbmm(b2, h, W2), dim=-1)  # (M, n, L)


def _check_run(loss, K, tau, steps) -> None:
    if loss not in TOY_LOSSES:
        raise ValueError(f"loss={loss!r} must be one of {TOY_LOSSES}")
    if not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"K={K!r} must be an integer >= 2 (batch size: one positive, K-1 negatives)")
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau={tau!r} must be a positive finite number")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer")


def train_group(runs, K: int, dtype=torch.float32, steps: int = 600, lr: float = 1e-3, optimizer: str = "adam",
                task: ToyTask | None = None) -> dict:
    """Train several independent toy models at once, one per (loss, tau, seed) in ``runs`` (chapter 3, experiment).

    Each model is an MLP D -> H -> L (ReLU) with unit-norm outputs, trained on batches of K fresh points
    (two views each; anchor i's positive is its own second view, the other K-1 second views are its
    negatives), scores cos / tau, for ``steps`` steps of Adam (or plain SGD). Models are stacked along a
    leading axis and the summed loss is back-propagated: their parameters are disjoint and Adam acts
    elementwise, so each model trains exactly as if alone. A seed fixes the initial weights and the data
    stream, shared by all losses with that seed (common random numbers).

    Returns ``acc`` (M,): top-1 retrieval of view 2 from view 1 among ``task.n_eval`` held-out points;
    ``sat_frac`` (M,): mean fraction of anchors with xi <= 2^-24 over the last 20% of steps;
    ``weight`` (M, steps): batch mean of sigmoid(v_a), InfoNCE's anchor weight; ``saturated`` (M, steps).
    """
    dtype = _as_dtype(dtype)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype={dtype} must be float32 or float64 for training")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer={optimizer!r} must be 'adam' or 'sgd'")
    runs = [(str(l), float(t), int(s)) for l, t, s in runs]
    if not runs:
        raise ValueError("runs must list at least one (loss, tau, seed)")
    for l, t, _ in runs:
        _check_run(l, K, t, steps)
    task = task or ToyTask()
    M, seeds = len(runs), sorted({s for _, _, s in runs})
    init = {s: task.init_params(s) for s in seeds}
    params = [torch.stack([init[s][j] for _, _, s in runs]).to(dtype).requires_grad_(True) for j in range(4)]
    tau = torch.tensor([t for _, t, _ in runs], dtype=dtype).view(M, 1, 1)
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    gens = {s: torch.Generator().manual_seed(20_000 + s) for s in seeds}
    which = torch.tensor([seeds.index(s) for _, _, s in runs])
    groups = {l: torch.tensor([i for i, r in enumerate(runs) if r[0] == l]) for l in dict.fromkeys(r[0] for r in runs)}
    off_diag = ~torch.eye(K, dtype=torch.bool)
    weight = torch.empty(M, steps, dtype=torch.float64)
    saturated = torch.empty(M, steps, dtype=torch.float64)
    for step in range(steps):
        batch = torch.stack([task.views(K, gens[s]) for s in seeds]).to(dtype)[which]  # (M, 2, K, D)
        h1, h2 = _encode(params, batch[:, 0]), _encode(params, batch[:, 1])  # (M, K, L)
        scores = torch.bmm(h1, h2.transpose(1, 2)) / tau  # (M, K, K)
        pos = scores.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (M, K, 1)
        v = torch.logsumexp(scores[:, off_diag].view(M, K, K - 1) - pos, dim=-1)  # (M, K)
        total = sum(toy_loss(l, scores[idx], v[idx]).sum() for l, idx in groups.items())
        opt.zero_grad()
        total.backward()
        opt.step()
        vd = v.detach().double()
        weight[:, step] = torch.sigmoid(vd).mean(1)
        saturated[:, step] = (vd <= LOG_U32).double().mean(1)
    acc = _retrieval_accuracy(params, task, dtype)
    tail = saturated[:, int(0.8 * steps):] if steps >= 5 else saturated
    return {"runs": runs, "acc": acc, "sat_frac": tail.mean(1).numpy(),
            "weight": weight.numpy(), "saturated": saturated.numpy()}


def _retrieval_accuracy(params, task: ToyTask, dtype) -> np.ndarray:
    g = torch.Generator().manual_seed(999)
    x1, x2 = task.views(task.n_eval, g).to(dtype)  # (n, D) each
    acc = []
    with torch.no_grad():
        for m in range(params[0].shape[0]):
            one = [p[m : m + 1] for p in params]
            e1, e2 = _encode(one, x1[None])[0], _encode(one, x2[None])[0]  # (n, L)
            acc.append(float(((e1 @ e2.T).argmax(-1) == torch.arange(task.n_eval)).double().mean()))
    return np.array(acc)


def train_toy_contrastive(loss: str, K: int, tau: float, dtype=torch.float32, steps: int = 600, sigma: float = 0.3,
                          lr: float = 1e-3, seed: int = 0, optimizer: str = "adam") -> dict:
    """One toy run (see :func:`train_group`): ``acc``, ``sat_frac`` and the per-step ``weight``/``saturated``."""
    out = train_group([(loss, tau, seed)], K, dtype, steps, lr, optimizer, ToyTask(sigma=sigma))
    return {"acc": float(out["acc"][0]), "sat_frac": float(out["sat_frac"][0]),
            "history": {"weight": out["weight"][0], "saturated": out["saturated"][0]}}


@dataclass
class BatchSizeSweep:
    """Results of :func:`batch_size_sweep`; arrays are indexed [variant, tau, K, seed] (+ [step])."""

    Ks: list
    taus: list
    variants: list
    seeds: list
    steps: int
    acc: np.ndarray
    sat_frac: np.ndarray
    weight: np.ndarray
    saturated: np.ndarray

    def labels(self) -> list[str]:
        return [VARIANT_LABELS.get(v, f"{v[0]} ({v[1]})") for v in self.variants]

    def index(self, variant) -> int:
        return self.variants.index(tuple(variant))


def batch_size_sweep(Ks=(4, 8, 16, 64), taus=(0.02, 0.05, 0.1), variants=DEFAULT_VARIANTS, seeds=(0, 1, 2),
                     steps: int = 600, lr: float = 1e-3) -> BatchSizeSweep:
    """Train every (variant, tau, K, seed) of the chapter's experiment; one stacked group per (K, dtype)."""
    variants = [(l, str(d)) for l, d in variants]
    for l, d in variants:
        _as_dtype(d)
        if l not in TOY_LOSSES:
            raise ValueError(f"variant loss {l!r} must be one of {TOY_LOSSES}")
    Ks, taus, seeds = list(Ks), [float(t) for t in taus], list(seeds)
    V, T, NK, S = len(variants), len(taus), len(Ks), len(seeds)
    acc, sat = np.empty((V, T, NK, S)), np.empty((V, T, NK, S))
    weight, saturated = np.empty((V, T, NK, S, steps)), np.empty((V, T, NK, S, steps))
    for k, K in enumerate(Ks):
        for d in dict.fromkeys(d for _, d in variants):
            vis = [i for i, (_, dd) in enumerate(variants) if dd == d]
            runs = [(variants[i][0], t, s) for i in vis for t in taus for s in seeds]
            out = train_group(runs, K, d, steps, lr)
            shape = (len(vis), T, S)
            acc[vis, :, k] = out["acc"].reshape(shape)
            sat[vis, :, k] = out["sat_frac"].reshape(shape)
            weight[vis, :, k] = out["weight"].reshape(shape + (steps,))
            saturated[vis, :, k] = out["saturated"].reshape(shape + (steps,))
    return BatchSizeSweep(Ks, taus, variants, seeds, steps, acc, sat, weight, saturated)


def effective_batch_fraction(weights, axis: int = -1):
    """Kish's effective sample size over n, (sum w)^2 / (n sum w^2): 1 when all weights are equal, 1/n when one dominates.

    Applied to InfoNCE's batch weights mean_a sigmoid(v_a) over training steps, it says what fraction of the
    batches an optimiser that normalises the gradient scale (Adam) effectively learns from (chapter 3).
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be a non-empty array of finite non-negative numbers")
    n = w.shape[axis]
    return w.sum(axis) ** 2 / (n * (w**2).sum(axis))


# --------------------------------------------------------------------------------------------
# Figures (each returns a matplotlib Figure made with lib.style)
# --------------------------------------------------------------------------------------------

SWEEP_XIS = np.logspace(-12, -1, 221)
_FLOOR = 1e-9  # relative errors below this (including exact zeros) are drawn on the floor


def draw_precision(dtype: str = "float32", K: int = 8):
    """Loss value and score gradients of InfoNCE (standard, stable) and FlatNCE in ``dtype`` against exact, over xi."""
    from lib import style

    r = xi_sweep(SWEEP_XIS, K, dtype)
    u = unit_roundoff(dtype)
    fig, axes = style.figure(1, 3, size=(9.0, 3.6))
    colours = {"ce": style.PALETTE["vermillion"], "stable": style.PALETTE["blue"], "flat": style.PALETTE["green"]}
    names = {"ce": "InfoNCE, F.cross_entropy", "stable": "InfoNCE, softplus(v)", "flat": "FlatNCE, v = log ξ"}
    styles = {"ce": "-", "stable": "--", "flat": ":"}
    exact = {"ce": (r["exact_loss"], r["exact_gpos"], r["exact_gneg"]),
             "stable": (r["exact_loss"], r["exact_gpos"], r["exact_gneg"]),
             "flat": (r["exact_v"], -np.ones_like(r["xi"]), r["flat_exact_gneg"])}
    for k in ("ce", "stable", "flat"):
        ex_loss, ex_gpos, ex_gneg = exact[k]
        kw = dict(color=colours[k], ls=styles[k], label=names[k])
        axes[0].plot(r["xi"], r[f"{k}_loss"] / ex_loss, **kw)
        axes[1].plot(r["xi"], np.clip(relative_error(r[f"{k}_gpos"], ex_gpos), _FLOOR, 10), **kw)
        axes[2].plot(r["xi"], np.clip(relative_error(r[f"{k}_gneg"], ex_gneg), _FLOOR, 10), **kw)
    axes[0].set_ylim(-0.1, 2.1)
    axes[0].set_ylabel("computed ÷ exact")
    axes[0].set_title("loss value")
    axes[1].set_title("gradient on the positive")
    axes[2].set_title("gradient on a negative")
    for ax in axes[1:]:
        ax.set_yscale("log")
        ax.set_ylim(_FLOOR / 2, 20)
        ax.set_ylabel("relative error")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("ξ (exact)")
        ax.axvspan(SWEEP_XIS[0], u, color=style.PALETTE["grey"], alpha=0.15, lw=0)
        ax.axvline(u, color=style.PALETTE["grey"], lw=1)
    axes[0].legend(loc="upper left", fontsize=7)
    axes[1].text(u, 2e-9, f" u = 2^{round(math.log2(u))}", fontsize=8)
    fig.suptitle(f"{dtype}, K = {K} ({K - 1} equal negatives); grey: ξ ≤ unit roundoff u", fontsize=10)
    return fig


def draw_saturation_map(gap: float = 1.0, toy_taus=(), toy_Ks=()):
    """log10 xi = log10((K-1) e^{-gap/tau}) over temperature and batch size, with the xi = u contours per dtype.

    Marks the official FlatCLR default (tau = 0.1, batch 512, so K = 2 * 512 - 1 candidates) and, if given,
    the grid of the chapter's toy experiment.
    """
    from lib import style

    taus = np.logspace(-2, 0, 161)
    Ks = 2.0 ** np.linspace(1, 12, 111)
    T, KK = np.meshgrid(taus, Ks)
    z = np.log10(xi_for_gap(KK, T, gap))  # (nK, ntau)
    fig, ax = style.figure(size=(6.8, 4.0))
    mesh = ax.pcolormesh(taus, Ks, np.clip(z, -30, 4), vmin=-30, vmax=4, cmap="Greys_r", shading="auto",
                         rasterized=True)
    fig.colorbar(mesh, ax=ax, label="log₁₀ ξ (clipped to [−30, 4])")
    from matplotlib.lines import Line2D

    handles = []
    for name, colour, ls in (("bfloat16", "orange", "-."), ("float16", "sky", "--"), ("float32", "vermillion", "-"),
                             ("float64", "purple", ":")):
        ax.contour(taus, Ks, z, levels=[math.log10(unit_roundoff(name))], colors=style.PALETTE[colour],
                   linewidths=2.2, linestyles=ls)
        handles.append(Line2D([], [], color=style.PALETTE[colour], ls=ls, lw=2.2, label=f"ξ = u({name})"))
    handles += ax.plot([0.1], [1023], marker="*", ms=12, color=style.PALETTE["yellow"], mec="black", ls="none",
                       label="FlatCLR code default")
    if len(toy_taus) and len(toy_Ks):
        tt, kk = np.meshgrid(np.asarray(toy_taus, dtype=float), np.asarray(toy_Ks, dtype=float))
        handles += ax.plot(tt.ravel(), kk.ravel(), marker="o", ms=5, color="white", mec="black", ls="none",
                           label="this chapter's toy runs")
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("temperature τ")
    ax.set_ylabel("candidates K (≈ batch size)")
    ax.set_title(f"Every negative's cosine {gap:g} below the positive's: ξ = (K−1)e^(−{gap:g}/τ)")
    ax.legend(handles=handles, loc="lower right", fontsize=7.5, frameon=True, title="left of a line: ξ < u", title_fontsize=7.5)
    ax.grid(False)
    return fig


def draw_anchor_weight():
    """Per-anchor weight of InfoNCE, sigmoid(v) = xi/(1+xi), against FlatNCE's constant 1, as a function of v."""
    from lib import style

    v = np.linspace(-30, 5, 400)
    fig, ax = style.figure(size="single")
    ax.plot(v, 1 / (1 + np.exp(-v)), color=style.PALETTE["blue"], label="InfoNCE: σ(v) = ξ / (1 + ξ)")
    ax.plot(v, np.ones_like(v), color=style.PALETTE["green"], ls=":", label="FlatNCE: 1")
    ax.axvline(LOG_U32, color=style.PALETTE["vermillion"], lw=1)
    ax.text(LOG_U32 - 0.5, 1e-11, "ξ ≤ 2⁻²⁴: float32\ncross-entropy\nreturns 0 here", fontsize=8, ha="right",
            color=style.PALETTE["vermillion"])
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 5)
    ax.set_xlabel("v = log ξ of one anchor")
    ax.set_ylabel("weight of the anchor's ∇v")
    ax.set_title("Same direction per anchor, different weights: ∇InfoNCE = σ(v) ∇v")
    ax.legend(loc="center right")
    return fig


def draw_adam_step(eps: float = 1e-8):
    """Adam's first update over the learning rate, |g|/(|g|+eps), against the gradient size |g|."""
    from lib import style

    g = np.logspace(-12, -3, 200)
    fig, ax = style.figure(size=(6.4, 3.0))
    ax.plot(g, adam_first_step_ratio(g, eps), color=style.PALETTE["blue"])
    ax.axvline(eps, color=style.PALETTE["grey"], lw=1, ls="--")
    ax.text(eps, 0.05, f" ε = {eps:g}", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("gradient size |g|")
    ax.set_ylabel("first step ÷ learning rate")
    ax.set_title("Adam ignores the loss scale only while |g| ≫ ε")
    return fig


def draw_gradient_fidelity(taus, rows: dict, K_values):
    """Relative error of float32 parameter gradients against exact, per loss, over temperature (one panel per K).

    ``rows[(loss, K)]`` is a list of :func:`gradient_fidelity` results in the order of ``taus``.
    """
    from lib import style

    fig, axes = style.figure(1, len(K_values), size="wide", sharey=True)
    axes = np.atleast_1d(axes)
    colour = {"cross_entropy": "vermillion", "lse": "orange", "softplus": "blue", "log1p": "sky", "flatnce": "green"}
    marker = {"cross_entropy": "o", "lse": "x", "softplus": "s", "log1p": "+", "flatnce": "^"}
    label = {"cross_entropy": "InfoNCE, F.cross_entropy", "lse": "InfoNCE, lse(all) − s_t",
             "softplus": "InfoNCE, softplus(v)", "log1p": "InfoNCE, log1p(Σ e^(s_i−s_t))", "flatnce": "FlatNCE"}
    for ax, K in zip(axes, K_values):
        for loss in colour:
            err = [max(r["rel_err"], _FLOOR) for r in rows[(loss, K)]]
            ax.plot(taus, err, marker=marker[loss], color=style.PALETTE[colour[loss]], label=label[loss], ms=5)
        sat = [r["saturated"] for r in rows[("flatnce", K)]]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(taus, [f"{t:g}" for t in taus])
        ax.minorticks_off()
        ax.set_xlabel("temperature τ")
        ax.set_title(f"K = {K}; saturated anchors: " + ", ".join(f"{s:.0%}" for s in sat), fontsize=9)
    axes[0].set_ylabel("relative error of ∇θ (float32)")
    axes[0].legend(fontsize=7, loc="upper right")
    return fig


_VARIANT_STYLE = {
    ("infonce", "float32"): ("vermillion", "o", "-", 9),
    ("infonce_stable", "float32"): ("blue", "s", "--", 6),
    ("infonce", "float64"): ("black", "x", ":", 5),
    ("flatnce", "float32"): ("green", "^", "-", 7),
    ("infonce_rescaled", "float32"): ("purple", "D", "--", 5),
}


def draw_training(sweep: BatchSizeSweep, tau: float):
    """Retrieval accuracy and fraction of saturated anchors against batch size K, per loss, at temperature tau."""
    from lib import style

    j = sweep.taus.index(float(tau))
    fig, axes = style.figure(1, 2, size=(9.0, 3.6))
    for i, (variant, label) in enumerate(zip(sweep.variants, sweep.labels())):
        colour, marker, ls, ms = _VARIANT_STYLE.get(tuple(variant), ("grey", ".", "-", 6))
        acc = sweep.acc[i, j]  # (K, seed)
        kw = dict(color=style.PALETTE[colour], marker=marker, ls=ls, ms=ms, label=label, mfc="none" if ms >= 8 else None)
        axes[0].errorbar(sweep.Ks, acc.mean(-1), yerr=acc.std(-1), capsize=3, **kw)
        axes[1].plot(sweep.Ks, sweep.sat_frac[i, j].mean(-1), **kw)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sweep.Ks, [str(k) for k in sweep.Ks])
        ax.set_xlabel("batch size K (candidates per anchor)")
    axes[0].set_ylabel("top-1 retrieval accuracy")
    axes[0].set_title(f"τ = {tau:g}: retrieval (mean ± sd, {len(sweep.seeds)} seeds)")
    axes[1].set_ylabel("fraction of anchors with ξ ≤ 2⁻²⁴")
    axes[1].set_ylim(-0.03, 1.03)
    axes[1].set_title("saturated anchors, last 20% of training")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def draw_batch_weights(sweep: BatchSizeSweep, K: int, tau: float, variant=("infonce_stable", "float32")):
    """InfoNCE's batch weight mean_a sigmoid(v_a) over the training steps (log scale) and its histogram."""
    from lib import style

    i, j, k = sweep.index(variant), sweep.taus.index(float(tau)), sweep.Ks.index(K)
    w = sweep.weight[i, j, k]  # (seed, steps)
    half = w[:, sweep.steps // 2 :]
    frac = effective_batch_fraction(half).mean()
    fig, axes = style.figure(1, 2, size=(9.0, 3.4), gridspec_kw={"width_ratios": [2, 1]})
    steps = np.arange(sweep.steps)
    axes[0].plot(steps, w[0], ls="none", marker=".", ms=2.5, color=style.PALETTE["blue"], label="InfoNCE (seed 0)")
    axes[0].axhline(1.0, color=style.PALETTE["green"], ls=":", label="FlatNCE: every batch 1")
    axes[0].set_yscale("log")
    axes[0].set_ylim(1e-12, 3)
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("batch mean of σ(v_a)")
    axes[0].set_title(f"K = {K}, τ = {tau:g}: how much each InfoNCE batch counts")
    axes[0].legend(loc="lower left", fontsize=8)
    bins = np.linspace(-12, 0.5, 51)
    axes[1].hist(np.log10(np.maximum(half.ravel(), 1e-12)), bins=bins, color=style.PALETTE["blue"], alpha=0.8)
    axes[1].set_xlabel("log₁₀ batch weight (second half)")
    axes[1].set_ylabel("steps")
    axes[1].set_title(f"effective fraction of batches: {frac:.2f}", fontsize=10)
    return fig
