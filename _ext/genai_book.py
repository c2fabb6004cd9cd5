"""Local Sphinx fixes for the rendered book (loaded through _config.yml `local_extensions`).

1. Duplicate inline scripts. With Sphinx 7.4, a script that an extension adds with
   `app.add_js_file` after the HTML builder is initialised (sphinx-thebe does this in
   `env-before-read-docs`, sphinx-togglebutton in `builder-inited`) reaches the page twice:
   once from the builder and once more when `prepare_writing` re-adds the registry's
   scripts (the filename is `None` in one copy and `''` in the other, so Sphinx's own
   de-duplication misses it). sphinx-thebe's inline `const THEBE_JS_URL = ...` declared
   twice is an uncaught SyntaxError in every page's console. We drop exact duplicates.
2. With `launch_buttons: thebe: false` nothing on the page uses thebe, yet sphinx-thebe
   still adds its script, its CSS and an inline config naming a CDN URL. We remove them so
   that no page refers to the network for code it never runs.
3. Matplotlib's `FuncAnimation.to_jshtml()` output links Font Awesome 4 from a CDN for its
   play/pause icons. The theme already ships Font Awesome 6, which draws the same `fa fa-*`
   icons, so we drop that stylesheet link from the page body: the book needs no network.
4. `static/genai-book.js`: a click on a solution's title (which holds a link to its
   exercise) opens the solution instead of raising an error and jumping away.
5. `static/genai-book.css`: code in a hidden cell gets the same width as in a visible one.
6. The execution cache is emptied when genai_lib, the requirements or the GENAI_
   settings changed since it was filled (`notebook_cache.py` says why).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

import notebook_cache  # _ext/ is on sys.path (a local extension)

THEBE_ASSETS = ("sphinx-thebe.js", "sphinx-thebe.css")
CDN_FONT_AWESOME = re.compile(
    r'<link\s+rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*"\s*/?>\s*')


def _key(asset: Any) -> tuple:
    """A hashable identity for a script/stylesheet: its filename ('' for inline) and attributes."""
    filename = os.fspath(getattr(asset, "filename", "") or "")
    attributes = getattr(asset, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _thebe_enabled(app: Sphinx) -> bool:
    """True if the book asks for thebe launch buttons (html_theme_options.launch_buttons.thebe)."""
    options = getattr(app.config, "html_theme_options", {}) or {}
    return bool((options.get("launch_buttons") or {}).get("thebe"))


def _is_thebe(asset: Any) -> bool:
    """True for sphinx-thebe's script, stylesheet or inline `const THEBE_JS_URL` config."""
    filename = os.fspath(getattr(asset, "filename", "") or "")
    body = str((getattr(asset, "attributes", {}) or {}).get("body", ""))
    return filename.endswith(THEBE_ASSETS) or "THEBE_JS_URL" in body


def clean_assets(app: Sphinx, pagename: str, templatename: str, context: dict,
                 doctree: Any) -> None:
    """Remove duplicate scripts/stylesheets (and thebe's, when thebe is off) from one page."""
    drop_thebe = not _thebe_enabled(app)
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if not assets:
            continue
        seen: set[tuple] = set()
        kept = []
        for asset in assets:
            key = _key(asset)
            if key in seen or (drop_thebe and _is_thebe(asset)):
                continue
            seen.add(key)
            kept.append(asset)
        assets[:] = kept  # in place: the template reads this very list
    if "body" in context:
        context["body"] = CDN_FONT_AWESOME.sub("", context["body"])


def add_static(app: Sphinx) -> None:
    """Serve _ext/static (genai-book.js, genai-book.css) with the book's static files."""
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))


def reset_stale_cache(app: Sphinx) -> None:
    """Empty the execution cache if it was filled under another notebook_cache.key()."""
    if app.config.nb_execution_mode != "cache":
        return
    folder = (app.config.nb_execution_cache_path
              or Path(app.outdir).parent / ".jupyter_cache")
    if notebook_cache.reset_if_stale(folder):
        logging.getLogger(__name__).info(
            "genai_lib, the requirements or a GENAI_ setting changed: "
            "execution cache emptied")


def setup(app: Sphinx) -> dict:
    """Register the page-asset clean-up (runs late, after every extension added its files)."""
    app.connect("builder-inited", add_static)
    app.connect("builder-inited", reset_stale_cache, priority=100)  # before myst-nb reads it
    app.add_js_file("genai-book.js")
    app.add_css_file("genai-book.css")
    app.connect("html-page-context", clean_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
