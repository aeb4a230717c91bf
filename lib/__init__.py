"""Tested reference code for the book *Scientific Spaces, executed*.

The notebooks in ``book/`` narrate; this package computes. Each chapter has one module or
subpackage (``lib.margin``, ``lib.flops``, ``lib.shuffle``, ...) and a few modules are shared by
every chapter:

- :mod:`lib.style`   -- the house plotting style (sizes, fonts, opaque backgrounds, colours);
- :mod:`lib.figures` -- :func:`lib.figures.drivable_figure`, figures the reader drives on the
  static website (precomputed images switched in the browser, no kernel needed);
- :mod:`lib.claims`  -- :class:`lib.claims.Claims`, a chapter's checked claims, shown as a table
  and raising when one stops holding (so that nbval fails);
- :mod:`lib.checks`  -- argument validators for public functions (errors name the argument,
  the value and what is allowed);
- :mod:`lib.tables`  -- :class:`lib.tables.Table`, a small table shown as HTML in a page and as
  aligned text elsewhere, numbers formatted as in the claims.

Importing ``lib`` does no work: each module imports its heavy dependencies (torch,
matplotlib, ipywidgets) itself, so ``import lib`` stays cheap and ``python -m lib.shuffle``
starts fast on a server.
"""
