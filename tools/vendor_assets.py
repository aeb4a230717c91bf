"""Copy the browser assets the site serves itself from node_modules/ into _vendor/.

Sphinx copies _vendor/ into _build/html/_static/ (``html_static_path`` in _config.yml).
Nothing is loaded from a CDN: MathJax 3, require.js and the ipywidgets HTML manager
(with its font files) are all local. Of MathJax only the ``tex-mml-chtml`` component and the
folders it loads lazily are kept: the other combined builds, the SVG output and ``sre/`` (the
speech-rule engine of the accessibility explorer) are not used by any page.

usage: python tools/vendor_assets.py NODE_MODULES OUT_DIR
"""
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FONT_SUFFIXES = {".woff", ".woff2", ".ttf", ".eot", ".svg"}


def vendor(node_modules: Path, out: Path) -> None:
    required = [
        node_modules / "requirejs" / "require.js",
        node_modules / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
        node_modules / "mathjax" / "es5" / "tex-mml-chtml.js",
    ]
    missing = [str(p) for p in required if not p.is_file()]
    if missing:
        sys.exit(f"vendor_assets: missing {', '.join(missing)}; run `npm ci` first (make does).")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(required[0], tmp / "require.js")
    shutil.copy2(HERE / "widgets-setup.js", tmp / "widgets-setup.js")
    widgets = tmp / "jupyter-widgets"
    widgets.mkdir()
    dist = required[1].parent
    shutil.copy2(dist / "embed-amd.js", widgets / "embed-amd.js")
    for f in dist.iterdir():
        if f.suffix in FONT_SUFFIXES:
            shutil.copy2(f, widgets / f.name)
    es5 = node_modules / "mathjax" / "es5"

    def skip_unused(folder, names):
        # Keep the one combined component the pages load and the folders it loads lazily
        # (input extensions, CHTML fonts, a11y, ui); drop the other combined builds and SVG output.
        rel = Path(folder).relative_to(es5)
        if rel == Path("."):
            return [n for n in names if n == "sre" or (n.endswith(".js") and n != "tex-mml-chtml.js")]
        if rel == Path("output"):
            return [n for n in names if n.startswith("svg")]
        return []

    shutil.copytree(es5, tmp / "mathjax", ignore=skip_unused)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vendor(Path(sys.argv[1]), Path(sys.argv[2]))
