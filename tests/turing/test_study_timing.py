"""Time limits: the page hides the image when time runs out (without JavaScript), and the server decides:
a late answer, or a page asked for after the limit, stores the trial as timed out."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from turing.models import Answer, Participant

from .study_factory import answer, enter_and_start, make_study, me, url

pytestmark = pytest.mark.django_db


def timed_study(tmp_path, seconds=3, **fields):
    return make_study(tmp_path, trial_seconds=seconds, **fields)


def shown_ago(participant, seconds: float) -> None:
    Participant.objects.filter(id=participant.id).update(shown_at=timezone.now() - timedelta(seconds=seconds))


def test_a_timed_trial_hides_its_image_with_css_alone_and_offers_next(tmp_path, media_root, client):
    study = timed_study(tmp_path, seconds=5)
    enter_and_start(client, study)
    page = client.get(url(study)).content.decode()
    form = re.search(r'<form[^>]*id="turing-form"[^>]*>', page, re.S).group(0)
    assert "turing-timed" in form and "--turing-left: 5s" in form and 'data-reload="1"' in form
    assert 'name="time_up" value="1"' in page and "You have 5 seconds for this image." in page
    assert 'http-equiv="refresh"' not in page  # axe's meta-refresh rule: the timer is CSS, not a reload


def test_the_remaining_time_is_the_servers_after_a_reload(tmp_path, media_root, client):
    study = timed_study(tmp_path, seconds=10)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    shown_ago(participant, 4)
    assert "--turing-left: 6s" in client.get(url(study)).content.decode()


def test_an_answer_in_time_is_stored(tmp_path, media_root, client):
    study = timed_study(tmp_path)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    answer(client, study, participant, "synthetic", think=2)
    stored = Answer.objects.get()
    assert (stored.answer, stored.timed_out) == ("synthetic", False)


def test_a_late_answer_is_refused_and_the_trial_recorded_as_timed_out(tmp_path, media_root, client):
    study = timed_study(tmp_path)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    response = answer(client, study, participant, "real", think=6)
    assert response.status_code == 302
    stored = Answer.objects.get()
    assert (stored.answer, stored.timed_out, stored.confidence) == ("", True, None)
    participant.refresh_from_db()
    assert participant.timed_out == 1 and participant.position == 1
    page = client.get(url(study)).content.decode()
    assert "Time ran out before your answer arrived" in page and "Image 2 of" in page


def test_a_page_asked_for_after_the_limit_times_the_trial_out(tmp_path, media_root, client):
    study = timed_study(tmp_path, conditions=["none"])
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    shown_ago(participant, 30)
    page = client.get(url(study)).content.decode()
    assert "Time ran out for image 1" in page and "Image 2 of" in page
    assert Answer.objects.get().timed_out


def test_next_before_the_time_is_up_is_refused(tmp_path, media_root, client):
    study = timed_study(tmp_path, seconds=30)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    refused = answer(client, study, participant, "", think=1, time_up="1", HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "not up yet" in refused.json()["error"]
    assert not Answer.objects.exists()
    assert answer(client, study, participant, "", think=40, time_up="1").status_code == 302
    assert Answer.objects.get().timed_out


def test_without_a_time_limit_a_slow_answer_is_an_answer(tmp_path, media_root, client):
    study = make_study(tmp_path)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    answer(client, study, participant, "real", think=600)
    assert Answer.objects.get().answer == "real"


def test_timed_out_trials_are_not_scored_nor_attention_failures(tmp_path, media_root, client, settings):
    settings.TURING_ATTENTION_CATCH = 0
    study = timed_study(tmp_path, build={"catch": 0}, conditions=["each"])
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    while not participant.finished:  # every trial timed out, the attention repeat too
        answer(client, study, participant, "real", think=10)
        participant.refresh_from_db()
    assert not participant.flagged and participant.attention_failed == 0
    assert participant.timed_out == participant.total
    score = client.get(url(study)).content.decode()
    assert "Time ran out on 9 images" in score and "0 of 0" in score
