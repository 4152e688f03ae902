"""Recruitment panels: their ids read from the link and kept off every page, one participant per id,
MTurk's preview and completion, completion codes by outcome, declining."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from turing import panels
from turing.models import FlowEvent, Participant

from .study_factory import CODES, PROLIFIC_URL, answer, enter_and_start, finish_all, make_study, me, url

pytestmark = pytest.mark.django_db

PID = "5f1a2b3c4d5e6f7a8b9c0d1e"
PROLIFIC = f"?PROLIFIC_PID={PID}&STUDY_ID=st0dy1&SESSION_ID=s3ss10n"
SANDBOX = "https://workersandbox.mturk.com"


def prolific_study(tmp_path, **fields):
    return make_study(tmp_path, panel="prolific", completion_url=PROLIFIC_URL, codes=CODES, **fields)


@pytest.mark.parametrize("kind, query, panel_id, data", [
    ("prolific", {"PROLIFIC_PID": PID, "STUDY_ID": "s", "SESSION_ID": "x"}, PID, {"STUDY_ID": "s", "SESSION_ID": "x"}),
    ("mturk", {"workerId": "A1B2", "assignmentId": "3X", "hitId": "H1", "turkSubmitTo": SANDBOX}, "A1B2",
     {"assignmentId": "3X", "hitId": "H1", "turkSubmitTo": SANDBOX}),
    ("cloudresearch", {"pid": "cr-77", "projectId": "p9"}, "cr-77", {"projectId": "p9"}),
    ("generic", {"pid": "abc.123"}, "abc.123", {}),
])
def test_each_panel_kind_reads_its_own_parameters(kind, query, panel_id, data):
    visit = panels.parse(kind, {**query, "unrelated": "1"})
    assert (visit.panel_id, visit.data, visit.preview, visit.problem) == (panel_id, data, False, "")


@pytest.mark.parametrize("query, problem", [
    ({"PROLIFIC_PID": "has space"}, "PROLIFIC_PID"), ({"PROLIFIC_PID": "x" * 129}, "PROLIFIC_PID"),
    ({"STUDY_ID": "s"}, "PROLIFIC_PID"), ({"PROLIFIC_PID": PID, "SESSION_ID": "a b"}, "SESSION_ID"),
])
def test_a_malformed_panel_id_is_named_in_the_problem(query, problem):
    assert problem in panels.parse("prolific", query).problem


def test_a_panel_study_without_an_id_says_which_parameter_is_missing(tmp_path, media_root, client):
    study = prolific_study(tmp_path)
    page = client.get(url(study))
    assert page.status_code == 400 and "PROLIFIC_PID" in page.content.decode()
    assert client.post(url(study, "start"), {"consent": "on"}).status_code == 302
    assert not Participant.objects.exists()


def test_a_prolific_participant_keeps_their_ids_and_no_page_shows_them(tmp_path, media_root, client):
    study = prolific_study(tmp_path)
    pages = [client.get(url(study) + PROLIFIC).content.decode()]
    client.post(url(study, "start"), {"consent": "on"})
    participant = me(client, study)
    assert participant.panel_id == PID and participant.panel_data == {"STUDY_ID": "st0dy1", "SESSION_ID": "s3ss10n"}
    client.get(url(study))
    while not participant.finished:
        pages.append(client.get(url(study)).content.decode())
        answer(client, study, participant, "synthetic")
        participant.refresh_from_db()
    score = client.get(url(study)).content.decode()
    pages += [score, client.get(url(study, "withdraw")).content.decode()]
    assert not [p for p in pages if PID in p or "st0dy1" in p or "s3ss10n" in p]
    assert not participant.flagged
    link = re.search(r'id="turing-completion"', score) and re.search(r'href="([^"]+)" id="turing-completion"', score)
    assert link.group(1) == "https://app.prolific.com/submissions/complete?cc=C0MPL"


def test_the_same_panel_id_resumes_from_another_browser_and_never_starts_again(tmp_path, media_root, client):
    study = prolific_study(tmp_path)
    enter_and_start(client, study, PROLIFIC)
    participant = me(client, study)
    client.get(url(study))
    answer(client, study, participant)
    answer(client, study, participant)
    other = Client()
    assert "Image 3 of" in other.get(url(study) + PROLIFIC).content.decode()
    other.post(url(study, "start"), {"consent": "on"})
    assert Participant.objects.count() == 1
    finish_all(other, study, participant)
    third = Client()
    assert "your score" in third.get(url(study) + PROLIFIC).content.decode()
    third.post(url(study, "start"), {"consent": "on"})
    assert Participant.objects.count() == 1
    assert FlowEvent.objects.filter(event="entered").count() == 1  # the id that consented is not new again


def test_a_flagged_participant_is_sent_back_with_the_failed_attention_code(tmp_path, media_root, client):
    study = prolific_study(tmp_path)
    enter_and_start(client, study, PROLIFIC)
    participant = me(client, study)
    finish_all(client, study, participant, "real")  # the catch test pattern called real
    participant.refresh_from_db()
    assert participant.flagged
    score = client.get(url(study)).content.decode()
    assert "cc=ATTN0" in score and "cc=C0MPL" not in score


def test_an_mturk_preview_shows_only_the_consent_text_and_stores_nothing(tmp_path, media_root, client):
    study = make_study(tmp_path, panel="mturk", codes=CODES)
    page = client.get(url(study) + "?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1").content.decode()
    assert "accept the HIT" in page and "You will see photographs" in page
    assert "I agree: start" not in page and 'name="consent"' not in page
    assert not FlowEvent.objects.exists() and not Participant.objects.exists()
    assert "turing-study" not in client.session


def test_an_mturk_worker_completes_through_turk_submit_to(tmp_path, media_root, client):
    study = make_study(tmp_path, panel="mturk", codes=CODES)
    enter_and_start(client, study, f"?workerId=W0RKER&assignmentId=ASG1&hitId=H1&turkSubmitTo={SANDBOX}")
    participant = me(client, study)
    finish_all(client, study, participant, "synthetic")
    score = client.get(url(study)).content.decode()
    assert f'action="{SANDBOX}/mturk/externalSubmit"' in score
    assert 'name="assignmentId" value="ASG1"' in score and "W0RKER" not in score


def test_a_turk_submit_to_outside_mturk_is_refused(tmp_path, media_root, client):
    study = make_study(tmp_path, panel="mturk", codes=CODES)
    page = client.get(url(study) + "?workerId=W1&assignmentId=A1&hitId=H&turkSubmitTo=https://evil.example")
    assert page.status_code == 400 and "turkSubmitTo" in page.content.decode()
    assert not FlowEvent.objects.exists()


def test_declining_asks_to_return_the_submission_with_the_no_consent_code_counted_once(tmp_path, media_root,
                                                                                      client):
    study = prolific_study(tmp_path)
    client.get(url(study) + PROLIFIC)
    page = client.post(url(study, "decline")).content.decode()
    assert "return your submission on Prolific" in page and "cc=N0CON" in page and PID not in page
    client.post(url(study, "decline"))
    assert FlowEvent.objects.filter(event="declined").count() == 1 and not Participant.objects.exists()


def test_without_a_panel_declining_shows_the_page_and_no_code(tmp_path, media_root, client):
    study = make_study(tmp_path, completion_url=PROLIFIC_URL, codes=CODES)
    client.get(url(study))
    page = client.post(url(study, "decline")).content.decode()
    assert "nothing about you was stored" in page and "N0CON" not in page


def test_an_mturk_worker_who_declines_is_asked_to_return_the_hit_not_to_submit_it(tmp_path, media_root, client):
    study = make_study(tmp_path, panel="mturk", codes=CODES)
    client.get(url(study) + f"?workerId=W1&assignmentId=A1&hitId=H&turkSubmitTo={SANDBOX}")
    page = client.post(url(study, "decline")).content.decode()
    assert "return your submission on Amazon Mechanical Turk" in page and "externalSubmit" not in page


def test_a_panel_id_returning_after_the_resume_window_carries_on(tmp_path, media_root, client, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.TURING_RESUME_MINUTES = 30
    study = prolific_study(tmp_path)
    enter_and_start(client, study, PROLIFIC)
    participant = me(client, study)
    client.get(url(study))
    answer(client, study, participant)
    Participant.objects.filter(id=participant.id).update(last_seen=timezone.now() - timedelta(hours=5))
    other = Client()
    assert "Image 2 of" in other.get(url(study) + PROLIFIC).content.decode()
    assert answer(other, study, participant).status_code == 302
    participant.refresh_from_db()
    assert participant.position == 2 and Participant.objects.count() == 1


def test_a_panel_id_entering_from_two_browsers_is_one_entry(tmp_path, media_root, client):
    study = prolific_study(tmp_path)
    client.get(url(study) + PROLIFIC)
    Client().get(url(study) + PROLIFIC)
    Client().get(url(study) + PROLIFIC.replace(PID, "another0id"))
    assert FlowEvent.objects.filter(event="entered").count() == 2
