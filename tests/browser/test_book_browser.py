"""Every page of the built book in a real browser (headless Chromium), as a reader sees it.

Needs a built book (`make book`; folder from $GENAI_BOOK_HTML, default _build/html), Debian's
`chromium` and Playwright for Python; skips with the reason when one is missing. The book is
served from 127.0.0.1 on a free port; every request to any other host is blocked and is a
failure, because the book must work offline. For each page the test checks:

- the page loads (HTTP 200), with no console error and no uncaught exception;
- it asks nothing of the network (scripts, fonts, styles all come from the book);
- every internal link resolves (HTTP 200, and its #anchor exists on the target page);
- every image loads (decoded, width > 0); every cell that calls plt.show() shows a figure;
- math is typeset: every `.math` element holds a MathJax `mjx-container`, none is an error;
- hidden solutions and hidden code open on click (sphinx-exercise dropdowns, togglebutton,
  myst-nb `hide-input` details); a solution cell (one that asserts a `check_...` verdict)
  shows neither its code nor its output before a click;
- at the 1280-px window, no code block, printed output or display equation is wider than
  its column (nothing scrolls sideways), and no text shows a raw `$` of unrendered math;
- no character needs an emoji font (feedback marks are plain text symbols);
- every <audio> has a source that the browser can load (duration > 0);
- every animation (matplotlib's to_jshtml) shows a frame: its script ran in the static page;
and saves a full-page screenshot to $GENAI_SCREENSHOTS (default _build/screenshots).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("GENAI_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = Path(os.environ.get("GENAI_SCREENSHOTS", ROOT / "_build" / "screenshots")).resolve()
CHROMIUM = os.environ.get("GENAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
TIMEOUT_MS = 30_000


def book_pages() -> list[str]:
    """Paths (relative, posix) of every HTML page of the built book."""
    if not (HTML / "intro.html").exists() and not (HTML / "index.html").exists():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not SKIP_DIRS.intersection(p.relative_to(HTML).parts))


PAGES = book_pages()


def _why_skip() -> str | None:
    """The reason this test cannot run here, or None."""
    if not PAGES:
        return (f"no built book at {HTML}: run `make book` first "
                f"(or set GENAI_BOOK_HTML to a built book's html folder)")
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set GENAI_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright; no browser download needed)"
    return None


if _why_skip() is not None and os.environ.get("GENAI_REQUIRE_BROWSER") == "1":
    # `make browser-test` promises a browser check: a missing piece is a failure, not a skip
    raise RuntimeError(f"browser test cannot run: {_why_skip()}")
pytestmark = pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or "")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test log readable
        pass


@pytest.fixture(scope="module")
def server():
    """Serve the built book on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (Debian's, never a downloaded one) for all pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@functools.lru_cache(maxsize=None)
def fetch(url: str) -> tuple[int, str]:
    """(HTTP status, text for HTML pages) of a URL on the local server; cached across pages."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            kind = response.headers.get("Content-Type", "")
            body = response.read()
            return response.status, body.decode("utf-8", "replace") if "html" in kind else ""
    except urllib.error.HTTPError as err:
        return err.code, ""


def check_links_and_images(page, base: str) -> list[str]:
    """Problems with internal links (status, anchors) and with images on the page."""
    problems = []
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue  # external (GitHub, Colab, Binder, papers): not fetched, the book is offline
        target, fragment = urldefrag(href)
        status, text = fetch(target)
        if status != 200:
            problems.append(f"broken link {href} (HTTP {status})")
        elif fragment and text and not re.search(rf'id="{re.escape(fragment)}"', text):
            problems.append(f"link {href}: no element with id {fragment!r} on the target page")
    images = page.evaluate("""async () => {
        const imgs = [...document.images];
        imgs.forEach(i => { i.loading = 'eager'; });
        await Promise.all(imgs.map(i => i.complete ? null :
            new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
        return imgs.map(i => [i.currentSrc || i.src, i.naturalWidth]);
    }""")
    for src, width in images:
        if src.startswith(base) and fetch(src)[0] != 200:
            problems.append(f"image {src}: HTTP {fetch(src)[0]}")
        elif width == 0:
            problems.append(f"image {src[:80]} did not load (naturalWidth 0)")
    missing = page.evaluate("""() => [...document.querySelectorAll('.cell')]
        .filter(c => (c.querySelector('.cell_input')?.textContent || '').includes('plt.show()'))
        .filter(c => !c.classList.contains('tag_remove-output'))
        .filter(c => !c.querySelector('.cell_output img, .cell_output svg'))
        .map(c => (c.querySelector('.cell_input')?.textContent || '').trim().slice(0, 60))""")
    problems += [f"cell calling plt.show() shows no figure: {src!r}" for src in missing]
    return problems


def check_math(page) -> list[str]:
    """Problems with MathJax typesetting (run only where the page has math)."""
    n_math = page.locator(".math").count()
    if n_math == 0:
        return []
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=TIMEOUT_MS)
    page.evaluate("() => MathJax.startup.promise")
    untypeset = page.evaluate(
        "() => [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))"
        ".map(e => e.textContent.slice(0, 60))")
    errors = page.evaluate("() => [...document.querySelectorAll('mjx-merror')].map(e => "
                           "(e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80))")
    return ([f"math not typeset: {t!r}" for t in untypeset]
            + [f"MathJax error: {t!r}" for t in errors])


def check_hidden_content(page) -> list[str]:
    """Each collapsed solution / hidden cell is hidden and opens when its header is clicked."""
    problems = []
    dropdowns = page.locator(".admonition.dropdown, .toggle")
    for i in range(dropdowns.count()):
        box = dropdowns.nth(i)
        body = box.locator(":scope > :not(.admonition-title):not(button)").first
        what = (box.get_attribute("id") or box.get_attribute("class") or "dropdown")[:60]
        if body.count() == 0:
            continue
        if body.is_visible():
            problems.append(f"{what}: hidden content is visible before a click")
            continue
        header = box.locator(":scope > .admonition-title, :scope > button").first
        header.click()
        try:
            body.wait_for(state="visible", timeout=5_000)
        except Exception:  # playwright's TimeoutError
            problems.append(f"{what}: content did not open on click")
    details = page.locator("details.hide, details.toggle-details, details.sd-dropdown")
    for i in range(details.count()):
        d = details.nth(i)
        if d.evaluate("d => d.open"):
            continue
        d.locator(":scope > summary").first.click()
        if not d.evaluate("d => d.open"):
            problems.append(f"hidden cell #{i} did not open on click")
    return problems


def check_solutions_hidden(page) -> list[str]:
    """A solution cell (its code asserts a `check_...` verdict, or calls one and is hidden)
    shows neither its code nor its output before a click."""
    shown = page.evaluate("""() => [...document.querySelectorAll('div.cell')].filter(c => {
            const input = c.querySelector('.cell_input');
            const code = input ? input.textContent : '';
            const solution = /assert\\s+check_/.test(code)
                || (/check_\\w+\\(/.test(code) && !input.checkVisibility());
            return solution && [...c.querySelectorAll('.cell_input, .cell_output')]
                .some(e => e.checkVisibility());
        }).map(c => c.querySelector('.cell_input').textContent.trim().slice(0, 50))""")
    return [f"solution visible before a click: {t!r}" for t in shown]


def check_widths(page) -> list[str]:
    """Code, printed output and display math fit their column; no raw `$` in the text."""
    wide = page.evaluate("""() => {
        const out = [];
        // a display equation's box clips (overflow hidden): measure the typeset math itself
        for (const e of document.querySelectorAll('article pre, article div.math')) {
            const m = e.querySelector('mjx-math');
            const width = m ? Math.ceil(m.getBoundingClientRect().width) : e.scrollWidth;
            if (width > e.clientWidth + 1) {
                const what = e.matches('div.math') ? 'equation' : 'code or output';
                out.push([what, width, e.clientWidth,
                          e.textContent.trim().split('\\n')[0].slice(0, 50)]);
            }
        }
        return out;
    }""")
    raw = page.evaluate("""() => {
        const walk = document.createTreeWalker(document.querySelector('article') || document.body,
                                               NodeFilter.SHOW_TEXT);
        const out = [];
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const p = n.parentElement;
            if (p.closest('pre, code, script, style, mjx-container, .math, .cell_output'))
                continue;
            if (/\\$\\S/.test(n.textContent) && !/\\$\\d/.test(n.textContent))
                out.push(n.textContent.trim().slice(0, 60));
        }
        return out;
    }""")
    emoji = page.evaluate("""() => [...new Set(((document.querySelector('article')
        || document.body).textContent
        .match(/[\\u{1F300}-\\u{1FAFF}\\u{2705}\\u{274C}\\u{2B50}]/gu) || []))]""")
    return ([f"{what} wider than its column ({w} > {c} px): {t!r}" for what, w, c, t in wide]
            + [f"unrendered math (a raw $): {t!r}" for t in raw]
            + [f"needs an emoji font: {ch!r}" for ch in emoji])


def check_audio(page) -> list[str]:
    """Every <audio> has a source the browser loads (metadata with a duration > 0)."""
    results = page.evaluate("""async () => Promise.all([...document.querySelectorAll('audio')]
        .map(a => new Promise(resolve => {
            const src = a.currentSrc || a.src || (a.querySelector('source') || {}).src || '';
            if (!src) return resolve(['(none)', 0]);
            const done = () => resolve([src.slice(0, 40), a.duration || 0]);
            if (a.readyState >= 1) return done();
            a.addEventListener('loadedmetadata', done);
            a.addEventListener('error', done);
            setTimeout(done, 10000);
            a.load();
        })))""")
    return [f"audio {src!r} has no playable source (duration {dur})"
            for src, dur in results if src == "(none)" or not dur > 0]


def check_animations(page) -> list[str]:
    """Every matplotlib jshtml animation shows a decoded frame (its script ran offline)."""
    frames = page.evaluate("""() => [...document.querySelectorAll('.animation img')]
        .map(img => [img.id || '(no id)', (img.src || '').slice(0, 11), img.naturalWidth])""")
    return [f"animation {name!r} shows no frame (src {src!r}, width {width})"
            for name, src, width in frames if not src.startswith("data:image") or not width]


@pytest.mark.parametrize("path", PAGES or ["(no book built)"])
def test_page_in_browser(path, server, browser):
    """One page: loads offline without errors; links, images, math, dropdowns, audio work."""
    base = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console, network = [], []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            network.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    try:
        response = page.goto(urljoin(base, path), wait_until="load", timeout=TIMEOUT_MS)
        assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        problems = check_math(page)
        problems += check_links_and_images(page, base)
        problems += check_audio(page)
        problems += check_animations(page)
        problems += check_solutions_hidden(page)
        problems += check_widths(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (path.replace("/", "__").removesuffix(".html") + ".png")),
                        full_page=True)
        problems += check_hidden_content(page)  # after the screenshot: it shows the page as loaded
        problems += [f"requested the network: {u}" for u in network]
        problems += [f"console error: {m}" for m in console]
    finally:
        context.close()
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)
