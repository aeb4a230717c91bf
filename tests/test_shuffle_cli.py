"""The command ``python -m lib.shuffle`` end to end: runs, exit codes, signals at random points."""
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lib.shuffle import files
from shuffle_helpers import ENV, command, leftovers

def sorted_lines(data: bytes) -> list[bytes]:
    return sorted(data.splitlines(keepends=True))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """About 24 MB of lines of 20-200 bytes (generated with numpy in well under a second)."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 201, size=220_000)
    body = rng.integers(32, 127, size=int(lengths.sum()), dtype=np.uint8)
    body[np.cumsum(lengths) - 1] = 10
    path.write_bytes(body.tobytes())
    return path


def test_command_shuffles_files_and_stdin_reproducibly(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"".join(b"a%d\n" % i for i in range(500)))
    b.write_bytes(b"".join(b"b%d\n" % i for i in range(300)) + b"no newline")
    out1, out2 = tmp_path / "o1", tmp_path / "o2"
    for out in (out1, out2):
        r = command(a, b, "-o", out, "--memory", "4K", "--seed", "5", "--tmpdir", tmp_path)
        assert r.returncode == 0 and r.stderr == b""
    expected = sorted_lines(a.read_bytes() + b.read_bytes() + b"\n")
    assert out1.read_bytes() == out2.read_bytes() and sorted_lines(out1.read_bytes()) == expected
    r = command("-", "-o", "-", "--seed", "5", "--memory", "1M", stdin=a.read_bytes())
    assert r.returncode == 0 and sorted_lines(r.stdout) == sorted_lines(a.read_bytes())
    r = command(a, "-o", tmp_path / "part.txt", "--split", "3", "--seed", "1", "--method", "proportional")
    parts = sorted(tmp_path.glob("part-*-of-00003.txt"))
    assert r.returncode == 0 and [len(p.read_bytes().splitlines()) for p in parts] == [166, 167, 167]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("args, status, message", [
    (["missing.txt", "-o", "out"], 1, "does not exist"),
    (["in.txt", "-o", "out", "--memory", "12Q"], 2, "--memory"),
    (["in.txt", "-o", "out", "--memory", "0"], 2, "positive"),
    (["in.txt", "-o", "nowhere/out"], 1, "output folder"),
    (["in.txt", "-o", "out", "--tmpdir", "nowhere"], 1, "temporary folder"),
    (["in.txt", "-o", "-", "--split", "2"], 2, "standard output"),
    (["in.txt", "-o", "out", "--split", "0"], 2, "at least 1"),
    (["in.txt"], 2, "-o OUTPUT"),
])
def test_errors_are_one_line_with_a_status(tmp_path, args, status, message):
    (tmp_path / "in.txt").write_bytes(b"x\n")
    r = command(*args, cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == status, err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_disk_full_on_output_is_reported(tmp_path):
    (tmp_path / "in.txt").write_bytes(b"x\n" * 1000)
    with open("/dev/full", "wb") as full:
        r = subprocess.run([sys.executable, "-m", "lib.shuffle", str(tmp_path / "in.txt"), "-o", "-"],
                           stdout=full, stderr=subprocess.PIPE, env=ENV, timeout=60)
    assert r.returncode == 1 and b"no space left" in r.stderr
    assert Path("/dev/full").is_char_device()  # written in place, never replaced


def test_progress_bar_only_on_a_terminal_and_quiet_silences_it(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"%d\n" % i for i in range(200_000)))
    for extra, expect_bar in (([], True), (["--quiet"], False)):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a sized terminal
        r = subprocess.run([sys.executable, "-m", "lib.shuffle", str(src), "-o", str(tmp_path / "out"),
                            "--memory", "256K", *extra], stderr=slave, env=ENV, timeout=120)
        os.close(slave)
        shown = b""
        while True:
            try:
                piece = os.read(master, 65536)
            except OSError:
                break
            if not piece:
                break
            shown += piece
        os.close(master)
        assert r.returncode == 0
        assert (b"shuffle" in shown) == expect_bar, shown


def test_the_command_imports_no_plotting_library():
    """Nor Dask: the single-machine command and ``import lib.shuffle`` start without it."""
    code = ("import sys; from lib.shuffle.__main__ import main; main(['-', '-o', '-', '-q']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'ipywidgets', 'torch', 'dask', 'distributed')]; "
            "sys.exit(len(bad))")
    r = subprocess.run([sys.executable, "-c", code], input=b"a\nb\n", env=ENV, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_clean_removes_leftovers_of_dead_runs_only(tmp_path):
    dead = tmp_path / f"{files.TAG}.{files.host_name()}.999999999.0.0badf00d"
    dead.mkdir()
    alive = tmp_path / f"{files.TAG}.{files.host_name()}.{os.getpid()}.0.00c0ffee"  # this test's own process: alive
    alive.mkdir()
    r = command("--clean", "--tmpdir", tmp_path)
    assert r.returncode == 0 and not dead.exists() and alive.exists()


def test_a_run_leaves_the_temporary_files_of_other_hosts_alone(tmp_path):
    """A folder shared by hosts (NFS): a run here must not judge another host's pids (they mean nothing here)."""
    tmp, outdir = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    outdir.mkdir()
    other = "other-" + files.host_name()
    theirs = [tmp / f"{files.TAG}.{other}.999999999.0.0badf00d",
              outdir / f".shuffled.txt.{files.TAG}.{other}.999999999.0.0badf00d.tmp"]
    theirs[0].mkdir()
    theirs[1].write_bytes(b"partial")
    ours = tmp / f"{files.TAG}.{files.host_name()}.999999999.0.0badf00d"
    ours.mkdir()
    (tmp_path / "in.txt").write_bytes(b"a\nb\nc\n")
    r = command(tmp_path / "in.txt", "-o", outdir / "shuffled.txt", "--tmpdir", tmp, "--seed", 1)
    assert r.returncode == 0, r.stderr
    assert sorted_lines((outdir / "shuffled.txt").read_bytes()) == [b"a\n", b"b\n", b"c\n"]
    assert all(p.exists() for p in theirs) and not ours.exists()
    r = command("--clean", "--tmpdir", tmp, "-o", outdir / "shuffled.txt")
    assert r.returncode == 0 and all(p.exists() for p in theirs)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_at_a_random_point_loses_nothing(tmp_path, corpus, sig):
    """Kill the command at random moments: inputs intact, destination old or complete, temp cleaned."""
    data = corpus.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = sorted_lines(data)
    tmp, outdir = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    outdir.mkdir()
    out = outdir / "shuffled.txt"
    rnd = random.Random(int(sig))
    t0 = time.perf_counter()
    r = command(corpus, "-o", out, "--memory", "8M", "--tmpdir", tmp, "--seed", "0")
    assert r.returncode == 0
    full_run = time.perf_counter() - t0
    for attempt in range(3):
        out.write_bytes(b"old\n")
        proc = subprocess.Popen([sys.executable, "-m", "lib.shuffle", str(corpus), "-o", str(out), "--memory",
                                 "8M", "--tmpdir", str(tmp)], env=ENV, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.15, 0.95) * full_run)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        status = proc.returncode
        assert hashlib.sha256(corpus.read_bytes()).hexdigest() == digest
        result = out.read_bytes()
        assert result == b"old\n" or sorted_lines(result) == expected
        if status == 0:
            continue
        if sig == signal.SIGKILL:
            assert status == -signal.SIGKILL
            continue
        assert leftovers(tmp, outdir) == []
        if result != b"old\n":  # the signal came as the finished output was renamed, or at exit
            assert status == -sig or (status == 128 + sig and b"output is complete" in err)
            continue
        if status == -sig:  # arrived while Python itself was starting: nothing was made yet
            continue
        assert status == 128 + sig
        assert err.count(b"\n") == 1 and (b"terminated" in err or b"interrupted" in err)
    if sig == signal.SIGKILL:  # a later run removes what the killed ones left
        r = command(corpus, "-o", out, "--memory", "8M", "--tmpdir", tmp, "--seed", "1")
        assert r.returncode == 0 and leftovers(tmp, outdir) == []
        assert sorted_lines(out.read_bytes()) == expected


def test_thousands_of_inputs_need_few_open_files(tmp_path):
    import resource

    names = []
    for i in range(1500):
        p = tmp_path / f"in{i:04d}.txt"
        p.write_bytes(b"%d a\n%d b\n" % (i, i))
        names.append(p)

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    out = tmp_path / "out.txt"
    r = subprocess.run([sys.executable, "-m", "lib.shuffle", *map(str, names), "-o", str(out), "--memory", "8K",
                        "--seed", "0"], env=ENV, capture_output=True, timeout=300, preexec_fn=few_fds)
    assert r.returncode == 0, r.stderr
    expected = sorted(line for p in names for line in p.read_bytes().splitlines(keepends=True))
    assert sorted_lines(out.read_bytes()) == expected
