"""lib.shuffle.analysis (chapter 8): exact laws against closed forms and brute-force characterisations,
the engine's shuffles (in memory and through files) against the exact laws, and the statistics."""
import itertools
import math
import sys
import tracemalloc
from fractions import Fraction
from io import BytesIO

import numpy as np
import pytest
from scipy import stats

from lib.shuffle import analysis as A
from lib.shuffle import shuffle_file

ALPHA = 1e-3  # significance level of every statistical test here (fixed seeds: deterministic)


def one_line_per_chunk_per_row(order, sizes):
    """Independent characterisation of the article's reachable orders with equal chunks: every
    output row of m lines holds exactly one line of each chunk."""
    m = len(sizes)
    chunk = np.repeat(np.arange(m), sizes)
    labels = chunk[list(order)]
    return all(sorted(labels[r * m:(r + 1) * m]) == list(range(m)) for r in range(len(order) // m))


@pytest.mark.parametrize("m, n", [(2, 2), (2, 3), (3, 2), (3, 3)])
def test_article_law_is_uniform_on_the_orders_with_one_line_of_each_chunk_per_row(m, n):
    sizes = [n] * m
    law = A.article_law(sizes)
    reachable = {o for o in itertools.permutations(range(m * n)) if one_line_per_chunk_per_row(o, sizes)}
    assert set(law) == reachable  # brute force over all (mn)! orders
    assert len(law) == math.factorial(n) ** m * math.factorial(m) ** n
    assert set(law.values()) == {Fraction(1, len(law))}


def test_article_law_for_two_chunks_of_two_misses_the_8_orders_with_a_chunk_in_one_row():
    law = A.article_law([2, 2])
    missing = [o for o in itertools.permutations(range(4)) if o not in law]
    assert len(law) == 16 and len(missing) == 8
    for o in missing:
        assert {o[0] // 2, o[1] // 2} == {o[0] // 2} or {o[2] // 2, o[3] // 2} == {o[2] // 2}


@pytest.mark.parametrize("sizes", [[3, 2], [2, 1], [3, 3, 1], [2, 2, 1], [1, 1, 1]])
def test_reachable_count_formula_matches_enumeration_for_unequal_chunks(sizes):
    law = A.article_law(sizes)
    assert len(law) == A.article_reachable_count(sizes)
    assert sum(law.values()) == 1


def test_reachable_counts_quoted_in_the_digest():
    assert A.article_reachable_count([3] * 3) == 46656 and math.factorial(9) == 362880
    assert round(46656 / 362880, 4) == 0.1286
    assert A.article_reachable_count([4] * 4) == 110075314176
    assert round(110075314176 / math.factorial(16), 5) == 0.00526
    frac = A.article_reachable_count([10] * 10) / math.factorial(100)
    assert 1.675e-27 < frac < 1.685e-27
    assert A.article_reachable_count([3, 2]) == 48


@pytest.mark.parametrize("sizes", [[2, 2], [3, 1], [2, 2, 1], [1, 1, 1, 1], [4, 1]])
def test_proportional_law_is_uniform(sizes):
    law = A.proportional_law(sizes)
    total = math.factorial(sum(sizes))
    assert len(law) == total and set(law.values()) == {Fraction(1, total)}


@pytest.mark.parametrize("n_lines, k", [(3, 2), (4, 2), (4, 3), (5, 2), (3, 1)])
def test_bucket_law_is_uniform(n_lines, k):
    law = A.bucket_law(n_lines, k)
    total = math.factorial(n_lines)
    assert len(law) == total and set(law.values()) == {Fraction(1, total)}


@pytest.mark.parametrize("n_lines, k", [(4, 2), (5, 3), (6, 4), (1, 5)])
def test_bucket_closed_form_sum_equals_one_over_L_factorial(n_lines, k):
    assert A.bucket_probability_closed_form(n_lines, k) == Fraction(1, math.factorial(n_lines))
    if (n_lines, k) == (4, 2):  # the digest's check: (1/16) * sum 1/(c!(4-c)!) = (1/16)(16/24)
        assert sum(Fraction(1, math.factorial(c) * math.factorial(4 - c)) for c in range(5)) == Fraction(16, 24)


@pytest.mark.parametrize("n, r", [(5, 2), (4, 4), (3, 0), (6, 3), (1, 1)])
def test_selection_sampling_gives_every_subset_equal_probability(n, r):
    patterns = list(A.selection_patterns(n, r))
    subsets = [frozenset(i for i, b in enumerate(p) if b) for p, _ in patterns]
    assert len(set(subsets)) == math.comb(n, r) == len(patterns)
    assert all(len(s) == r for s in subsets)
    assert {p for _, p in patterns} == {Fraction(1, math.comb(n, r))}


def test_rejection_law_equals_the_article_law_for_equal_chunks_and_centres_a_short_chunk():
    assert A.article_rejection_law([2, 2]) == A.article_law([2, 2])
    law = A.article_rejection_law([3, 2])
    assert sum(law.values()) == 1
    assert len(law) < 120  # still not uniform
    mean_last = sum(p * o.index(3) for o, p in law.items())
    mean_last_ref = sum(p * o.index(3) for o, p in A.article_law([3, 2]).items())
    assert mean_last == 2 and mean_last_ref == Fraction(3, 2)


def test_short_last_chunk_exact_positions():
    law = A.article_law([3, 2])
    for line in (3, 4):  # last-chunk lines: positions 0..3 with 1/4 each, never 4
        assert [A.law_probability(law, lambda o, p=p: o.index(line) == p) for p in range(5)] == \
            [Fraction(1, 4)] * 4 + [0]
    assert A.law_probability(law, lambda o: o.index(0) == 4) == Fraction(1, 3)


def test_uniform_marginals_and_pair_probabilities_of_the_article_law():
    for m, n in [(2, 2), (2, 3), (3, 2)]:
        law = A.article_law([n] * m)
        size = m * n
        assert np.allclose(A.law_position_matrix(law), 1 / size)
        for i, j in itertools.combinations(range(size), 2):
            same = i // n == j // n
            got = A.law_probability(law, lambda o: o.index(i) // m == o.index(j) // m)
            assert got == A.same_row_probability(m, n, same, "article")
            uniform = A.law_probability(A.proportional_law([n] * m), lambda o: o.index(i) // m == o.index(j) // m)
            assert uniform == A.same_row_probability(m, n, same, "uniform")


def test_expected_same_chunk_pairs_closed_form_against_brute_force_and_digest():
    assert A.expected_same_chunk_pairs(2, 2) == Fraction(1, 3)
    assert round(float(A.expected_same_chunk_pairs(10, 1000)), 4) == 4.4959
    m, n = 3, 2  # brute force over all 720 orders: mean pairs in the first row
    chunk = np.arange(m * n) // n
    total = sum(A.same_chunk_pairs_per_row(o, chunk, m)[0] for o in itertools.permutations(range(m * n)))
    assert Fraction(int(total), math.factorial(m * n)) == A.expected_same_chunk_pairs(m, n)


def test_same_chunk_pairs_per_row_counts_pairs_like_combinations():
    rng = np.random.default_rng(5)
    chunk = rng.integers(0, 3, 23)
    order = rng.permutation(23)
    got = A.same_chunk_pairs_per_row(order, chunk, 5)
    labels = chunk[order]
    want = [sum(a == b for a, b in itertools.combinations(labels[r:r + 5], 2)) for r in range(0, 23, 5)]
    assert got.tolist() == want


def test_pair_detector_is_zero_for_the_article_and_about_the_closed_form_for_uniform_shuffles():
    chunk = np.arange(10_000) // 1000
    art = A.sample_orders("article", 10_000, 1, 0, lines_per_chunk=1000)[0]
    assert A.same_chunk_pairs_per_row(art, chunk, 10).max() == 0
    for seed, method in enumerate(("proportional", "buckets", "in-memory")):
        order = A.sample_orders(method, 10_000, 1, 10 + seed, lines_per_chunk=1000, n_buckets=10)[0]
        pairs = A.same_chunk_pairs_per_row(order, chunk, 10)
        se = pairs.std() / math.sqrt(pairs.size)
        assert abs(pairs.mean() - 4.4959) < 4 * se, method  # about 1 in 15 000 to fail by chance


def test_order_ranks_are_lexicographic():
    orders = np.array(list(itertools.permutations(range(5))))
    assert A.order_ranks(orders).tolist() == list(range(120))
    assert A.order_counts(orders[[3, 3, 7]]).tolist()[:8] == [0, 0, 0, 2, 0, 0, 0, 1]


def test_chi_square_matches_scipy_and_handles_impossible_cells():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(7))
    counts = rng.multinomial(5000, probs)
    stat, dof, p = A.chi_square_gof(counts, probs)
    ref = stats.chisquare(counts, 5000 * probs)
    assert math.isclose(stat, ref.statistic, rel_tol=1e-12) and math.isclose(p, ref.pvalue, rel_tol=1e-9)
    assert dof == 6
    probs0 = np.array([0.5, 0.5, 0.0])
    assert A.chi_square_gof([50, 50, 0], probs0) == (0.0, 1, 1.0)
    assert A.chi_square_gof([50, 49, 1], probs0)[2] == 0.0
    assert A.chi_square_uniformity([1000] * 24)[2] == 1.0


def test_chi_square_refuses_bad_input():
    with pytest.raises(ValueError, match="expected count"):
        A.chi_square_gof([1, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        A.chi_square_gof([10, 10], [0.5, 0.6])
    with pytest.raises(ValueError, match="same length"):
        A.chi_square_gof([10, 10, 10], [0.5, 0.5])


def test_position_and_same_row_frequencies_match_loops():
    rng = np.random.default_rng(2)
    orders = np.stack([rng.permutation(6) for _ in range(50)])
    pos = A.position_frequencies(orders)
    pairs = A.same_row_frequencies(orders, 3)
    for i in range(6):
        for p in range(6):
            assert pos[i, p] == np.mean([list(o).index(i) == p for o in orders])
        for j in range(6):
            assert pairs[i, j] == np.mean([list(o).index(i) // 3 == list(o).index(j) // 3 for o in orders])


def _fit(law, n_lines, orders):
    return A.chi_square_gof(A.order_counts(orders), A.law_vector(law, n_lines))


@pytest.mark.parametrize("method, sizes, runs", [
    ("article", [2, 2], 4800),
    ("article", [3, 2], 4800),
    ("article-rejection", [3, 2], 6000),
    ("proportional", [3, 2], 6000),
])
def test_sampled_orders_fit_the_exact_law(method, sizes, runs):
    law = {"article": A.article_law, "article-rejection": A.article_rejection_law,
           "proportional": A.proportional_law}[method](sizes)
    orders = A.sample_orders(method, sum(sizes), runs, 7, lines_per_chunk=sizes[0])
    assert _fit(law, sum(sizes), orders)[2] > ALPHA


def test_sampled_buckets_and_in_memory_fit_the_uniform_law():
    for seed, method in enumerate(("buckets", "in-memory")):
        orders = A.sample_orders(method, 5, 6000, 20 + seed, n_buckets=3)
        assert _fit(A.bucket_law(5, 3), 5, orders)[2] > ALPHA, method


def test_article_sampling_is_far_from_uniform_on_24000_runs():
    counts = A.order_counts(A.sample_orders("article", 4, 24_000, 0, lines_per_chunk=2))
    stat, dof, p = A.chi_square_uniformity(counts)
    assert dof == 23 and p < 1e-6
    assert abs(stat - 12_000) < 600  # the digest: 16 * 250 + 8 * 1000 in expectation (SD about 220)
    assert (counts == 0).sum() == 8


def _file_orders(tmp_path, runs, **kw):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(b"a\nb\nc\nd\n")
    index = {line: i for i, line in enumerate(b"abcd")}
    orders = []
    for seed in range(runs):
        shuffle_file(src, out, seed=seed, memory="1M", tmpdir=tmp_path, jobs=1, **kw)
        orders.append([index[line[0]] for line in out.read_bytes().splitlines()])
    return np.array(orders)


def test_the_file_article_method_follows_the_exact_article_law(tmp_path):
    orders = _file_orders(tmp_path, 320, method="article", chunk_bytes=4)  # chunks of 2 lines of 2 bytes
    assert _fit(A.article_law([2, 2]), 4, orders)[2] > ALPHA
    assert A.chi_square_uniformity(A.order_counts(orders))[2] < 1e-6


@pytest.mark.parametrize("kw", [{"method": "proportional", "chunk_bytes": 4}, {"method": "buckets", "n_buckets": 2}])
def test_the_file_exact_methods_are_uniform(tmp_path, kw):
    orders = _file_orders(tmp_path, 240, **kw)  # 10 expected per order
    assert A.chi_square_uniformity(A.order_counts(orders))[2] > ALPHA


def test_last_chunk_lands_at_the_front_without_the_patch_and_spreads_with_it():
    pos = A.last_chunk_positions(10_500, 1000, seed=3, runs=2)
    assert pos["article"].size == 1000 and pos["article"].max() < 5500 / 10_500
    assert abs(pos["article"].mean() - 2750 / 10_500) < 0.02
    assert abs(pos["article-rejection"].mean() - 0.5) < 0.03
    assert abs(pos["proportional"].mean() - 0.5) < 0.03


def test_last_chunk_at_the_digests_scale():
    # 1 050 000 lines, chunks of 100 000: m = 11, r = 50 000 in the first 550 000 positions (52.4 %)
    assert A.chunk_sizes(1_050_000, 100_000) == [100_000] * 10 + [50_000]
    pos = A.last_chunk_positions(1_050_000, 100_000, seed=4)
    assert pos["article"].max() < 550_000 / 1_050_000
    assert abs(pos["article-rejection"].mean() - 0.5) < 0.005  # about 4 standard errors


def test_runs_of_equal_lines():
    for seq in ([], [1], [1, 1, 2, 1], list("aabbbcaa")):
        assert A.runs_of_equal_lines(seq) == len([k for k, _ in itertools.groupby(seq)])


def test_python_bytes_cost_41_bytes_per_line_beyond_their_length():
    assert sys.getsizeof(b"") + 8 == 41  # CPython 3.11: object header + list slot (digest §9.5)
    rng = np.random.default_rng(3)
    data = b"".join(b"x" * (int(k) - 1) + b"\n" for k in rng.integers(20, 120, 100_000))
    tracemalloc.start()
    lines = BytesIO(data).readlines()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    model = len(lines) * (len(data) / len(lines) + 41)
    assert 0.95 < peak / model < 1.15


@pytest.mark.parametrize("call, exc, match", [
    (lambda: A.chunk_sizes(0, 5), ValueError, "n_lines"),
    (lambda: A.chunk_sizes(5, 2.0), TypeError, "lines_per_chunk"),
    (lambda: A.article_law([]), ValueError, "at least one chunk"),
    (lambda: A.article_law("22"), TypeError, "sizes"),
    (lambda: A.article_law([2, 0]), ValueError, "sizes"),
    (lambda: A.article_law([4] * 4), ValueError, "MAX_OUTCOMES"),
    (lambda: A.proportional_law([5, 5]), ValueError, "MAX_OUTCOMES"),
    (lambda: A.bucket_law(10, 3), ValueError, "MAX_OUTCOMES"),
    (lambda: A.bucket_law(True, 2), TypeError, "n_lines"),
    (lambda: A.selection_patterns(2, 3).__next__(), ValueError, "n_selected"),
    (lambda: A.same_row_probability(2, 2, True, "shuf"), ValueError, "method"),
    (lambda: A.sample_orders("sort", 4, 10, 0), ValueError, "method"),
    (lambda: A.sample_orders("article", 4, 10, 0), TypeError, "lines_per_chunk"),
    (lambda: A.sample_orders("buckets", 4, 0, 0, n_buckets=2), ValueError, "runs"),
    (lambda: A.order_ranks(np.arange(4)), ValueError, "2-d"),
    (lambda: A.same_chunk_pairs_per_row([0, 1], [0, 0], 0), ValueError, "m"),
    (lambda: A.last_chunk_positions(100, 10, 0, runs=0), ValueError, "runs"),
])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_reachable_rows_use_the_formula_and_enumerate_only_small_grids():
    rows = A.reachable_rows([(2, 3), (4, 4)], max_enumerated_lines=9)
    assert rows[0] == {"m": 2, "n": 3, "reachable": 288, "total": 720, "fraction": 0.4, "enumerated": 288}
    assert rows[1]["enumerated"] is None and rows[1]["reachable"] == 110075314176
    with pytest.raises(ValueError, match="m="):
        A.reachable_rows([(0, 2)])
