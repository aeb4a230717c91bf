"""The Johnson–Lindenstrauss lemma: its bounds, random projections and experiments (chapter 7).

Notation of chapter 7 (and of Su Jianlin's article, kexue.fm/archives/8679): ``N`` points
``v_1, ..., v_N`` in ``R^m`` are mapped to ``R^n`` by ``v -> A v`` where ``A`` (n, m) has i.i.d.
``N(0, 1/n)`` entries; ``eps`` in (0, 1) bounds the relative distortion of *squared* distances.
Logarithms are natural.

Submodules: :mod:`~lib.jl.bounds` (closed forms of the lemma and its proof, exact chi-square
tails), :mod:`~lib.jl.projections` (random projections and the distortions they cause),
:mod:`~lib.jl.sampling` (Monte Carlo samples of the proof's steps, test points),
:mod:`~lib.jl.experiments` (success rate and minimal dimension) and :mod:`~lib.jl.figures` (the
chapter's draw functions); the notebook's tables are :class:`lib.tables.Table`. Importing the
package is cheap: scipy and matplotlib are imported by the functions that use them.
"""
from lib.jl.bounds import (chebyshev_tail_bound, chernoff_lambda_star, chernoff_log_objective, chernoff_tails,
                           jl_failure_bound, jl_min_dim, markov_upper_tail_bound, orthogonality_tail_bound,
                           square_mgf, union_bound_min_dim, unit_norm_tail_bound, unit_norm_tail_exact)
from lib.jl.projections import (distortion_ratios, gaussian_projection, inner_product_errors, max_distortion,
                                pairwise_sq_dists, project, span_coordinates)
from lib.jl.sampling import correlated_unit_vectors, projected_norm_ratios, random_inner_products
from lib.jl.experiments import (direct_max_distortions, empirical_min_dim, jl_success_rate, max_distortion_curve,
                                max_inner_product_errors, min_dim_from_curve, one_projection_ratios, wilson_interval)
from lib.jl.figures import (draw_chernoff_objective, draw_dimension_bound, draw_distortion_histogram,
                            draw_inner_products, draw_success_curve, draw_tail_bounds)

__all__ = [
    "jl_min_dim", "jl_failure_bound", "unit_norm_tail_bound", "orthogonality_tail_bound", "chebyshev_tail_bound",
    "markov_upper_tail_bound", "square_mgf", "chernoff_log_objective", "chernoff_lambda_star", "chernoff_tails",
    "unit_norm_tail_exact", "union_bound_min_dim",
    "gaussian_projection", "project", "pairwise_sq_dists", "distortion_ratios", "max_distortion",
    "span_coordinates", "inner_product_errors",
    "projected_norm_ratios", "random_inner_products", "correlated_unit_vectors",
    "one_projection_ratios", "max_distortion_curve", "direct_max_distortions", "jl_success_rate",
    "min_dim_from_curve", "empirical_min_dim", "max_inner_product_errors", "wilson_interval",
    "draw_chernoff_objective", "draw_tail_bounds", "draw_distortion_histogram", "draw_success_curve",
    "draw_dimension_bound", "draw_inner_products",
]
