"""Standard attention as an infinite-dimensional linear attention (chapter 4).

Softmax attention weighs key j for query i by the kernel e^{q_i·k_j}. Linear attention replaces
the kernel by an inner product of feature maps, φ(q)·φ(k), which lets the key/value summary
Σ_j φ(k_j) v_jᵀ be computed once, so the cost is linear in the sequence length N. Any family of
maps with φ(q)·φ(k) → e^{q·k} as the feature dimension D grows shows that standard attention *is*
a linear attention with infinitely many features (``book/04-infinite-linear-attention.ipynb``,
after Su Jianlin, kexue.fm/archives/8601). The code, one job per module:

- :mod:`.attention`    -- exact softmax attention, linear attention in linear-cost order, the error
  measure and the random Q, K, V of the chapter;
- :mod:`.feature_maps` -- Performer, Taylor (full and compressed), (1 + x/p)^p and elu + 1 feature
  maps, and the kernels and attention they give;
- :mod:`.scalar`       -- the same approximations on one score: T_p(x), (1 + x/p)^p, Performer's spread;
- :mod:`.experiments`  -- ranks, costs and the sweeps behind the figures;
- :mod:`.figures`      -- the chapter's figures.

Everything is numpy; this package re-exports every public name, so ``from lib import
attention_features as af; af.taylor_feature_map(...)`` works as it always has.
"""
from .attention import attention_weights, linear_attention, make_qkv, relative_error, softmax_attention
from .experiments import (approximation_sweep, attention_flops, crossover_length, numerical_rank, rank_study,
                          records_by, singular_values)
from .feature_maps import (KERNELS, KINDS, MAX_FEATURE_ENTRIES, approximate_attention, elu_feature_map,
                           expdef_feature_map, feature_dim, feature_map, kernel_matrix, performer_feature_map,
                           sample_omegas, taylor_feature_map)
from .figures import (METHOD_STYLE, draw_attention_maps, draw_error_vs_dimension, draw_error_vs_order,
                      draw_exp_approximations, draw_feature_dimension, draw_performer_std, draw_singular_values)
from .scalar import (expdef_exp, performer_estimates, performer_relative_std, scalar_relative_error, taylor_exp,
                     taylor_remainder_bound)

__all__ = [
    "KERNELS", "KINDS", "MAX_FEATURE_ENTRIES", "METHOD_STYLE", "approximate_attention",
    "approximation_sweep", "attention_flops", "attention_weights", "crossover_length", "draw_attention_maps",
    "draw_error_vs_dimension", "draw_error_vs_order", "draw_exp_approximations", "draw_feature_dimension",
    "draw_performer_std", "draw_singular_values", "elu_feature_map", "expdef_exp", "expdef_feature_map",
    "feature_dim", "feature_map", "kernel_matrix", "linear_attention", "make_qkv", "numerical_rank",
    "performer_estimates", "performer_feature_map", "performer_relative_std", "rank_study", "records_by",
    "relative_error", "sample_omegas", "scalar_relative_error", "singular_values", "softmax_attention",
    "taylor_exp", "taylor_feature_map", "taylor_remainder_bound",
]
