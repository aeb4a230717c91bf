"""lib.shuffle.shuffle_file in-process: permutation property, exact uniformity, edge cases, faults."""
import errno
import itertools
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from lib.shuffle import LineTooLongError, ShuffleError, chunks, core, engine, files, remove_leftovers, shuffle_file
from shuffle_helpers import input_bytes, leftovers, lines_of

ALPHA = 1e-3  # significance level of the uniformity tests (fixed seeds: deterministic)
FOUR = [b"a\n", b"b\n", b"c\n", b"d\n"]
an_input = input_bytes(short=40, long=(200, 3000), max_lines=40)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(an_input, min_size=1, max_size=3),
       budget=st.one_of(st.integers(1, 400), st.integers(400, 200_000), st.just("exact")),
       method=st.sampled_from(engine.METHODS), seed=st.integers(0, 2**32), jobs=st.sampled_from([1, 2]))
def test_output_is_a_permutation_of_the_input_lines_or_a_clean_refusal(fast_dir, inputs, budget, method,
                                                                       seed, jobs):
    paths = []
    for i, data in enumerate(inputs):
        p = fast_dir / f"in{i}"
        p.write_bytes(data)
        paths.append(p)
    out = fast_dir / "out"
    out.unlink(missing_ok=True)
    memory = max(1, sum(map(len, inputs))) if budget == "exact" else budget
    chunk = None if method == "buckets" else max(1, memory // 4)
    expected = Counter(line for data in inputs for line in lines_of(data))
    try:
        report = shuffle_file(paths, out, memory=memory, seed=seed, method=method, jobs=jobs,
                              tmpdir=fast_dir, chunk_bytes=chunk)
    except LineTooLongError:
        assert method != "buckets"  # only the chunk methods refuse lines longer than a chunk
        assert not out.exists()
    else:
        got = out.read_bytes()
        assert got == b"" or got.endswith(b"\n")
        assert Counter(lines_of(got)) == expected
        assert report.n_lines == sum(expected.values()) and report.n_bytes_out == len(got)
    assert leftovers(fast_dir) == []
    assert [p.read_bytes() for p in paths] == inputs


def _order_counts(fast_dir, n_runs, **kw):
    src, out = fast_dir / "four", fast_dir / "four.out"
    src.write_bytes(b"".join(FOUR))
    counts = Counter()
    for seed in range(n_runs):
        shuffle_file(src, out, seed=seed, jobs=1, tmpdir=fast_dir, **kw)
        counts[out.read_bytes()] += 1
    return [counts[b"".join(p)] for p in itertools.permutations(FOUR)], counts


@pytest.mark.parametrize("kw", [
    dict(memory=10**6, n_buckets=2),  # two buckets, each shuffled in memory
    dict(memory=100),  # 8 buckets, any with two lines or more split again, down to single lines
    dict(method="proportional", memory=10**6, chunk_bytes=4),  # chunks of 2 + 2 lines
    dict(method="proportional", memory=10**6, chunk_bytes=6),  # chunks of 3 + 1 lines
], ids=["buckets-k2", "buckets-100B", "proportional-2+2", "proportional-3+1"])
def test_the_file_shuffle_is_uniform_over_the_24_orders_of_4_lines(fast_dir, kw):
    observed, counts = _order_counts(fast_dir, 1200, **kw)
    assert sum(observed) == 1200 and len(counts) == 24
    assert stats.chisquare(observed).pvalue > ALPHA


def test_the_articles_method_on_a_file_is_not_uniform(fast_dir):
    observed, counts = _order_counts(fast_dir, 600, method="article", memory=10**6, chunk_bytes=4)
    assert len(counts) == 16  # 8 of the 24 orders are unreachable (chapter 8, §9.1)
    assert stats.chisquare(observed).pvalue < 1e-6


def test_same_seed_same_output_whatever_the_threads_and_other_seeds_differ(fast_dir):
    rng = np.random.default_rng(0)
    data = b"".join(b"%d %s\n" % (i, b"x" * int(rng.integers(0, 50))) for i in range(5000))
    src = fast_dir / "in"
    src.write_bytes(data)
    outs = []
    for seed, jobs in [(7, 1), (7, 2), (8, 2)]:
        out = fast_dir / f"out{seed}{jobs}"
        report = shuffle_file(src, out, memory=20_000, seed=seed, jobs=jobs, tmpdir=fast_dir)
        assert report.n_buckets > 1
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] != outs[2]
    drawn = shuffle_file(src, fast_dir / "o", memory=20_000, tmpdir=fast_dir)  # seed from the OS
    again = shuffle_file(src, fast_dir / "o2", memory=20_000, tmpdir=fast_dir, seed=drawn.seed)
    assert drawn.seed != report.seed and (fast_dir / "o").read_bytes() == (fast_dir / "o2").read_bytes()
    assert sorted(lines_of(outs[2])) == sorted(lines_of(data))


def test_bytes_pass_through_untouched(fast_dir):
    lines = [b"\x00\xff\xfe\n", b"caf\xc3\xa9\r\n", b"\r\n", b"\n", b"\xed\xa0\x80 invalid utf-8\n", b"lone\rcr\n",
             b"\x80" * 100 + b"\n", b"no newline at the end"]
    src = fast_dir / "in"
    src.write_bytes(b"".join(lines))
    for method in engine.METHODS:
        for memory in (60, 10**6):
            out = fast_dir / "out"
            shuffle_file(src, out, memory=memory, seed=1, method=method, tmpdir=fast_dir, chunk_bytes=400)
            got = out.read_bytes()
            assert sorted(lines_of(got)) == sorted(lines[:-1] + [lines[-1] + b"\n"])
            assert len(got) == len(src.read_bytes()) + 1  # the one added newline


def test_inputs_never_merge_lines_across_files(fast_dir):
    a, b = fast_dir / "a", fast_dir / "b"
    a.write_bytes(b"a1\na2")  # no final newline
    b.write_bytes(b"b1\n")
    out = fast_dir / "out"
    shuffle_file([a, b, a], out, memory=10**6, seed=0, tmpdir=fast_dir)
    assert sorted(lines_of(out.read_bytes())) == sorted([b"a1\n", b"a2\n", b"b1\n", b"a1\n", b"a2\n"])


def test_empty_inputs_and_empty_lines(fast_dir):
    e, blank = fast_dir / "empty", fast_dir / "blank"
    e.write_bytes(b"")
    blank.write_bytes(b"\n\n\n")
    out = fast_dir / "out"
    report = shuffle_file([e], out, memory=100, seed=0, tmpdir=fast_dir)
    assert out.read_bytes() == b"" and report.n_lines == 0
    shuffle_file([e, blank, e], out, memory=10, seed=0, tmpdir=fast_dir)
    assert out.read_bytes() == b"\n\n\n"
    assert leftovers(fast_dir) == []


def test_lines_longer_than_the_budget_are_handled_by_the_default_method(fast_dir):
    rng = np.random.default_rng(5)
    big = [bytes(rng.integers(97, 123, n, dtype=np.uint8)) + b"\n" for n in (300_000, 150_000)]
    lines = big + [b"%d\n" % i for i in range(3000)]
    src = fast_dir / "in"
    src.write_bytes(b"".join(lines))
    out = fast_dir / "out"
    report = shuffle_file(src, out, memory=64 * 1024, seed=3, tmpdir=fast_dir)
    assert sorted(lines_of(out.read_bytes())) == sorted(lines)
    assert report.n_splits > 0
    with pytest.raises(LineTooLongError, match="chunk size"):
        shuffle_file(src, fast_dir / "out2", memory=64 * 1024, seed=3, tmpdir=fast_dir, method="proportional")
    assert not (fast_dir / "out2").exists() and leftovers(fast_dir) == []


def test_output_may_replace_an_input_like_sort_o(fast_dir):
    src = fast_dir / "in"
    data = b"".join(b"line %d\n" % i for i in range(2000))
    src.write_bytes(data)
    shuffle_file(src, src, memory=2000, seed=4, tmpdir=fast_dir)
    got = src.read_bytes()
    assert got != data and sorted(lines_of(got)) == sorted(lines_of(data))


def test_split_writes_parts_of_near_equal_line_counts(fast_dir):
    src = fast_dir / "in"
    data = b"".join(b"%d\n" % i for i in range(1003))
    src.write_bytes(data)
    for memory in (300, 10**6):
        report = shuffle_file(src, fast_dir / "part.txt", memory=memory, seed=0, split=4, tmpdir=fast_dir)
        parts = [Path(p) for p in report.output_paths]
        assert [p.name for p in parts] == [f"part-0000{i}-of-00004.txt" for i in range(4)]
        counts = [len(lines_of(p.read_bytes())) for p in parts]
        assert counts == [250, 251, 251, 251]
        assert sorted(line for p in parts for line in lines_of(p.read_bytes())) == sorted(lines_of(data))
    report = shuffle_file(src, fast_dir / "many", memory=10**6, seed=0, split=1500, tmpdir=fast_dir)
    sizes = [len(lines_of(Path(p).read_bytes())) for p in report.output_paths]
    assert len(sizes) == 1500 and sum(sizes) == 1003 and set(sizes) == {0, 1}


def test_open_files_stay_few_for_an_input_far_larger_than_the_budget(fast_dir, monkeypatch):
    monkeypatch.setattr(engine, "MAX_OPEN_BUCKETS", 4)  # also exercise opening a bucket per write
    src = fast_dir / "in"
    data = b"".join(b"%07d %s\n" % (i, b"y" * (i % 100)) for i in range(150_000))  # 8.4 MB
    src.write_bytes(data)
    peak = [0]

    def progress(_n):
        peak[0] = max(peak[0], len(os.listdir("/proc/self/fd")))

    out = fast_dir / "out"
    budget = 64 * 1024  # the input is 128 times the budget: every bucket is split once more
    report = shuffle_file(src, out, memory=budget, seed=0, tmpdir=fast_dir, progress=progress)
    assert report.n_splits >= report.n_buckets == 64
    assert 0 < peak[0] < 32
    assert sorted(lines_of(out.read_bytes())) == sorted(lines_of(data))
    assert report.temp_bytes_peak <= 1.1 * len(data)  # about one input's worth of temporary space


def _fail_writes_after(monkeypatch, limit, where):
    written = [0]
    real = files.write_all

    def failing(fd, data):
        written[0] += memoryview(data).nbytes
        if written[0] > limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    if where == "temp":
        monkeypatch.setattr(engine, "write_all", failing)
        monkeypatch.setattr(chunks, "write_all", failing)
    else:
        monkeypatch.setattr(files, "write_all", failing)


@pytest.mark.parametrize("where", ["temp", "output"])
@pytest.mark.parametrize("method", engine.METHODS)
def test_disk_full_gives_a_clear_error_and_leaves_nothing(fast_dir, monkeypatch, where, method):
    src = fast_dir / "in"
    data = b"".join(b"%d\n" % i for i in range(20000))
    src.write_bytes(data)
    out = fast_dir / "out"
    out.write_bytes(b"old content\n")
    _fail_writes_after(monkeypatch, 30_000, where)
    with pytest.raises(ShuffleError, match="no space left"):
        shuffle_file(src, out, memory=20_000, seed=0, tmpdir=fast_dir, method=method)
    assert out.read_bytes() == b"old content\n" and src.read_bytes() == data
    assert leftovers(fast_dir) == []


def test_an_error_in_a_worker_stops_the_run_and_cleans_up(fast_dir, monkeypatch):
    src = fast_dir / "in"
    src.write_bytes(b"".join(b"%d\n" % i for i in range(20000)))

    def broken(*args, **kw):
        raise MemoryError

    monkeypatch.setattr(core, "shuffle_buffer", broken)
    with pytest.raises(ShuffleError, match="out of memory"):
        shuffle_file(src, fast_dir / "out", memory=20_000, seed=0, tmpdir=fast_dir, jobs=2)
    assert not (fast_dir / "out").exists() and leftovers(fast_dir) == []


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(fast_dir):
    host = files.host_name()
    dead = fast_dir / f"{files.TAG}.{host}.999999999.0.deadbeef"
    dead.mkdir()
    (dead / "b-0").write_bytes(b"x")
    dead_out = fast_dir / f".out.{files.TAG}.{host}.999999999.0.cafe.tmp"
    dead_out.write_bytes(b"partial")
    mine = fast_dir / files.owner_tag()
    mine.mkdir()
    removed = remove_leftovers(fast_dir)
    assert sorted(removed) == sorted([str(dead), str(dead_out)])
    assert mine.exists() and not dead.exists() and not dead_out.exists()


def test_leftovers_of_another_host_are_never_removed(fast_dir):
    """On a folder shared by several hosts (NFS) a pid says nothing about another host's process."""
    host = files.host_name()
    assert files.owner_tag().startswith(f"{files.TAG}.{host}.{os.getpid()}.")
    other = "other-" + host  # a different host name, however this one is called
    gone = 999_999_999  # no such process here
    theirs = [fast_dir / f"{files.TAG}.{other}.{gone}.0.deadbeef",  # its workspace
              fast_dir / f".out.{files.TAG}.{other}.{gone}.0.cafe.tmp",  # its output being written
              fast_dir / f"{files.TAG}.{other}.{os.getpid()}.1.deadbeef",  # a pid alive here, another start
              fast_dir / f"{files.TAG}.{gone}.0.deadbeef"]  # the older form without a host: whose is unknown
    for p in theirs:
        p.mkdir()
    (theirs[0] / "b-0").write_bytes(b"x")
    ours = fast_dir / f"{files.TAG}.{host}.{gone}.0.deadbeef"
    ours.mkdir()
    assert remove_leftovers(fast_dir) == [str(ours)]
    assert all(p.exists() for p in theirs) and (theirs[0] / "b-0").exists()
    assert remove_leftovers(fast_dir) == []


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(memory="0"), ValueError, "memory"),
    (dict(memory="lots"), ValueError, "memory"),
    (dict(memory=2.5), TypeError, "memory"),
    (dict(method="sort"), ValueError, "method"),
    (dict(split=0), ValueError, "split"),
    (dict(jobs=3), ValueError, "jobs"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="x"), ValueError, "seed"),
    (dict(chunk_bytes=0), ValueError, "chunk_bytes"),
    (dict(n_buckets=0), ValueError, "n_buckets"),
])
def test_bad_arguments_are_refused(fast_dir, kwargs, exc, match):
    src = fast_dir / "in"
    src.write_bytes(b"a\n")
    with pytest.raises(exc, match=match):
        shuffle_file(src, fast_dir / "out", **kwargs)


@pytest.mark.parametrize("inputs, exc, match", [
    (3, TypeError, "inputs=3 must be a path or a list of paths"),
    (["in", 3], TypeError, "must be a path or a list of paths"),
    ([], ValueError, "at least one file"),
    (["-", "-"], ValueError, "only once"),
])
def test_bad_inputs_arguments_are_refused(fast_dir, inputs, exc, match):
    (fast_dir / "in").write_bytes(b"a\n")
    inputs = [fast_dir / p if p == "in" else p for p in inputs] if isinstance(inputs, list) else inputs
    with pytest.raises(exc, match=match):
        shuffle_file(inputs, fast_dir / "out")
    assert not (fast_dir / "out").exists()


def test_path_list_takes_one_path_or_several():
    assert files.path_list("a") == ["a"] and files.path_list(Path("a")) == ["a"]
    assert files.path_list(("a", Path("b"))) == ["a", "b"] and files.path_list([]) == []


def test_bad_inputs_and_outputs_are_clear_errors(fast_dir):
    src = fast_dir / "in"
    src.write_bytes(b"a\n")
    with pytest.raises(ShuffleError, match="does not exist"):
        shuffle_file(fast_dir / "missing", fast_dir / "out")
    with pytest.raises(ShuffleError, match="is a folder"):
        shuffle_file(fast_dir, fast_dir / "out")
    with pytest.raises(ShuffleError, match="output folder"):
        shuffle_file(src, fast_dir / "no" / "out")
    with pytest.raises(ShuffleError, match="is a folder"):
        shuffle_file(src, fast_dir)
    with pytest.raises(ShuffleError, match="temporary folder"):
        shuffle_file(src, fast_dir / "out", tmpdir=fast_dir / "nowhere")
    with pytest.raises(ValueError, match="standard output"):
        shuffle_file(src, "-", split=2)
    with pytest.raises(ValueError, match="only once"):
        shuffle_file(["-", "-"], fast_dir / "out")
    if os.getuid() != 0:
        src.chmod(0)
        with pytest.raises(ShuffleError, match="not readable"):
            shuffle_file(src, fast_dir / "out")
    assert not (fast_dir / "out").exists() and leftovers(fast_dir) == []
