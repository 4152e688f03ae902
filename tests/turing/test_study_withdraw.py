"""Withdrawal from every trial page and the score page (a confirmation first, then turing.privacy), the
debrief and contact after the score, and the same withdrawal for a set's participant."""
from __future__ import annotations

import re

import pytest

from turing.models import Answer, FlowEvent, Participant

from .factory import current, start, submit
from .factory import make_sets as make_set_builds
from .study_factory import answer, enter_and_start, finish_all, make_study, me, url

pytestmark = pytest.mark.django_db

WITHDRAW_LINK = re.compile(r'<a href="([^"]+)">Withdraw')


def test_every_trial_page_and_the_score_page_carry_a_withdraw_link(tmp_path, media_root, client):
    study = make_study(tmp_path)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    while not participant.finished:
        assert WITHDRAW_LINK.search(client.get(url(study)).content.decode()).group(1) == url(study, "withdraw")
        answer(client, study, participant)
        participant.refresh_from_db()
    assert WITHDRAW_LINK.search(client.get(url(study)).content.decode()).group(1) == url(study, "withdraw")


def test_withdrawing_asks_first_then_deletes_everything_but_an_anonymous_count(tmp_path, media_root, client):
    study = make_study(tmp_path)
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    answer(client, study, participant)
    confirm = client.get(url(study, "withdraw")).content.decode()
    assert "cannot be recovered" in confirm and "Withdraw and delete my answers" in confirm
    assert Participant.objects.count() == 1 and Answer.objects.count() == 1  # nothing deleted by looking
    done = client.post(url(study, "withdraw")).content.decode()
    assert "Your answers and your profile have been deleted" in done
    assert not Participant.objects.exists() and not Answer.objects.exists()
    event = FlowEvent.objects.get(event="withdrew")
    assert (event.condition, event.set_number) == (participant.condition, participant.turing_set.number)
    assert "You have withdrawn" in client.get(url(study)).content.decode()  # no second start on this browser


def test_withdrawing_with_nothing_in_progress_deletes_nothing(tmp_path, media_root, client):
    study = make_study(tmp_path)
    page = client.post(url(study, "withdraw")).content.decode()
    assert "nothing to withdraw" in page and not FlowEvent.objects.filter(event="withdrew").exists()


def test_the_score_page_shows_the_debrief_and_the_contact(tmp_path, media_root, client):
    study = make_study(tmp_path, debrief="Half of the images were generated.\n\nThank you.")
    enter_and_start(client, study)
    finish_all(client, study, me(client, study))
    page = client.get(url(study)).content.decode()
    assert "your score" in page and "About this study" in page and "<p>Half of the images were generated.</p>" in page
    assert 'href="mailto:study@example.org"' in page
    assert page.index("About this study") > page.index("You were right on")


def test_a_sets_participant_can_withdraw_as_well(tmp_path, media_root, client):
    make_set_builds(tmp_path)
    start(client)
    participant = current(client)
    submit(client, participant)
    page = client.get("/turing/?q=1").content.decode()
    assert WITHDRAW_LINK.search(page).group(1) == "/turing/withdraw/?q=1"
    assert "cannot be recovered" in client.get("/turing/withdraw/?q=1").content.decode()
    client.post("/turing/withdraw/", {"q": "1"})
    assert not Participant.objects.exists() and not Answer.objects.exists()
    assert "Start set 1" in client.get("/turing/?q=1").content.decode()
    assert client.get("/turing/withdraw/?q=%C2%B2").status_code == 404
