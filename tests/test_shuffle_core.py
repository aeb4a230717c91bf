"""lib.shuffle.core (the in-memory steps) against plain-Python references and exact laws."""
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lib.shuffle import (article_merge_lines, article_sources, assign_buckets, bucket_shuffle_lines,
                         gather_lines, group_by_bucket, line_bounds, parse_size, proportional_merge_lines,
                         proportional_sources, split_names)

ALPHA = 1e-3  # significance level of every statistical test here (fixed seeds: deterministic)

lines_st = st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=60)


def as_buf(lines):
    return np.frombuffer(b"".join(lines), dtype=np.uint8)


@settings(deadline=None, max_examples=150)
@given(lines_st, st.randoms(use_true_random=False))
def test_gather_lines_matches_python_reordering(lines, rnd):
    buf = as_buf(lines)
    starts, lengths = line_bounds(buf)
    assert [bytes(buf[s:s + n]) for s, n in zip(starts, lengths)] == lines
    order = np.array(rnd.sample(range(len(lines)), len(lines)), dtype=np.int64)
    out = np.zeros(buf.size, dtype=np.uint8)
    out_lengths = gather_lines(buf, starts, lengths, order, out)
    assert out.tobytes() == b"".join(lines[i] for i in order)
    assert out_lengths.tolist() == [len(lines[i]) for i in order]


def test_gather_lines_moves_long_and_repeated_lengths_in_pieces():
    rng = np.random.default_rng(0)
    lines = [bytes(rng.integers(0, 256, n, dtype=np.uint8)).replace(b"\n", b"x") + b"\n"
             for n in [0] * 5 + [3] * 40000 + [70000, 70000, 200, 5]]
    buf = as_buf(lines)
    starts, lengths = line_bounds(buf)
    order = rng.permutation(len(lines))
    out = np.empty(buf.size, dtype=np.uint8)
    gather_lines(buf, starts, lengths, order, out)
    assert out.tobytes() == b"".join(lines[i] for i in order)


def test_bucket_assignment_is_uniform_and_grouping_is_stable():
    rng = np.random.default_rng(1)
    ids = assign_buckets(60000, 6, rng)
    counts = np.bincount(ids, minlength=6)
    assert stats.chisquare(counts).pvalue > ALPHA
    order, c2 = group_by_bucket(ids, 6)
    assert (c2 == counts).all()
    assert (np.diff(ids[order].astype(int)) >= 0).all()
    for b in range(6):  # stable: input order kept inside a bucket
        members = order[ids[order] == b]
        assert (np.diff(members) > 0).all()


def test_proportional_sources_counts_are_hypergeometric_and_arrangement_exact():
    rng = np.random.default_rng(2)
    # P(first 2 labels of an urn {0:3, 1:2} are [0, 1]) = 3/5 * 2/4 = 3/10; check many draws
    firsts = Counter()
    for _ in range(6000):
        rem = np.array([3, 2])
        src = proportional_sources(rem, 2, rng)
        firsts[tuple(src)] += 1
        assert rem.sum() == 3 and (rem >= 0).all()
    expected = {(0, 0): 6 / 20, (0, 1): 6 / 20, (1, 0): 6 / 20, (1, 1): 2 / 20}
    observed = [firsts[k] for k in expected]
    assert stats.chisquare(observed, [6000 * p for p in expected.values()]).pvalue > ALPHA
    with pytest.raises(ValueError, match="n_out"):
        proportional_sources(np.array([1, 1]), 3, rng)


def test_article_sources_take_one_line_per_chunk_per_row():
    rng = np.random.default_rng(3)
    src = article_sources([3, 3, 2], 0, 3, rng)
    rows = [sorted(src[0:3].tolist()), sorted(src[3:6].tolist()), sorted(src[6:].tolist())]
    assert rows == [[0, 1, 2], [0, 1, 2], [0, 1]]  # the short chunk drops out of the last row


def _order_counts(shuffle, n_runs, seed):
    rng = np.random.default_rng(seed)
    lines = [b"a\n", b"b\n", b"c\n", b"d\n"]
    return Counter(tuple(shuffle(lines, rng)) for _ in range(n_runs))


@pytest.mark.parametrize("name, shuffle", [
    ("buckets k=2", lambda lines, rng: bucket_shuffle_lines(lines, 2, rng)),
    ("buckets k=3", lambda lines, rng: bucket_shuffle_lines(lines, 3, rng)),
    ("proportional 2+2", lambda lines, rng: proportional_merge_lines(lines, 2, rng)),
    ("proportional 3+1", lambda lines, rng: proportional_merge_lines(lines, 3, rng)),
])
def test_list_shuffles_are_uniform_over_the_24_orders(name, shuffle):
    counts = _order_counts(shuffle, 4800, 4)
    observed = [counts[p] for p in itertools.permutations([b"a\n", b"b\n", b"c\n", b"d\n"])]
    assert sum(observed) == 4800
    assert stats.chisquare(observed).pvalue > ALPHA, name


def test_article_list_version_reaches_16_of_24_orders():
    counts = _order_counts(lambda lines, rng: article_merge_lines(lines, 2, rng), 4800, 5)
    assert len(counts) == 16  # (n!)^m (m!)^n = 16 for m = n = 2 (chapter 8, §9.1)
    for order in counts:  # never both lines of one chunk in the same output row
        assert {order[0], order[1]} not in ({b"a\n", b"b\n"}, {b"c\n", b"d\n"})
    observed = [counts[p] for p in itertools.permutations([b"a\n", b"b\n", b"c\n", b"d\n"])]
    assert stats.chisquare(observed).pvalue < 1e-6


@pytest.mark.parametrize("text, expected", [
    ("2G", 2 << 30), ("256M", 256 << 20), ("1k", 1024), ("1.5K", 1536), ("10", 10), ("3T", 3 << 40),
    ("64MiB", 64 << 20), (" 7 M ", 7 << 20), (4096, 4096),
])
def test_parse_size_reads_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "G", "-1G", "0", "1.5.2M", "12Q", "1e3", 0, -5])
def test_parse_size_refuses_bad_values(bad):
    with pytest.raises(ValueError, match="memory"):
        parse_size(bad)


@pytest.mark.parametrize("bad", [1.5, None, True, b"1G"])
def test_parse_size_refuses_bad_types(bad):
    with pytest.raises(TypeError, match="memory"):
        parse_size(bad)


def test_split_names_are_predictable():
    assert [p.name for p in split_names("/d/train.txt", 3)] == [
        "train-00000-of-00003.txt", "train-00001-of-00003.txt", "train-00002-of-00003.txt"]
    assert split_names("out", 2)[1].name == "out-00001-of-00002"
    assert split_names("x.jsonl", 123456)[7].name == "x-000007-of-123456.jsonl"
    assert len({p.name for p in split_names("a", 10)}) == 10


@pytest.mark.parametrize("line_bytes", [1, 12, 160])
def test_shuffle_buffer_uses_at_most_the_planned_bytes_per_line(line_bytes):
    """The engine plans 2 x bytes + PER_LINE x lines for a buffer being shuffled (tracemalloc sees numpy)."""
    import tracemalloc

    from lib.shuffle import engine, shuffle_buffer

    n = 200_000
    data = np.full(n * line_bytes, 97, dtype=np.uint8)
    data[line_bytes - 1::line_bytes] = 10
    out = np.empty_like(data)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        lengths = shuffle_buffer(data, n, np.random.default_rng(0), out)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert lengths.size == n and (out == data).all()  # equal lines: the same bytes after any order
    assert peak <= engine.PER_LINE * n, peak / n


@settings(deadline=None, max_examples=200)
@given(data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")), capacity=st.integers(1, 40),
       chunk=st.integers(1, 50))
def test_line_reader_returns_whole_lines_and_streams_long_ones(data, capacity, chunk):
    """Blocks hold whole lines, longer lines come in pieces, the stream gains one final newline."""
    import io

    from lib.shuffle.files import LineReader

    class Trickle(io.RawIOBase):  # short reads, like a pipe
        def __init__(self):
            self.pos = 0

        def readinto(self, view):
            n = min(len(view), chunk, len(data) - self.pos)
            view[:n] = data[self.pos:self.pos + n]
            self.pos += n
            return n

    reader, got = LineReader(Trickle()), []
    buf = bytearray(capacity + 1)
    while True:
        n, whole = reader.read_block(buf)
        if n == 0:
            break
        block = bytes(buf[:n])
        if whole:
            assert block.endswith(b"\n")
        else:
            assert b"\n" not in block and n == capacity
            ends = False
            while not ends:
                n, ends = reader.read_piece(buf)
                piece = bytes(buf[:n])
                assert (b"\n" in piece) == ends and (not ends or piece.endswith(b"\n"))
                block += piece
        got.append(block)
    assert b"".join(got) == (data + b"\n" if data and not data.endswith(b"\n") else data)
