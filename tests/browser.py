"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright's Python package talks to the system browser (`executable_path`); it never downloads one.
`page_problems()` is the layout check every browser test shares: horizontal overflow at each width,
images that did not load, and JavaScript errors.

    with launch() as browser:
        page = browser.new_page()
        assert page_problems(page, live_server.url + "/") == []
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags from this machine's notes: without the background-networking ones Chromium keeps trying to reach
# hosts the sandbox cannot see.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WIDTHS = (375, 1280)


def chromium_missing() -> str | None:
    """Why a browser test cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Debian's chromium is not installed at {CHROMIUM} (make test installs it: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (requirements-dev.txt)"
    return None


@contextlib.contextmanager
def launch() -> Iterator:
    """A Browser. For a page without JavaScript: `browser.new_context(java_script_enabled=False).new_page()`."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; Django's ORM refuses to run beside one
    # unless told that this (test-only) use is safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page) -> list[str]:
    """Collect the page's JavaScript errors (uncaught exceptions and console errors) from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"JavaScript error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console error: {msg.text}") if msg.type == "error" else None)
    return errors


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const wide = [];
  if (doc.scrollWidth > window.innerWidth + 1) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > window.innerWidth + 1 && getComputedStyle(el).position !== 'fixed') {
        let p = el.parentElement, clipped = false;
        while (p && p !== document.body) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
          p = p.parentElement;
        }
        if (!clipped) wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
      }
      if (wide.length >= 3) break;
    }
    return {width: doc.scrollWidth, culprits: wide};
  }
  return null;
}"""

BROKEN_IMAGES_JS = """() => Array.from(document.images)
  .filter(img => img.complete && img.naturalWidth === 0 && img.getAttribute('src'))
  .map(img => img.getAttribute('src'))"""


def page_problems(page, url: str, widths=WIDTHS) -> list[str]:
    """Open `url` at each width and list what is wrong: overflow, broken images, JS errors, HTTP >= 400."""
    problems: list[str] = []
    errors = watch_errors(page)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(url, wait_until="load")
        if response is not None and response.status >= 400:
            problems.append(f"{url}: HTTP {response.status}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow:
            culprits = ", ".join(overflow["culprits"])
            problems.append(f"{url} at {width}px: page is {overflow['width']}px wide ({culprits})")
        for src in page.evaluate(BROKEN_IMAGES_JS):
            problems.append(f"{url} at {width}px: image did not load: {src}")
    problems.extend(f"{url}: {error}" for error in dict.fromkeys(errors))
    return problems
