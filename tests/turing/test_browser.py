"""Headless Chromium takes set 1 to the end with the keyboard only, with JavaScript and without."""
from __future__ import annotations

import re

import pytest

from tests.browser import page_problems, watch_errors
from turing.models import Answer, Participant

from .factory import make_sets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def consent_with_keys(page) -> None:
    """The consent box has the focus: tick it, pick a profile, start, without a mouse."""
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_consent'")  # autofocus
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # the profile: the first choice after "prefer not to say"
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def test_set_one_to_the_end_with_the_keyboard_and_javascript(browser, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_sets(tmp_path)
    page = browser.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/turing/?q=1")
    consent_with_keys(page)
    page.wait_for_selector("#turing-image")
    url = page.url
    total = int(re.search(r"of (\d+)", page.text_content("#turing-count")).group(1))
    for position in range(total):
        if position < total - 1:
            page.keyboard.press(str(1 + position % 3))
        page.keyboard.press("s" if position % 2 else "r")
        if position < total - 1:
            shown = f"document.getElementById('turing-count').textContent.startsWith('Image {position + 2} ')"
            page.wait_for_function(shown)
            assert page.url == url  # no page load between images
    page.wait_for_selector("#turing-score")
    assert "your score" in page.content() and "Sensitivity" in page.content()
    participant = Participant.objects.get()
    assert participant.finished and participant.profile == "dermatologist" and participant.years == 3
    assert Answer.objects.count() == total and Answer.objects.exclude(confidence=None).count() == total - 1
    assert errors == []
    assert page_problems(page, page.url) == []


def test_set_one_to_the_end_with_the_keyboard_and_no_javascript(browser, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_sets(tmp_path)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/turing/?q=1")
    consent_with_keys(page)
    page.wait_for_selector("#turing-image")
    total = int(re.search(r"of (\d+)", page.text_content("#turing-count")).group(1))
    for position in range(total):
        if position % 2:
            page.keyboard.press("Tab")  # from "Real" (which has the focus) to "Synthetic"
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.wait_for_selector("#turing-score")
    answers = list(Answer.objects.order_by("position").values_list("answer", flat=True))
    assert answers == ["synthetic" if p % 2 else "real" for p in range(total)]
    assert page_problems(page, page.url) == []
    context.close()


def test_the_pages_fit_a_phone_and_a_desktop(browser, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TURING_RESULTS_PUBLIC = True
    make_sets(tmp_path)
    page = browser.new_page()
    for path in ("/turing/", "/turing/?q=1", "/turing/results/"):
        assert page_problems(page, live_server.url + path) == []


def take_the_test(context, url: str, answer_for) -> None:
    """Without JavaScript: consent, then answer each trial with answer_for(token, image bytes)."""
    page = context.new_page()
    page.goto(url)
    consent_with_keys(page)
    page.wait_for_selector("#turing-image")
    while page.query_selector("#turing-image"):
        token = page.get_attribute("input[name=token]", "value")
        data = page.request.get(page.eval_on_selector("#turing-image", "img => img.src")).body()
        with page.expect_navigation():
            page.click(f"button[value={answer_for(token, data)}]")
    page.wait_for_selector("#turing-score")
    return page


def test_a_script_reading_a_finished_score_page_scores_no_better_than_its_guess(browser, live_server, tmp_path,
                                                                                settings):
    import hashlib

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TURING_ATTENTION_CATCH = 0
    make_sets(tmp_path, feedback="end")
    url = f"{live_server.url}/turing/?q=1"
    first = browser.new_context(java_script_enabled=False)
    score = take_the_test(first, url, lambda token, data: "real")
    key = {}
    for tile in score.query_selector_all(".turing-truth"):
        src = tile.eval_on_selector("img", "img => img.src")
        truth = tile.eval_on_selector("strong", "s => s.textContent")
        key[src.rsplit("/", 1)[1][:-4]] = truth
        key[hashlib.sha256(score.request.get(src).body()).hexdigest()] = truth
    assert len(key) == 16  # eight images, each by its token and by its bytes
    hits = []

    def look_up(token, data):
        found = key.get(token) or key.get(hashlib.sha256(data).hexdigest())
        hits.append(found)
        return found or "real"

    take_the_test(browser.new_context(java_script_enabled=False), url, look_up)
    assert len(hits) == 9 and hits == [None] * 9  # eight images and the attention repeat: none found
    second = Participant.objects.order_by("-id").first()
    scored = second.answers.filter(repeat=False)
    assert sum(a.correct for a in scored) == scored.filter(image__truth="real").count()


HIDDEN_JS = "id => getComputedStyle(document.getElementById(id)).visibility === 'hidden'"


def timed_practice_study(tmp_path):
    from turing.practice import ensure_practice

    from .study_factory import make_study

    study = make_study(tmp_path, sets=[1], conditions=["none"], practice=1, trial_seconds=2)
    ensure_practice(study)
    return study


def test_a_study_without_javascript_practice_then_a_timed_trial_that_runs_out(browser, live_server, tmp_path,
                                                                              settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = timed_practice_study(tmp_path)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/turing/s/{study.slug}/")
    consent_with_keys(page)
    page.wait_for_selector("input[name=practice]", state="attached")
    assert "Practice image 1 of 1 (not scored)" in page.text_content("#turing-count")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # "Real" has the focus
    assert "Practice image 1 was" in page.text_content("#turing-feedback")
    assert page.text_content("#turing-count").startswith("Image 1 of")
    assert not page.evaluate(HIDDEN_JS, "turing-image") and page.evaluate(HIDDEN_JS, "turing-time-up")
    page.wait_for_timeout(2500)  # (no script runs on this page, so Playwright cannot poll it either)
    assert page.evaluate(HIDDEN_JS, "turing-image"), "CSS alone hides the image when time is up"
    assert not page.evaluate(HIDDEN_JS, "turing-time-up")
    with page.expect_navigation():
        page.click("button[name=time_up]")
    assert page.text_content("#turing-count").startswith("Image 2 of")
    stored = Answer.objects.get()
    assert stored.timed_out and stored.answer == "" and Participant.objects.get().practice_position == 1
    context.close()


def test_a_study_with_javascript_moves_on_when_time_is_up_and_withdraws(browser, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = timed_practice_study(tmp_path)
    page = browser.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/turing/s/{study.slug}/")
    consent_with_keys(page)
    page.wait_for_selector("input[name=practice]", state="attached")
    with page.expect_navigation():
        page.keyboard.press("s")  # the practice image, by its key
    assert page.text_content("#turing-count").startswith("Image 1 of")
    page.wait_for_function("document.getElementById('turing-count').textContent.startsWith('Image 2 ')",
                           timeout=8000)  # nobody answered: the page went on by itself
    assert Answer.objects.get().timed_out
    page.click("text=Withdraw from the study")
    page.click("#turing-withdraw-confirm")
    assert "have been deleted" in page.text_content("#turing-withdrawn")
    assert not Participant.objects.exists() and not Answer.objects.exists()
    assert errors == []
    page.close()
