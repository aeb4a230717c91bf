"""Globally shuffle line files far larger than memory (chapter 8): ``shuffle_file`` and ``python -m lib.shuffle``.

The default method sends every line to a random bucket file, then shuffles each bucket in
memory: an exactly uniform shuffle that reads and writes the data twice with bounded memory.
The article's method and the proportional merge are there by name for the chapter's
comparisons. See :mod:`lib.shuffle.engine` for the methods and :mod:`lib.shuffle.core` for
the in-memory steps they share. Imports numpy only (no plotting), so the command starts fast.
"""
from .core import (article_merge_lines, article_sources, assign_buckets, bucket_shuffle_lines, copy_lines,
                   gather_lines, group_by_bucket, iter_line_slices, line_bounds, proportional_merge_lines,
                   proportional_sources, shuffle_block, shuffle_buffer)
from .engine import METHODS, Plan, ShuffleReport, shuffle_file
from .files import LineTooLongError, ShuffleError, parse_size, remove_leftovers, split_names

__all__ = [
    "METHODS", "LineTooLongError", "Plan", "ShuffleError", "ShuffleReport", "article_merge_lines",
    "article_sources", "assign_buckets", "bucket_shuffle_lines", "copy_lines", "gather_lines",
    "group_by_bucket", "iter_line_slices", "line_bounds", "parse_size", "proportional_merge_lines", "proportional_sources",
    "remove_leftovers", "shuffle_block", "shuffle_buffer", "shuffle_file", "split_names",
]
