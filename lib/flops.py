"""Where a BERT layer's compute goes: counted, checked against PyTorch, and timed (chapter 2).

Chapter 2 (``book/02-linear-attention-flops.ipynb``) follows Su Jianlin's "Linear Transformers are
probably not the model you are waiting for" (kexue.fm/archives/8610). The article counts only
**multiplications**: an (a x b) by (b x c) matrix product costs ``a*b*c`` of them, and softmax,
scaling, biases, activations, residuals and LayerNorm are ignored. With ``h`` heads of size ``d``
(hidden size ``H = h*d``, FFN width ``F``, ``4H`` in BERT) one layer at sequence length ``n`` costs

    SA(n)    = 3nH^2 (Q,K,V) + n^2 H (QK^T) + n^2 H (weights x V) + nH^2 (output) = 4nH^2 + 2n^2 H
    FFN(n)   = nHF + nFH = 2nHF                                                    (= 8nH^2 for F = 4H)
    layer(n) = 4nH^2 + 2nHF + 2n^2 H.

Units: this module counts multiplications. FLOP counters, ``torch.utils.flop_counter`` included,
count a multiply-add as 2 FLOPs; :func:`flops_from_mults` converts (FLOPs = 2 x multiplications).

The closed forms return exact Python ``int``s for integer ``n`` and ``int64`` arrays for 1-D integer
arrays of lengths. The torch half (:class:`BertLikeLayer`, :func:`count_flops`, the timers) builds a
layer from ``nn.Linear`` and explicit matmuls so that the FLOP counter sees every product.
"""
from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

# BERT shapes (Devlin et al. 2019, table in section 3). BERT-large is not in the article.
PRESETS: dict[str, dict[str, int]] = {
    "BERT-base": {"hidden": 768, "heads": 12, "ffn_dim": 3072, "layers": 12},
    "BERT-large": {"hidden": 1024, "heads": 16, "ffn_dim": 4096, "layers": 24},
    "tiny": {"hidden": 256, "heads": 4, "ffn_dim": 1024, "layers": 4},
}
BERT_VOCAB = 30522  # WordPiece vocabulary of the uncased English BERT checkpoints
BERT_MAX_POSITIONS = 512

# ---------------------------------------------------------------------------------------------
# Argument checks


def _positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (int, numpy integer, or integral float)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a positive integer, not {type(value).__name__}")
    if isinstance(value, (int, np.integer)):
        v = int(value)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise TypeError(f"{name}={value!r} must be a positive integer; a fractional or non-finite float is not")
        v = int(value)
    else:
        raise TypeError(f"{name}={value!r} must be a positive integer, not {type(value).__name__}")
    if v <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer (at least 1)")
    return v


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
    if not isinstance(normaliser, (bool, np.bool_)):
        raise TypeError(f"normaliser={normaliser!r} must be a bool")
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
    if not isinstance(grow_projections, (bool, np.bool_)):
        raise TypeError(f"grow_projections={grow_projections!r} must be a bool")
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


# ---------------------------------------------------------------------------------------------
# Whole models and the training estimate 6N + 12 L H Q T


def matmul_params(hidden: int = 768, ffn_dim: int | None = None, layers: int = 12) -> int:
    """Weights that multiply activations in the encoder layers: L (4H^2 + 2HF) (no biases, no LayerNorm)."""
    H, _, Fd = _shape(hidden, None, ffn_dim)
    return _positive_int("layers", layers) * (4 * H * H + 2 * H * Fd)


def bert_params(hidden: int = 768, ffn_dim: int | None = None, layers: int = 12, vocab: int = BERT_VOCAB,
                max_positions: int = BERT_MAX_POSITIONS, type_vocab: int = 2, pooler: bool = True) -> dict:
    """Parameter count of a BERT encoder: ``embeddings``, ``encoder`` (L layers), ``pooler``, ``total``.

    Embeddings: word (V x H), position (P x H), token type (2 x H) and a LayerNorm (2H). Each layer:
    Q, K, V, output (4H^2 + 4H), FFN (2HF + F + H) and two LayerNorms (4H). Pooler: H^2 + H.
    The masked-LM head is left out (its output matrix is tied to the word embeddings).
    """
    H, _, Fd = _shape(hidden, None, ffn_dim)
    L = _positive_int("layers", layers)
    V, P, T = (_positive_int(k, v) for k, v in (("vocab", vocab), ("max_positions", max_positions),
                                                ("type_vocab", type_vocab)))
    emb = (V + P + T) * H + 2 * H
    layer = 4 * H * H + 4 * H + 2 * H * Fd + Fd + H + 4 * H
    out = {"embeddings": emb, "encoder": L * layer, "pooler": (H * H + H) if pooler else 0}
    out["total"] = sum(out.values())
    return out


def training_flops_per_token(n_params: int, layers: int, heads: int, head_dim: int, seq_len: int) -> int:
    """The usual estimate of training FLOPs per token, 6N + 12 L H Q T (PaLM, appendix B; nanoGPT's MFU).

    N: non-embedding parameters; L layers, H heads of size Q, context T. 6N = 2 FLOPs per
    multiply-add x 3 (forward + backward, the backward costing about twice the forward) x N;
    12 L H Q T is the same for QK^T and weights x V, with every token attending to all T.
    """
    N = _positive_int("n_params", n_params)
    L, h, q, T = (_positive_int(k, v) for k, v in (("layers", layers), ("heads", heads),
                                                   ("head_dim", head_dim), ("seq_len", seq_len)))
    return 6 * N + 12 * L * h * q * T


def model_summary(preset: str, seq_len: int = 512, count: bool = True) -> dict:
    """Forward multiplications, FLOPs and the 6N + 12 L H Q T training estimate of one BERT, per sequence.

    Keys: the preset's shape, ``params`` (:func:`bert_params`), ``matmul_params``, ``forward_mults``
    (article), ``forward_flops`` (2x), ``train_estimate`` ((6N + 12LHQT) T with N = matmul weights),
    ``train_estimate_encoder_n`` (N = every encoder parameter), ``train_estimate_all_n`` (N = every
    parameter, embeddings included) and, with ``count``, ``counted_forward`` and ``counted_train``
    from :func:`count_model_flops` on the meta device.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} must be one of {sorted(PRESETS)}")
    p = PRESETS[preset]
    H, h, Fd, L = p["hidden"], p["heads"], p["ffn_dim"], p["layers"]
    T = _positive_int("seq_len", seq_len)
    params = bert_params(H, Fd, L)
    n_mm = matmul_params(H, Fd, L)
    out = dict(p, seq_len=T, params=params, matmul_params=n_mm)
    out["forward_mults"] = model_mults(T, L, H, h, Fd)
    out["forward_flops"] = flops_from_mults(out["forward_mults"])
    for key, N in (("train_estimate", n_mm), ("train_estimate_encoder_n", params["encoder"]),
                   ("train_estimate_all_n", params["total"])):
        out[key] = training_flops_per_token(N, L, h, H // h, T) * T
    if count:
        out["counted_forward"] = count_model_flops(T, L, H, h, Fd)
        out["counted_train"] = count_model_flops(T, L, H, h, Fd, backward=True)
    return out


# ---------------------------------------------------------------------------------------------
# A BERT-shaped layer in torch, made of explicit matmuls

ATTENTION_KINDS = ("softmax", "linear", "sdpa")


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1 > 0, the feature map of Katharopoulos et al. (2020)."""
    return F.elu(x) + 1.0


def softmax_attention_core(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, marks=None) -> torch.Tensor:
    """softmax(QK^T / sqrt(d)) V with explicit matmuls; q, k, v: (batch, heads, n, d) -> (batch, heads, n, d)."""
    mark = marks or (lambda name: None)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)  # (b, h, n, n): n^2 d per head
    mark("scores")
    weights = torch.softmax(scores, dim=-1)  # (b, h, n, n)
    mark("softmax")
    out = weights @ v  # (b, h, n, d): n^2 d per head
    mark("weighted_sum")
    return out


def linear_attention_core(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eps: float = 1e-6,
                          marks=None) -> torch.Tensor:
    """phi(Q) (phi(K)^T V) / (phi(Q) (phi(K)^T 1)) with phi = elu + 1; (b, h, n, d_k), (b, h, n, d_v) -> (b, h, n, d_v).

    Multiplying right to left costs 2 n d_k d_v per head (plus n d_k for the normaliser) instead of
    the 2 n^2 d of softmax attention; associativity makes it equal to the left-to-right order.
    """
    mark = marks or (lambda name: None)
    fq, fk = elu_feature_map(q), elu_feature_map(k)  # (b, h, n, d_k)
    mark("feature_map")
    kv = torch.einsum("bhnd,bhne->bhde", fk, v)  # (b, h, d_k, d_v): n d_k d_v per head
    mark("kv")
    num = torch.einsum("bhnd,bhde->bhne", fq, kv)  # (b, h, n, d_v): n d_k d_v per head
    den = torch.einsum("bhnd,bhd->bhn", fq, fk.sum(dim=2))  # (b, h, n): n d_k per head
    out = num / (den.unsqueeze(-1) + eps)
    mark("weighted_sum")
    return out


class BertLikeLayer(nn.Module):
    """A post-LayerNorm BERT encoder layer built from ``nn.Linear`` and explicit matmuls.

    ``attention="softmax"`` is standard attention, ``"linear"`` the elu+1 linear attention with heads
    ``expand`` times wider (Q, K, V projections H -> eH, output eH -> H), and ``"sdpa"`` the same
    softmax attention through ``F.scaled_dot_product_attention`` (to show the counting pitfall).
    Weights are drawn from ``seed`` without touching the global generator. ``forward(x, marks)`` calls
    ``marks(stage)`` after each stage, which is how :func:`time_stages` times the parts.
    """

    def __init__(self, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
                 attention: str = "softmax", expand: int = 1, seed: int = 0, device: str = "cpu"):
        super().__init__()
        H, h, Fd = _shape(hidden, heads, ffn_dim)
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention={attention!r} must be one of {ATTENTION_KINDS}")
        e = _positive_int("expand", expand)
        if e != 1 and attention != "linear":
            raise ValueError(f"expand={expand!r} is only for attention='linear'; softmax heads keep size hidden/heads")
        self.hidden, self.heads, self.ffn_dim, self.attention, self.expand = H, h, Fd, attention, e
        width = e * H
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.qkv = nn.Linear(H, 3 * width, device=device)
            self.out = nn.Linear(width, H, device=device)
            self.norm1 = nn.LayerNorm(H, device=device)
            self.up = nn.Linear(H, Fd, device=device)
            self.down = nn.Linear(Fd, H, device=device)
            self.norm2 = nn.LayerNorm(H, device=device)

    def forward(self, x: torch.Tensor, marks: Callable[[str], None] | None = None) -> torch.Tensor:
        mark = marks or (lambda name: None)
        b, n, H = x.shape  # (batch, n, hidden)
        h, dh = self.heads, self.expand * H // self.heads
        q, k, v = self.qkv(x).view(b, n, 3, h, dh).permute(2, 0, 3, 1, 4)  # each (b, h, n, dh)
        mark("qkv_proj")
        if self.attention == "softmax":
            a = softmax_attention_core(q, k, v, marks)
        elif self.attention == "linear":
            a = linear_attention_core(q, k, v, marks=marks)
        else:
            a = F.scaled_dot_product_attention(q, k, v)
            mark("sdpa")
        a = a.transpose(1, 2).reshape(b, n, h * dh)  # (b, n, e*H)
        y = self.norm1(x + self.out(a))  # (b, n, H)
        mark("out_proj")
        z = F.gelu(self.up(y))  # (b, n, F)
        mark("ffn_up")
        z = self.norm2(y + self.down(z))  # (b, n, H)
        mark("ffn_down")
        return z


class UncountedFlopsWarning(UserWarning):
    """A fused kernel ran that ``FlopCounterMode`` has no formula for, so its FLOPs are missing."""


_FUSED_HINTS = ("attention", "transformer_encoder", "multi_head")


def count_flops(module: nn.Module, x: torch.Tensor, *, decompose_fused: bool = True, backward: bool = False) -> int:
    """FLOPs of ``module(x)`` by ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add).

    On CPU the fused attention kernel (``_scaled_dot_product_flash_attention_for_cpu``) and the
    ``nn.TransformerEncoderLayer`` fast path have no FLOP formula: they count 0. With
    ``decompose_fused`` (default) the module runs under ``sdpa_kernel(SDPBackend.MATH)`` with the
    fast path off, so attention is decomposed into counted matmuls. Whenever an uncounted fused op
    still runs, an :class:`UncountedFlopsWarning` names it. With ``backward`` the count covers
    ``module(x).sum().backward()`` as well (x then needs ``requires_grad``).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")

    class _Ops(TorchDispatchMode):  # records which aten ops ran, below autograd
        def __init__(self):
            super().__init__()
            self.seen: set = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.add(func.overloadpacket)
            return func(*args, **(kwargs or {}))

    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        if decompose_fused:
            torch.backends.mha.set_fastpath_enabled(False)
        with torch.set_grad_enabled(backward), FlopCounterMode(display=False) as counter, _Ops() as ops:
            if decompose_fused:
                with sdpa_kernel(SDPBackend.MATH):
                    y = module(x)
                    if backward:
                        y.sum().backward()
            else:
                y = module(x)
                if backward:
                    y.sum().backward()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    missing = sorted(str(op) for op in ops.seen
                     if op not in flop_registry and any(s in str(op) for s in _FUSED_HINTS))
    if missing:
        warnings.warn(f"FlopCounterMode counted 0 FLOPs for {', '.join(missing)}: the total is too low",
                      UncountedFlopsWarning, stacklevel=2)
    return int(counter.get_total_flops())


def count_model_flops(n: int, layers: int = 12, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
                      backward: bool = False, device: str = "meta") -> int:
    """FLOPs counted by ``FlopCounterMode`` for ``layers`` stacked :class:`BertLikeLayer` s on a (1, n, H) input.

    On the ``meta`` device (default) no arithmetic is done: the counter needs only shapes, so a
    24-layer model costs milliseconds. With ``backward`` the input requires grad (as inside a deeper
    model) and the count covers forward and backward.
    """
    n, L = _positive_int("n", n), _positive_int("layers", layers)
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    model = nn.Sequential(*(BertLikeLayer(H, h, Fd, seed=i, device=device) for i in range(L)))
    x = torch.zeros(1, n, H, device=device, requires_grad=backward)  # (1, n, H)
    return count_flops(model, x, backward=backward)


def flop_check(lengths: Sequence[int], hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Count one layer's forward FLOPs on CPU, explicit matmuls vs fused SDPA, next to 2 x the article's count.

    Returns int64 arrays ``lengths``, ``analytic`` (2 x :func:`layer_mults` total), ``explicit``
    (softmax :class:`BertLikeLayer`) and ``sdpa`` (the same layer through ``F.scaled_dot_product_attention``
    with the counter left as it is, which on CPU misses the attention core).
    """
    ns = [int(v) for v in _lengths(list(lengths))]
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    explicit = BertLikeLayer(H, h, Fd, seed=seed)
    fused = BertLikeLayer(H, h, Fd, attention="sdpa", seed=seed)
    gen = torch.Generator().manual_seed(seed)
    out = {"lengths": [], "analytic": [], "explicit": [], "sdpa": []}
    for n in ns:
        x = torch.randn(1, n, H, generator=gen)  # (1, n, H)
        out["lengths"].append(n)
        out["analytic"].append(flops_from_mults(layer_mults(n, H, h, Fd)["total"]))
        out["explicit"].append(count_flops(explicit, x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncountedFlopsWarning)
            out["sdpa"].append(count_flops(fused, x, decompose_fused=False))
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Timing (never asserted: the chapter shows timings as measured when the page was built)


def _timing_args(repeats, warmup, threads) -> tuple[int, int, int]:
    r = _positive_int("repeats", repeats)
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise ValueError(f"warmup={warmup!r} must be a non-negative integer")
    return r, int(warmup), _positive_int("threads", threads)


def time_forward(module: nn.Module, x: torch.Tensor, repeats: int = 9, warmup: int = 2, threads: int = 1) -> float:
    """Median wall time in seconds of ``module(x)`` without autograd, on ``threads`` threads (restored after)."""
    r, w, t = _timing_args(repeats, warmup, threads)
    old = torch.get_num_threads()
    torch.set_num_threads(t)
    try:
        with torch.no_grad():
            for _ in range(w):
                module(x)
            times = []
            for _ in range(r):
                start = time.perf_counter()
                module(x)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    return statistics.median(times)


def time_stages(module: BertLikeLayer, x: torch.Tensor) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds spent in each stage of one forward pass of a :class:`BertLikeLayer` (no autograd).

    Returns two dicts, stage -> seconds: wall time (``time.perf_counter``) and this thread's CPU
    time (``time.thread_time``; with one torch thread the work runs on the calling thread, and time
    spent descheduled by other processes on a shared machine is not counted).
    """
    stamps: list[tuple[str, float, float]] = []
    with torch.no_grad():
        t0, c0 = time.perf_counter(), time.thread_time()
        module(x, marks=lambda name: stamps.append((name, time.perf_counter(), time.thread_time())))
    wall, cpu = {}, {}
    for name, t, c in stamps:
        wall[name], cpu[name] = t - t0, c - c0
        t0, c0 = t, c
    return wall, cpu


SOFTMAX_STAGES = ("qkv_proj", "scores", "softmax", "weighted_sum", "out_proj", "ffn_up", "ffn_down")
STAGE_GROUPS = {  # out_proj includes the head merge, the residual and LayerNorm; ffn_up the GELU
    "projections": ("qkv_proj", "out_proj"),
    "n² attention": ("scores", "softmax", "weighted_sum"),
    "FFN": ("ffn_up", "ffn_down"),
    "SA": ("qkv_proj", "scores", "softmax", "weighted_sum", "out_proj"),
}
CLOCKS = ("wall", "cpu")


@dataclass
class LayerTimings:
    """Stage times of a :class:`BertLikeLayer` over repeats and lengths, plus linear-attention cores.

    ``stages[clock][stage]`` and ``cores[clock][label]`` have shape (repeats, len(lengths)), for the
    clocks ``"wall"`` and ``"cpu"`` (thread CPU time). Core labels are ``"linear e=1"`` and so on;
    the softmax core is the stage group ``"n² attention"``. ``sweep_wall`` and ``sweep_cpu`` are
    the seconds the whole sweep took (warm-up included; CPU of the whole process).
    """

    lengths: np.ndarray
    stages: dict[str, dict[str, np.ndarray]]
    cores: dict[str, dict[str, np.ndarray]]
    threads: int
    sweep_wall: float
    sweep_cpu: float

    def _clock(self, clock: str) -> str:
        if clock not in CLOCKS:
            raise ValueError(f"clock={clock!r} must be one of {CLOCKS}")
        return clock

    def group(self, name: str, clock: str = "wall") -> np.ndarray:
        """Times (repeats, lengths) of a stage, or of a group of :data:`STAGE_GROUPS`, in one forward pass."""
        st = self.stages[self._clock(clock)]
        if name in st:
            return st[name]
        if name not in STAGE_GROUPS:
            raise ValueError(f"name={name!r} is neither a stage {tuple(st)} nor a group {tuple(STAGE_GROUPS)}")
        return sum(st[s] for s in STAGE_GROUPS[name])

    def best(self, name: str, clock: str = "wall") -> np.ndarray:
        """Fastest of the repeats, per length: interference on a shared machine only ever adds time."""
        return self.group(name, clock).min(axis=0)

    def ratio(self, num: str, den: str, clock: str = "wall") -> np.ndarray:
        """best(num) / best(den) per length (both timed in the same sweep, the same forward passes)."""
        return self.best(num, clock) / self.best(den, clock)

    def best_core(self, label: str, clock: str = "wall") -> np.ndarray:
        """Fastest time per length of a linear-attention core (``"linear e=4"``, ...)."""
        return self.cores[self._clock(clock)][label].min(axis=0)


def time_layer_sweep(lengths: Sequence[int], hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
                     repeats: int = 3, warmup: int = 1, threads: int = 1, linear_expands: Sequence[int] = (1, 4),
                     seed: int = 0) -> LayerTimings:
    """Time each stage of a softmax :class:`BertLikeLayer`, and linear-attention cores, for every length.

    Repeats are the outer loop and lengths the inner one, so that a change in machine load hits
    every length alike. Batch 1, no autograd, ``threads`` torch threads (restored afterwards).
    The linear cores get random (1, h, n, e d) inputs of their own, timed right after each forward.
    """
    ns = [int(v) for v in _lengths(list(lengths))]
    r, w, t = _timing_args(repeats, warmup, threads)
    if isinstance(linear_expands, (int, str)):
        raise TypeError(f"linear_expands={linear_expands!r} must be a sequence of integers")
    expands = [_positive_int("linear_expands", e) for e in linear_expands]
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    d = H // h
    layer = BertLikeLayer(H, h, Fd, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.randn(1, n, H, generator=gen) for n in ns]  # (1, n, H)
    core_inputs = {f"linear e={e}": [torch.randn(3, 1, h, n, e * d, generator=gen) for n in ns] for e in expands}
    stages = {c: {s: np.zeros((r, len(ns))) for s in SOFTMAX_STAGES} for c in CLOCKS}
    cores = {c: {k: np.zeros((r, len(ns))) for k in core_inputs} for c in CLOCKS}
    old = torch.get_num_threads()
    torch.set_num_threads(t)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        with torch.no_grad():
            for rep in range(-w, r):
                for j in range(len(ns)):
                    wall, cpu = time_stages(layer, xs[j])
                    core_times = {}
                    for label, inputs in core_inputs.items():
                        q, k, v = inputs[j]  # each (1, h, n, e*d)
                        t0, c0 = time.perf_counter(), time.thread_time()
                        linear_attention_core(q, k, v)
                        core_times[label] = (time.perf_counter() - t0, time.thread_time() - c0)
                    if rep < 0:
                        continue
                    for s in SOFTMAX_STAGES:
                        stages["wall"][s][rep, j], stages["cpu"][s][rep, j] = wall[s], cpu[s]
                    for label, (tw, tc) in core_times.items():
                        cores["wall"][label][rep, j], cores["cpu"][label][rep, j] = tw, tc
    finally:
        torch.set_num_threads(old)
    return LayerTimings(np.array(ns), stages, cores, t, time.perf_counter() - wall0, time.process_time() - cpu0)


def achieved_gflops(t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None, clock: str = "wall") -> dict:
    """GFLOP/s achieved by the groups ``projections``, ``n² attention`` and ``FFN``: counted FLOPs / fastest time.

    The n² attention's FLOPs are its two matmuls' (QK^T and weights x V); its time includes the softmax,
    which does no matrix product, so its rate shows what the count leaves out.
    """
    H, _, Fd = _shape(hidden, None, ffn_dim)
    c = {k: np.asarray(v, float) for k, v in layer_mults(t.lengths, H, 1, Fd).items()}
    counted = {"projections": 2 * (c["qkv_proj"] + c["out_proj"]), "n² attention": 2 * (c["scores"] + c["weighted_sum"]),
               "FFN": 2 * c["ffn"]}
    return {g: f / t.best(g, clock) / 1e9 for g, f in counted.items()}


def crossover_length(lengths, ratios) -> float | None:
    """Where a ratio first crosses 1, interpolating log(ratio) linearly in log(n); None if it never does.

    Returns ``lengths[0]`` if the ratio is already >= 1 there.
    """
    n = np.asarray(lengths, dtype=float)
    r = np.asarray(ratios, dtype=float)
    if n.ndim != 1 or n.shape != r.shape or n.size < 2:
        raise ValueError(f"lengths and ratios must be 1-D of the same length (at least 2), got {n.shape} and {r.shape}")
    if np.any(np.diff(n) <= 0) or np.any(n <= 0) or np.any(r <= 0):
        raise ValueError("lengths must be positive and increasing, and ratios positive")
    if r[0] >= 1:
        return float(n[0])
    for i in range(1, n.size):
        if r[i] >= 1:
            a, b = np.log(r[i - 1]), np.log(r[i])
            frac = -a / (b - a)
            return float(np.exp(np.log(n[i - 1]) + frac * (np.log(n[i]) - np.log(n[i - 1]))))
    return None


# ---------------------------------------------------------------------------------------------
# Low-rank bottleneck (context for the 4x head size; numpy)


def attention_rank_demo(n: int = 256, d: int = 16, seed: int = 0) -> dict[str, int]:
    """Numerical ranks of row-normalised softmax and linear attention matrices for random Q, K (n x d).

    Softmax: exp(QK^T / sqrt d) is generically full rank n. Linear: phi(Q) phi(K)^T has rank at most d.
    """
    n, d = _positive_int("n", n), _positive_int("d", d)
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    s = np.exp(q @ k.T / np.sqrt(d))  # (n, n)
    s /= s.sum(axis=1, keepdims=True)
    phi = lambda z: np.where(z > 0, z + 1.0, np.exp(z))  # elu(z) + 1
    lin = phi(q) @ phi(k).T  # (n, n)
    lin /= lin.sum(axis=1, keepdims=True)
    return {"softmax": int(np.linalg.matrix_rank(s)), "linear": int(np.linalg.matrix_rank(lin))}


# ---------------------------------------------------------------------------------------------
# Figures (each returns a matplotlib Figure made with lib.style)

_PART_COLOURS = {"projections": "sky", "QKᵀ": "vermillion", "softmax": "purple", "weights × V": "orange",
                 "FFN": "blue"}


def _mark_thresholds(ax, H: int, Fd: int, labels: bool = True) -> None:
    """Vertical lines at n = F - 2H (dashed, SA = FFN) and n = 2H + F (dotted, n² term = linear terms)."""
    from lib import style

    for x, text, ls in ((sa_ffn_crossover(H, Fd), "SA = FFN", "--"), (quadratic_dominance_length(H, Fd), "n² = linear", ":")):
        if x > 0:
            ax.axvline(x, color=style.PALETTE["black"], ls=ls, lw=1, label=f"{text} at n = {x:,}" if labels else None)


def draw_cost_breakdown(heads: int = 12, head_dim: int = 64, ffn_mult: int = 4,
                        n_min: int = 16, n_max: int = 65536):
    """Per-layer multiplications against n: shares of each part (left), total and its two terms (right).

    Lines mark SA = FFN (n = F - 2H) and quadratic = linear (n = 2H + F); the band is n <= 512.
    """
    from lib import style

    h, d, m = (_positive_int(k, v) for k, v in (("heads", heads), ("head_dim", head_dim), ("ffn_mult", ffn_mult)))
    H, Fd = h * d, ffn_mult * h * d
    n = np.unique(np.geomspace(_positive_int("n_min", n_min), _positive_int("n_max", n_max), 200).astype(np.int64))
    c = {k: np.asarray(v, float) for k, v in layer_mults(n, H, h, Fd).items()}
    parts = {"FFN": c["ffn"], "projections": c["qkv_proj"] + c["out_proj"], "QKᵀ": c["scores"],
             "weights × V": c["weighted_sum"]}
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.stackplot(n, *(v / c["total"] for v in parts.values()), labels=list(parts),
                 colors=[style.PALETTE[_PART_COLOURS[k]] for k in parts], alpha=0.85)
    a1.axhline(0.5, color=style.PALETTE["black"], lw=0.8)
    a1.set(xscale="log", xlim=(n[0], n[-1]), ylim=(0, 1), xlabel="sequence length n", ylabel="share of the layer's multiplications")
    _mark_thresholds(a1, H, Fd, labels=False)
    handles, names = a1.get_legend_handles_labels()
    a1.legend(handles[::-1], names[::-1], loc="upper left", fontsize=8, framealpha=0.85, frameon=True)
    a2.loglog(n, c["total"], color=style.PALETTE["black"], label="layer total")
    a2.loglog(n, c["linear_part"], color=style.PALETTE["blue"], ls="--", label="linear part (projections + FFN)")
    a2.loglog(n, c["quadratic_part"], color=style.PALETTE["vermillion"], ls="--", label="quadratic part 2n²hd")
    a2.axvspan(n[0], 512, color=style.PALETTE["grey"], alpha=0.15, lw=0, label="n ≤ 512 (usual BERT inputs)")
    _mark_thresholds(a2, H, Fd)
    a2.set(xlim=(n[0], n[-1]), xlabel="sequence length n", ylabel="multiplications per layer")
    a2.legend(loc="upper left", fontsize=8)
    for ax in (a1, a2):
        ax.minorticks_off()  # log-axis minor ticks triple the drawing time of a slider's worth of images
    fig.suptitle(f"h = {h} heads of size d = {d} (hd = {H}, FFN {Fd}): at n = 512 the n² terms are "
                 f"{layer_mults(512, H, h, Fd)['quadratic_share']:.1%} of the layer", fontsize=10)
    return fig


def draw_linear_vs_standard(expand: int = 4, head_dim: int = 64, heads: int = 12,
                            n_min: int = 16, n_max: int = 65536):
    """Attention-core cost of softmax vs linear attention (left) and whole-layer speed-up (right) against n.

    The speed-up counts multiplications with the projections kept (the article) and, dashed, grown e times.
    """
    from lib import style

    e, d, h = (_positive_int(k, v) for k, v in (("expand", expand), ("head_dim", head_dim), ("heads", heads)))
    H = h * d
    n = np.unique(np.geomspace(_positive_int("n_min", n_min), _positive_int("n_max", n_max), 200).astype(np.int64))
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.loglog(n, np.asarray(standard_attention_core_mults(n, h, d), float), color=style.PALETTE["black"],
              label="softmax 2n²hd")
    a1.loglog(n, np.asarray(linear_attention_mults(n, h, d, 1), float), color=style.PALETTE["green"],
              label="linear, same d: 2nhd²")
    a1.loglog(n, np.asarray(linear_attention_mults(n, h, d, e), float), color=style.PALETTE["vermillion"],
              label=f"linear, {e}× wider heads: 2nh({e}d)²")
    for x, col in ((linear_vs_standard_crossover(d, 1), "green"), (linear_vs_standard_crossover(d, e), "vermillion")):
        a1.axvline(x, color=style.PALETTE[col], ls=":", lw=1)
    a1.set(xlim=(n[0], n[-1]), xlabel="sequence length n", ylabel="attention-core multiplications")
    a1.legend(loc="upper left", fontsize=8)
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, 1), color=style.PALETTE["green"], label="linear, same d")
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, e), color=style.PALETTE["vermillion"], label=f"linear, {e}× wider heads")
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, e, grow_projections=True), color=style.PALETTE["vermillion"],
                ls="--", label=f"… and projections grown {e}×")
    a2.axhline(1, color=style.PALETTE["black"], lw=1)
    a2.axvline(linear_vs_standard_crossover(d, e), color=style.PALETTE["vermillion"], ls=":", lw=1)
    a2.axvspan(n[0], 512, color=style.PALETTE["grey"], alpha=0.15, lw=0)
    a2.set(xlim=(n[0], n[-1]), yscale="log", xlabel="sequence length n", ylabel="whole-layer speed-up (×)")
    a2.legend(loc="upper left", fontsize=8)
    for ax in (a1, a2):
        ax.minorticks_off()
    at512 = linear_speedup(512, H, h, 4 * H, e)
    fig.suptitle(f"d = {d}, h = {h}, heads {e}× wider: break-even at n = e²d = {linear_vs_standard_crossover(d, e):,}; "
                 f"at n = 512 the layer runs {at512:.2f}× as fast", fontsize=10)
    return fig


def draw_flop_check(check: dict):
    """FLOPs counted by PyTorch against 2 x the article's count (left) and their ratio (right), from :func:`flop_check`."""
    from lib import style

    n = np.asarray(check["lengths"])
    grid = np.unique(np.geomspace(n.min() / 1.5, n.max() * 1.5, 100).astype(np.int64))
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.loglog(grid, 2 * np.asarray(layer_mults(grid)["total"], float), color=style.PALETTE["black"],
              label="2 × article's multiplications")
    a1.loglog(n, check["explicit"], "o", color=style.PALETTE["blue"], label="counted: explicit matmuls")
    a1.loglog(n, check["sdpa"], "x", ms=8, color=style.PALETTE["vermillion"], label="counted: fused SDPA on CPU")
    a1.set(xlabel="sequence length n", ylabel="forward FLOPs of one BERT-base layer")
    a1.legend(loc="upper left", fontsize=8)
    a2.semilogx(n, check["explicit"] / check["analytic"], "o-", color=style.PALETTE["blue"], label="explicit matmuls")
    a2.semilogx(n, check["sdpa"] / check["analytic"], "x-", ms=8, color=style.PALETTE["vermillion"], label="fused SDPA")
    a2.semilogx(grid, 1 - np.asarray(layer_mults(grid)["quadratic_share"]), color=style.PALETTE["grey"], ls="--",
                lw=1, label="1 − n² share")
    a2.set(xlabel="sequence length n", ylabel="counted / expected", ylim=(0.5, 1.05))
    a2.legend(loc="lower left", fontsize=8)
    return fig


def _length_ticks(ax, n) -> None:
    ax.set_xscale("log")
    ax.set_xticks(n, [str(int(v)) for v in n], minor=False)
    ax.minorticks_off()


def draw_time_ratio(t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None):
    """Measured SA/FFN time ratio beside the multiplication ratio (left) and each part's FLOP rate (right)."""
    from lib import style

    H, _, Fd = _shape(hidden, None, ffn_dim)
    n = t.lengths
    c = {k: np.asarray(v, float) for k, v in layer_mults(n, H, 1, Fd).items()}
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.plot(n, c["sa"] / c["ffn"], "s--", color=style.PALETTE["black"], label="multiplications (article)")
    for clock, marker, col in (("wall", "o-", "vermillion"), ("cpu", "^:", "orange")):
        a1.plot(n, t.ratio("SA", "FFN", clock), marker, color=style.PALETTE[col],
                label=f"measured {'wall' if clock == 'wall' else 'thread CPU'} time")
    a1.axhline(1, color=style.PALETTE["grey"], lw=1)
    cross = crossover_length(n, t.ratio("SA", "FFN"))
    if cross is not None:
        a1.axvline(cross, color=style.PALETTE["vermillion"], ls=":", lw=1)
    a1.axvline(sa_ffn_crossover(H, Fd), color=style.PALETTE["black"], ls=":", lw=1)
    _length_ticks(a1, n)
    a1.set_yscale("log")
    ticks = [v for v in (0.25, 0.5, 1, 2, 4, 8, 16) if 0.5 * a1.get_ylim()[0] <= v <= 2 * a1.get_ylim()[1]]
    a1.set_yticks(ticks, [f"{v:g}" for v in ticks])
    a1.minorticks_off()
    a1.set(xlabel="sequence length n", ylabel="self-attention / FFN")
    a1.legend(loc="upper left", fontsize=8)
    colours = {"projections": "sky", "n² attention": "vermillion", "FFN": "blue"}
    for g, rate in achieved_gflops(t, H, Fd).items():
        a2.plot(n, rate, "o-", color=style.PALETTE[colours[g]], label=g + (" (time incl. softmax)" if g == "n² attention" else ""))
    _length_ticks(a2, n)
    a2.set(xlabel="sequence length n", ylabel="GFLOP/s achieved (wall)", ylim=(0, None))
    a2.legend(loc="lower left", fontsize=8)
    reps = t.stages["wall"]["qkv_proj"].shape[0]
    fig.suptitle(f"Measured when this page was built: BERT-base layer, batch 1, {t.threads} thread, fastest of {reps} runs",
                 fontsize=10)
    return fig


def draw_time_shares(n: int, t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None):
    """Share of each part in the layer's multiplications vs in its measured wall time, at one timed length n."""
    from lib import style

    H, _, Fd = _shape(hidden, None, ffn_dim)
    timed = [int(v) for v in t.lengths]
    if _positive_int("n", n) not in timed:
        raise ValueError(f"n={n!r} was not timed; choose one of {timed}")
    j = timed.index(int(n))
    c = layer_mults(int(n), H, 1, Fd)
    mult = {"projections": c["qkv_proj"] + c["out_proj"], "QKᵀ": c["scores"], "softmax": 0,
            "weights × V": c["weighted_sum"], "FFN": c["ffn"]}
    best = {k: t.best(k)[j] for k in SOFTMAX_STAGES}
    secs = {"projections": best["qkv_proj"] + best["out_proj"], "QKᵀ": best["scores"], "softmax": best["softmax"],
            "weights × V": best["weighted_sum"], "FFN": best["ffn_up"] + best["ffn_down"]}
    fig, ax = style.figure(size=(6.4, 2.8))
    for row, vals in enumerate((mult, secs)):
        total, left = sum(vals.values()), 0.0
        for k, v in vals.items():
            w = v / total
            ax.barh(row, w, left=left, color=style.PALETTE[_PART_COLOURS[k]], label=k if row == 0 else None,
                    edgecolor="white")
            if w > 0.05:
                ax.text(left + w / 2, row, f"{w:.0%}", ha="center", va="center", fontsize=8, color="white")
            left += w
    ax.set_yticks([0, 1], ["multiplications\n(article)", "measured\nwall time"])
    ax.set(xlim=(0, 1), ylim=(1.5, -0.5), xlabel="share of one BERT-base layer's forward pass")
    ax.grid(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=5, fontsize=8)
    ax.set_title(f"n = {n}: self-attention / FFN = {c['sa'] / c['ffn']:.2f} in multiplications, "
                 f"{t.ratio('SA', 'FFN')[j]:.2f} in wall time\n(time measured when this page was built)", fontsize=9)
    return fig


def draw_core_times(t: LayerTimings, heads: int = 12, head_dim: int = 64):
    """Measured wall time of the softmax core and the linear cores against n, with the predicted break-evens."""
    from lib import style

    h, d = _positive_int("heads", heads), _positive_int("head_dim", head_dim)
    n = t.lengths
    fig, ax = style.figure(size="single")
    ax.plot(n, t.best("n² attention") * 1e3, "o-", color=style.PALETTE["black"], label="softmax core: QKᵀ, softmax, × V")
    for label, col in zip(t.cores["wall"], ["green", "vermillion", "purple", "orange"]):
        e = int(label.split("=")[1])
        ax.plot(n, t.best_core(label) * 1e3, "o-", color=style.PALETTE[col],
                label=f"{label}: φ, φ(K)ᵀV, φ(Q)(·), normaliser; e²d = {linear_vs_standard_crossover(d, e):,}")
        ax.axvline(linear_vs_standard_crossover(d, e), color=style.PALETTE[col], ls=":", lw=1)
    _length_ticks(ax, n)
    ax.set_yscale("log")
    ax.set(xlabel="sequence length n", ylabel="milliseconds (fastest run)", xlim=(n[0] / 1.3, n[-1] * 1.3))
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"Attention cores, h = {h}, d = {d}, {t.threads} thread: measured when this page was built", fontsize=9)
    return fig


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table; ints get thousands separators, floats 4 significant digits."""
    def cell(v):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return f"{int(v):,}"
        if isinstance(v, (float, np.floating)):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
