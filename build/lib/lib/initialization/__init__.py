"""Initialization, parameterization and normalization of Transformers (chapter 6).

Reference code for ``book/06-init-and-normalization.ipynb``, built on Su Jianlin,
"浅谈Transformer的初始化、参数化与标准化" (Notes on Transformer initialization, parameterization and
normalization), kexue.fm/archives/8620. One module per part of the chapter (section numbers):

- :mod:`.sampling`    -- distributions with a given variance, the truncated normal's shrinkage,
  initialization schemes (§1);
- :mod:`.activations` -- activations and their second moment on a standard normal input (§2);
- :mod:`.propagation` -- LayerNorm, RMSNorm and the second moment through a deep stack (§2, §3);
- :mod:`.ntk`         -- NTK parameterization, in torch (§4);
- :mod:`.attention`   -- why attention divides its logits by sqrt(d), and T5's initialization (§5);
- :mod:`.residual`    -- Post-Norm, Pre-Norm and the alpha-weighted residual (§6);
- :mod:`.figures`     -- the figures (each ``draw_*`` returns a matplotlib Figure).

Everything random takes a ``seed`` (or an ``np.random.Generator``); nothing runs at import, and torch
is imported only inside the functions that use it. This package re-exports every public name, so
``from lib import initialization as ini; ini.truncation_correction()`` works as it always has.
"""
from .sampling import (INIT_SCHEMES, init_variance, init_weights, sample_truncated_normal,
                       torch_trunc_normal_variance, truncated_normal_moments, truncated_normal_std,
                       truncation_correction, uniform_bounds)
from .activations import (ACTIVATIONS, activation_moment, gelu, relu, rescaled_activation, selu, selu_constants,
                          sigmoid_rescaled)
from .propagation import NORMS, layer_norm, mean_field_second_moment, propagate_second_moment, rms_norm
from .ntk import equivalent_lr_gap, ntk_linear, relative_change_after_step, standard_linear
from .attention import (QK_INITS, RETRIEVAL_VARIANTS, article_qk_std, attention_logit_stats, attention_logits,
                        projected_logit_variance, qk_init_stds, softmax_jacobian_norm, softmax_rows,
                        t5_attention_init_stds, train_key_retrieval)
from .residual import (RESIDUAL_FORMS, RESIDUAL_MODES, alpha_ramp, post_norm_coefficients, pre_norm_input_scales,
                       residual_path_weights, residual_stack, residual_theory)
from .figures import (DEPTH_CURVES, NORM_LABELS, draw_activation_moments, draw_alpha_ramp,
                      draw_attention_saturation, draw_attention_weights, draw_depth_propagation,
                      draw_init_distributions, draw_ntk_relative_change, draw_residual_paths,
                      draw_retrieval_training, draw_truncation)

__all__ = [
    "ACTIVATIONS", "DEPTH_CURVES", "INIT_SCHEMES", "NORM_LABELS", "NORMS", "QK_INITS", "RESIDUAL_FORMS",
    "RESIDUAL_MODES", "RETRIEVAL_VARIANTS", "activation_moment", "alpha_ramp", "article_qk_std",
    "attention_logit_stats", "attention_logits", "draw_activation_moments", "draw_alpha_ramp",
    "draw_attention_saturation", "draw_attention_weights", "draw_depth_propagation", "draw_init_distributions",
    "draw_ntk_relative_change", "draw_residual_paths", "draw_retrieval_training", "draw_truncation",
    "equivalent_lr_gap", "gelu", "init_variance", "init_weights", "layer_norm", "mean_field_second_moment",
    "ntk_linear", "post_norm_coefficients", "pre_norm_input_scales", "projected_logit_variance",
    "propagate_second_moment", "qk_init_stds", "relative_change_after_step", "relu", "rescaled_activation",
    "residual_path_weights", "residual_stack", "residual_theory", "rms_norm", "sample_truncated_normal", "selu",
    "selu_constants", "sigmoid_rescaled", "softmax_jacobian_norm", "softmax_rows", "standard_linear",
    "t5_attention_init_stds", "torch_trunc_normal_variance", "train_key_retrieval", "truncated_normal_moments",
    "truncated_normal_std", "truncation_correction", "uniform_bounds",
]
