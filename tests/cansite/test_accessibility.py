"""Every page a visitor can reach passes axe-core's WCAG 2.1 A and AA rules and has a meta description.

One live server, one Chromium, each page loaded once: axe (the PyPI package axe-playwright-python, which
ships axe-core's script, so nothing is fetched at run time) runs on it at 375 px and at 1280 px, since the
narrow layout can show or hide what the wide one does not. Covered: the home page, datasets, generator
runs, the benchmark dashboard and a cell, the seed pages live and exported (over a local HTTP server), the
Turing test from its consent page through a trial to the score page, a study's flow (consent, the decline
page, practice, a timed trial, the score with its debrief, the withdrawal confirmation and its result, an
MTurk preview), the public results, and a 404.
The failure lists every violation as page, width, rule id, impact and target.
"""
from __future__ import annotations

import functools
import re
import threading
from http.server import ThreadingHTTPServer

import pytest
from django.urls import reverse

from seeds.export import export_seed_pages
from tests.browser import WIDTHS
from tests.cansite.factory import make_site
from tests.seeds.factory import make_run, publish
from tests.seeds.test_browser import QuietHandler, pages_of
from tests.shared_data import in_ci

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
DESCRIPTION_JS = "() => document.querySelector('meta[name=description]')?.getAttribute('content') ?? null"


@functools.cache
def axe_script() -> str:
    """axe-core's script as the package ships it. Missing: a failure under CI=true, a skip elsewhere."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        reason = "the axe-playwright-python package is not installed (requirements-dev.txt)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return Axe().axe_script


def violations(page, where: str) -> list[str]:
    """One line per element axe finds at fault, at each width, on the page as it is loaded now."""
    page.evaluate(axe_script())  # once per page load: the script is half a megabyte
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for rule in page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]:
            found += [f"{where} at {width}px: {rule['id']} ({rule['impact']}) at {' '.join(map(str, node['target']))}"
                      for node in rule["nodes"]]  # a target is a list: one selector per frame or shadow root
    return found


def description_problem(page, where: str) -> list[str]:
    description = page.evaluate(DESCRIPTION_JS)
    return [] if description and description.strip() else [f"{where}: no <meta name=\"description\">"]


def check(page, url: str, label: str = "", status: int = 200) -> list[str]:
    """Load `url` once and list what axe and the description check find."""
    response = page.goto(url, wait_until="load")
    where = label or url
    if response is not None and response.status != status:
        return [f"{where}: HTTP {response.status}, not {status}"]
    return violations(page, where) + description_problem(page, where)


def site_paths(site: dict) -> list[str]:
    train, benchmark = site["train"].name, site["benchmark"].name
    return ["/", reverse("datasets:list"), reverse("datasets:detail", args=[train]), reverse("generator:runs"),
            reverse("generator:run", args=[site["done"].name]), reverse("generator:run", args=[site["failed"].name]),
            reverse("classifier:dashboard"),
            reverse("classifier:cell", args=[benchmark]) + f"?row={train}&test={site['test'].name}",
            reverse("seeds:index"), reverse("seeds:run", args=["mel"]), reverse("seeds:page", args=["mel", "1"]),
            reverse("seeds:morph", args=["mel", "0", "1"]), reverse("turing:index"), reverse("turing:results")]


def turing_flow(page, base: str) -> list[str]:
    """Consent page, the first trial, then every image answered "real" to reach the score page."""
    problems = check(page, base + reverse("turing:index") + "?q=1", "Turing consent")
    page.check("#id_consent")
    page.click("main form button[type=submit], main form input[type=submit]")  # not the header's language form
    page.wait_for_selector("#turing-image")
    problems += violations(page, "Turing trial") + description_problem(page, "Turing trial")
    total = int(re.search(r"of (\d+)", page.text_content("#turing-count")).group(1))
    for position in range(total):
        page.keyboard.press("r")  # the page's own shortcut: the answer goes without a page load
        if position < total - 1:
            shown = f"document.getElementById('turing-count').textContent.startsWith('Image {position + 2} ')"
            page.wait_for_function(shown)
    page.wait_for_selector("#turing-score")
    return problems + violations(page, "Turing score") + description_problem(page, "Turing score")


def study_flow(page, base: str) -> list[str]:
    """A Prolific study's pages from the consent page to withdrawal, and an MTurk HIT's preview."""
    from tests.turing.study_factory import CODES, PROLIFIC_URL, make_study
    from turing.practice import ensure_practice

    study = make_study(slug="pilot", practice=1, trial_seconds=60, panel="prolific", completion_url=PROLIFIC_URL,
                       codes=CODES, conditions=["each"])
    ensure_practice(study)
    make_study(slug="hit", panel="mturk", codes=CODES)
    entry = base + reverse("turing:study", args=["pilot"])
    problems = check(page, entry + "?PROLIFIC_PID=a11y0000&STUDY_ID=s&SESSION_ID=x", "study consent")
    page.click(".turing-decline button")
    page.wait_for_selector("#turing-declined")
    problems += violations(page, "study declined") + description_problem(page, "study declined")
    page.goto(entry)
    page.check("#id_consent")
    page.click(".turing-consent button[type=submit]")
    page.wait_for_selector("input[name=practice]", state="attached")
    problems += violations(page, "study practice") + description_problem(page, "study practice")
    with page.expect_navigation():
        page.keyboard.press("r")
    page.wait_for_selector(".turing-timed")
    problems += violations(page, "study timed trial") + description_problem(page, "study timed trial")
    while page.query_selector("#turing-form"):
        with page.expect_navigation():
            page.keyboard.press("r")
    page.wait_for_selector("#turing-debrief")
    problems += violations(page, "study score and debrief") + description_problem(page, "study score and debrief")
    page.click("text=Withdraw from the study")
    page.wait_for_selector("#turing-withdraw-confirm")
    problems += violations(page, "study withdraw") + description_problem(page, "study withdraw")
    page.click("#turing-withdraw-confirm")
    page.wait_for_selector("#turing-withdrawn")
    problems += violations(page, "study withdrawn") + description_problem(page, "study withdrawn")
    preview = base + reverse("turing:study", args=["hit"]) + "?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H"
    return problems + check(page, preview, "MTurk preview")


@pytest.fixture
def static_site(tmp_path, site):
    """The seed pages exported and served on loopback under a path prefix, as a static host would."""
    export_seed_pages(runs=["mel"], seeds="0-9", out=tmp_path / "site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/site"
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(media_root, settings):
    settings.TURING_RESULTS_PUBLIC = True
    made = make_site(media_root)
    make_run("mel", media_root)
    publish("mel", "0-4", "--morph", "0:1", "--morph-frames", "2")
    return made


def test_every_visitor_page_passes_wcag_21_aa_and_has_a_meta_description(browser, live_server, site, static_site):
    context = browser.new_context()
    page = context.new_page()
    problems = []
    for path in site_paths(site):
        problems += check(page, live_server.url + path)
    problems += check(page, live_server.url + "/no-such-page/", status=404)
    for url in pages_of(static_site):
        problems += check(page, url, "export " + url.removeprefix(static_site), status=200)
    problems += turing_flow(page, live_server.url)
    problems += study_flow(page, live_server.url)
    page.goto(static_site + "/mel/1/index.html")
    seed_description = page.evaluate(DESCRIPTION_JS)
    og_description = page.get_attribute("meta[property='og:description']", "content")
    context.close()
    assert seed_description == og_description and seed_description.startswith("Seed 1 of mel: a synthetic melanoma")
    assert problems == [], f"{len(problems)} accessibility problems:\n" + "\n".join(problems)
