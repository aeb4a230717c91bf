"""The figures of chapter 4; each ``draw_*`` returns a matplotlib Figure made with :mod:`lib.style`.

Colours and labels of the constructions are the same in every figure (:data:`METHOD_STYLE`).
"""
from __future__ import annotations

import math

import numpy as np

from lib import style

from .attention import attention_weights, make_qkv, relative_error
from .experiments import approximation_sweep, rank_study
from .feature_maps import feature_dim, kernel_matrix, sample_omegas
from .scalar import expdef_exp, performer_estimates, performer_relative_std, taylor_exp, taylor_remainder_bound

METHOD_STYLE = {  # colour and label of each construction, the same in every figure
    "exact": ("black", "exact $e^{x}$"),
    "taylor": ("blue", "Taylor, $\\sum d^m$ features"),
    "taylor_sym": ("sky", "Taylor, compressed $\\binom{d+p}{p}$"),
    "expdef": ("orange", "$(1+x/p)^p$, $(d+1)^p$ features"),
    "performer": ("green", "Performer, $M$ random features"),
    "elu": ("vermillion", "elu + 1, $d$ features"),
}


def _colour(method: str) -> str:
    return style.PALETTE[METHOD_STYLE[method][0]]


def draw_exp_approximations(p: int, x_max: float = 4.0):
    """Left: e^x, T_p(x) and (1 + x/p)^p on [−x_max, x_max]; right: their relative errors (log)."""
    x = np.linspace(-x_max, x_max, 401)
    exact = np.exp(x)
    fig, (ax, ax_err) = style.figure(1, 2, size="wide")
    ax.plot(x, exact, color=_colour("exact"), label="$e^x$")
    ax.plot(x, taylor_exp(x, p), color=_colour("taylor"), label=f"Taylor $T_{{{p}}}(x)$")
    ax.plot(x, expdef_exp(x, p), color=_colour("expdef"), ls="--", label=f"$(1+x/{p})^{{{p}}}$")
    ax.axhline(0, color=style.PALETTE["grey"], lw=0.8)
    ax.set_ylim(-0.25 * np.exp(x_max), 1.05 * np.exp(x_max))
    ax.set_xlabel("$x = q\\cdot k$")
    ax.set_title(f"approximations of $e^x$ of order p = {p}")
    ax.legend(loc="upper left")
    for kind, approx in (("taylor", taylor_exp(x, p)), ("expdef", expdef_exp(x, p))):
        ax_err.semilogy(x, np.maximum(np.abs(approx - exact) / exact, 1e-17), color=_colour(kind),
                        ls="-" if kind == "taylor" else "--")
        negative = approx < 0
        if negative.any():
            ax_err.plot(x[negative], np.full(negative.sum(), 1e3), "|", color=_colour(kind), ms=6)
    ax_err.set_ylim(1e-12, 1e4)
    ax_err.set_xlabel("$x$")
    ax_err.set_title("relative error (ticks at top: approximation < 0)")
    return fig


def draw_error_vs_order(xs=(1.0, 2.0, -2.0), orders=range(1, 17)):
    """Relative error of T_p(x) and (1+x/p)^p against p at a few x, with x^{p+1}/(p+1)! and x²/(2p) guides."""
    orders = np.array(list(orders))
    fig, axes = style.figure(1, len(xs), size="wide", sharey=True)
    for ax, x in zip(np.atleast_1d(axes), xs):
        t = [abs(math.exp(x) - float(taylor_exp(x, p))) / math.exp(x) for p in orders]
        e = [abs(math.exp(x) - float(expdef_exp(x, p))) / math.exp(x) for p in orders]
        ax.semilogy(orders, np.maximum(t, 1e-17), "o-", color=_colour("taylor"), ms=3, label="Taylor $T_p$")
        ax.semilogy(orders, e, "s-", color=_colour("expdef"), ms=3, label="$(1+x/p)^p$")
        bound = [float(taylor_remainder_bound(x, p)) for p in orders]
        ax.semilogy(orders, bound, ":", color=_colour("taylor"), label="Lagrange bound")
        ax.semilogy(orders, x * x / (2 * orders), ":", color=_colour("expdef"), label="$x^2/(2p)$")
        ax.set_xlabel("order $p$")
        ax.set_title(f"$x = {x:g}$")
        ax.set_ylim(1e-14, 1e2)
    np.atleast_1d(axes)[0].set_ylabel("relative error")
    np.atleast_1d(axes)[0].legend(loc="lower left")
    return fig


def draw_error_vs_dimension(d: int, scale: float, N: int = 64, seed: int = 0, n_draws: int = 5, max_dim: int = 20_000):
    """Attention-output error against the feature dimension D for every construction (log-log).

    Taylor orders 1–8, (1 + x/p)^p for p in (1, 2, 3, 4, 6, 8), Performer with M = 4, 16, …, each
    kept while D ≤ ``max_dim``; Performer shows the mean ± std over ``n_draws`` draws of ω.
    """
    performer_dims = [4**k for k in range(1, 9) if 4**k <= max_dim]
    records = approximation_sweep(N, d, scale, seed, taylor_orders=range(1, 9), expdef_orders=(1, 2, 3, 4, 6, 8),
                                  performer_dims=performer_dims, n_draws=n_draws, max_dim=max_dim)
    fig, ax = style.figure(size=(6.4, 4.0))
    for method in ("taylor", "taylor_sym", "expdef", "performer"):
        rows = [r for r in records if r["method"] == method]
        D = np.array([r["D"] for r in rows])
        err = np.array([r["error"] for r in rows])
        marker = {"taylor": "o-", "taylor_sym": "^-", "expdef": "s--", "performer": "d-"}[method]
        ax.loglog(D, err, marker, color=_colour(method), ms=4, label=METHOD_STYLE[method][1])
        if method == "performer":
            sd = np.array([r["error_std"] for r in rows])
            ax.fill_between(D, np.maximum(err - sd, 1e-6), err + sd, color=_colour(method), alpha=0.2, lw=0)
            continue
        for r in rows:
            if not r["positive"]:
                ax.plot(r["D"], r["error"], "x", color=style.PALETTE["vermillion"], ms=9, mew=2)
            if method != "taylor_sym":
                below = method == "expdef"
                ax.annotate(f"p={r['p']}", (r["D"], r["error"]), textcoords="offset points",
                            xytext=(2, -10 if below else 4), fontsize=7, color=_colour(method))
    ax.axvline(N, color=style.PALETTE["grey"], lw=1, ls=":")
    ax.text(N * 1.1, 10, f"D = N = {N}", color=style.PALETTE["grey"], fontsize=8, va="top")
    ax.set_xlim(2, 1.5 * max_dim)
    ax.set_ylim(1e-4, 20)
    ax.set_xlabel("feature dimension $D$ (Performer: $M$)")
    ax.set_ylabel("relative error of the output")
    ax.set_title(f"d = {d}, std(q·k) = {scale:g}, N = {N}  (red ×: a denominator ≤ 0)")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def draw_singular_values(d: int, p: int, N: int = 64, scale: float = 1.0, seed: int = 0):
    """Singular values (σ_k/σ_1, log) of e^{QKᵀ}, the elu+1 kernel and the Taylor kernel of order p."""
    spectra = rank_study(N, d, (p,), scale, seed)
    k = np.arange(1, N + 1)
    fig, ax = style.figure(size="single")
    for key, method, ls in (("exact", "exact", "-"), ("elu", "elu", "-"), (f"taylor {p}", "taylor", "--")):
        s = spectra[key]
        label = {"exact": "standard attention $e^{QK^T}$", "elu": f"linear attention, elu+1 ({d} features)",
                 "taylor": f"Taylor order {p} ({feature_dim('taylor_sym', d, p)} features)"}[method]
        ax.semilogy(k, np.maximum(s / s[0], 1e-18), ls, color=_colour(method), label=label)
    ax.axvline(d, color=_colour("elu"), lw=0.8, ls=":")
    bound = feature_dim("taylor_sym", d, p)
    if bound <= N:
        ax.axvline(bound, color=_colour("taylor"), lw=0.8, ls=":")
    ax.axhline(1e-10, color=style.PALETTE["grey"], lw=0.8)
    ax.text(N, 1e-10, "rank threshold 1e-10 ", ha="right", va="bottom", fontsize=7, color=style.PALETTE["grey"])
    ranks = {key: int(np.sum(s > 1e-10 * s[0])) for key, s in spectra.items()}
    ax.set_ylim(1e-17, 3)
    ax.set_xlabel("index $k$")
    ax.set_ylabel("$\\sigma_k / \\sigma_1$")
    ax.set_title(f"N = {N}, d = {d}: ranks {ranks['exact']} (exact), {ranks['elu']} (elu+1), "
                 f"{ranks[f'taylor {p}']} (Taylor p = {p})", fontsize=10)
    ax.legend(loc="upper right", bbox_to_anchor=(1, 0.38), fontsize=8)
    return fig


def draw_feature_dimension(d: int, N: int, orders=range(1, 9)):
    """Feature dimension D against order p for the three constructions, with the sequence length N."""
    orders = list(orders)
    fig, ax = style.figure(size="single")
    for kind, marker in (("taylor", "o-"), ("taylor_sym", "^-"), ("expdef", "s--")):
        dims = [feature_dim(kind, d, p) for p in orders]
        ax.semilogy(orders, [float(v) for v in dims], marker, color=_colour(kind), ms=4, label=METHOD_STYLE[kind][1])
    ax.axhline(N, color=style.PALETTE["black"], lw=1.2, label=f"sequence length N = {N:,}: cheaper only below")
    ax.axhline(d, color=_colour("elu"), lw=1, ls=":", label=f"ordinary linear attention, D = d = {d}")
    ok = [p for p in orders if feature_dim("taylor_sym", d, p) <= N]
    best = max(ok) if ok else None
    ax.set_xlabel("order $p$")
    ax.set_ylabel("feature dimension $D$")
    ax.set_ylim(1, 1e20)
    ax.set_title(f"head size d = {d}: compressed Taylor fits under N up to p = {best}" if best
                 else f"head size d = {d}: even p = 1 gives more features than N")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def draw_performer_std(norms=(0.5, 1.0, 1.5), Ms=(16, 64, 256, 1024), d: int = 4, n_draws: int = 2000, seed: int = 0):
    """Measured relative std of Performer's estimate of e^{q·k} against M, with √((e^{‖q+k‖²}−1)/M)."""
    fig, ax = style.figure(size="single")
    colours = [style.PALETTE[c] for c in ("blue", "orange", "vermillion", "green")]
    for i, r in enumerate(norms):
        q = np.zeros(d)
        q[0] = r / 2
        measured = [float(np.std(est) / math.exp(q @ q)) for est in
                    (performer_estimates(q, q, M, n_draws, seed + M) for M in Ms)]
        ax.loglog(Ms, measured, "o", color=colours[i % 4], label=f"measured, ‖q+k‖ = {r:g}")
        ax.loglog(Ms, [performer_relative_std(q, q, M) for M in Ms], "-", color=colours[i % 4], lw=1)
    ax.set_xlabel("number of random features $M$")
    ax.set_ylabel("relative std of the estimate")
    ax.set_title("Performer: measured (dots) vs $\\sqrt{(e^{\\|q+k\\|^2}-1)/M}$ (lines)")
    ax.legend(fontsize=8)
    return fig


def draw_attention_maps(N: int = 32, d: int = 4, p: int = 2, scale: float = 1.0, seed: int = 0):
    """Heat maps of exact softmax attention, Taylor order p and Performer with M = D features."""
    Q, K, _ = make_qkv(N, d, scale, seed=seed)
    exact = attention_weights(Q, K)
    kt = kernel_matrix("taylor", Q, K, p)
    D = feature_dim("taylor", d, p)
    kp = kernel_matrix("performer", Q, K, omegas=sample_omegas(D, d, seed + 1))
    maps = [("exact softmax attention", exact), (f"Taylor p = {p} (D = {D})", kt / kt.sum(1, keepdims=True)),
            (f"Performer (M = {D})", kp / kp.sum(1, keepdims=True))]
    fig, axes = style.figure(1, 3, size="wide")
    vmax = float(exact.max())
    for ax, (title, A) in zip(axes, maps):
        im = ax.imshow(A, vmin=0, vmax=vmax, cmap="viridis")
        err = "" if A is exact else f"\nerror {relative_error(A, exact):.2f}"
        ax.set_title(title + err, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight $a_{ij}$")
    return fig
