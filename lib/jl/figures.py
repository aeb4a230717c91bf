"""Figures of chapter 7 (the Johnson–Lindenstrauss lemma): each draw function returns a matplotlib Figure.

Chapter 7 (after Su Jianlin, kexue.fm/archives/8679) shows each figure statically and then
drivable (:func:`lib.figures.drivable_figure`): the Chernoff objective and its minimiser (§2),
the tail of ``||u||^2`` against its bounds (§1-§2), the histogram of pair distortions for one
projection (§4), the measured success rate against the guarantee, the dimension the bounds
require against ``N`` (§6), and inner products before and after a projection (§5).
"""
from __future__ import annotations

import math

import numpy as np

from lib import style
from lib.jl._checks import _check_eps
from lib.jl.bounds import (_log_failure_bound, chebyshev_tail_bound, chernoff_lambda_star, chernoff_log_objective,
                           chernoff_tails, jl_min_dim, markov_upper_tail_bound, union_bound_min_dim,
                           unit_norm_tail_bound, unit_norm_tail_exact)
from lib.jl.experiments import _geometric_grid, min_dim_from_curve, wilson_interval
from lib.jl.projections import inner_product_errors


def draw_chernoff_objective(n: int = 100, eps: float = 0.2):
    """The log Chernoff bound as a function of ``lam``, its minimiser and the two bounds it yields."""
    lam_star = chernoff_lambda_star(n, eps)
    lam = np.linspace(1e-3 * lam_star, min(2.6 * lam_star, 0.5 * n * (1 - 1e-6)), 600)
    f = chernoff_log_objective(lam, n, eps)
    tight, relaxed = 0.5 * n * (math.log1p(eps) - eps), -eps**2 * n / 8
    exact_upper = unit_norm_tail_exact(n, eps)[0]
    fig, ax = style.figure(size="tall")
    ax.plot(lam, f, color=style.PALETTE["blue"],
            label=r"$\log\,[e^{-\lambda(1+\varepsilon)}(n/(n-2\lambda))^{n/2}]$")
    ax.axhline(tight, color=style.PALETTE["green"], ls="--", lw=1.2,
               label="its minimum\n" + rf"$n(\ln(1+\varepsilon)-\varepsilon)/2={tight:.3g}$")
    ax.axhline(relaxed, color=style.PALETTE["vermillion"], ls=":", lw=1.5,
               label="article's relaxation\n" + rf"$-\varepsilon^2 n/8={relaxed:.3g}$")
    ax.axhline(math.log(exact_upper), color=style.PALETTE["black"], lw=1,
               label="exact value\n" + rf"$\log P(\|u\|^2\geq 1+\varepsilon)={math.log(exact_upper):.3g}$")
    ax.plot([lam_star], [chernoff_log_objective(lam_star, n, eps)], "o", color=style.PALETTE["black"],
            label=rf"$\lambda^*=n\varepsilon/(2(1+\varepsilon))={lam_star:.3g}$")
    ax.set_ylim(min(tight, math.log(exact_upper)) * 1.25 - 0.3, max(1.0, -0.35 * tight))
    ax.set_xlim(0, lam[-1])
    ax.set_xlabel(r"$\lambda$ (every value in $(0, n/2)$ gives a valid bound)")
    ax.set_ylabel("log of the bound on the upper tail")
    ax.set_title(f"Cramér–Chernoff for the upper tail of $\\|u\\|^2$, n = {n}, ε = {eps:g}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    return fig


def draw_tail_bounds(eps: float, n_max: int = 3000, mc_draws: int = 200_000, seed: int = 0):
    """``P(| ||u||^2 - 1 | >= eps)`` against ``n``: exact, Monte Carlo and four bounds, log scale."""
    eps = _check_eps(eps)
    ns = np.unique(np.r_[_geometric_grid(4, n_max, 90), 1000])
    ns = ns[ns <= n_max]
    upper, lower = unit_norm_tail_exact(ns, eps)
    cu, cl = chernoff_tails(ns, eps)
    fig, ax = style.figure(size="tall")
    ax.plot(ns, chebyshev_tail_bound(ns, eps), color=style.PALETTE["grey"], ls="-.", lw=1.3,
            label=r"Chebyshev $2/(n\varepsilon^2)$")
    ax.plot(ns, unit_norm_tail_bound(ns, eps), color=style.PALETTE["vermillion"], ls="--",
            label=r"article $2e^{-\varepsilon^2 n/8}$")
    ax.plot(ns, cu + cl, color=style.PALETTE["orange"], label="optimised Chernoff, both tails")
    ax.plot(ns, upper + lower, color=style.PALETTE["blue"], lw=2.4, label=r"exact ($\chi^2_n$)")
    ax.axhline(markov_upper_tail_bound(eps), color=style.PALETTE["purple"], ls=":", lw=1.3,
               label=r"Markov $1/(1+\varepsilon)$ (upper tail only)")
    rng = np.random.default_rng(seed)
    n_mc = np.array([5, 10, 30, 100, 300, 1000, 3000])
    n_mc = n_mc[n_mc <= n_max]
    p = np.array([np.mean(np.abs(rng.chisquare(k, mc_draws) / k - 1) >= eps) for k in n_mc])
    lo, hi = wilson_interval(p * mc_draws, mc_draws)
    seen = p > 0
    ax.errorbar(n_mc[seen], p[seen], yerr=[p[seen] - lo[seen], hi[seen] - p[seen]], fmt="o", ms=4,
                color=style.PALETTE["black"], label=rf"Monte Carlo ({mc_draws:,} draws of $\chi^2_n/n$)")
    ax.axhline(1.0, color=style.PALETTE["black"], lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 30)
    ax.set_xlim(ns[0], ns[-1])
    ax.set_xlabel("target dimension n")
    ax.set_ylabel(r"$P(|\,\|u\|^2-1| \geq \varepsilon)$ or its bound")
    k = int(np.argmin(np.abs(ns - 1000)))
    ratio = unit_norm_tail_bound(int(ns[k]), eps) / (upper[k] + lower[k])
    ratio_text = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.2g}"
    ax.set_title(f"ε = {eps:g}: at n = {ns[k]} the article's bound is {ratio_text} × the exact value")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    return fig


def draw_distortion_histogram(n: int, eps: float, ratios):
    """Histogram of all pair ratios ``||A(v_i - v_j)||^2 / ||v_i - v_j||^2`` with the chi2_n / n density.

    ``ratios`` maps each target dimension ``n`` to the ratios of one projection
    (:func:`one_projection_ratios`), so that sliders over ``eps`` reuse the same draw.
    """
    from scipy.stats import chi2

    eps = _check_eps(eps)
    if n not in ratios:
        raise ValueError(f"n={n!r} has no precomputed ratios; available: {sorted(ratios)}")
    r = np.asarray(ratios[n])
    worst = float(np.max(np.abs(r - 1)))
    fig, ax = style.figure(size="single")
    ax.hist(r, bins=np.linspace(0, 2.6, 131), density=True, color=style.PALETTE["sky"], alpha=0.8,
            label=f"{r.size:,} pairs, one draw of A")
    x = np.linspace(0.005, 2.6, 600)
    ax.plot(x, n * chi2.pdf(n * x, n), color=style.PALETTE["blue"], label=r"density of $\chi^2_n/n$")
    for edge in (1 - eps, 1 + eps):
        ax.axvline(edge, color=style.PALETTE["vermillion"], ls="--", lw=1.3)
    ax.axvspan(1 - eps, 1 + eps, color=style.PALETTE["vermillion"], alpha=0.06, label=rf"$1\pm\varepsilon$, ε = {eps:g}")
    ax.set_xlim(0, 2.6)
    ax.set_xlabel(r"ratio $\|A(v_i-v_j)\|^2 / \|v_i-v_j\|^2$")
    ax.set_ylabel("density")
    verdict = "all pairs inside" if worst <= eps else "some pairs outside"
    ax.set_title(f"n = {n}: max distortion {worst:.3f} → {verdict} 1 ± {eps:g}")
    ax.legend(loc="upper right")
    return fig


def draw_success_curve(eps: float, N: int, curves):
    """Empirical probability that all pairs stay within ``1 +- eps``, against ``n``, with the bounds.

    ``curves`` maps ``N`` to ``(ns, max_distortions)`` from :func:`max_distortion_curve`.
    """
    eps = _check_eps(eps)
    ns, D = curves[N]
    ns = np.asarray(ns)
    trials = D.shape[0]
    wins = (D <= eps).sum(axis=0)
    rate = wins / trials
    lo, hi = wilson_interval(wins, trials)
    fig, ax = style.figure(size="wide")
    ax.fill_between(ns, lo, hi, color=style.PALETTE["blue"], alpha=0.18, lw=0)
    ax.plot(ns, rate, color=style.PALETTE["blue"], label=f"measured: {trials} projections\nper n, 95% band")
    guarantee = np.clip(1 - np.exp(_log_failure_bound(N, ns, eps)), 0, 1)
    ax.plot(ns, guarantee, color=style.PALETTE["vermillion"], ls="--", label="article's guarantee\n" + r"$1-N(N-1)e^{-\varepsilon^2 n/8}$")
    ax.axhline((N - 1) / N, color=style.PALETTE["grey"], lw=1, ls=":", label=r"$(N-1)/N$")
    for c, colour, y in ((16, "orange", 0.30), (24, "vermillion", 0.08)):
        n_c = jl_min_dim(N, eps, c)
        if n_c <= ns[-1]:
            ax.axvline(n_c, color=style.PALETTE[colour], lw=1.2)
            ax.text(n_c, y, f"{c} ln N/ε² = {n_c} ", color=style.PALETTE[colour], fontsize=8, ha="right")
        else:
            ax.text(ns[-1], y, f"{c} ln N/ε² = {n_c} →", color=style.PALETTE[colour], fontsize=8, ha="right")
    n_min = min_dim_from_curve(ns, D, eps, (N - 1) / N)
    if n_min is not None:
        ax.plot([n_min], [rate[list(ns).index(n_min)]], "o", color=style.PALETTE["black"],
                label=f"smallest n with measured\nrate ≥ (N−1)/N: {n_min}")
    ax.set_xscale("log")
    ax.set_xlim(ns[0], ns[-1])
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("target dimension n")
    ax.set_ylabel("P(all pairs within 1 ± ε)")
    ax.set_title(f"N = {N} points, ε = {eps:g}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig


def draw_dimension_bound(eps: float, measured=None, N_max: float = 1e12):
    """Required target dimension against ``N`` (log scale): article (24, 16), the union bound with
    the exact tail, and measured minimal dimensions for this ``eps`` (``measured[(N, eps)] = n``)."""
    eps = _check_eps(eps)
    Ns = _geometric_grid(10, N_max, 60)
    logN = np.log(Ns)
    fig, ax = style.figure(size="single")
    ax.plot(Ns, 24 * logN / eps**2, color=style.PALETTE["vermillion"], label=r"article: $24\ln N/\varepsilon^2$")
    ax.plot(Ns, 16 * logN / eps**2, color=style.PALETTE["orange"], ls="--",
            label=r"existence only: $16\ln N/\varepsilon^2$")
    few = _geometric_grid(10, N_max, 12)
    ax.plot(few, [union_bound_min_dim(int(N), eps, "exact") for N in few], "s-", ms=3, lw=1.2,
            color=style.PALETTE["green"], label=r"union bound with the exact $\chi^2$ tail")
    if measured:
        pts = sorted((N, n) for (N, e), n in measured.items() if abs(e - eps) < 1e-9 and n is not None)
        if pts:
            ax.plot(*zip(*pts), "o", ms=7, color=style.PALETTE["blue"], label="measured (smallest n, success ≥ (N−1)/N)")
    ax.set_xscale("log")  # c ln N is a straight line against log N: the O(log N) of the title
    ax.set_ylim(0, 24 * math.log(N_max) / eps**2 * 1.05)
    ax.set_xlim(10, N_max)
    ax.set_xlabel("number of points N (log scale)")
    ax.set_ylabel("target dimension n")
    ax.set_title(f"ε = {eps:g}: by the article's bound N = 10⁶ points need n ≥ {jl_min_dim(10**6, eps):,}")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def draw_inner_products(V, A, eps: float):
    """Scatter of ``<v_i, v_j>`` against ``<A v_i, A v_j>`` for unit vectors, with the ``+- eps`` band."""
    eps = _check_eps(eps)
    V = np.asarray(V, dtype=float)
    err = inner_product_errors(V, A)
    iu = np.triu_indices(V.shape[0], k=1)
    before = (V @ V.T)[iu]
    fig, ax = style.figure(size="square")
    lim = max(float(np.max(np.abs(before))), float(np.max(np.abs(before + err)))) + eps + 0.05
    grid = np.array([-lim, lim])
    ax.fill_between(grid, grid - eps, grid + eps, color=style.PALETTE["vermillion"], alpha=0.1, label=rf"$\pm\varepsilon$ band, ε = {eps:g}")
    ax.plot(before, before + err, ".", ms=2, alpha=0.4, color=style.PALETTE["blue"], label=f"{err.size:,} pairs")
    ax.plot(grid, grid, color=style.PALETTE["black"], lw=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\langle v_i, v_j\rangle$")
    ax.set_ylabel(r"$\langle Av_i, Av_j\rangle$")
    ax.set_title(f"n = {A.shape[0]}: largest error {np.max(np.abs(err)):.3f}")
    ax.legend(loc="upper left", fontsize=8)
    return fig
