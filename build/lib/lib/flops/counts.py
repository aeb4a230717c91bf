"""The article's multiplication counts of a Transformer layer, and of linear attention (chapter 2).

Chapter 2 (``book/02-linear-attention-flops.ipynb``) follows Su Jianlin's "Linear Transformers are
probably not the model you are waiting for" (kexue.fm/archives/8610). The article counts only
**multiplications**: an (a x b) by (b x c) matrix product costs ``a*b*c`` of them, and softmax,
scaling, biases, activations, residuals and LayerNorm are ignored. With ``h`` heads of size ``d``
(hidden size ``H = h*d``, FFN width ``F``, ``4H`` in BERT) one layer at sequence length ``n`` costs

    SA(n)    = 3nH^2 (Q,K,V) + n^2 H (QK^T) + n^2 H (weights x V) + nH^2 (output) = 4nH^2 + 2n^2 H
    FFN(n)   = nHF + nFH = 2nHF                                                    (= 8nH^2 for F = 4H)
    layer(n) = 4nH^2 + 2nHF + 2n^2 H.

Units: multiplications. FLOP counters, ``torch.utils.flop_counter`` included, count a multiply-add
as 2 FLOPs; :func:`flops_from_mults` converts. The counts are exact Python ``int``s for integer
``n`` and ``int64`` arrays for 1-D integer arrays of lengths. numpy only.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from lib import checks

# ---------------------------------------------------------------------------------------------
# Argument checks (shared by the chapter-2 modules)


def _positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (int, numpy integer, or integral float: 512.0)."""
    return checks.integer(name, value, at_least=1, integral_floats=True)


def _non_negative_int(name: str, value) -> int:
    """``value`` as an int if it is an int or numpy integer >= 0 (a seed, a warm-up count).

    Unlike the other checks this raises ``ValueError`` for a wrong type too, as it always has.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative integer")
    return int(value)


def _lengths(n):
    """A positive int, or a 1-D array of positive ints as an object array of Python ints (exact)."""
    if isinstance(n, np.ndarray) or isinstance(n, (list, tuple)):
        arr = np.asarray(n)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"n must be an integer or a non-empty 1-D array of integers, got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"n must hold integers, got dtype {arr.dtype}")
        if (arr <= 0).any():
            raise ValueError(f"every sequence length n must be at least 1, got {arr.min()}")
        return np.array([int(v) for v in arr], dtype=object)
    return _positive_int("n", n)


def _out(value):
    """Exact ints stay ints; object arrays become int64 arrays (refusing overflow)."""
    if isinstance(value, np.ndarray):
        if max(abs(int(v)) for v in value) >= 2**63:
            raise OverflowError("a count does not fit in int64; pass n as a Python int for an exact count")
        return value.astype(np.int64)
    return value


def _shape(hidden, heads=None, ffn_dim=None) -> tuple[int, int | None, int]:
    """Check ``hidden``, ``heads`` (must divide ``hidden``) and ``ffn_dim`` (default ``4*hidden``)."""
    H = _positive_int("hidden", hidden)
    h = None
    if heads is not None:
        h = _positive_int("heads", heads)
        if H % h:
            raise ValueError(f"heads={heads!r} must divide hidden={hidden!r} (head size = hidden / heads)")
    Fd = 4 * H if ffn_dim is None else _positive_int("ffn_dim", ffn_dim)
    return H, h, Fd


# ---------------------------------------------------------------------------------------------
# The article's closed forms (multiplications)


def _attention_parts(n, H: int) -> dict:
    """Raw parts of the self-attention count for a checked ``n`` (int or object array) and hidden size."""
    parts = {"qkv_proj": 3 * n * H * H, "scores": n * n * H, "weighted_sum": n * n * H, "out_proj": n * H * H}
    parts["total"] = parts["qkv_proj"] + parts["scores"] + parts["weighted_sum"] + parts["out_proj"]
    return parts


def attention_mults(n, hidden: int = 768, heads: int = 12) -> dict:
    """Multiplications of one self-attention sub-layer, part by part (article, "evaluating the computation").

    ``qkv_proj`` = 3nH^2, ``scores`` = n^2 H (QK^T over all heads), ``weighted_sum`` = n^2 H,
    ``out_proj`` = nH^2 and ``total`` = 4nH^2 + 2n^2 H. Only ``H = h*d`` matters; ``heads`` is
    checked to divide ``hidden``.
    """
    n = _lengths(n)
    H, _, _ = _shape(hidden, heads)
    return {k: _out(v) for k, v in _attention_parts(n, H).items()}


def ffn_mults(n, hidden: int = 768, ffn_dim: int | None = None):
    """Multiplications of the feed-forward sub-layer H -> F -> H: 2nHF (8nH^2 when F = 4H)."""
    n = _lengths(n)
    H, _, Fd = _shape(hidden, None, ffn_dim)
    return _out(2 * n * H * Fd)


def layer_mults(n, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None) -> dict:
    """Multiplications of one Transformer layer, with its parts and shares.

    Keys: the parts of :func:`attention_mults`, ``ffn_up`` = ``ffn_down`` = nHF, ``sa``, ``ffn``,
    ``total`` = 4nH^2 + 2nHF + 2n^2 H, ``linear_part`` = 4nH^2 + 2nHF, ``quadratic_part`` = 2n^2 H,
    and the float shares ``sa_share`` = SA/total and ``quadratic_share`` = 2n^2 H / total
    (for F = 4H: (n + 2H)/(n + 6H) and n/(n + 6H)).
    """
    n = _lengths(n)
    H, _, Fd = _shape(hidden, heads, ffn_dim)
    out = _attention_parts(n, H)
    out["sa"] = out.pop("total")
    out["ffn_up"] = out["ffn_down"] = n * H * Fd
    out["ffn"] = 2 * n * H * Fd
    out["total"] = out["sa"] + out["ffn"]
    out["linear_part"] = 4 * n * H * H + 2 * n * H * Fd
    out["quadratic_part"] = 2 * n * n * H
    res = {k: _out(v) for k, v in out.items()}
    res["sa_share"] = _ratio(out["sa"], out["total"])
    res["quadratic_share"] = _ratio(out["quadratic_part"], out["total"])
    return res


def _ratio(a, b):
    if isinstance(a, np.ndarray):
        return np.array([float(Fraction(int(x), int(y))) for x, y in zip(a, b)])
    return float(Fraction(a, b))


def model_mults(n, layers: int = 12, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None):
    """Forward multiplications of ``layers`` identical encoder layers: layers x layer total.

    Embeddings, the pooler and any output head are excluded (as in the article, which counts layers).
    """
    L = _positive_int("layers", layers)
    return layer_mults(n, hidden, heads, ffn_dim)["total"] * L


def flops_from_mults(mults):
    """FLOPs in the counters' convention: one multiply-add = 2 FLOPs, so FLOPs = 2 x multiplications."""
    if isinstance(mults, (bool, np.bool_)) or not isinstance(mults, (int, np.integer, np.ndarray)):
        raise TypeError(f"mults={mults!r} must be an integer count of multiplications (or an integer array)")
    if np.any(np.asarray(mults) < 0):
        raise ValueError(f"mults={mults!r} must be non-negative")
    return 2 * mults


def sa_ffn_crossover(hidden: int = 768, ffn_dim: int | None = None) -> int:
    """Length above which self-attention costs more than the FFN: n > F - 2H (2hd = 1536 for BERT-base).

    4nH^2 + 2n^2 H > 2nHF  <=>  n > F - 2H. Returns 0 when F <= 2H (attention is never cheaper).
    """
    H, _, Fd = _shape(hidden, None, ffn_dim)
    return max(Fd - 2 * H, 0)


def quadratic_dominance_length(hidden: int = 768, ffn_dim: int | None = None) -> int:
    """Length above which the n^2 term outweighs the linear terms: n > 2H + F (6hd = 4608 for BERT-base)."""
    H, _, Fd = _shape(hidden, None, ffn_dim)
    return 2 * H + Fd


# ---------------------------------------------------------------------------------------------
# Linear attention


def standard_attention_core_mults(n, heads: int = 12, head_dim: int = 64):
    """The n^2 part of softmax attention over all heads: h * (n^2 d + n^2 d) = 2 n^2 h d."""
    n = _lengths(n)
    h, d = _positive_int("heads", heads), _positive_int("head_dim", head_dim)
    return _out(2 * n * n * h * d)


def linear_attention_mults(n, heads: int = 12, head_dim: int = 64, expand: int = 1,
                           head_dim_v: int | None = None, normaliser: bool = False):
    """Multiplications of the linear-attention core phi(Q) (phi(K)^T V) over all heads.

    Per head phi(K)^T V costs n d_k d_v and phi(Q) times that costs n d_k d_v again, so the total is
    2 n h d_k d_v with d_k = e d and d_v = e d_v (d_v = d by default): the article's 2n(ed)^2 per head.
    With ``normaliser`` the row sums phi(Q) (phi(K)^T 1) add n d_k per head (the article leaves them out).
    """
    n = _lengths(n)
    h, d = _positive_int("heads", heads), _positive_int("head_dim", head_dim)
    e = _positive_int("expand", expand)
    dv = d if head_dim_v is None else _positive_int("head_dim_v", head_dim_v)
    checks.boolean("normaliser", normaliser)
    dk, dv = e * d, e * dv
    total = 2 * n * h * dk * dv + (n * h * dk if normaliser else 0)
    return _out(total)


def linear_vs_standard_crossover(head_dim: int = 64, expand: int = 1) -> int:
    """Length above which linear attention is cheaper: 2n(ed)^2 < 2n^2 d  <=>  n > e^2 d (64, or 1024 at e = 4)."""
    d, e = _positive_int("head_dim", head_dim), _positive_int("expand", expand)
    return e * e * d


def layer_mults_linear(n, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None, expand: int = 1,
                       grow_projections: bool = False, normaliser: bool = False) -> dict:
    """One layer with the softmax core replaced by linear attention with heads e times wider.

    The article compares only the attention cores, so by default the Q/K/V/output projections keep
    their size (``grow_projections=False``). A real module whose heads are e times wider needs
    projections H -> eH (Q, K, V) and eH -> H (output): ``grow_projections=True`` counts those,
    which is what :class:`BertLikeLayer` with ``attention="linear"`` computes.
    Keys: ``qkv_proj``, ``kv``, ``weighted_sum`` (including the normaliser when asked), ``out_proj``,
    ``sa``, ``ffn``, ``total``.
    """
    n = _lengths(n)
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    e = _positive_int("expand", expand)
    checks.boolean("grow_projections", grow_projections)
    d = H // h
    width = e * H if grow_projections else H
    core = h * n * (e * d) * (e * d)  # phi(K)^T V, and the same again for phi(Q) (phi(K)^T V)
    out = {
        "qkv_proj": 3 * n * H * width,
        "kv": core,
        "weighted_sum": core + (n * h * e * d if normaliser else 0),
        "out_proj": n * width * H,
    }
    out["sa"] = out["qkv_proj"] + out["kv"] + out["weighted_sum"] + out["out_proj"]
    out["ffn"] = 2 * n * H * Fd
    out["total"] = out["sa"] + out["ffn"]
    return {k: _out(v) for k, v in out.items()}


def linear_speedup(n, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None, expand: int = 1,
                   grow_projections: bool = False):
    """Whole-layer speed-up from linear attention, counting multiplications: standard / linear (> 1 is faster)."""
    std = layer_mults(n, hidden, heads, ffn_dim)["total"]
    lin = layer_mults_linear(n, hidden, heads, ffn_dim, expand, grow_projections)["total"]
    return _ratio(std, lin) if isinstance(std, int) else np.asarray(std, float) / np.asarray(lin, float)
