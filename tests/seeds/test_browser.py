"""The seed pages in headless Chromium: the export through a static file server and through file://,
and the live site; keyboard navigation, images that load, no horizontal overflow at 375 and 1280 px."""
import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seeds.export import export_seed_pages
from tests.browser import page_problems
from tests.seeds.factory import make_run, publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEED_PAGE = re.compile(r"/(mel|nev)/([0-9]+)/(index\.html)?$")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path, media_root):
    make_run("mel", media_root)
    make_run("nev", media_root, label="nevus", weights_seed=1)
    publish("nev", "0-2")
    publish("mel", "0-4", "--extra-psi", "0.5", "--morph", "0:1", "--morph-frames", "2", "--counterpart", "nev")
    export_seed_pages(runs=["mel", "nev"], seeds="0-9", out=tmp_path / "site")
    return tmp_path / "site"


@pytest.fixture
def static_server(site):
    """The export's parent folder served on loopback: the export sits under a path prefix, /site/."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{site.name}"
    server.shutdown()
    server.server_close()


def natural_width(page) -> int:
    return page.evaluate("() => document.querySelector('figure.lesion img').naturalWidth")


def follow_keys(page, start: str) -> None:
    """From seed 1: right goes to seed 2, left back to 1, r to another seed page; each image loads."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(start)
    assert natural_width(page) > 0
    with page.expect_navigation():
        page.keyboard.press("ArrowRight")
    assert re.search(r"/mel/2/(index\.html)?$", page.url) and natural_width(page) > 0
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")
    assert re.search(r"/mel/1/(index\.html)?$", page.url)
    with page.expect_navigation():
        page.keyboard.press("r")
    page.wait_for_load_state("load")
    assert SEED_PAGE.search(page.url) and not page.url.endswith("/mel/1/index.html") and natural_width(page) > 0


def pages_of(base: str) -> list[str]:
    return [f"{base}/index.html", f"{base}/mel/index.html", f"{base}/mel/1/index.html",
            f"{base}/mel/0/morph/1/index.html", f"{base}/404.html"]


def test_the_export_works_through_a_static_file_server(browser, site, static_server):
    base = static_server
    page = browser.new_page()
    for url in pages_of(base):
        assert page_problems(page, url) == []
    follow_keys(page, f"{base}/mel/1/index.html")


def test_the_export_works_straight_from_file_urls(browser, site):
    base = site.as_uri()
    page = browser.new_page()
    for url in pages_of(base)[:4]:
        assert page_problems(page, url) == []
    follow_keys(page, f"{base}/mel/1/index.html")


def test_the_morph_slider_shows_the_other_end(browser, site):
    page = browser.new_page()
    page.goto(f"{site.as_uri()}/mel/0/morph/1/index.html")
    page.fill("#morph-slider", "1")
    assert page.evaluate("() => document.getElementById('morph-frame').getAttribute('src')").endswith("f01.webp")


def test_the_live_pages_have_no_layout_problems_and_follow_the_keys(browser, site, live_server):
    page = browser.new_page()
    for path in ("/thismoledoesnotexist/mel/1/", "/thismoledoesnotexist/mel/0/morph/1/",
                 "/thismoledoesnotexist/_all/", "/thismoledoesnotexist/mel/"):
        assert page_problems(page, live_server.url + path) == []
    follow_keys(page, live_server.url + "/thismoledoesnotexist/mel/1/")
