"""Sphinx extension (loaded from _config.yml): every page is self-contained.

- Fails the build early, with a clear message, if the local browser assets are missing.
- Drops sphinx-thebe's scripts. Jupyter Book always loads sphinx-thebe; this book does not
  use it, and under Sphinx 7.4 its inline config script is emitted twice, which is a page
  error in the browser ("THEBE_JS_URL has already been declared").
- Refuses any script or style sheet that a page would load from another host.
- Writes /favicon.ico, for the root redirect page (it links no icon).
"""
from __future__ import annotations

from pathlib import Path

from sphinx.errors import ExtensionError

REQUIRED = ["require.js", "widgets-setup.js", "jupyter-widgets/embed-amd.js", "mathjax/tex-mml-chtml.js"]


def _check_vendor(app, config) -> None:
    vendor = Path(app.confdir) / "_vendor"
    missing = [p for p in REQUIRED if not (vendor / p).is_file()]
    if missing:
        raise ExtensionError(
            f"local browser assets missing from {vendor}: {', '.join(missing)}. "
            "Run `make book` (it runs `npm ci` and tools/vendor_assets.py)."
        )


def _is_thebe(asset) -> bool:
    name = getattr(asset, "filename", None) or str(asset)
    body = (getattr(asset, "attributes", None) or {}).get("body", "")
    return "thebe" in str(name).lower() or "THEBE_JS_URL" in str(body)


def _is_remote(asset) -> bool:
    name = str(getattr(asset, "filename", None) or asset or "")
    return name.startswith(("http://", "https://", "//"))


def _page_context(app, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not assets:
            continue
        kept = [a for a in assets if not _is_thebe(a)]
        remote = [str(getattr(a, "filename", a)) for a in kept if _is_remote(a)]
        if remote:
            raise ExtensionError(f"page {pagename!r} would load {', '.join(remote)} from another host; serve it locally")
        context[key] = kept


def _write_root_favicon(app, exception) -> None:
    """A favicon.ico at the site root: the root index.html is a bare redirect with no icon link,
    and a browser that asks for /favicon.ico before following it would log a 404."""
    if exception is not None or app.builder.format != "html":
        return
    from PIL import Image

    Image.new("RGB", (32, 32), "#0072B2").save(Path(app.outdir) / "favicon.ico", format="ICO")


def setup(app):
    app.connect("config-inited", _check_vendor)
    # Late priority: run after the theme and myst-nb have added their assets.
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _write_root_favicon)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
