"""Exact laws and statistics of the shuffles of chapter 8, for files small enough to enumerate.

Lines are numbered ``0 .. L-1`` in input order and a shuffle's output is the tuple of line
numbers in output order. A chunk layout is a list of chunk sizes ``[n_1, ..., n_m]``: chunk
``j`` holds the next ``n_j`` consecutive lines.

Exact laws (``*_law``) enumerate every random choice of a method with ``fractions.Fraction``
probabilities, by brute force, without using the engine: they are the references the engine's
in-memory cores (:mod:`lib.shuffle.core`) are tested against, and the closed forms of chapter 8
(§9.1 reachable count, §9.3 and §9.4 uniformity, §5 the short last chunk) are tested against them.

Statistics on samples: :func:`sample_orders` runs a method many times (the engine's cores, or
:func:`article_rejection_merge`, the article's patch for a short last chunk, which the engine
does not have), :func:`order_ranks` and :func:`chi_square_gof` test uniformity over the ``L!``
orders, :func:`position_frequencies` and :func:`same_row_frequencies` give the heat maps of
"uniform marginals are not a uniform shuffle" (§9.2).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction

import numpy as np

from . import core

MAX_OUTCOMES = 2_000_000  # refuse enumerations with more random outcomes than this (they would hang)
SAMPLE_METHODS = ("article", "article-rejection", "proportional", "buckets", "in-memory")

Law = dict[tuple[int, ...], Fraction]


# ----------------------------------------------------------------------------- argument checks

def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < low:
        raise ValueError(f"{name}={value!r} must be at least {low}")
    return int(value)


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes={sizes!r} must be a sequence of chunk sizes (ints)")
    out = [_check_int("sizes[]", s) for s in sizes]
    if not out:
        raise ValueError("sizes must name at least one chunk")
    return out


def _check_outcomes(count: int, what: str) -> None:
    if count > MAX_OUTCOMES:
        raise ValueError(f"{what} has {count} random outcomes to enumerate, more than MAX_OUTCOMES="
                         f"{MAX_OUTCOMES}: use a smaller file (or sample_orders)")


def chunk_sizes(n_lines: int, lines_per_chunk: int) -> list[int]:
    """Sizes of the chunks of consecutive lines: full chunks of ``lines_per_chunk``, then the rest."""
    n_lines = _check_int("n_lines", n_lines)
    lines_per_chunk = _check_int("lines_per_chunk", lines_per_chunk)
    full, rest = divmod(n_lines, lines_per_chunk)
    return [lines_per_chunk] * full + ([rest] if rest else [])


def _chunk_lines(sizes: Sequence[int]) -> list[list[int]]:
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()
    return [list(range(a, a + s)) for a, s in zip(starts, sizes)]


def _rows_present(sizes: Sequence[int]) -> list[list[int]]:
    """Chunks that still have a line at row ``r`` (the reference script's behaviour, §5)."""
    return [[j for j, s in enumerate(sizes) if s > r] for r in range(max(sizes))]


# ----------------------------------------------------------------------------- exact laws

def article_reachable_count(sizes: Sequence[int]) -> int:
    """Number of output orders the article's method can produce: ``prod_j n_j! * prod_r c_r!``.

    ``c_r`` is the number of chunks with a line in row ``r``. With ``m`` equal chunks of ``n``
    lines this is ``(n!)^m (m!)^n`` (chapter 8, §9.1). Every combination of in-chunk orders
    and row orders gives a different output, so each reachable order has probability
    ``1 / count``.
    """
    sizes = _check_sizes(sizes)
    count = math.prod(math.factorial(s) for s in sizes)
    return count * math.prod(math.factorial(len(p)) for p in _rows_present(sizes))


def article_law(sizes: Sequence[int]) -> Law:
    """Exact law of the article's method (§3): shuffle each chunk, then emit row by row.

    Row ``r`` holds line ``r`` of every chunk that has one, in a uniformly random order
    (a short chunk drops out of later rows, as in the reference script). Enumerates all
    ``prod n_j! * prod c_r!`` equally likely choices.
    """
    sizes = _check_sizes(sizes)
    count = article_reachable_count(sizes)
    _check_outcomes(count, f"article_law({sizes})")
    p = Fraction(1, count)
    law: Law = {}
    for inner in itertools.product(*(itertools.permutations(c) for c in _chunk_lines(sizes))):
        for rows in itertools.product(*(itertools.permutations(c) for c in _rows_present(sizes))):
            out = tuple(inner[j][r] for r, row in enumerate(rows) for j in row)
            law[out] = law.get(out, 0) + p
    return law


def reachable_rows(shapes: Sequence[tuple[int, int]], max_enumerated_lines: int = 9) -> list[dict]:
    """For each ``(m, n)``: reachable orders of the article's method by the formula, all ``(mn)!``
    orders, the fraction, and (for at most ``max_enumerated_lines`` lines) the count enumerated."""
    rows = []
    for m, n in shapes:
        m, n = _check_int("m", m), _check_int("n", n)
        formula = article_reachable_count([n] * m)
        total = math.factorial(m * n)
        enumerated = len(article_law([n] * m)) if m * n <= max_enumerated_lines else None
        rows.append({"m": m, "n": n, "reachable": formula, "total": total, "fraction": formula / total,
                     "enumerated": enumerated})
    return rows


def selection_patterns(n_rows: int, n_selected: int) -> Iterator[tuple[tuple[bool, ...], Fraction]]:
    """Yield ``(pattern, probability)`` of the rows a short chunk joins under rejection sampling.

    At row ``k`` (0-based) a chunk with ``rem`` lines left joins with probability
    ``rem / (n_rows - k)``, i.e. it is rejected at the article's rate ``1 - rem/(lines left in a
    full chunk)`` (§5). This is Knuth's selection sampling (Algorithm S); every
    ``n_selected``-subset of rows comes out with probability ``1 / C(n_rows, n_selected)``.
    """
    n_rows = _check_int("n_rows", n_rows)
    n_selected = _check_int("n_selected", n_selected, 0)
    if n_selected > n_rows:
        raise ValueError(f"n_selected={n_selected} must be at most n_rows={n_rows}")

    def walk(k: int, rem: int, prefix: tuple[bool, ...], p: Fraction):
        if k == n_rows:
            yield prefix, p
            return
        take = Fraction(rem, n_rows - k)
        if take > 0:
            yield from walk(k + 1, rem - 1, prefix + (True,), p * take)
        if take < 1:
            yield from walk(k + 1, rem, prefix + (False,), p * (1 - take))

    yield from walk(0, n_selected, (), Fraction(1))


def article_rejection_law(sizes: Sequence[int]) -> Law:
    """Exact law of the article's method with the rejection-sampling patch for short chunks (§5).

    Every chunk shorter than the longest (``n`` lines) joins row ``k`` with probability
    ``(its lines left) / (n - k)``, independently of the others; full chunks join every row.
    Within a row the joining chunks come in a uniformly random order, as before.
    """
    sizes = _check_sizes(sizes)
    n = max(sizes)
    chunks = _chunk_lines(sizes)
    per_chunk = [list(selection_patterns(n, s)) for s in sizes]
    n_patterns = math.prod(len(p) for p in per_chunk)
    _check_outcomes(n_patterns * article_reachable_count(sizes), f"article_rejection_law({sizes})")
    law: Law = {}
    for combo in itertools.product(*per_chunk):
        p_pattern = math.prod((p for _, p in combo), start=Fraction(1))
        present = [[j for j, (pat, _) in enumerate(combo) if pat[r]] for r in range(n)]
        # line index of chunk j used in row r: how many rows chunk j joined before r
        slot = [np.cumsum((0,) + pat[:-1]).tolist() for pat, _ in combo]
        n_choices = math.prod(math.factorial(s) for s in sizes) * math.prod(math.factorial(len(c)) for c in present)
        p = p_pattern / n_choices
        for inner in itertools.product(*(itertools.permutations(c) for c in chunks)):
            for rows in itertools.product(*(itertools.permutations(c) for c in present)):
                out = tuple(inner[j][slot[j][r]] for r, row in enumerate(rows) for j in row)
                law[out] = law.get(out, 0) + p
    return law


def _label_sequences(remaining: list[int]) -> Iterator[tuple[tuple[int, ...], Fraction]]:
    """Every sequence of chunk labels of the proportional merge, with its probability."""
    total = sum(remaining)
    if total == 0:
        yield (), Fraction(1)
        return
    for j, r in enumerate(remaining):
        if r:
            remaining[j] -= 1
            for rest, p in _label_sequences(remaining):
                yield (j,) + rest, Fraction(r, total) * p
            remaining[j] += 1


def proportional_law(sizes: Sequence[int]) -> Law:
    """Exact law of the proportional merge (§9.3): shuffle each chunk, then draw the next
    output line's chunk with probability (its lines left) / (all lines left)."""
    sizes = _check_sizes(sizes)
    _check_outcomes(math.factorial(sum(sizes)), f"proportional_law({sizes})")
    chunks = _chunk_lines(sizes)
    p_inner = Fraction(1, math.prod(math.factorial(s) for s in sizes))
    law: Law = {}
    for labels, p_labels in _label_sequences(list(sizes)):
        for inner in itertools.product(*(itertools.permutations(c) for c in chunks)):
            taken = [0] * len(sizes)
            out = []
            for j in labels:
                out.append(inner[j][taken[j]])
                taken[j] += 1
            key = tuple(out)
            law[key] = law.get(key, 0) + p_labels * p_inner
    return law


def bucket_law(n_lines: int, n_buckets: int) -> Law:
    """Exact law of the random-bucket method (§9.4): every line to an independent uniform
    bucket, each bucket shuffled, buckets concatenated in order."""
    n_lines = _check_int("n_lines", n_lines)
    n_buckets = _check_int("n_buckets", n_buckets)
    # sum over assignments of prod c_b! = L! * (number of bucket-size vectors)
    _check_outcomes(math.factorial(n_lines) * math.comb(n_lines + n_buckets - 1, n_buckets - 1),
                    f"bucket_law({n_lines}, {n_buckets})")
    law: Law = {}
    p_assign = Fraction(1, n_buckets ** n_lines)
    for assign in itertools.product(range(n_buckets), repeat=n_lines):
        members = [[i for i in range(n_lines) if assign[i] == b] for b in range(n_buckets)]
        p = p_assign / math.prod(math.factorial(len(c)) for c in members)
        for inner in itertools.product(*(itertools.permutations(c) for c in members)):
            out = tuple(i for part in inner for i in part)
            law[out] = law.get(out, 0) + p
    return law


def bucket_probability_closed_form(n_lines: int, n_buckets: int) -> Fraction:
    """``P(sigma) = k^-L * sum over bucket-size vectors c of prod_b 1/c_b!`` (§9.4), summed term by term.

    By the multinomial theorem the sum is ``k^L / L!``, so this equals ``1/L!`` for every
    permutation: the method is uniform.
    """
    n_lines = _check_int("n_lines", n_lines)
    n_buckets = _check_int("n_buckets", n_buckets)
    total = Fraction(0)
    for c in itertools.product(range(n_lines + 1), repeat=n_buckets):
        if sum(c) == n_lines:
            total += Fraction(1, math.prod(math.factorial(x) for x in c))
    return total / n_buckets ** n_lines


def law_probability(law: Law, event: Callable[[tuple[int, ...]], bool]) -> Fraction:
    """Exact probability of ``event(order)`` under ``law``."""
    return sum((p for order, p in law.items() if event(order)), start=Fraction(0))


def law_position_matrix(law: Law) -> np.ndarray:
    """``P[i, p]`` = probability that line ``i`` lands at output position ``p`` (floats)."""
    size = len(next(iter(law)))
    out = np.zeros((size, size))
    for order, p in law.items():
        out[list(order), np.arange(size)] += float(p)
    return out


def law_vector(law: Law, n_lines: int) -> np.ndarray:
    """Probabilities of all ``n_lines!`` orders, in lexicographic order (0 for unreachable ones)."""
    return np.array([float(law.get(order, 0)) for order in itertools.permutations(range(n_lines))])


# ----------------------------------------------------------------------------- closed forms (§9.2)

def same_row_probability(m: int, n: int, same_chunk: bool, method: str) -> Fraction:
    """P(two given lines share an output row of ``m`` positions), ``m`` equal chunks of ``n`` lines.

    Article's method: 0 for two lines of one chunk, ``1/n`` for lines of different chunks.
    A uniform shuffle: ``(m - 1) / (mn - 1)`` for any two lines.
    """
    m, n = _check_int("m", m), _check_int("n", n)
    if method == "article":
        return Fraction(0) if same_chunk else Fraction(1, n)
    if method == "uniform":
        return Fraction(m - 1, m * n - 1)
    raise ValueError(f"method={method!r} must be 'article' or 'uniform'")


def expected_same_chunk_pairs(m: int, n: int) -> Fraction:
    """Mean number of same-chunk pairs inside an output row under a uniform shuffle:
    ``C(m, 2) (n - 1) / (mn - 1)`` (§9.2). The article's method always gives 0."""
    m, n = _check_int("m", m), _check_int("n", n)
    return math.comb(m, 2) * Fraction(n - 1, m * n - 1)


def same_chunk_pairs_per_row(order: Sequence[int], chunk_of: Sequence[int], m: int) -> np.ndarray:
    """Number of pairs of lines from one chunk in each output row (consecutive blocks of ``m``).

    ``order``: output order (line numbers); ``chunk_of[i]``: the chunk of line ``i``. A last,
    partial row is counted too.
    """
    m = _check_int("m", m)
    labels = np.asarray(chunk_of)[np.asarray(order)]  # (L,) chunk of each output position
    n_rows = -(-labels.size // m)
    padded = np.full(n_rows * m, -1, dtype=np.int64)
    padded[:labels.size] = labels
    rows = np.sort(padded.reshape(n_rows, m), axis=1)  # (rows, m)
    out = np.zeros(n_rows, dtype=np.int64)
    for a in range(m):  # pairs (a, b) with equal labels, a < b
        for b in range(a + 1, m):
            out += (rows[:, a] == rows[:, b]) & (rows[:, a] >= 0)
    return out


def runs_of_equal_lines(lines: Sequence) -> int:
    """Number of maximal runs of equal consecutive items (``a a b a`` has 3). Identical lines
    grouped together, as ``sort -R`` leaves them, give one run per distinct line."""
    return sum(1 for i, x in enumerate(lines) if i == 0 or x != lines[i - 1])


# ----------------------------------------------------------------------------- sampling

def article_rejection_merge(lines: Sequence, chunk_lines: int, rng: np.random.Generator) -> list:
    """The article's method with its rejection-sampling patch for a short last chunk (§5).

    Cut into chunks of ``chunk_lines`` consecutive lines and shuffle each; then for row
    ``k = 0, 1, ...`` every chunk with ``rem`` lines left joins with probability
    ``rem / (n - k)`` (``n`` = the longest chunk; full chunks always join) and the joining chunks
    emit their next line in a random order. Not in the engine: the chapter's patch.
    """
    chunk_lines = _check_int("chunk_lines", chunk_lines)
    chunks = [list(lines[i:i + chunk_lines]) for i in range(0, len(lines), chunk_lines)]
    chunks = [[c[i] for i in rng.permutation(len(c))] for c in chunks]
    if not chunks:
        return []
    n = max(len(c) for c in chunks)
    taken = [0] * len(chunks)
    out = []
    for k in range(n):
        rem = np.array([len(c) - t for c, t in zip(chunks, taken)])
        joins = np.flatnonzero(rng.random(len(chunks)) * (n - k) < rem)
        for j in rng.permutation(joins).tolist():
            out.append(chunks[j][taken[j]])
            taken[j] += 1
    return out


def sample_orders(method: str, n_lines: int, runs: int, seed: int, *, lines_per_chunk: int | None = None,
                  n_buckets: int | None = None) -> np.ndarray:
    """Return ``runs`` output orders of ``n_lines`` lines, shape ``(runs, n_lines)``.

    ``method``: ``"article"``, ``"proportional"``, ``"buckets"`` (the engine's in-memory cores
    :func:`~lib.shuffle.core.article_merge_lines`, ``proportional_merge_lines``,
    ``bucket_shuffle_lines``), ``"article-rejection"`` (:func:`article_rejection_merge`) or
    ``"in-memory"`` (one uniform permutation, as ``shuf`` does). The chunk methods need
    ``lines_per_chunk``, the bucket method ``n_buckets``.
    """
    if method not in SAMPLE_METHODS:
        raise ValueError(f"method={method!r} must be one of {', '.join(SAMPLE_METHODS)}")
    n_lines, runs = _check_int("n_lines", n_lines), _check_int("runs", runs)
    rng = np.random.default_rng(seed)
    lines = list(range(n_lines))
    if method == "in-memory":
        return np.stack([rng.permutation(n_lines) for _ in range(runs)])
    if method == "buckets":
        k = _check_int("n_buckets", n_buckets)
        return np.array([core.bucket_shuffle_lines(lines, k, rng) for _ in range(runs)])
    c = _check_int("lines_per_chunk", lines_per_chunk)
    step = {"article": core.article_merge_lines, "proportional": core.proportional_merge_lines,
            "article-rejection": article_rejection_merge}[method]
    return np.array([step(lines, c, rng) for _ in range(runs)])


def order_ranks(orders: np.ndarray) -> np.ndarray:
    """Lexicographic rank (0 .. L!-1) of each row of ``orders`` (shape ``(runs, L)``), by its Lehmer code."""
    orders = np.asarray(orders)
    if orders.ndim != 2:
        raise ValueError(f"orders must be a 2-d array (runs, L), got shape {orders.shape}")
    size = orders.shape[1]
    ranks = np.zeros(orders.shape[0], dtype=np.int64)
    for i in range(size):
        smaller_later = (orders[:, i + 1:] < orders[:, i:i + 1]).sum(axis=1)  # (runs,)
        ranks += smaller_later * math.factorial(size - 1 - i)
    return ranks


def order_counts(orders: np.ndarray) -> np.ndarray:
    """How often each of the ``L!`` orders occurs among the rows of ``orders`` (lexicographic order)."""
    orders = np.asarray(orders)
    return np.bincount(order_ranks(orders), minlength=math.factorial(orders.shape[1]))


def chi_square_gof(counts, probs) -> tuple[float, int, float]:
    """Pearson's chi-square test of observed ``counts`` against cell probabilities ``probs``.

    Returns ``(statistic, degrees of freedom, p-value)``, the p-value from the chi-square
    distribution (scipy). Cells of probability 0 are left out of the statistic, but a count
    in one of them is impossible under the law: then the statistic is ``inf`` and p = 0.
    Raises ValueError if an expected count (of a possible cell) is below 5.
    """
    from scipy import stats  # noqa: PLC0415

    counts = np.asarray(counts, dtype=float)
    probs = np.asarray(probs, dtype=float)
    if counts.shape != probs.shape or counts.ndim != 1:
        raise ValueError(f"counts {counts.shape} and probs {probs.shape} must be 1-d of the same length")
    if (probs < 0).any() or not math.isclose(probs.sum(), 1.0, rel_tol=1e-9):
        raise ValueError(f"probs must be non-negative and sum to 1 (sum {probs.sum()!r})")
    possible = probs > 0
    expected = counts.sum() * probs[possible]
    if expected.min() < 5:
        raise ValueError(f"an expected count is {expected.min():.3g} < 5: use more runs (counts sum {counts.sum():g})")
    dof = int(possible.sum()) - 1
    if counts[~possible].any():
        return math.inf, dof, 0.0
    stat = float(((counts[possible] - expected) ** 2 / expected).sum())
    return stat, dof, float(stats.chi2.sf(stat, dof))


def chi_square_uniformity(counts) -> tuple[float, int, float]:
    """:func:`chi_square_gof` against the uniform law over all cells of ``counts``."""
    counts = np.asarray(counts)
    return chi_square_gof(counts, np.full(counts.size, 1 / counts.size))


def output_positions(orders: np.ndarray) -> np.ndarray:
    """``pos[r, i]`` = output position of line ``i`` in run ``r`` (the inverse permutations)."""
    orders = np.asarray(orders)
    pos = np.empty_like(orders)
    np.put_along_axis(pos, orders, np.arange(orders.shape[1])[None, :].repeat(orders.shape[0], 0), axis=1)
    return pos


def position_frequencies(orders: np.ndarray) -> np.ndarray:
    """``F[i, p]`` = fraction of runs in which line ``i`` is at output position ``p``."""
    orders = np.asarray(orders)
    runs, size = orders.shape
    freq = np.zeros((size, size))
    np.add.at(freq, (orders, np.arange(size)[None, :]), 1.0)
    return freq / runs


def same_row_frequencies(orders: np.ndarray, m: int) -> np.ndarray:
    """``F[i, j]`` = fraction of runs in which lines ``i`` and ``j`` share an output row of ``m`` positions."""
    m = _check_int("m", m)
    rows = output_positions(orders) // m  # (runs, L)
    return (rows[:, :, None] == rows[:, None, :]).mean(axis=0)


def last_chunk_positions(n_lines: int, lines_per_chunk: int, seed: int, runs: int = 1) -> dict[str, np.ndarray]:
    """Relative output positions ``(p + 0.5) / L`` of the last chunk's lines over ``runs`` runs (§5).

    Methods: the article's method as the reference script does it (``"article"``), with the
    rejection-sampling patch (``"article-rejection"``) and the proportional merge.
    """
    n_lines = _check_int("n_lines", n_lines)
    lines_per_chunk = _check_int("lines_per_chunk", lines_per_chunk)
    runs = _check_int("runs", runs)
    first_of_last = (n_lines - 1) // lines_per_chunk * lines_per_chunk
    out = {}
    for i, method in enumerate(("article", "article-rejection", "proportional")):
        orders = sample_orders(method, n_lines, runs, seed + i, lines_per_chunk=lines_per_chunk)
        pos = np.nonzero(orders >= first_of_last)[1]  # (runs * r,) output positions
        out[method] = (pos + 0.5) / n_lines
    return out
