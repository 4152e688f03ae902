"""Integrity: own set and shown image only, idempotent repeats, no changes, CSRF, flags, rate limit, IPs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from turing import services
from turing.models import Answer, Participant, StartLog, TuringImage

from .factory import JSON, current, make_participant_with_answers, make_sets, showing_token, start, submit

pytestmark = pytest.mark.django_db


def test_an_answer_for_an_image_not_shown_is_refused(tmp_path, media_root, client):
    sets = make_sets(tmp_path)
    start(client)
    participant = current(client)
    shown = TuringImage.objects.get(id=participant.order[0])
    other = sets[0].images.exclude(id=shown.id).first()
    assert submit(client, participant, token=other.token, **JSON).status_code == 409
    assert submit(client, participant, token=shown.token, **JSON).status_code == 409  # a researcher's name for it
    foreign = sets[1].images.first()
    assert submit(client, participant, token=foreign.token, **JSON).status_code == 409
    assert submit(client, participant, position=3, **JSON).status_code == 409  # a later trial, not yet shown
    assert not Answer.objects.exists()


def test_an_answer_for_another_set_than_the_participants_is_refused(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client, q=1)
    participant = current(client, 1)
    response = submit(client, participant, q=2, **JSON)  # no test of set 2 in progress on this browser
    assert response.status_code == 409 and not Answer.objects.exists()


def test_a_repeated_submit_is_idempotent_and_doubles_nothing(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    token = showing_token(participant, 0)
    first = client.post("/turing/answer/", {"q": 1, "position": 0, "token": token, "answer": "real"}, **JSON)
    again = client.post("/turing/answer/", {"q": 1, "position": 0, "token": token, "answer": "real"}, **JSON)
    assert first.status_code == again.status_code == 200
    assert first.json()["token"] == again.json()["token"] and first.json()["position"] == again.json()["position"] == 1
    assert Answer.objects.count() == 1
    participant.refresh_from_db()
    assert participant.position == 1


def test_no_answer_changes_once_its_truth_was_shown(tmp_path, media_root, client):
    make_sets(tmp_path, feedback="each")
    start(client)
    participant = current(client)
    token = showing_token(participant, 0)
    shown = submit(client, participant, "real", **JSON).json()["feedback"]
    assert shown["answer"] == "real"
    client.post("/turing/answer/", {"q": 1, "position": 0, "token": token, "answer": "synthetic"}, **JSON)
    assert list(Answer.objects.values_list("answer", flat=True)) == ["real"]


def test_the_database_allows_one_answer_per_participant_per_image(tmp_path, media_root):
    turing_set = make_sets(tmp_path)[0]
    participant = make_participant_with_answers(turing_set, 1)
    first = participant.answers.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(participant=participant, image=first.image, position=5, answer="real", response_ms=900)
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(participant=participant, image=first.image, position=0, answer="real", response_ms=900,
                              repeat=True)


def test_answers_need_the_csrf_token(tmp_path, media_root):
    make_sets(tmp_path)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/turing/?q=1")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert client.post("/turing/start/", {"q": 1, "consent": "on"}).status_code == 403
    assert not Participant.objects.exists()


@pytest.mark.parametrize("fields", [{"answer": "maybe"}, {"answer": "real", "confidence": "4"},
                                    {"answer": "real", "position": "x"}])
def test_a_malformed_answer_is_a_400_not_a_500(tmp_path, media_root, client, fields):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    token = showing_token(participant, 0)
    data = {"q": 1, "position": 0, "token": token, **fields}
    assert client.post("/turing/answer/", data, **JSON).status_code == 400
    assert not Answer.objects.exists()


def test_fast_answers_are_flagged_and_too_many_flag_the_participant(tmp_path, media_root, settings):
    settings.TURING_FAST_MS, settings.TURING_FAST_SHARE = 300, 0.2
    settings.TURING_ATTENTION_CATCH = 0  # the careful participant says "real" to everything
    turing_set = make_sets(tmp_path)[0]
    participant = services.start_participant(turing_set=turing_set, ip="10.0.0.9")
    for position in range(participant.total):
        services.submit_answer(public_id=participant.public_id, set_number=participant.turing_set.number,
                               position=position, token=showing_token(participant, position), answer="real")
    participant.refresh_from_db()
    assert all(a.fast for a in participant.answers.all()) and participant.flagged
    careful = make_participant_with_answers(turing_set, None, ip="10.0.0.10")
    assert not careful.answers.filter(fast=True).exists() and not careful.flagged


def test_a_failed_attention_check_flags_the_participant(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_REPEATS, settings.TURING_ATTENTION_CATCH = 1, 0
    turing_set = make_sets(tmp_path)[0]
    seen = set()

    def inconsistent(image):  # says real the first time, synthetic on the repeat
        answer = "synthetic" if image.id in seen else "real"
        seen.add(image.id)
        return answer

    flagged = make_participant_with_answers(turing_set, None, answer=inconsistent)
    assert flagged.attention_failed == 1 and flagged.flagged
    assert flagged.answers.filter(repeat=True).count() == 1
    steady = make_participant_with_answers(turing_set, None, ip="10.0.0.2")
    assert steady.attention_failed == 0 and not steady.flagged


def test_attention_checks_can_be_switched_off(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_REPEATS = settings.TURING_ATTENTION_CATCH = 0
    turing_set = make_sets(tmp_path)[0]
    assert not TuringImage.objects.filter(kind="catch").exists()
    assert turing_set.build_options["catch"] == 0
    participant = services.start_participant(turing_set=turing_set, ip="10.0.0.1")
    assert len(participant.order) == len(set(participant.order)) == 8


def test_new_participants_are_rate_limited_per_network_for_an_hour(tmp_path, media_root, client, settings):
    settings.TURING_NEW_PARTICIPANTS_PER_IP_HOUR = 2
    make_sets(tmp_path)
    for q in (1, 2):
        assert start(client, q=q).status_code == 302
    refused = start(client, q=3)
    assert refused.status_code == 429 and "Too many new tests" in refused.content.decode()
    assert Client(REMOTE_ADDR="10.9.9.9").post("/turing/start/", {"q": 3, "consent": "on"}).status_code == 302
    StartLog.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert start(client, q=3).status_code == 302  # an hour later


def test_the_proxy_header_is_read_only_when_trusted(settings):
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}
    settings.TURING_PROXY_HEADER = ""
    assert services.client_ip(meta) == "10.0.0.1"
    settings.TURING_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    assert services.client_ip(meta) == "203.0.113.7"  # what our proxy appended, not what the client claimed


def test_the_proxy_setting_follows_behind_proxy(monkeypatch):
    import importlib

    import cansite.settings as module

    monkeypatch.setenv("BEHIND_PROXY", "false")
    assert importlib.reload(module).TURING_PROXY_HEADER == ""
    monkeypatch.setenv("BEHIND_PROXY", "true")
    assert importlib.reload(module).TURING_PROXY_HEADER == "HTTP_X_FORWARDED_FOR"
    monkeypatch.delenv("BEHIND_PROXY")
    importlib.reload(module)


@pytest.mark.parametrize("size, repeats", [(2, 1), (8, 1), (8, 3), (20, 5), (20, 40)])
def test_attention_repeats_show_distinct_images_twice_and_later(size, repeats):
    import random

    for seed in range(50):
        order = services.draw_order(list(range(size)), repeats, random.Random(seed))
        counts = {i: order.count(i) for i in set(order)}
        assert set(counts) == set(range(size)) and max(counts.values()) <= 2
        for image in (i for i, n in counts.items() if n == 2):
            first = order.index(image)
            assert order.index(image, first + 1) - first >= services.MIN_REPEAT_GAP
