"""Files for the shuffle command: sizes, temporary names, atomic outputs, reading lines in blocks.

Temporary names carry the host, the owning process id and its start time
(``lib-shuffle.HOST.PID.START.TOKEN``), so that a later run can tell a leftover of a killed
process (removed) from the work of a running one (left alone). A process id means nothing on
another machine, so on a folder shared by several hosts (NFS) a run judges only its own
host's names. Outputs are written under such a name next to the destination and renamed into
place only when complete. The cluster engine uses the same names with its own tag
(:mod:`lib.shuffle.cluster.layout`).
"""
from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import shutil
import socket
import stat
from pathlib import Path

import numpy as np

TAG = "lib-shuffle"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class ShuffleError(Exception):
    """A failure the command reports in one line (bad input, full disk, ...)."""


class LineTooLongError(ShuffleError, ValueError):
    """A line does not fit in the memory a method needs for it (only the chunk methods refuse)."""


def parse_size(value) -> int:
    """Return a size in bytes from an int or a string with a binary unit: ``"2G"`` = 2 GiB.

    Units K, M, G, T (optionally followed by ``iB`` or ``B``), case-insensitive, as GNU tools
    read them; a bare number is bytes. The result must be a positive whole number of bytes.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"memory={value!r} must be an int (bytes) or a string such as '256M'")
    if isinstance(value, int):
        size = value
    else:
        m = _SIZE.match(value)
        if not m:
            raise ValueError(f"memory={value!r} is not a size: use a number with an optional unit "
                             "K, M, G or T (binary: 1K = 1024 bytes), e.g. 256M or 2G")
        size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if size <= 0:
        raise ValueError(f"memory={value!r} must be positive")
    return size


def path_list(inputs) -> list[str]:
    """``inputs`` (one path, or an iterable of paths) as a list of ``str`` paths.

    Raises TypeError naming ``inputs`` for anything else. Used by both engines' argument checks.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    try:
        return [os.fspath(p) for p in inputs]
    except TypeError:
        raise TypeError(f"inputs={inputs!r} must be a path or a list of paths") from None


def _start_time(pid: int) -> int:
    """The start time of process ``pid`` in clock ticks since boot (0 if unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def host_name() -> str:
    """This machine's name with only letters, digits and '-' (dots would break the tag)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def owner_tag(tag: str = TAG) -> str:
    """``TAG.HOST.PID.START.TOKEN`` for this process (a fresh token each call)."""
    pid = os.getpid()
    return f"{tag}.{host_name()}.{pid}.{_start_time(pid)}.{secrets.token_hex(4)}"


def owner_alive(pid: int, start: int) -> bool:
    """True if process ``pid`` exists and (when known) started at ``start``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _start_time(pid)
    return not (start and now and now != start)


@functools.lru_cache(maxsize=4)
def _leftover_pattern(tag: str) -> re.Pattern:
    # A folder TAG.HOST.PID.START.TOKEN, or an output .NAME.TAG.HOST.PID.START.TOKEN.tmp
    return re.compile(r"(?:^|\.)" + re.escape(tag) + r"\.([A-Za-z0-9-]+)\.(\d+)\.(\d+)\.[0-9a-f]+(?:\.tmp)?$")


def remove_leftovers(directory: str | os.PathLike, tag: str = TAG) -> list[str]:
    """Remove the temporary files and folders in ``directory`` left by shuffles of this host that are gone.

    Only names made by :func:`owner_tag` with ``tag`` on this host whose process no longer runs
    are removed; returns them. A name from another host is never touched (its process cannot
    be checked from here), nor one of the older form without a host (``TAG.PID.START.TOKEN``):
    its host cannot be told either.
    """
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    here, pattern = host_name(), _leftover_pattern(tag)
    for name in names:
        m = pattern.search(name)
        if not m or m.group(1) != here or owner_alive(int(m.group(2)), int(m.group(3))):
            continue
        path = os.path.join(directory, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def temp_output(path: str | os.PathLike, tag: str) -> Path:
    """The temporary name of an output, next to it: ``.NAME.TAG.tmp`` (``tag`` from :func:`owner_tag`)."""
    path = Path(path)
    return path.parent / f".{path.name}.{tag}.tmp"


class Workspace:
    """A private temporary folder ``TMPDIR/lib-shuffle.HOST.PID.START.TOKEN``, removed on close."""

    def __init__(self, tmpdir: str | os.PathLike):
        self.path = Path(tmpdir) / owner_tag()
        self.path.mkdir(mode=0o700)

    def file(self, name: str) -> Path:
        return self.path / name

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


WRITE_PIECE = 1 << 20


def write_all(fd: int, data) -> None:
    """Write all of ``data`` (bytes-like) to ``fd`` in pieces of at most 1 MiB, retrying short writes.

    Measured here (ext4): one write() of tens of MiB cost up to 8x the CPU time of the same
    bytes written 1 MiB at a time.
    """
    view = memoryview(data).cast("B")
    while view.nbytes:
        n = os.write(fd, view[:WRITE_PIECE])
        view = view[n:]


class FileOutput:
    """An output file written under a temporary name next to ``path``, renamed into place on commit."""

    def __init__(self, path: str | os.PathLike, fsync: bool = False):
        self.path = Path(path)
        self.fsync = fsync
        self.temp = temp_output(self.path, owner_tag())
        self.fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)

    def write(self, data) -> None:
        write_all(self.fd, data)

    def finish(self) -> None:
        """Close the file (flushing it to disk with ``fsync=True``); the rename comes later."""
        if self.fd >= 0:
            if self.fsync:
                os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1

    def commit(self) -> None:
        self.finish()
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


class StreamOutput:
    """Standard output, or an existing non-regular file such as a device or a named pipe.

    Written in place (a stream cannot be renamed into place, and renaming over a device would
    replace it): not atomic, a reader sees the lines as they come.
    """

    def __init__(self, path: str | os.PathLike = "-"):
        self.path = Path(path)
        self.fd = 1 if str(path) == "-" else os.open(path, os.O_WRONLY)

    def write(self, data) -> None:
        write_all(self.fd, data)

    def finish(self) -> None:
        pass

    def commit(self) -> None:
        self.discard()

    def discard(self) -> None:
        if self.fd > 2:
            os.close(self.fd)
        self.fd = -1


def split_names(output: str | os.PathLike, parts: int) -> list[Path]:
    """Names of the ``parts`` files of ``--split``: ``train.txt`` -> ``train-00000-of-00004.txt``, ...

    The index and the count are zero-padded to 5 digits (more if ``parts`` needs them); the
    extension (the last suffix, if any) stays at the end.
    """
    out = Path(output)
    width = max(5, len(str(parts)))
    stem, suffix = (out.stem, out.suffix) if out.suffix else (out.name, "")
    return [out.with_name(f"{stem}-{i:0{width}d}-of-{parts:0{width}d}{suffix}") for i in range(parts)]


class Sink:
    """Where the shuffled lines go: one output, or ``parts`` outputs of near-equal line counts.

    Part ``i`` of ``parts`` receives output lines ``floor(i N / parts)`` to
    ``floor((i + 1) N / parts) - 1``, where ``N`` is the total number of lines.
    """

    def __init__(self, output: str | os.PathLike, parts: int | None = None, fsync: bool = False):
        self.outputs: list = []
        self.parts = parts
        self.bytes_written = 0
        self.lines_written = 0
        self.on_write = None  # progress callback(n_bytes)
        if parts is None:
            stream = str(output) == "-" or (os.path.exists(output) and not os.path.isfile(output))
            self.outputs.append(StreamOutput(output) if stream else FileOutput(output, fsync))
        else:
            for name in split_names(output, parts):
                self.outputs.append(FileOutput(name, fsync))
        self._part = 0
        self._limits = [0]

    @property
    def paths(self) -> list[Path]:
        return [o.path for o in self.outputs]

    def set_total_lines(self, n_lines: int) -> None:
        k = len(self.outputs)
        self._limits = [(i + 1) * n_lines // k for i in range(k)]  # cumulative line counts

    def _advance(self) -> None:
        while self._part < len(self.outputs) - 1 and self.lines_written >= self._limits[self._part]:
            self._part += 1

    def write_lines(self, data: np.ndarray, lengths: np.ndarray) -> None:
        """Write whole lines: ``data`` holds them back to back, ``lengths`` gives their sizes."""
        n = len(lengths)
        if len(self.outputs) == 1:
            self.outputs[0].write(data)
            self.lines_written += n
        else:
            done = pos = 0
            ends = None
            while done < n:
                self._advance()
                room = n - done
                if self._part < len(self.outputs) - 1:
                    room = min(room, self._limits[self._part] - self.lines_written)
                if room == n - done:
                    stop = data.size
                else:
                    if ends is None:
                        ends = np.cumsum(lengths)
                    stop = int(ends[done + room - 1])
                self.outputs[self._part].write(data[pos:stop])
                self.lines_written += room
                done += room
                pos = stop
        self.bytes_written += data.size
        if self.on_write:
            self.on_write(data.size)

    def start_line(self) -> None:
        """Begin one line whose bytes follow through :meth:`write_bytes` (a long line, streamed)."""
        self._advance()
        self.lines_written += 1

    def write_bytes(self, data) -> None:
        self.outputs[self._part].write(data)
        n = memoryview(data).nbytes
        self.bytes_written += n
        if self.on_write:
            self.on_write(n)

    def commit(self) -> None:
        """Finish every part, then rename them all into place."""
        for o in self.outputs:
            o.finish()
        for o in self.outputs:
            o.commit()

    def discard(self) -> None:
        for o in self.outputs:
            o.discard()


def check_temp_dir(folder: str) -> None:
    """Raise ShuffleError unless the temporary folder ``folder`` exists and is writable."""
    if not os.path.isdir(folder):
        raise ShuffleError(f"temporary folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ShuffleError(f"temporary folder {folder!r} is not writable")


def check_output_dir(output: str | os.PathLike) -> None:
    """Raise ShuffleError unless the folder of ``output`` exists and is writable."""
    if str(output) == "-" or (os.path.exists(output) and not os.path.isdir(output)
                              and not os.path.isfile(output)):
        return  # standard output, a device or a named pipe: written in place
    out = Path(output)
    parent = out.parent
    if not parent.is_dir():
        raise ShuffleError(f"output folder {str(parent)!r} does not exist")
    if out.is_dir():
        raise ShuffleError(f"output {str(out)!r} is a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ShuffleError(f"output folder {str(parent)!r} is not writable")


class InputFile:
    """A regular input opened only while it is being read (so thousands of inputs cost one fd)."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._done = False

    def readinto(self, view) -> int:
        if self._done:
            return 0
        if self._file is None:
            self._file = open(self.path, "rb", buffering=0)
        n = self._file.readinto(view)
        if not n:
            self.close()
        return n

    def pread(self, n: int, offset: int) -> bytes:
        with open(self.path, "rb", buffering=0) as f:
            return os.pread(f.fileno(), n, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._done = True


def open_input(path: str) -> tuple[object, int | None]:
    """Check an input and return ``(raw stream with readinto and close, size or None)``.

    Missing, unreadable and folder inputs raise ShuffleError at once. A regular file is
    opened only while it is read (:class:`InputFile`); standard input and other streams
    (named pipes) are opened now.
    """
    if path == "-":
        return os.fdopen(os.dup(0), "rb", buffering=0), None
    try:
        f = open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise ShuffleError(f"input {path!r} does not exist") from None
    except IsADirectoryError:
        raise ShuffleError(f"input {path!r} is a folder") from None
    except PermissionError:
        raise ShuffleError(f"input {path!r} is not readable (permission denied)") from None
    st = os.fstat(f.fileno())
    if stat.S_ISDIR(st.st_mode):
        f.close()
        raise ShuffleError(f"input {path!r} is a folder")
    if not stat.S_ISREG(st.st_mode):
        return f, None
    f.close()
    return InputFile(path), st.st_size


def readinto_full(raw, view: memoryview) -> int:
    """Fill ``view`` from ``raw`` until full or end of input; return the number of bytes read."""
    got = 0
    while got < view.nbytes:
        n = raw.readinto(view[got:])
        if not n:
            break
        got += n
    return got


class LineReader:
    """Read a byte stream as blocks of whole lines; a line longer than a block comes in pieces.

    A last line without a newline gets one. ``offset`` is the position (in the stream as
    read, added newline included) of the next byte :meth:`read_block` will return.
    """

    def __init__(self, raw, prefix: bytes = b""):
        self.raw = raw
        self.carry = prefix
        self.eof = False
        self.offset = 0

    def _fill(self, buf: bytearray, capacity: int) -> int:
        n = len(self.carry)
        buf[:n] = self.carry
        self.carry = b""
        if not self.eof:
            got = readinto_full(self.raw, memoryview(buf)[n:capacity])
            if n + got < capacity:
                self.eof = True
            n += got
        if self.eof and n and buf[n - 1] != 10 and n < len(buf):
            buf[n] = 10  # the documented added newline; buf has one spare byte
            n += 1
        return n

    def read_block(self, buf: bytearray) -> tuple[int, bool]:
        """Fill ``buf`` (capacity ``len(buf) - 1``); return ``(n, whole)``.

        ``whole`` is True when ``buf[:n]`` holds whole lines (``n == 0`` at the end); False when
        it holds the start of a line longer than the block, to continue with :meth:`read_piece`.
        """
        capacity = len(buf) - 1
        n = self._fill(buf, capacity)
        if n == 0:
            return 0, True
        last = buf.rfind(b"\n", 0, n)
        if last < 0:
            self.offset += n
            return n, False
        self.carry = bytes(buf[last + 1:n])
        self.offset += last + 1
        return last + 1, True

    def read_piece(self, buf: bytearray) -> tuple[int, bool]:
        """The next piece of a long line: ``(n, ends_line)``."""
        n = self._fill(buf, len(buf) - 1)
        if n == 0:  # the stream ended right after a full piece: close the line
            buf[0] = 10
            n = 1
        first = buf.find(b"\n", 0, n)
        if first >= 0:
            self.carry = bytes(buf[first + 1:n])
            n = first + 1
        self.offset += n
        return n, first >= 0 or n == 0


def disk_full_message(err: OSError, where: str) -> str:
    if err.errno == errno.ENOSPC:
        return f"no space left on the device while writing {where}"
    if err.errno == errno.EDQUOT:
        return f"disk quota exceeded while writing {where}"
    return f"cannot write {where}: {err.strerror or err}"
