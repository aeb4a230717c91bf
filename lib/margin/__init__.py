"""Chapter 1: from the triangle inequality to margin softmax (Su Jianlin, kexue.fm/archives/8656).

Why a classifier's features can rank badly, and why the fix is an additive margin.

* Geometry: the cosine distance ``1 - cos`` breaks the triangle inequality; the chord
  ``||x/|x| - y/|y|| = sqrt(2 - 2 cos)`` keeps it (chapter 1, "Which similarity scores are
  distances?").
* Two uses of the triangle inequality turn "retrieval is right" into "each sample is nearer to
  its own centre by a margin" (condition (B)); with cosine scores that becomes
  ``cos_y - cos_i > m``, whose smooth penalty is AM-Softmax (Wang et al., arXiv:1801.05599).
* The experiment: train a small encoder with softmax (m = 0) and AM-Softmax (m > 0) and measure
  classification and top-1 retrieval on held-out samples and held-out classes.

One job per module:

- :mod:`.sphere`     -- distances on the sphere, the triangle inequality, conditions (A) and (B);
- :mod:`.ceilings`   -- how large the margin can be for centres on a circle, simplex or sphere (ours);
- :mod:`.losses`     -- AM-Softmax (torch and numpy), the article's distance-margin loss;
- :mod:`.data`       -- Gaussian clusters and the 8x8 digits, split into seen and unseen classes;
- :mod:`.training`   -- the encoder with a cosine head, trained with a margin (torch);
- :mod:`.evaluation` -- classification and retrieval accuracy, margin sweeps and their table;
- :mod:`.figures`    -- the chapter's figures (each ``draw_*`` returns a matplotlib Figure).

Geometry and metrics are numpy; losses, model and training are torch (CPU, one thread is fastest).
The package re-exports every public name (``from lib import margin as mg; mg.am_softmax_loss(...)``).
"""
from .sphere import (DISTANCES, SQRT_COS, chord_distance, cosine_distance, cosine_matrix, cosine_similarity,
                     midpoint_ratio, random_unit_vectors, retrieval_condition, sqrt_cosine_distance,
                     triangle_violations, unit_vectors)
from .ceilings import (centre_ceiling, circle_best_gap, circle_loss_floor, circle_margin_ceiling, claimed_fraction,
                       margin_regions, simplex_margin_ceiling, sphere_ceiling_bound)
from .losses import (REDUCTIONS, am_softmax_loss, am_softmax_loss_np, distance_margin_loss, logsumexp_hinge,
                     sqrt_cos_distance_for_training)
from .data import Split, clustered_split, digits_split, make_clustered_data
from .training import KINDS, AMSoftmaxHead, TrainedModel, train_margin_classifier
from .evaluation import (adaptive_margin_schedule, class_radius, estimate_margin_from_diameter, evaluate,
                         margin_sweep, misranked_fraction, nearest_center_accuracy, retrieval_topk_accuracy,
                         summarize, sweep_table)
from .figures import (draw_am_loss, draw_circle_experiment, draw_classification_vs_ranking, draw_decision_regions,
                      draw_sweeps, draw_triangle_failure)

__all__ = [
    "DISTANCES", "KINDS", "REDUCTIONS", "SQRT_COS",
    "unit_vectors", "random_unit_vectors", "cosine_similarity", "cosine_matrix", "cosine_distance",
    "sqrt_cosine_distance", "chord_distance", "triangle_violations", "midpoint_ratio", "retrieval_condition",
    "circle_margin_ceiling", "simplex_margin_ceiling", "centre_ceiling", "sphere_ceiling_bound", "circle_best_gap",
    "circle_loss_floor", "margin_regions", "claimed_fraction",
    "am_softmax_loss", "am_softmax_loss_np", "distance_margin_loss", "sqrt_cos_distance_for_training",
    "logsumexp_hinge",
    "Split", "make_clustered_data", "clustered_split", "digits_split",
    "AMSoftmaxHead", "TrainedModel", "train_margin_classifier",
    "nearest_center_accuracy", "retrieval_topk_accuracy", "misranked_fraction", "class_radius",
    "estimate_margin_from_diameter", "evaluate", "margin_sweep", "summarize", "adaptive_margin_schedule",
    "sweep_table",
    "draw_triangle_failure", "draw_classification_vs_ranking", "draw_am_loss", "draw_decision_regions",
    "draw_sweeps", "draw_circle_experiment",
]
