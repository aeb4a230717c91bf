"""lib.shuffle.planner (chapter 8, §9.5): the sizing arithmetic against hand computation and brute force."""
import math

import pytest

from lib.shuffle import analysis as A
from lib.shuffle import planner as P


def test_article_preset_gives_the_digests_numbers():
    plan = P.plan_chunks(**P.preset_args("article"))
    assert plan.n_chunks == 14  # ceil(280 / 20)
    assert plan.total_io_bytes == 4 * 280e9 == 1.12e12
    assert plan.temp_bytes == 280e9 and plan.peak_disk_bytes == 840e9
    assert plan.fits_fd_limit
    assert math.isclose(plan.io_seconds, 1.12e12 / 150e6)


def test_reported_times_imply_the_digests_disk_rates():
    assert round(P.implied_disk_rate(280e9, 2.7 * 3600) / 1e6, 1) == 115.2  # 1120e9 / 9720 s
    assert round(P.implied_disk_rate(280e9, 3.5 * 3600) / 1e6, 1) == 88.9  # 1120e9 / 12600 s
    assert P.implied_disk_rate(100, 10, passes=1) == 20


def test_terashuf_readme_case_needs_1250_open_files():
    plan = P.plan_chunks(**P.preset_args("terashuf-readme"))
    assert plan.n_chunks == 1250 == P.REPORTED["terashuf_readme_fd_example"]["file_descriptors"]
    assert not plan.fits_fd_limit


def test_the_reference_scripts_fixed_chunks_need_2800_files_for_280_gb_of_1_kb_lines():
    plan = P.plan_chunks(280e9, 20e9, 1000, 0, lines_per_chunk=100_000)
    assert plan.n_lines == 280_000_000 and plan.n_chunks == 2800 and not plan.fits_fd_limit


@pytest.mark.parametrize("size, line, over, mem", [(10_000, 10, 5, 150), (12_345, 7, 41, 1000), (999, 3, 0, 10)])
def test_chunk_count_matches_cutting_the_lines_by_brute_force(size, line, over, mem):
    plan = P.plan_chunks(size, mem, line, over)
    per_chunk = mem // (line + over)
    n_lines = -(-size // line)
    assert plan.lines_per_chunk == per_chunk and plan.n_lines == n_lines
    assert plan.n_chunks == len(A.chunk_sizes(n_lines, per_chunk))
    assert plan.merge_memory_bytes == plan.n_chunks * 8192 + plan.n_chunks * (line + over)


def test_bucket_plan_levels_io_and_disk():
    one = P.plan_buckets(1e12, 1e9, 1000, 0, fill=0.5, fanout=4096)
    assert one.n_buckets == 2000 and one.levels == 1 and one.total_io_bytes == 4e12
    two = P.plan_buckets(1e12, 1e9, 1000, 0, fill=0.5, fanout=1024)
    assert two.n_buckets == 2000 and two.levels == 2 and two.total_io_bytes == 6e12 and two.open_files == 1024
    assert math.isclose(two.peak_disk_bytes, 2e12 + 1e12 / 2000)
    py = P.plan_buckets(1e9, 1e8, 41, P.PYTHON_BYTES_OVERHEAD, fill=1.0)
    assert py.n_buckets == 20  # bytes double in memory at 41 B lines
    assert P.plan_buckets(10, 1e9).n_buckets == 1


def test_terashuf_readme_throughputs_and_ratios():
    rows = {(r["tool"], r["memory_gb"]): r["real_s"] for r in P.REPORTED["terashuf_readme"]}
    assert rows == {("terashuf", 4): 376, ("terashuf", 20): 152, ("shuf", 20): 166, ("sort -R", 4): 10251}
    rate = {k: P.throughput(20e9, v) / 1e6 for k, v in rows.items()}
    assert [round(rate[k], 2) for k in rows] == [53.19, 131.58, 120.48, 1.95]
    assert round(rows["sort -R", 4] / rows["terashuf", 4], 1) == 27.3


def test_article_reported_throughputs():
    rep = P.REPORTED["article"]
    assert round(P.throughput(rep["corpus_bytes"], rep["terashuf_hours"] * 3600) / 1e6, 1) == 28.8
    assert round(P.throughput(rep["corpus_bytes"], rep["python_hours"] * 3600) / 1e6, 1) == 22.2
    assert round(rep["python_hours"] / rep["terashuf_hours"], 3) == 1.296


def test_describe_fd_limit():
    import resource

    assert P.describe_fd_limit(1024) == "1,024" and P.describe_fd_limit(resource.RLIM_INFINITY) == "unlimited"
    with pytest.raises(TypeError, match="limit"):
        P.describe_fd_limit(1024.0)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: P.plan_chunks(0, 1e9), ValueError, "file_bytes"),
    (lambda: P.plan_chunks(-5, 1e9), ValueError, "file_bytes"),
    (lambda: P.plan_chunks(float("nan"), 1e9), ValueError, "file_bytes"),
    (lambda: P.plan_chunks("1G", 1e9), TypeError, "file_bytes"),
    (lambda: P.plan_chunks(1e9, True), TypeError, "memory_bytes"),
    (lambda: P.plan_chunks(1e9, 100, 1000), ValueError, "cannot hold one line"),
    (lambda: P.plan_chunks(1e9, 1e9, per_line_overhead=-1), ValueError, "per_line_overhead"),
    (lambda: P.plan_chunks(1e9, 1e9, lines_per_chunk=2.5), TypeError, "lines_per_chunk"),
    (lambda: P.plan_chunks(1e9, 1e9, fd_limit=0), ValueError, "fd_limit"),
    (lambda: P.plan_chunks(1e9, 1e9, disk_bandwidth=0), ValueError, "disk_bandwidth"),
    (lambda: P.plan_buckets(1e9, 1e9, fill=1.5), ValueError, "fill"),
    (lambda: P.plan_buckets(1e9, 1e9, fanout=1), ValueError, "fanout"),
    (lambda: P.plan_buckets(1e9, 500, 1000), ValueError, "cannot hold one line"),
    (lambda: P.throughput(1, 0), ValueError, "seconds"),
    (lambda: P.implied_disk_rate(1, 1, passes=0), ValueError, "passes"),
    (lambda: P.preset_args("mine"), ValueError, "name"),
])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
