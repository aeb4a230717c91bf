"""The built site in a real browser (headless Debian chromium via playwright), no kernel.

For every HTML page of ``_build/html``, served on 127.0.0.1:
- no page errors, no failed requests, no request to any other host;
- every math element is typeset by MathJax, with no MathJax error;
- every widget view renders, every slider belongs to a drivable figure, and every slider
  moves, changes the displayed image, and restores it when moved back;
- static figures are images (never the text `<Figure size ...>`), and every image loads;
- every displayed drivable-figure image has alt text;
- the "How to read" page has at least one drivable figure, each chapter at least two.

Run by ``make test`` after the build (``pytest -m browser tests/test_site_browser.py``).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import socketserver
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

SITE = Path(os.environ.get("BOOK_SITE", Path(__file__).resolve().parents[1] / "_build" / "html"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHAPTER_PAGE = re.compile(r"book/\d\d-[\w-]+\.html$")
MIN_FIGURES = {"book/how-to-read.html": 1}


def site_pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return ["<site not built>"]
    return sorted(
        str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(p.relative_to(SITE).parts)
    )


def chromium_path() -> str:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("Debian chromium is not installed (make test installs it: `make chromium`)")


@contextlib.contextmanager
def serve(root: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright

    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    with serve(SITE) as base, sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        # Generous: a loaded 2-core CI machine can take tens of seconds to settle a heavy page.
        ctx.set_default_timeout(90_000)
        try:
            yield base, ctx
        finally:
            ctx.close()


# JS helpers evaluated in the page.
VISIBLE_IMAGES = """fig => [...fig.querySelectorAll('img')].filter(i => i.offsetParent !== null)
    .map(i => ({src: i.src, alt: i.alt || '', w: i.naturalWidth}))"""
EXPECTED_FIGURES = """() => {
  let n = 0;
  for (const s of document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]')) {
    const state = JSON.parse(s.textContent).state || {};
    for (const m of Object.values(state)) {
      if ((m.state._dom_classes || []).includes('drivable-figure')) n += 1;
    }
  }
  return n;
}"""


SHOWN_SRC_IS = """([fig, src, same]) => {
  const shown = [...fig.querySelectorAll('img')].filter(i => i.offsetParent !== null);
  return shown.length === 1 && (shown[0].src === src) === same;
}"""


def settle(page, pending: dict, quiet_ms: int = 500, timeout_ms: int = 60_000) -> None:
    """Wait until no request of this page has been in flight for ``quiet_ms``.

    Counted from the page's own request events rather than playwright's "networkidle"
    (which, seen here, sometimes never fired for a page whose requests had all finished).
    Fails with the URLs still pending after ``timeout_ms``.
    """
    quiet = waited = 0
    while quiet < quiet_ms:
        page.wait_for_timeout(100)
        waited += 100
        quiet = quiet + 100 if not pending else 0
        assert waited < timeout_ms, f"requests still pending after {timeout_ms} ms: {sorted(pending)[:5]}"


def move(page, fig, handle, key: str, src: str, *, same: bool) -> bool:
    """Press an arrow key on a slider handle; wait (up to 30 s, the page may be slow under
    load) until the one visible image is (``same=True``) or is not the image ``src``."""
    handle.focus()
    page.keyboard.press(key)
    try:
        page.wait_for_function(SHOWN_SRC_IS, arg=[fig.element_handle(), src, same], timeout=30000)
        return True
    except Exception:  # playwright's TimeoutError: report it through the assertion below
        return False


@pytest.mark.parametrize("page_path", site_pages())
def test_page_in_browser(browser_context, page_path):
    assert page_path != "<site not built>", f"no built site at {SITE}: run `make book` first"
    base, ctx = browser_context
    errors, failed, outside, pending = [], [], [], {}
    page = ctx.new_page()
    page.on("request", lambda r: pending.__setitem__(r.url, pending.get(r.url, 0) + 1))

    def done(r):
        pending[r.url] = pending.get(r.url, 1) - 1
        if pending[r.url] <= 0:
            pending.pop(r.url)

    page.on("requestfinished", done)
    page.on("requestfailed", done)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"console error: {m.text}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} (HTTP {r.status})"))
    page.on("request", lambda r: urlparse(r.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(r.url).hostname != "127.0.0.1" and outside.append(r.url))
    try:
        page.goto(f"{base}/{page_path}", wait_until="load")
        settle(page, pending)

        # --- math ---
        if page.evaluate("() => !!(window.MathJax && window.MathJax.startup)"):
            page.wait_for_function("() => window.MathJax.startup.promise !== undefined", timeout=90000)
            page.evaluate("() => MathJax.startup.promise")
        untypeset = page.evaluate("""() => [...document.querySelectorAll('.math')]
            .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))""")
        assert not untypeset, f"{page_path}: math not typeset: {untypeset[:5]}"
        assert page.locator("mjx-merror").count() == 0, f"{page_path}: MathJax reported an error"

        # --- static figures: rendered as images, never as their text repr ---
        reprs = page.evaluate("""() => [...document.querySelectorAll('.cell_output pre, .output pre')]
            .map(e => e.textContent).filter(t => /<Figure size \\d+x\\d+ with/.test(t))""")
        assert not reprs, f"{page_path}: a figure is shown as text instead of an image: {reprs[:2]}"
        broken = page.evaluate("""() => [...document.querySelectorAll('article img')]
            .filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 80))""")
        assert not broken, f"{page_path}: images that did not load: {broken[:3]}"

        # --- widgets ---
        n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        n_expected = page.evaluate(EXPECTED_FIGURES)
        minimum = MIN_FIGURES.get(page_path, 2 if CHAPTER_PAGE.search(page_path) else 0)
        assert n_expected >= minimum, f"{page_path}: {n_expected} drivable figures, expected at least {minimum}"
        if n_views:
            page.wait_for_function(
                f"() => document.querySelectorAll('.drivable-figure').length >= {n_expected}", timeout=90000)
        figures = page.locator(".drivable-figure")
        assert figures.count() == n_expected, f"{page_path}: {figures.count()} of {n_expected} figures rendered"
        all_sliders = page.locator(".widget-slider").count()
        in_figures = page.locator(".drivable-figure .widget-slider").count()
        assert all_sliders == in_figures, (
            f"{page_path}: {all_sliders - in_figures} slider(s) outside a drivable figure: "
            "kernel-only controls must be kept out of the page (remove-output)")

        for f in range(figures.count()):
            fig = figures.nth(f)
            fig.scroll_into_view_if_needed()
            shown = fig.evaluate(VISIBLE_IMAGES)
            assert len(shown) == 1, f"{page_path} figure {f}: {len(shown)} images visible, expected 1"
            assert shown[0]["alt"].strip(), f"{page_path} figure {f}: image without alt text"
            assert shown[0]["w"] > 0, f"{page_path} figure {f}: image did not load"
            sliders = fig.locator(".widget-slider")
            assert sliders.count() >= 1, f"{page_path} figure {f}: no slider"
            for s in range(sliders.count()):
                handle = sliders.nth(s).locator(".noUi-handle").first
                now = float(handle.get_attribute("aria-valuenow"))
                top = float(handle.get_attribute("aria-valuemax"))
                forward, back = ("ArrowLeft", "ArrowRight") if now >= top else ("ArrowRight", "ArrowLeft")
                before = fig.evaluate(VISIBLE_IMAGES)[0]["src"]
                changed = move(page, fig, handle, forward, before, same=False)
                after = fig.evaluate(VISIBLE_IMAGES)
                assert float(handle.get_attribute("aria-valuenow")) != now, (
                    f"{page_path} figure {f} slider {s}: the slider did not move")
                assert changed, f"{page_path} figure {f} slider {s}: moving the slider did not change the figure"
                assert len(after) == 1 and after[0]["alt"].strip(), (
                    f"{page_path} figure {f} slider {s}: expected one visible image with alt text, got {after}")
                restored = move(page, fig, handle, back, before, same=True)
                assert restored, f"{page_path} figure {f} slider {s}: moving back did not restore the figure"
        settle(page, pending)  # anything the interaction loaded (fonts, lazy scripts) is checked too
    finally:
        page.close()
    assert not errors, f"{page_path}: " + "; ".join(errors)
    assert not failed, f"{page_path}: failed requests: " + "; ".join(failed)
    assert not outside, f"{page_path}: requests to other hosts: " + "; ".join(outside)
