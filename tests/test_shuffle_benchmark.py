"""lib.shuffle.benchmark and lib.shuffle.baselines (chapter 8's measured comparison): test files,
resource measurement of child processes, and the plain-Python shuffles against exact laws."""
import os
import subprocess
import sys

import numpy as np
import pytest

from lib.shuffle import analysis as A
from lib.shuffle import baselines
from lib.shuffle import benchmark as B

ALPHA = 1e-3  # significance level of the statistical tests here (fixed seeds: deterministic)
MiB = 2**20


def test_make_test_file_writes_numbered_distinct_lines_of_the_given_lengths(tmp_path):
    path = tmp_path / "f.txt"
    n_bytes = B.make_test_file(path, 5000, min_len=20, max_len=60, seed=3)
    data = path.read_bytes()
    assert len(data) == n_bytes and data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) == 5000 == len(set(lines))
    assert all(19 <= len(line) <= 59 for line in lines)  # lengths without the newline
    assert B.read_line_numbers(path).tolist() == list(range(5000))
    assert all(line[9:10] == b" " and line[10:].isalpha() for line in lines)
    B.make_test_file(tmp_path / "g.txt", 5000, min_len=20, max_len=60, seed=3)
    assert (tmp_path / "g.txt").read_bytes() == data
    assert B.make_test_file(tmp_path / "e.txt", 0) == 0


@pytest.mark.parametrize("kwargs, match", [({"n_lines": -1}, "n_lines"), ({"n_lines": 10, "min_len": 5}, "min_len"),
                                           ({"n_lines": 10, "min_len": 30, "max_len": 20}, "min_len")])
def test_make_test_file_refuses_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        B.make_test_file(tmp_path / "x", **kwargs)


@pytest.mark.parametrize("via", ["gnu-time", "python-launcher"])
def test_run_measured_reports_the_childs_own_peak_memory(via):
    if via == "gnu-time" and B.measuring_tool() != "gnu-time":
        pytest.skip("GNU time is not installed")
    ballast = np.ones(80 * MiB // 8)  # make this process large: a child must not report our peak
    small = B.run_measured([sys.executable, "-S", "-c", "pass"], via=via)
    big = B.run_measured([sys.executable, "-S", "-c", "b = bytearray(60 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
                         via=via)
    assert small["peak_rss_bytes"] < 40 * MiB  # far below ours (> 80 MiB)
    assert 60 * MiB <= big["peak_rss_bytes"] < 60 * MiB + 40 * MiB
    assert big["cpu_s"] >= 0 and big["wall_s"] > 0 and big["via"] == via
    del ballast


def test_run_measured_raises_on_failure_and_bad_via():
    with pytest.raises(RuntimeError, match="failed"):
        B.run_measured([sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(ValueError, match="via"):
        B.run_measured(["true"], via="stopwatch")


def test_tool_command_names_every_tool_and_refuses_others(tmp_path):
    for tool in B.TOOLS:
        assert B.tool_command(tool, "in", "out", MiB, tmp_path)
    with pytest.raises(ValueError, match="tool"):
        B.tool_command("terashuf", "in", "out", MiB, tmp_path)


def test_measure_runs_every_tool_and_checks_its_output(tmp_path):
    src = tmp_path / "in.txt"
    B.make_test_file(src, 3000, seed=1)
    rows = B.measure([(tool, MiB) for tool in B.TOOLS], src, tmp_path, seed=2)
    assert [r["tool"] for r in rows] == list(B.TOOLS)
    for r in rows:
        assert r["same_lines"] and r["temp_left"] == [] and r["wall_s"] > 0 and r["peak_rss_bytes"] > 0
        assert r["rss_above_baseline_bytes"] == r["peak_rss_bytes"] - r["baseline_rss_bytes"]
        assert r["baseline_cpu_s"] >= 0 and r["baseline_wall_s"] > 0
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]
    with pytest.raises(ValueError, match="workdir"):
        B.measure([("shuf", 0)], src, tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one"):
        B.measure([], src, tmp_path)


@pytest.mark.parametrize("run", [baselines.article_script, baselines.bucket_script])
def test_baselines_keep_every_line_and_terminate_the_last(tmp_path, run):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    lines = [f"{i:04d} \xff".encode("latin-1") for i in range(997)]
    src.write_bytes(b"\n".join(lines))  # no final newline
    run([str(src)], str(out), 4096, str(tmp_path), seed=1)
    assert sorted(out.read_bytes().split(b"\n")[:-1]) == sorted(lines)
    assert sorted(os.listdir(tmp_path)) == ["in.txt", "out.txt"]  # temporaries removed
    (tmp_path / "empty").write_bytes(b"")
    run([str(tmp_path / "empty")], str(out), 4096, str(tmp_path))
    assert out.read_bytes() == b""


def _script_orders(tmp_path, run, memory, runs):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(b"a\nb\nc\nd\n")
    orders = []
    for seed in range(runs):
        run([str(src)], str(out), memory, str(tmp_path), seed=seed)
        orders.append([b"abcd".index(line) for line in out.read_bytes().splitlines()])
    return np.array(orders)


def test_the_plain_article_script_follows_the_exact_article_law(tmp_path):
    # lines of 2 bytes cost 2 + 41: a budget of 86 bytes gives chunks of 2 lines
    orders = _script_orders(tmp_path, baselines.article_script, 86, 480)
    counts = A.order_counts(orders)
    assert A.chi_square_gof(counts, A.law_vector(A.article_law([2, 2]), 4))[2] > ALPHA
    assert A.chi_square_uniformity(counts)[2] < 1e-6


def test_the_plain_bucket_script_is_uniform(tmp_path):
    # 8 bytes * (1 + 41/2) / (0.5 * 172) = 2 buckets
    orders = _script_orders(tmp_path, baselines.bucket_script, 172, 480)
    assert A.chi_square_uniformity(A.order_counts(orders))[2] > ALPHA


def test_baselines_run_as_a_script_and_refuse_bad_budgets(tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(b"".join(b"%d\n" % i for i in range(100)))
    subprocess.run([sys.executable, baselines.__file__, "article", str(src), "-o", str(out), "--memory", "500"],
                   check=True)
    assert sorted(out.read_bytes().splitlines(), key=int) == [b"%d" % i for i in range(100)]
    bad = subprocess.run([sys.executable, baselines.__file__, "buckets", str(src), "-o", str(out), "--memory", "0"],
                         capture_output=True)
    assert bad.returncode == 2 and b"--memory" in bad.stderr
    bad = subprocess.run([sys.executable, baselines.__file__, "buckets", str(src), "-o", str(out), "--memory", "500",
                          "--fill", "0"], capture_output=True)
    assert bad.returncode == 2 and b"--fill" in bad.stderr
    out.unlink()
    subprocess.run([sys.executable, baselines.__file__, "buckets", str(src), "-o", str(out), "--memory", "500",
                    "--fill", "0.8"], check=True)
    assert sorted(out.read_bytes().splitlines(), key=int) == [b"%d" % i for i in range(100)]
    with pytest.raises(ValueError, match="memory"):
        baselines.bucket_script([str(src)], str(out), 0)
    with pytest.raises(ValueError, match="inputs"):
        baselines.article_script([], str(out), 100)


def test_the_package_and_the_chapter_modules_import_no_plotting():
    code = ("import sys, lib.shuffle, lib.shuffle.analysis, lib.shuffle.planner, lib.shuffle.benchmark; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(B.ROOT)))

