"""Figures of chapter 8 (``draw_*`` return a matplotlib Figure). Imported only by the chapter:
the shuffle command must not load matplotlib, so ``lib.shuffle`` never imports this module."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lib import style

from . import analysis, core, planner

METHOD_LABELS = {
    "article": "article's method",
    "article-rejection": "article's method + rejection patch",
    "proportional": "proportional merge",
    "buckets": "random buckets",
    "in-memory": "in-memory shuffle",
}
METHOD_COLORS = {
    "article": style.PALETTE["vermillion"],
    "article-rejection": style.PALETTE["orange"],
    "proportional": style.PALETTE["blue"],
    "buckets": style.PALETTE["green"],
    "in-memory": style.PALETTE["purple"],
}
CHUNK_COLORS = [style.PALETTE[k] for k in ("sky", "orange", "green", "vermillion", "yellow", "purple", "blue", "grey")]


def _chunk_label(line: int, n: int) -> str:
    """Line ``j*n + i`` is ``"<letter j><i+1>"``: chunk A, B, ... and its place in the chunk."""
    return f"{chr(65 + line // n)}{line % n + 1}"


def chunk_grid_steps(m: int, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The article's method on ``m`` chunks of ``n`` lines, step by step (§3), plus the proportional merge.

    Returns ``original``, ``columns`` (each chunk shuffled) and ``rows`` (then each row
    shuffled), all of shape ``(n, m)`` holding line numbers (column ``j`` = chunk ``j``), and the
    output streams ``article`` (``rows`` read row by row) and ``proportional`` (the shuffled
    chunks merged by :func:`lib.shuffle.core.proportional_sources`), shape ``(m n,)``.
    """
    if not (isinstance(m, int) and isinstance(n, int) and 1 <= m <= len(CHUNK_COLORS) and 1 <= n <= 26):
        raise ValueError(f"m={m!r}, n={n!r}: need ints with 1 <= m <= {len(CHUNK_COLORS)} and 1 <= n <= 26")
    rng = np.random.default_rng(seed)
    original = np.arange(m * n).reshape(m, n).T  # (n, m)
    columns = np.stack([rng.permutation(original[:, j]) for j in range(m)], axis=1)  # (n, m)
    rows = np.stack([rng.permutation(columns[r]) for r in range(n)])  # (n, m)
    sources = core.proportional_sources(np.full(m, n, dtype=np.int64), m * n, rng)  # (mn,) chunk labels
    taken = np.zeros(m, dtype=np.int64)
    proportional = np.empty(m * n, dtype=np.int64)
    for k, j in enumerate(sources.tolist()):
        proportional[k] = columns[taken[j], j]
        taken[j] += 1
    return {"original": original, "columns": columns, "rows": rows, "article": rows.reshape(-1),
            "proportional": proportional}


def _cells(ax, grid: np.ndarray, n: int, fontsize: float) -> None:
    rows, cols = grid.shape
    for r in range(rows):
        for c in range(cols):
            line = int(grid[r, c])
            ax.add_patch(_rect(c, rows - 1 - r, CHUNK_COLORS[line // n]))
            ax.text(c + 0.5, rows - 0.5 - r, _chunk_label(line, n), ha="center", va="center", fontsize=fontsize)
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)


def _rect(x: float, y: float, color: str):
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    return Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, facecolor=color, alpha=0.55, edgecolor="none")


def draw_chunk_grid(m: int, n: int, seed: int = 0):
    """The article's method as a grid (columns = chunks, rows = line index), step by step, and the
    two output streams: read row by row (the article) and merged in proportion (exact)."""
    steps = chunk_grid_steps(m, n, seed)
    fig = style.figure(size=(9.0, 4.6))[0]
    fig.clear()  # drop the default axes: this figure lays out its own grid
    gs = fig.add_gridspec(3, 3, height_ratios=[max(n, 2) * 0.55, 0.5, 0.5])
    size = 9 if m * n <= 16 else 8 if m * n <= 25 else 7
    titles = {"original": "1. chunks of consecutive lines", "columns": "2. shuffle inside each chunk",
              "rows": "3. shuffle inside each row"}
    for i, key in enumerate(titles):
        ax = fig.add_subplot(gs[0, i])
        _cells(ax, steps[key], n, size)
        ax.set_title(titles[key], fontsize=10)
        if i == 0:
            ax.set_yticks(np.arange(n) + 0.5, [f"row {n - r}" for r in range(n)], fontsize=8)
            ax.tick_params(length=0)
    strip_size = 8 if m * n <= 24 else 6.5 if m * n <= 36 else 5.5
    for k, (key, label) in enumerate((("article", "4. output, row by row (article)"),
                                      ("proportional", "exact alternative: proportional merge"))):
        ax = fig.add_subplot(gs[1 + k, :])
        _cells(ax, steps[key][None, :], n, strip_size)
        ax.set_title(label, fontsize=9, loc="left", pad=2)
        if key == "article":
            for b in range(1, n):
                ax.axvline(b * m, color="black", lw=1.2)
    fig.suptitle(f"m = {m} chunks of n = {n} lines: every block of m output lines in the article's stream "
                 "has one line of each chunk", fontsize=10)
    return fig


def _order_labels(n_lines: int) -> list[str]:
    import itertools  # noqa: PLC0415

    letters = "abcdefgh"
    return ["".join(letters[i] for i in order) for order in itertools.permutations(range(n_lines))]


def draw_order_probabilities(methods, runs: int, *, exact: Mapping[str, np.ndarray],
                             ranks: Mapping[str, np.ndarray], chunk: int = 2):
    """Probability of each of the ``L!`` orders of a tiny file: exact (bars) and over ``runs``
    Monte Carlo runs (dots), one panel per method, with Pearson's chi-square against uniform."""
    methods = [methods] if isinstance(methods, str) else list(methods)
    n_orders = len(next(iter(exact.values())))
    n_lines = next((k for k in range(1, 9) if math.factorial(k) == n_orders), None)
    if n_lines is None:
        raise ValueError(f"exact laws have {n_orders} entries, which is not k! for a k from 1 to 8")
    fig, axes = style.figure(len(methods), 1, size=(9.0, 1.2 + 1.9 * len(methods)), sharex=True)
    axes = np.atleast_1d(axes)
    x = np.arange(n_orders)
    for ax, method in zip(axes, methods):
        counts = np.bincount(ranks[method][:runs], minlength=n_orders)
        stat, dof, p = analysis.chi_square_uniformity(counts)
        ax.bar(x, exact[method], color=METHOD_COLORS[method], alpha=0.45, label="exact (enumeration)")
        ax.plot(x, counts / runs, "o", ms=4, color=METHOD_COLORS[method], label=f"{runs:,} runs")
        ax.axhline(1 / n_orders, color=style.PALETTE["grey"], ls="--", lw=1, label=f"uniform 1/{n_orders}")
        ax.set_ylim(0, 0.085 if n_orders == 24 else None)
        ax.set_ylabel("probability")
        ax.set_title(f"{METHOD_LABELS[method]}: chi-square vs uniform {stat:,.1f} on {dof} dof, p = {p:.2g}",
                     fontsize=10, loc="left")
    axes[0].legend(loc="upper right", ncols=3, fontsize=8)
    axes[-1].set_xticks(x, _order_labels(n_lines), rotation=90, fontsize=8, family="monospace")
    axes[-1].set_xlabel(f"output order (lines a, b form chunk 1 and c, d chunk 2; {chunk} lines per chunk)"
                        if n_lines == 4 else "output order")
    return fig


def draw_position_and_pairs(method: str, shape: tuple[int, int], *, orders: Mapping):
    """Two heat maps from sampled output orders of ``m`` chunks of ``n`` lines (``shape = (m, n)``):
    P(line i at position p) and P(lines i and j share an output row of m positions)."""
    m, n = shape
    sample = orders[method, shape]
    runs, size = sample.shape
    pos = analysis.position_frequencies(sample)
    pairs = analysis.same_row_frequencies(sample, m)
    np.fill_diagonal(pairs, np.nan)
    fig, (a, b) = style.figure(1, 2, size=(9.0, 4.0))
    im = a.imshow(pos, vmin=0, vmax=2 / size, cmap="viridis", interpolation="nearest")
    a.set_title(f"P(line i lands at position p)\nuniform: 1/{size} = {1 / size:.3f}", fontsize=10)
    a.set_xlabel("output position p")
    a.set_ylabel("input line i")
    fig.colorbar(im, ax=a, shrink=0.8)
    uniform = (m - 1) / (m * n - 1)
    im = b.imshow(pairs, vmin=0, vmax=2 / n, cmap="magma", interpolation="nearest")
    b.set_title(f"P(lines i and j in the same output row)\nuniform: {uniform:.3f}; article: 0 or 1/n = {1 / n:.3f}",
                fontsize=10)
    b.set_xlabel("input line j")
    b.set_ylabel("input line i")
    fig.colorbar(im, ax=b, shrink=0.8)
    for ax in (a, b):
        ax.grid(False)
    for k in range(1, m):  # chunk boundaries
        b.axhline(k * n - 0.5, color="white", lw=0.6, alpha=0.6)
        b.axvline(k * n - 0.5, color="white", lw=0.6, alpha=0.6)
    fig.suptitle(f"{METHOD_LABELS[method]}, m = {m} chunks of n = {n} lines, {runs:,} runs", fontsize=11)
    return fig


def draw_last_chunk(n_lines: int, lines_per_chunk: int = 1000, seed: int = 0, runs: int = 4):
    """Where the lines of a short last chunk end up (§5): histogram of their relative output
    positions over ``runs`` runs, for the reference behaviour, the rejection patch and the
    proportional merge."""
    sizes = analysis.chunk_sizes(n_lines, lines_per_chunk)
    r, m = sizes[-1], len(sizes)
    positions = analysis.last_chunk_positions(n_lines, lines_per_chunk, seed, runs=runs)
    fig, ax = style.figure(size="wide")
    bins = np.linspace(0, 1, 41)
    for method, pos in positions.items():
        ax.hist(pos, bins=bins, density=True, histtype="step", lw=2, color=METHOD_COLORS[method],
                label=f"{METHOD_LABELS[method]} (mean {pos.mean():.3f})")
    if r < lines_per_chunk:
        ax.axvline(r * m / n_lines, color=style.PALETTE["grey"], ls=":", lw=1.2)
        ax.text(r * m / n_lines, 0.15, f"  end of the first r·m = {r * m:,} positions", fontsize=8,
                va="bottom", color=style.PALETTE["grey"])
    ax.axhline(1.0, color=style.PALETTE["grey"], ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("relative output position of the last chunk's lines")
    ax.set_ylabel("density")
    ax.set_title(f"{n_lines:,} lines in chunks of {lines_per_chunk:,}: the last chunk has r = {r:,} lines "
                 f"(m = {m} chunks); {runs} runs", fontsize=10)
    ax.set_ylim(0, 2.6)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _plain_log_ticks(axis) -> None:
    """Label a log axis with plain numbers (1, 10, 1,000) instead of mathtext powers (faster to draw)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: PLC0415

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _fmt_bytes(x: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.0f} B"


def _fmt_hours(s: float) -> str:
    return f"{s / 3600:.2g} h" if s >= 3600 else f"{s / 60:.2g} min"


def draw_plan(file_gb: float, memory_gb: float, mean_line_bytes: float = 1000.0, fd_limit: int = 1024,
              bandwidths_mb_s: Sequence[float] = (150, 500, 2000)):
    """The planner (§9.5) for a file of ``file_gb`` GB and ``memory_gb`` GB of memory: files open at
    once for four ways of cutting the work (random buckets with a fan-out of half the limit), disk
    needed, and the time the I/O alone takes."""
    s, mem = file_gb * 1e9, memory_gb * 1e9
    py = planner.plan_chunks(s, mem, mean_line_bytes, planner.PYTHON_BYTES_OVERHEAD, fd_limit=fd_limit)
    raw = planner.plan_chunks(s, mem, mean_line_bytes, 0, fd_limit=fd_limit)
    script = planner.plan_chunks(s, mem, mean_line_bytes, 0, lines_per_chunk=100_000, fd_limit=fd_limit)
    buckets = planner.plan_buckets(s, mem, mean_line_bytes, 0, fanout=fd_limit // 2)  # room for other files
    fig, (a, b, c) = style.figure(1, 3, size=(9.0, 3.6))
    labels = ["M-sized\n(bytes)", "M-sized\n(Python)", "100k-line\n(script)", "random\nbuckets"]
    opens = [raw.n_chunks, py.n_chunks, script.n_chunks, buckets.open_files]
    colors = [style.PALETTE["blue"] if v <= fd_limit else style.PALETTE["vermillion"] for v in opens]
    a.bar(range(4), opens, color=colors)
    a.axhline(fd_limit, color="black", ls="--", lw=1)
    a.text(3.4, fd_limit * 1.15, f"ulimit -n {fd_limit}", ha="right", fontsize=8)
    a.set_yscale("log")
    a.set_ylim(0.8, max(opens + [fd_limit]) * 6)
    _plain_log_ticks(a.yaxis)
    for i, v in enumerate(opens):
        a.text(i, v * 1.15, f"{v:,}", ha="center", fontsize=8)
    a.set_xticks(range(4), labels, fontsize=8)
    a.set_title("files open at once", fontsize=10)
    disk = {"input": s, "temp": s, "output": s}
    b.bar(range(3), list(disk.values()), color=style.PALETTE["sky"])
    b.bar([3, 4], [raw.peak_disk_bytes, buckets.peak_disk_bytes], color=style.PALETTE["orange"])
    b.set_xticks(range(5), ["input", "temp", "output", "peak\n(chunks)", "peak\n(buckets)"], fontsize=7)
    b.set_ylabel("GB")
    b.yaxis.set_major_formatter(lambda v, _: f"{v / 1e9:g}")
    b.set_title(f"disk: peak {_fmt_bytes(raw.peak_disk_bytes)} / {_fmt_bytes(buckets.peak_disk_bytes)}", fontsize=10)
    hours = [raw.total_io_bytes / (bw * 1e6) / 3600 for bw in bandwidths_mb_s]
    c.bar(range(len(hours)), hours, color=style.PALETTE["green"])
    for i, h in enumerate(hours):
        c.text(i, h, _fmt_hours(h * 3600), ha="center", va="bottom", fontsize=8)
    c.set_xticks(range(len(hours)), [f"{bw:g} MB/s" for bw in bandwidths_mb_s], fontsize=8)
    c.set_ylabel("hours")
    c.set_title(f"I/O-bound time: {_fmt_bytes(raw.total_io_bytes)} moved", fontsize=10)
    rep = planner.REPORTED["article"]
    if math.isclose(s, rep["corpus_bytes"]):
        for h, name in ((rep["terashuf_hours"], "terashuf"), (rep["python_hours"], "article's Python")):
            c.axhline(h, color=style.PALETTE["vermillion"], ls=":", lw=1.2)
            c.text(len(hours) - 0.5, h, f"{name}: {h} h (reported)", ha="right", va="bottom", fontsize=7,
                   color=style.PALETTE["vermillion"])
    fig.suptitle(f"S = {_fmt_bytes(s)}, M = {_fmt_bytes(mem)}, lines of {mean_line_bytes:g} B: "
                 f"{raw.lines_per_chunk:,} lines per chunk ({py.lines_per_chunk:,} as Python bytes), "
                 f"{buckets.n_buckets:,} buckets in {buckets.levels} level(s)", fontsize=9)
    return fig


def draw_reported_throughput():
    """End-to-end throughput (MB/s) of the runs the article and terashuf's README report (not measured here)."""
    rep = planner.REPORTED
    names, rates, colors = [], [], []
    for row in rep["terashuf_readme"]:
        names.append(f"{row['tool']}, {row['memory_gb']} GB memory\n(terashuf README, 20 GB dump)")
        rates.append(planner.throughput(rep["terashuf_readme_data_bytes"], row["real_s"]) / 1e6)
        colors.append(style.PALETTE["sky"])
    art = rep["article"]
    for key, name in (("terashuf_hours", "terashuf"), ("python_hours", "article's Python script")):
        names.append(f"{name}\n(article, 280 GB)")
        rates.append(planner.throughput(art["corpus_bytes"], art[key] * 3600) / 1e6)
        colors.append(style.PALETTE["orange"])
    fig, ax = style.figure(size=(9.0, 3.6))
    y = np.arange(len(names))[::-1]
    ax.barh(y, rates, color=colors)
    for yi, r in zip(y, rates):
        ax.text(r * 1.08, yi, f"{r:.3g} MB/s", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(1, 1000)
    _plain_log_ticks(ax.xaxis)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("input bytes / wall time (MB/s), as reported")
    ax.set_title("Reported runs on other machines (not measured here)", fontsize=10)
    return fig


def draw_benchmark(rows: Sequence[Mapping], budget_bytes: int):
    """Measured runs on this machine: wall and CPU time per tool at one budget, and peak memory
    above each tool's empty-file run against the memory budget."""
    fig, (a, b) = style.figure(1, 2, size=(9.0, 4.2))
    at = [r for r in rows if r["budget_bytes"] in (budget_bytes, 0)]
    names = [r["tool"] for r in at]
    y = np.arange(len(at))[::-1]
    a.barh(y + 0.2, [r["wall_s"] for r in at], height=0.4, color=style.PALETTE["blue"], label="wall")
    a.barh(y - 0.2, [r["cpu_s"] for r in at], height=0.4, color=style.PALETTE["orange"], label="CPU (user + sys)")
    a.plot([r.get("baseline_cpu_s", np.nan) for r in at], y - 0.2, "k|", ms=14, mew=2,
           label="CPU on an empty file (start-up)")
    a.set_yticks(y, names, fontsize=8)
    a.set_xlabel("seconds")
    a.set_title(f"time, budget {budget_bytes / 2**20:g} MiB (shuf: none)", fontsize=10)
    a.legend(loc="upper center", bbox_to_anchor=(0.45, -0.2), ncols=2, fontsize=7)
    mib = 2**20
    for tool, color in (("engine", style.PALETTE["blue"]), ("python (buckets)", style.PALETTE["green"]),
                        ("python (article)", style.PALETTE["vermillion"])):
        pts = sorted((r["budget_bytes"], r["rss_above_baseline_bytes"]) for r in rows if r["tool"] == tool)
        if pts:
            xs, ys = zip(*pts)
            b.plot(np.array(xs) / mib, np.array(ys) / mib, "o-", color=color, label=tool)
    for r in rows:
        if r["tool"] == "shuf":
            b.axhline(r["rss_above_baseline_bytes"] / mib, color=style.PALETTE["grey"], ls="-.", lw=1,
                      label="shuf (no budget)")
    budgets = sorted({r["budget_bytes"] for r in rows if r["budget_bytes"]})
    if budgets:
        line = np.array([budgets[0], budgets[-1]]) / mib
        b.plot(line, line, "k--", lw=1, label="= budget")
    b.set_xscale("log", base=2)
    b.set_yscale("log", base=2)
    _plain_log_ticks(b.xaxis)
    _plain_log_ticks(b.yaxis)
    b.set_xlabel("memory budget (MiB)")
    b.set_ylabel("peak RSS above empty-file run (MiB)")
    b.set_title("memory", fontsize=10)
    b.legend(fontsize=7, loc="upper left")
    fig.suptitle("Measured when this page was built (one run each; shared machine)", fontsize=10)
    return fig
