"""A BERT-shaped layer in torch, made of explicit matmuls, with softmax or linear attention (chapter 2).

Built from ``nn.Linear`` and explicit matrix products so that PyTorch's FLOP counter sees every
product (:mod:`lib.flops.counter`) and each stage can be timed (:mod:`lib.flops.timing`). At the
end, a numpy aside: the rank of the two attention matrices, the reason linear attention needs
wider heads.
Chapter 2, after Su Jianlin, kexue.fm/archives/8610.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lib import checks

from .counts import _non_negative_int, _positive_int, _shape


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
        checks.choice("attention", attention, ATTENTION_KINDS)
        e = _positive_int("expand", expand)
        if e != 1 and attention != "linear":
            raise ValueError(f"expand={expand!r} is only for attention='linear'; softmax heads keep size hidden/heads")
        self.hidden, self.heads, self.ffn_dim, self.attention, self.expand = H, h, Fd, attention, e
        width = e * H
        seed = _non_negative_int("seed", seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
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
