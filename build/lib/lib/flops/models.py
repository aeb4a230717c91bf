"""Whole BERT models: parameters, forward multiplications, the 6N + 12 L H Q T estimate (chapter 2).

The article counts one layer; this module scales the count to a model (embeddings, pooler and
heads excluded, as in the article) and sets it beside the usual training estimate of PaLM's
appendix B (nanoGPT's MFU), whose 12 L H Q T term is the article's n^2 term again.
Chapter 2, after Su Jianlin, kexue.fm/archives/8610.
"""
from __future__ import annotations

from lib import checks

from .counts import _positive_int, _shape, flops_from_mults, model_mults

# BERT shapes (Devlin et al. 2019, table in section 3). BERT-large is not in the article.
PRESETS: dict[str, dict[str, int]] = {
    "BERT-base": {"hidden": 768, "heads": 12, "ffn_dim": 3072, "layers": 12},
    "BERT-large": {"hidden": 1024, "heads": 16, "ffn_dim": 4096, "layers": 24},
    "tiny": {"hidden": 256, "heads": 4, "ffn_dim": 1024, "layers": 4},
}
BERT_VOCAB = 30522  # WordPiece vocabulary of the uncased English BERT checkpoints
BERT_MAX_POSITIONS = 512


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
    p = PRESETS[checks.choice("preset", preset, PRESETS)]
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
        from .counter import count_model_flops  # torch, only when asked

        out["counted_forward"] = count_model_flops(T, L, H, h, Fd)
        out["counted_train"] = count_model_flops(T, L, H, h, Fd, backward=True)
    return out
