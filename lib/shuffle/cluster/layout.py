"""Names and on-disk layout of a cluster shuffle: temporary names with host and pid, the map files.

Every name made here carries ``lib-shuffle-dask.HOST.PID.START.TOKEN``: the single-machine
engine's convention (host, owning process id, its start time, a random token;
:mod:`lib.shuffle.files`) with a tag of its own. On a shared file system a process id means
nothing on another machine, so a later run removes a leftover only if it was made on its own
host by a process that is gone (:func:`remove_leftovers`); runs on other hosts leave it alone.
The engine's own cleanup does not match these names (its pattern wants ``lib-shuffle.``).

A *map file* ``map-I.data`` holds the lines of input block ``I`` grouped by partition, one
*section* after another (a section is one slice of the block, or one line longer than a read);
``map-I.index`` says where each partition's lines are in each section::

    int64 header [n_sections, k]
    int64 table  [n_sections, k + 1, 2]   # (byte offset, lines before) at each partition edge

so partition ``p`` of section ``s`` is bytes ``table[s, p, 0] : table[s, p + 1, 0]`` holding
``table[s, p + 1, 1] - table[s, p, 1]`` lines; one positioned read of 32 bytes per section finds it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import files

TAG = "lib-shuffle-dask"
_HEADER = 16  # bytes: n_sections, k
_EDGE = 16  # bytes per partition edge: offset, lines before


def owner_tag() -> str:
    """``lib-shuffle-dask.HOST.PID.START.TOKEN`` for this process (a fresh token each call)."""
    return files.owner_tag(TAG)


def remove_leftovers(directory: str | os.PathLike) -> list[str]:
    """Remove files and folders in ``directory`` left by cluster shuffles of this host that are gone.

    Only names made by :func:`owner_tag` on this host whose process no longer runs are removed
    (a name from another host is never touched: its process cannot be checked from here).
    """
    return files.remove_leftovers(directory, TAG)


def map_paths(workspace: str | os.PathLike, block: int) -> tuple[Path, Path]:
    """``(data, index)`` paths of map block ``block``."""
    ws = Path(workspace)
    return ws / f"map-{block}.data", ws / f"map-{block}.index"


def index_bytes(table: np.ndarray) -> bytes:
    """Serialise a ``(n_sections, k + 1, 2)`` int64 edge table with its header."""
    n_sections, edges, _ = table.shape
    header = np.array([n_sections, edges - 1], dtype=np.int64)
    return header.tobytes() + np.ascontiguousarray(table, dtype=np.int64).tobytes()


def read_pieces(index_path: str | os.PathLike, partition: int) -> list[tuple[int, int, int]]:
    """``[(offset, n_bytes, n_lines), ...]`` of ``partition`` in one map file, in section order."""
    pieces = []
    fd = os.open(index_path, os.O_RDONLY)
    try:
        n_sections, k = np.frombuffer(os.pread(fd, _HEADER, 0), dtype=np.int64).tolist()
        if not 0 <= partition < k:
            raise ValueError(f"partition {partition} outside the {k} of {index_path}")
        for s in range(n_sections):
            at = _HEADER + (s * (k + 1) + partition) * _EDGE
            off0, before0, off1, before1 = np.frombuffer(os.pread(fd, 2 * _EDGE, at), dtype=np.int64).tolist()
            if off1 > off0:
                pieces.append((off0, off1 - off0, before1 - before0))
    finally:
        os.close(fd)
    return pieces
