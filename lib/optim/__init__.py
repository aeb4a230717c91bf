"""Gradient accumulation hidden inside momentum (chapter 5, after Su Jianlin, kexue.fm/archives/8634).

k-step gradient accumulation averages the gradients of k micro-batches and makes one update.
For an optimizer whose state is an exponential moving average (EMA) of gradients, the EMA
buffer can do the accumulating itself. With chi(t, k) = 1 if k divides t else 0, SGD with
momentum in EMA form becomes

    m_t = [(beta - 1) chi(t - 1, k) + 1] m_{t-1} + (1 - beta) / k * g_t        (ch. 5, eq. 6)
    theta_t = theta_{t-1} - chi(t, k) * lr * m_t

which equals explicit accumulation exactly, with no extra parameter-sized buffer. For Adam the
same treatment of v = EMA(g^2) is only approximate. The article also reads the recipe as
"replace beta by beta_tilde = 1 - (1 - beta) / k and update every k steps".

Three "update every k micro-steps" variants are kept apart everywhere (``variant=``):
``"chi"`` the exact chi-form, ``"beta_tilde"`` a plain EMA with beta_tilde, ``"sparse"`` a plain
EMA with the original beta. All three gate the parameter update (and decoupled weight decay)
by chi(t, k).

Submodules: :mod:`~lib.optim.formulas` (closed forms), :mod:`~lib.optim.optimizers` (the torch
optimizers), :mod:`~lib.optim.memory` (bytes), :mod:`~lib.optim.problems`
(a random problem to compare optimizers on), :mod:`~lib.optim.theory` (exact second moments of
the linear-regression toy), :mod:`~lib.optim.experiments`, :mod:`~lib.optim.tables`, :mod:`~lib.optim.plots` (imported
only on demand: it needs matplotlib).
"""
from lib.optim.formulas import (VARIANT_LABELS, VARIANTS, adam_v_inflation, beta_tilde, chi,
                                v_inflation_monte_carlo, window_weights)
from lib.optim.optimizers import AccumAdam, AccumSGDM, EMASGDM, ExplicitAccumulator
from lib.optim.memory import MEMORY_SCHEMES, memory_census, state_bytes
from lib.optim.tables import beta_tilde_table, memory_table
from lib.optim.theory import expected_excess_risk, per_update_coefficients, stationary_excess_risk
from lib.optim.problems import (RandomProblem, ema_param_groups, max_gap, random_problem_run, resume_gap,
                                torch_sgd_param_groups)
from lib.optim.experiments import (adam_drift_study, adam_first_update, constant_gradient_run,
                                   linear_regression_run, make_sgdm, mlp_adam_study, quadratic_trajectories,
                                   update_frequency_study)

__all__ = [
    "VARIANTS", "VARIANT_LABELS", "chi", "beta_tilde", "window_weights", "adam_v_inflation",
    "v_inflation_monte_carlo",
    "EMASGDM", "AccumSGDM", "AccumAdam", "ExplicitAccumulator",
    "MEMORY_SCHEMES", "memory_census", "state_bytes", "beta_tilde_table", "memory_table",
    "per_update_coefficients", "expected_excess_risk", "stationary_excess_risk",
    "RandomProblem", "ema_param_groups", "torch_sgd_param_groups", "random_problem_run", "max_gap", "resume_gap",
    "make_sgdm", "constant_gradient_run", "adam_first_update", "quadratic_trajectories", "linear_regression_run",
    "update_frequency_study", "adam_drift_study", "mlp_adam_study",
]
