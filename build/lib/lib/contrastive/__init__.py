"""InfoNCE, FlatNCE and floating point: the computations of chapter 3 (``book/03-flatnce.ipynb``).

After Su Jianlin, kexue.fm/archives/8586. One anchor is scored against K candidates with positive
s_t; with xi = sum_{i != t} exp(s_i - s_t) and v = log xi, InfoNCE = log(1 + xi) = softplus(v) and
FlatNCE = xi / sg(xi), whose gradient is that of v. One job per module:

- :mod:`.losses`    -- scores, the two losses (several implementations), exact gradients, cosine scores;
- :mod:`.precision` -- what each dtype computes against exact values, and when xi falls below u;
- :mod:`.adam`      -- Adam's indifference to the loss scale, and the effective share of batches;
- :mod:`.toy`       -- a small deterministic contrastive learner trained with each loss;
- :mod:`.figures`   -- the chapter's figures.

torch is imported here (the losses need autograd); callers should set ``torch.set_num_threads(1)``
for the small problems of the chapter. The package re-exports every public name
(``from lib import contrastive as C; C.flat_nce(scores, target)``).
"""
from .losses import (DTYPES, FLAT_NCE_FORMS, INFO_NCE_IMPLS, LOG_U32, REDUCTIONS, UNIT_ROUNDOFF, check_scores,
                     cosine_scores, flat_nce, flat_nce_score_grad, info_nce, info_nce_score_grad, log_xi,
                     split_scores, unit_roundoff, xi)
from .precision import (GRADIENT_LOSSES, equal_negative_scores, gradient_fidelity, min_xi, relative_error,
                        saturation_gap, xi_for_gap, xi_sweep)
from .adam import adam_first_step_ratio, adam_scaled_updates, effective_batch_fraction
from .toy import (DEFAULT_VARIANTS, TOY_LOSSES, VARIANT_LABELS, BatchSizeSweep, ToyTask, batch_size_sweep,
                  toy_loss, train_group, train_toy_contrastive)
from .figures import (SWEEP_XIS, draw_adam_step, draw_anchor_weight, draw_batch_weights, draw_gradient_fidelity,
                      draw_precision, draw_saturation_map, draw_training)

__all__ = [
    "DEFAULT_VARIANTS", "DTYPES", "FLAT_NCE_FORMS", "GRADIENT_LOSSES", "INFO_NCE_IMPLS", "LOG_U32", "REDUCTIONS",
    "SWEEP_XIS", "TOY_LOSSES", "UNIT_ROUNDOFF", "VARIANT_LABELS", "BatchSizeSweep", "ToyTask", "adam_first_step_ratio",
    "adam_scaled_updates", "batch_size_sweep", "check_scores", "cosine_scores", "draw_adam_step",
    "draw_anchor_weight", "draw_batch_weights", "draw_gradient_fidelity", "draw_precision", "draw_saturation_map",
    "draw_training", "effective_batch_fraction", "equal_negative_scores", "flat_nce", "flat_nce_score_grad",
    "gradient_fidelity", "info_nce", "info_nce_score_grad", "log_xi", "min_xi", "relative_error",
    "saturation_gap", "split_scores", "toy_loss", "train_group", "train_toy_contrastive", "unit_roundoff", "xi",
    "xi_for_gap", "xi_sweep",
]
