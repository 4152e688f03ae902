"""The static export's 404.html works when a server sends it for a missing page at any depth (styles
and links), and sitemap.xml is written only with --base-url (a sitemap's <loc> must be absolute)."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin
from xml.etree import ElementTree

import pytest

from seeds.export import export_seed_pages
from tests.seeds.factory import make_run, publish

pytestmark = pytest.mark.django_db(transaction=True)
DEEP = "/mel/99/morph/7/nothing/here/"


class NotFoundHandler(SimpleHTTPRequestHandler):
    """A static host as most are set up: a missing file is answered with 404.html, whatever its depth."""

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        if code != 404:
            return super().send_error(code, message, explain)
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def exported(tmp_path, media_root):
    make_run("mel", media_root)
    publish("mel", "0-2")

    def export(name: str, base_url: str = "") -> Path:
        export_seed_pages(runs=["mel"], seeds="0-9", out=tmp_path / name, base_url=base_url)
        return tmp_path / name
    return export


@pytest.fixture
def host():
    servers = []

    def serve(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(NotFoundHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_no_sitemap_without_a_base_url_and_only_absolute_locs_with_one(exported):
    assert not (exported("plain") / "sitemap.xml").exists()
    tree = ElementTree.parse(exported("hosted", "https://example.org/moles") / "sitemap.xml")
    locs = [e.text for e in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs and all(loc.startswith("https://example.org/moles/") for loc in locs)


@pytest.mark.browser
def test_the_404_page_keeps_its_style_and_links_when_served_for_a_nested_missing_path(exported, host, browser):
    base = host(exported("plain"))
    page = browser.new_page()
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400
            and response.url != base + DEEP else None)
    response = page.goto(base + DEEP, wait_until="networkidle")
    assert response.status == 404 and "There is no seed page at this address" in page.content()
    assert failed == []
    # the site's stylesheet applied: its header bar is laid out as a flex row, not the browser's default
    assert page.evaluate("getComputedStyle(document.querySelector('header.bar')).display") == "flex"
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
        with page.expect_navigation():
            page.goto(urljoin(base + DEEP, href))
        assert "There is no seed page" not in page.content(), href  # each link leads to a real page


def test_with_a_base_url_the_404_pages_links_are_absolute(exported):
    html = (exported("hosted", "https://example.org/moles") / "404.html").read_text()
    assert 'href="https://example.org/moles/"' in html and 'href="../' not in html and 'href="static/' not in html
