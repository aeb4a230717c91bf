"""lib.shuffle.cluster: the shuffle as Dask tasks -- permutation, exact uniformity, determinism, faults.

Most runs use Dask's synchronous scheduler in-process (many runs are cheap); a module-wide
local cluster (two worker processes) checks that the same seed gives the same bytes there, that
a worker killed mid-run is rerun without changing the output, and that a worker that keeps
dying fails the run with nothing at the destination.
"""
import itertools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dask
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from lib.shuffle import ShuffleError, files, shuffle_file
from lib.shuffle.cluster import cluster_cost, layout, plan_partitions, remove_leftovers, shuffle_file_dask
from shuffle_helpers import ENV, command, input_bytes, leftovers, lines_of

ALPHA = 1e-3  # significance level of the uniformity tests (fixed seeds: deterministic)
FOUR = [b"a\n", b"b\n", b"c\n", b"d\n"]


@pytest.fixture
def sync():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two single-threaded worker processes, shared by the tests of this module."""
    from distributed import Client, LocalCluster

    import logging

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL, memory_limit="1GiB") as lc, Client(lc) as client:
        yield client


def corpus(path: Path, n_lines: int, seed: int, hi: int = 200) -> bytes:
    """Lines of random bytes (any value but newline), lengths 0..hi, the last one unterminated."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, hi + 2, size=n_lines)
    body = rng.integers(0, 256, size=int(lengths.sum()), dtype=np.uint8)
    body[body == 10] = 0
    body[np.cumsum(lengths) - 1] = 10
    data = body.tobytes()[:-1]
    path.write_bytes(data)
    return data


an_input = input_bytes(short=30, long=(100, 2000), max_lines=30)


@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(an_input, min_size=1, max_size=3), memory=st.sampled_from([300, 5000, 10**6]),
       partitions=st.one_of(st.none(), st.integers(1, 6)), block=st.one_of(st.none(), st.integers(1, 300)),
       split=st.one_of(st.none(), st.integers(1, 5)), seed=st.integers(0, 2**32))
def test_output_is_a_permutation_of_the_input_lines(fast_dir, sync, inputs, memory, partitions, block, split,
                                                    seed):
    paths = []
    for i, data in enumerate(inputs):
        paths.append(fast_dir / f"in{i}")
        paths[-1].write_bytes(data)
    expected = [x for data in inputs for x in lines_of(data)]
    report = shuffle_file_dask(paths, fast_dir / "out.txt", memory=memory, seed=seed, n_partitions=partitions,
                               block_bytes=block, split=split)
    outs = [Path(p).read_bytes() for p in report.output_paths]
    got = [x for data in outs for x in lines_of(data)]
    assert sorted(got) == sorted(expected)
    assert all(o == b"" or o.endswith(b"\n") for o in outs)
    n = len(expected)
    assert [len(lines_of(o)) for o in outs] == [(j + 1) * n // len(outs) - j * n // len(outs)
                                               for j in range(len(outs))]
    assert report.n_lines == n and report.n_bytes_out == sum(map(len, outs))
    assert [p.read_bytes() for p in paths] == inputs
    for p in report.output_paths + paths:
        os.unlink(p)
    assert os.listdir(fast_dir) == []  # no temporary files left


def _order_counts(fast_dir, n_runs, **kw):
    src = fast_dir / "four"
    src.write_bytes(b"".join(FOUR))
    counts = Counter()
    for seed in range(n_runs):
        report = shuffle_file_dask(src, fast_dir / "four.out", seed=seed, **kw)
        counts[b"".join(Path(p).read_bytes() for p in report.output_paths)] += 1
    return [counts[b"".join(p)] for p in itertools.permutations(FOUR)], counts


@pytest.mark.parametrize("kw", [
    dict(memory=10**6, n_partitions=2, block_bytes=2),  # 4 map blocks of one line, 2 partitions
    dict(memory=10**6, n_partitions=3, block_bytes=3, split=2),  # lines across blocks; a cut inside a partition
    dict(memory=20, n_partitions=1, block_bytes=8),  # the partition outgrows the budget: through the engine
], ids=["k2", "k3-split2", "oversized"])
def test_the_dask_shuffle_is_uniform_over_the_24_orders_of_4_lines(fast_dir, sync, kw):
    observed, counts = _order_counts(fast_dir, 960, **kw)
    assert sum(observed) == 960 and len(counts) == 24
    assert stats.chisquare(observed).pvalue > ALPHA


def test_the_uniformity_test_detects_a_biased_shuffle(fast_dir, sync):
    """The same statistic rejects a shuffle that never moves line 'a' from the front."""
    observed, _ = _order_counts(fast_dir, 240, memory=10**6, n_partitions=1, block_bytes=2)
    biased = [c if i < 6 else 0 for i, c in enumerate(observed)]  # the 6 orders starting with a
    biased = [b * 4 for b in biased]
    assert stats.chisquare(biased).pvalue < 1e-6


def test_same_seed_same_bytes_on_any_scheduler_and_number_of_workers(fast_dir, cluster):
    src = fast_dir / "in"
    data = corpus(src, 20_000, seed=1)
    outs = {}
    for name, scheduler in [("sync", "synchronous"), ("threads", "threads"), ("cluster", cluster)]:
        report = shuffle_file_dask(src, fast_dir / f"{name}.txt", memory="256K", seed=7, split=3, fsync=True,
                                   scheduler=scheduler)
        assert report.n_blocks > 1 and report.n_buckets > 1
        outs[name] = [Path(p).read_bytes() for p in report.output_paths]
    with dask.config.set(num_workers=3):
        report = shuffle_file_dask(src, fast_dir / "three.txt", memory="256K", seed=7, split=3,
                                   scheduler="threads")
    outs["three"] = [Path(p).read_bytes() for p in report.output_paths]
    other = shuffle_file_dask(src, fast_dir / "other.txt", memory="256K", seed=8, split=3, scheduler="synchronous")
    assert outs["sync"] == outs["threads"] == outs["cluster"] == outs["three"]
    assert outs["sync"] != [Path(p).read_bytes() for p in other.output_paths]
    assert sorted(x for o in outs["cluster"] for x in lines_of(o)) == sorted(lines_of(data))
    drawn = shuffle_file_dask(src, fast_dir / "drawn", memory="256K", scheduler="synchronous")  # OS entropy
    again = shuffle_file_dask(src, fast_dir / "again", memory="256K", scheduler="synchronous", seed=drawn.seed)
    assert (fast_dir / "drawn").read_bytes() == (fast_dir / "again").read_bytes() and again.seed == drawn.seed


def test_a_few_runs_on_the_local_cluster_reach_many_orders(fast_dir, cluster):
    src = fast_dir / "four"
    src.write_bytes(b"".join(FOUR))
    seen = Counter()
    for seed in range(12):
        shuffle_file_dask(src, fast_dir / "out", seed=seed, n_partitions=2, block_bytes=2, scheduler=cluster)
        got = (fast_dir / "out").read_bytes()
        assert sorted(lines_of(got)) == FOUR
        seen[got] += 1
    assert len(seen) >= 6  # 12 uniform draws from 24 orders: fewer than 6 distinct has p < 1e-4
    assert leftovers(fast_dir) == []


@pytest.mark.parametrize("stage", ["map", "reduce"])
def test_a_worker_killed_mid_task_is_rerun_and_the_output_is_unchanged(fast_dir, cluster, stage):
    src = fast_dir / "in"
    corpus(src, 20_000, seed=2)
    expected = shuffle_file_dask(src, fast_dir / "expected", memory="256K", seed=3, scheduler="synchronous")
    marker = fast_dir / "killed"
    out = fast_dir / "out"
    report = shuffle_file_dask(src, out, memory="256K", seed=3, scheduler=cluster, _fault=(stage, 1, str(marker)))
    assert marker.exists()  # the task did kill its worker (SIGKILL, half-way through its writes)
    assert out.read_bytes() == (fast_dir / "expected").read_bytes()
    assert report.n_lines == expected.n_lines and leftovers(fast_dir) == []
    cluster.wait_for_workers(2, timeout=60)


def test_a_worker_that_keeps_dying_fails_the_run_with_nothing_at_the_destination(fast_dir, cluster):
    src = fast_dir / "in"
    corpus(src, 20_000, seed=4)
    out = fast_dir / "out"
    out.write_bytes(b"the previous output\n")
    old = cluster.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    cluster.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        with pytest.raises(ShuffleError, match="worker died"):
            shuffle_file_dask(src, out, memory="256K", seed=3, scheduler=cluster, _fault=("reduce", 0, None))
    finally:
        cluster.run_on_scheduler(lambda dask_scheduler, n=old: setattr(dask_scheduler, "allowed_failures", n))
    assert out.read_bytes() == b"the previous output\n"
    assert leftovers(fast_dir) == []
    cluster.wait_for_workers(2, timeout=60)


MEASURE_PEAK = """
import sys, tracemalloc
from pathlib import Path
import dask
from lib.shuffle.cluster import shuffle_file_dask
src, small, out, budget = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
with dask.config.set(scheduler="synchronous"):
    shuffle_file_dask(small, out, memory=budget, seed=0, split=3)  # imports and first-call set-up done
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    report = shuffle_file_dask(src, out, memory=budget, seed=0, split=3)
    peak = tracemalloc.get_traced_memory()[1] - base
print(report.n_buckets, report.n_blocks, report.n_oversized, peak)
"""


def test_each_task_stays_within_the_memory_budget(fast_dir):
    """Peak traced memory (numpy reports to tracemalloc) of a whole run on the synchronous scheduler.

    Tasks run one after another in one process, so the peak is the largest task plus the
    buffers kept between tasks plus the client's arrays: it must stay within one task's budget
    plus fixed-size numpy temporaries (the 256 KiB pieces of ``core.copy_lines``). Measured in a
    fresh process: tracemalloc counts every thread's allocations, and a Dask client left by
    another test in this process (the module's shared cluster) would add its own.
    """
    src = fast_dir / "in"
    corpus(src, 60_000, seed=5)  # about 6 MB
    (fast_dir / "small").write_bytes(b"a\nb\n")
    budget = 2 << 20
    done = subprocess.run([sys.executable, "-c", MEASURE_PEAK, str(src), str(fast_dir / "small"),
                           str(fast_dir / "out"), str(budget)], capture_output=True, text=True, check=True,
                          env=ENV)
    n_buckets, n_blocks, n_oversized, peak = map(int, done.stdout.split())
    assert n_buckets > 4 and n_blocks > 4 and n_oversized == 0
    assert 0.5 * budget < peak < budget + (300 << 10), peak


def test_bytes_pass_through_untouched_and_inputs_do_not_merge(fast_dir, sync):
    lines = [b"\x00\xff\xfe\n", b"caf\xc3\xa9\r\n", b"\r\n", b"\n", b"\xed\xa0\x80 invalid utf-8\n", b"lone\rcr\n",
             b"\x80" * 100 + b"\n", b"no newline at the end"]
    a, b, empty = fast_dir / "a", fast_dir / "b", fast_dir / "empty"
    a.write_bytes(b"".join(lines))
    b.write_bytes(b"b1\nb2")
    empty.write_bytes(b"")
    out = fast_dir / "out"
    report = shuffle_file_dask([a, empty, b, a], out, memory=10**6, seed=0, n_partitions=3, block_bytes=5)
    want = lines[:-1] + [lines[-1] + b"\n"]
    assert sorted(lines_of(out.read_bytes())) == sorted(2 * want + [b"b1\n", b"b2\n"])
    assert report.n_bytes_in == report.n_bytes_out == 2 * len(b"".join(want)) + 6
    shuffle_file_dask([empty], out, seed=0)
    assert out.read_bytes() == b""


def test_lines_longer_than_the_read_buffer_and_the_budget(fast_dir, sync):
    rng = np.random.default_rng(5)
    big = [bytes(rng.integers(97, 123, n, dtype=np.uint8)) + b"\n" for n in (300_000, 150_000, 90_000)]
    lines = big + [b"%d\n" % i for i in range(3000)]
    order = rng.permutation(len(lines))
    src = fast_dir / "in"
    src.write_bytes(b"".join(lines[i] for i in order))
    for kw in (dict(n_partitions=40), dict(n_partitions=2), dict()):
        out = fast_dir / "out"
        report = shuffle_file_dask(src, out, memory=64 * 1024, seed=3, block_bytes=4096, **kw)
        assert sorted(lines_of(out.read_bytes())) == sorted(lines)
    assert report.n_oversized > 0  # partitions with a long line went through the single-machine engine
    assert leftovers(fast_dir) == []


def test_output_may_replace_an_input_and_split_names_follow_the_engine(fast_dir, sync):
    src = fast_dir / "in"
    data = b"".join(b"%d\n" % i for i in range(1003))
    src.write_bytes(data)
    report = shuffle_file_dask(src, fast_dir / "part.txt", memory=3000, seed=0, split=4)
    assert report.n_buckets > 1
    local = shuffle_file(src, fast_dir / "part.txt", memory=3000, seed=0, split=4, tmpdir=fast_dir)
    assert report.output_paths == local.output_paths  # same names (the engine's split_names)
    report = shuffle_file_dask(src, fast_dir / "many", memory=10**6, seed=0, split=1500)
    sizes = [len(lines_of(Path(p).read_bytes())) for p in report.output_paths]
    assert len(sizes) == 1500 and sum(sizes) == 1003 and set(sizes) == {0, 1}
    shuffle_file_dask(src, src, memory=2000, seed=4)
    got = src.read_bytes()
    assert got != data and sorted(lines_of(got)) == sorted(lines_of(data))


def test_an_fsspec_url_input_gives_the_same_output_as_its_path(fast_dir, sync):
    src = fast_dir / "in"
    corpus(src, 2000, seed=6)
    shuffle_file_dask(src, fast_dir / "a", memory=20_000, seed=1)
    shuffle_file_dask(f"file://{src}", fast_dir / "b", memory=20_000, seed=1)
    assert (fast_dir / "a").read_bytes() == (fast_dir / "b").read_bytes()


def test_partitions_follow_the_engines_memory_rule():
    # ~1 GiB of 160-byte lines at 256 MiB: (2 x 160 + 64) B per line, 4 sigma and 10 % headroom.
    k = plan_partitions(1 << 30, 160.0, 256 << 20)
    assert 10 <= k <= 13
    assert plan_partitions(5 << 40, 1000.0, 4 << 30) > 2 * (5 << 40) // (4 << 30)


@pytest.mark.parametrize("total, line, memory", [(1 << 30, 160, "256M"), (5 * 10**12, 1000, "4G"),
                                                 (10**9, 12, "64M"), (280 * 10**9, 1000, "20G")])
def test_cluster_cost_counts_and_a_rare_overflow(total, line, memory):
    cost = cluster_cost(total, line, memory)
    assert cost.blocks == -(-total // cost.block_bytes) and cost.piece_reads == cost.blocks * cost.partitions
    assert cost.storage_bytes == 4 * total and cost.moved_between_workers == total
    budget = files.parse_size(memory)
    # A partition of mean-length lines within the budget: the chance that its (binomial) line count
    # exceeds the capacity, from scipy, is below 1e-4 (the engine's 4 sigma rule)...
    n_lines = total // line
    overflow = stats.binom.sf(cost.capacity_lines, n_lines, 1 / cost.partitions)
    assert overflow < 1e-4 and cost.sigmas >= 4
    # ...and the partitions are not many more than the memory needs: k <= 1.5 x S (2 + 64 / l) / M + 1.
    assert cost.partitions <= 1.5 * total * (2 + 64 / line) / budget + 1


@pytest.mark.parametrize("args, match", [((0, 10, "1G"), "total_bytes=0"), ((100, 0, "1G"), "mean_line=0"),
                                         ((100, 200, "1G"), "mean_line=200"), ((100, 10, "1Q"), "memory='1Q'"),
                                         ((1.5, 1, "1G"), "total_bytes=1.5")])
def test_cluster_cost_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        cluster_cost(*args)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(inputs="-"), ValueError, "standard input"),
    (dict(output="-"), ValueError, "output='-'"),
    (dict(output="s3://bucket/out"), ValueError, "not a URL"),
    (dict(split=0), ValueError, "split=0"),
    (dict(seed=-1), ValueError, "seed=-1"),
    (dict(n_partitions=0), ValueError, "n_partitions=0"),
    (dict(n_partitions=1 << 17), ValueError, "n_partitions=131072"),
    (dict(memory="12Q"), ValueError, "memory='12Q'"),
    (dict(inputs=3), TypeError, "inputs=3"),
    (dict(output=3), TypeError, "output=3"),
])
def test_bad_arguments_are_refused(fast_dir, sync, kwargs, exc, match):
    src = fast_dir / "in"
    src.write_bytes(b"a\n")
    args = dict(inputs=src, output=fast_dir / "out") | kwargs
    with pytest.raises(exc, match=match):
        shuffle_file_dask(args.pop("inputs"), args.pop("output"), **args)
    assert not (fast_dir / "out").exists()


def test_bad_inputs_and_outputs_are_clear_errors(fast_dir, sync):
    src = fast_dir / "in"
    src.write_bytes(b"a\n")
    for inputs, output, match in [(fast_dir / "missing", fast_dir / "o", "does not exist"),
                                  (fast_dir, fast_dir / "o", "is a folder"),
                                  (src, fast_dir / "no" / "o", "does not exist"),
                                  (src, fast_dir, "is a folder")]:
        with pytest.raises(ShuffleError, match=match):
            shuffle_file_dask(inputs, output)
    with pytest.raises(ShuffleError, match="temporary folder"):
        shuffle_file_dask(src, fast_dir / "o", tmpdir=fast_dir / "nowhere")
    assert sorted(os.listdir(fast_dir)) == ["in"]


def test_leftovers_of_dead_runs_on_this_host_are_removed_others_kept(fast_dir):
    host = files.host_name()
    dead = fast_dir / f"{layout.TAG}.{host}.999999999.0.0badf00d"
    alive = fast_dir / f"{layout.TAG}.{host}.{os.getpid()}.0.00c0ffee"
    elsewhere = fast_dir / f"{layout.TAG}.other-host.999999999.0.0badf00d"
    engine_style = fast_dir / f"{files.TAG}.{host}.999999999.0.0badf00d"
    for d in (dead, alive, elsewhere, engine_style):
        d.mkdir()
    out_tmp = fast_dir / f".out.{layout.TAG}.{host}.999999999.0.12345678.tmp"
    out_tmp.write_bytes(b"partial")
    assert sorted(remove_leftovers(fast_dir)) == sorted([str(dead), str(out_tmp)])
    assert alive.exists() and elsewhere.exists() and engine_style.exists()
    assert remove_leftovers(fast_dir) == []
    assert files.remove_leftovers(fast_dir) == [str(engine_style)]  # the engine's cleanup skips cluster names
    assert alive.exists() and elsewhere.exists()


def test_command_runs_on_a_local_cluster_and_matches_the_api(fast_dir, sync):
    src = fast_dir / "in"
    corpus(src, 5000, seed=8)
    r = command(src, "-o", fast_dir / "cli.txt", "--engine", "dask", "--workers", "1", "--memory", "64K",
                "--seed", "5", "--split", "2", "-q")
    assert r.returncode == 0, r.stderr
    report = shuffle_file_dask(src, fast_dir / "api.txt", memory="64K", seed=5, split=2)
    for a, b in zip(sorted(fast_dir.glob("cli-*")), report.output_paths):
        assert a.read_bytes() == Path(b).read_bytes()
    assert leftovers(fast_dir) == []


@pytest.mark.parametrize("args, status, message", [
    (["-", "-o", "OUT", "--engine", "dask"], 2, "standard input"),
    (["IN", "-o", "OUT", "--scheduler", "tcp://127.0.0.1:1"], 2, "need --engine dask"),
    (["IN", "-o", "OUT", "--engine", "dask", "--method", "article"], 2, "buckets"),
    (["IN", "-o", "OUT", "--engine", "dask", "--memory", "12Q"], 2, "--memory"),
    (["MISSING", "-o", "OUT", "--engine", "dask"], 1, "does not exist"),
])
def test_command_errors_are_one_line_with_a_status(fast_dir, args, status, message):
    (fast_dir / "IN").write_bytes(b"a\n")
    r = command(*[str(fast_dir / a) if a in ("IN", "OUT", "MISSING") else a for a in args])
    assert r.returncode == status and message in r.stderr.decode()
    assert len(r.stderr.decode().strip().splitlines()) == 1
    assert not (fast_dir / "OUT").exists()


def test_command_clean_removes_cluster_leftovers_of_this_host(fast_dir):
    dead = fast_dir / f".out.{layout.TAG}.{files.host_name()}.999999999.0.0badf00d.tmp"
    dead.write_bytes(b"x")
    r = command("--clean", "--engine", "dask", "-o", fast_dir / "out")
    assert r.returncode == 0 and not dead.exists()
