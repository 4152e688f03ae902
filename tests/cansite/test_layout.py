"""Every page a visitor can reach fits a phone (375 px) and a laptop (1280 px).

A small site is built from rows (datasets with thumbnails, a failed and a done run with a sample grid, a
benchmark with a cell and evaluations), then headless Chromium crawls every same-site page linked from the
home page. It fails on a horizontal overflow, content sticking out of its card, a broken image, a JavaScript
error or a link answering >= 400, and lists every problem found. Pages other parts of the site add later are
crawled too, as long as a link leads to them.
"""
from __future__ import annotations

from collections import Counter, deque
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from classifier.models import Experiment
from tests.browser import WIDTHS, page_problems
from tests.cansite.factory import make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_PAGES = 200
PER_PATH = 4  # query variants of one page (filters, page numbers): a few show its layout, all would be slow
SKIP = ("/admin/", "/django-rq/", "/static/", "/media/")

# Content wider than its card or tile that no scrolling box inside the card holds: clipped or spilling.
CARD_OVERFLOW_JS = """() => {
  const found = [];
  for (const card of document.querySelectorAll('.card, .tile')) {
    const edge = card.getBoundingClientRect().right + 1;
    for (const el of card.querySelectorAll('*')) {
      if (el.getBoundingClientRect().right <= edge) continue;
      let p = el.parentElement, held = false;
      while (p && p !== card) {
        if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) { held = true; break; }
        p = p.parentElement;
      }
      if (!held) {
        found.push(el.tagName.toLowerCase() + ' in ' + (card.querySelector('h2, h3')?.textContent || card.className));
        break;
      }
    }
  }
  return found;
}"""

LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


def same_site_links(page, base: str) -> list[str]:
    links = []
    for href in page.evaluate(LINKS_JS):
        url = urldefrag(href).url
        if url.startswith(base + "/") and not urlsplit(url).path.startswith(SKIP):
            links.append(url)
    return links


def card_problems(page, url: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{url} at {width}px: {what} sticks out of its card" for what in page.evaluate(CARD_OVERFLOW_JS)]
    return problems


def crawl(browser, base: str, also=()) -> tuple[list[str], list[str]]:
    """(pages visited, problems) of a breadth-first walk from the home page and the `also` paths."""
    context = browser.new_context()
    starts = [base + "/"] + [base + path for path in also]
    todo, queued, visited, problems = deque(starts), set(starts), [], []
    per_path: Counter = Counter()
    while todo and len(visited) < MAX_PAGES:
        url = todo.popleft()
        response = context.request.get(url)
        if response.status >= 400:
            problems.append(f"{url}: HTTP {response.status}")
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue  # exports, images: answered, that is all a link needs
        page = context.new_page()
        failed = []  # what a "Failed to load resource" console error does not name: the resource
        page.on("response", lambda r, failed=failed, url=url: failed.append(f"{r.url} answered HTTP {r.status}")
                if r.status >= 400 and r.url != url else None)
        problems += page_problems(page, url)
        problems += card_problems(page, url)
        problems += [f"{url}: {what}" for what in dict.fromkeys(failed)]
        visited.append(url)
        for link in same_site_links(page, base):
            path = urlsplit(link).path
            if link not in queued and per_path[path] < PER_PATH:
                queued.add(link)
                per_path[path] += 1
                todo.append(link)
        page.close()
    context.close()
    return visited, problems


def test_every_page_reachable_from_home_fits_375_and_1280_pixels(browser, live_server, media_root):
    site = make_site(media_root)
    visited, problems = crawl(browser, live_server.url, also=[failed_experiment_path()])
    paths = {urlsplit(url).path for url in visited}
    expected = {reverse("datasets:list"), reverse("datasets:detail", args=[site["train"].name]),
                reverse("generator:runs"), reverse("generator:run", args=[site["failed"].name]),
                reverse("generator:run", args=[site["done"].name]), reverse("classifier:dashboard"),
                reverse("classifier:cell", args=[site["benchmark"].name])}
    assert expected <= paths, f"the crawl missed {sorted(expected - paths)}"
    assert any("/benchmarks/experiments/" in path for path in paths)
    assert problems == [], f"{len(problems)} problems on {len(visited)} pages:\n" + "\n".join(problems)


def test_the_pages_staff_see_with_full_paths_and_tracebacks_fit_too(browser, live_server, media_root, admin_client):
    site = make_site(media_root)
    cookie = admin_client.cookies[settings.SESSION_COOKIE_NAME]
    staff = [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
    pages = [reverse("generator:run", args=[site["failed"].name]), reverse("generator:run", args=[site["done"].name]),
             reverse("datasets:detail", args=[site["train"].name]) + "?status=failed", failed_experiment_path(),
             reverse("turing:results")]
    problems = []
    for path in pages:
        context = browser.new_context()
        context.add_cookies(staff)
        page = context.new_page()
        problems += page_problems(page, live_server.url + path) + card_problems(page, live_server.url + path)
        assert 'href="/admin/"' in page.content(), "the page was seen as staff"
        context.close()
    assert problems == [], "\n".join(problems)


def failed_experiment_path() -> str:
    return reverse("classifier:experiment", args=[Experiment.objects.get(status="failed").id])


def test_the_cell_pages_tables_and_roc_chart_fit_inside_their_cards(browser, live_server, media_root):
    site = make_site(media_root)
    url = (live_server.url + reverse("classifier:cell", args=[site["benchmark"].name])
           + f"?row={site['train'].name}&test={site['test'].name}")
    page = browser.new_page()
    page.goto(url)
    assert page.locator("svg[aria-label='ROC curves']").count() == 1 and page.locator(".card table").count() >= 4
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        chart = page.locator("svg[aria-label='ROC curves']").bounding_box()
        card = page.locator(".card", has=page.locator("svg")).bounding_box()
        assert chart["x"] + chart["width"] <= card["x"] + card["width"], f"the ROC chart is clipped at {width}px"
        assert chart["width"] > 200, "the chart shrinks to its card, not to nothing"
    page.set_viewport_size({"width": 1280, "height": 900})
    hidden = page.evaluate("() => Array.from(document.querySelectorAll('.card table'))"
                           ".filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).length")
    assert hidden == 0, "at 1280 px every table shows whole, with no part scrolled out of sight"
    assert page_problems(page, url) + card_problems(page, url) == []
    page.close()
