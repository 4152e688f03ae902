"""The visitor's test at /turing/?q=N: consent, trials, resume, expiry, the score."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import REPO
from turing import services
from turing.models import Answer, Participant

from .factory import JSON, current, make_participant_with_answers, make_sets, showing_token, start, submit

pytestmark = pytest.mark.django_db


def test_the_index_lists_the_sets_and_q_starts_one_with_consent(tmp_path, media_root, client):
    make_sets(tmp_path)
    page = client.get("/turing/").content.decode()
    assert '?q=1"' in page and '?q=3"' in page
    consent = client.get("/turing/?q=2").content.decode()
    assert "Start set 2" in consent and "research study" in consent


@pytest.mark.parametrize("q", ["0", "4", "abc", "1e3", "-1", "99999999999999999999", "²", "٣", "1" * 5000])
def test_a_malformed_or_unknown_set_number_is_a_404(tmp_path, media_root, client, q):
    make_sets(tmp_path)
    assert client.get(f"/turing/?q={q}").status_code == 404


def test_consent_is_required_and_the_profile_is_optional(tmp_path, media_root, client):
    make_sets(tmp_path)
    refused = client.post("/turing/start/", {"q": 1})
    assert refused.status_code == 400 and "tick the box" in refused.content.decode()
    assert not Participant.objects.exists()
    assert start(client, profile="dermatologist", years="7").status_code == 302
    participant = current(client)
    assert (participant.profile, participant.years) == ("dermatologist", 7)


def test_each_participant_gets_an_order_of_their_own_stored_on_the_server(tmp_path, media_root, client, settings):
    settings.TURING_ATTENTION_REPEATS = 1
    turing_set = make_sets(tmp_path)[0]
    orders = [services.start_participant(turing_set=turing_set, ip=f"10.0.0.{i}").order for i in range(6)]
    assert len({tuple(o) for o in orders}) > 1
    for order in orders:  # 8 images, one shown twice, and the catch test pattern
        assert len(order) == 10 and set(order) == set(turing_set.images.values_list("id", flat=True))


def test_a_visitor_takes_the_set_to_the_end_and_sees_their_score(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client, profile="layperson")
    participant = current(client)
    page = client.get("/turing/?q=1").content.decode()
    assert "Image 1 of 10" in page and 'name="answer" value="real"' in page
    for _ in range(participant.total):
        assert submit(client, participant, "synthetic", confidence="2").status_code == 302
    participant.refresh_from_db()
    assert participant.finished and Answer.objects.filter(participant=participant).count() == 10
    score = client.get("/turing/?q=1").content.decode()
    assert "your score" in score and "Sensitivity" in score and "Percentile" in score
    assert score.count("you said synthetic") == 8  # each image once with its truth (not the repeat, not the catch)


def test_with_javascript_the_answer_returns_the_next_image_as_json(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    client.get("/turing/?q=1")
    data = submit(client, participant, **JSON).json()
    assert data["done"] is False and data["position"] == 1 and data["total"] == 10
    assert data["image"] == f"/turing/img/{data['token']}.jpg"
    for _ in range(9):
        data = submit(client, participant, **JSON).json()
    assert data == {"done": True, "url": "/turing/?q=1"}


def test_a_reload_resumes_where_the_participant_stopped(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    for _ in range(3):
        submit(client, participant)
    assert "Image 4 of 10" in client.get("/turing/?q=1").content.decode()
    assert "Image 4 of 10" in client.get("/turing/?q=1").content.decode()  # a reload changes nothing
    assert Participant.objects.count() == 1


def test_after_the_resume_window_the_session_expires(tmp_path, media_root, client, settings):
    settings.TURING_RESUME_MINUTES = 30
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    submit(client, participant)
    Participant.objects.filter(id=participant.id).update(last_seen=timezone.now() - timedelta(minutes=31))
    page = client.get("/turing/?q=1").content.decode()
    assert "has expired" in page and "Start set 1" in page
    late = submit(client, participant, **JSON)
    assert late.status_code == 409
    start(client)
    assert Participant.objects.count() == 2 and current(client).id != participant.id


def test_within_the_window_an_old_visit_still_resumes(tmp_path, media_root, client, settings):
    settings.TURING_RESUME_MINUTES = 30
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    submit(client, participant)
    Participant.objects.filter(id=participant.id).update(last_seen=timezone.now() - timedelta(minutes=29))
    assert "Image 2 of 10" in client.get("/turing/?q=1").content.decode()


def test_a_finished_participant_sees_their_score_instead_of_a_second_test(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    for _ in range(participant.total):
        submit(client, participant)
    start(client)  # "start again" on the same browser
    assert Participant.objects.count() == 1
    assert "your score" in client.get("/turing/?q=1").content.decode()


@pytest.mark.parametrize("mode, shown_each, shown_end", [("each", True, True), ("end", False, True),
                                                         ("none", False, False)])
def test_the_feedback_mode_decides_when_the_truth_is_shown(tmp_path, media_root, client, mode, shown_each, shown_end):
    make_sets(tmp_path, feedback=mode)
    start(client)
    participant = current(client)
    submit(client, participant, "real")
    assert ("you said real" in client.get("/turing/?q=1").content.decode()) == shown_each
    assert (submit(client, participant, **JSON).json()["feedback"] is not None) == shown_each
    for _ in range(participant.total - 2):
        submit(client, participant)
    assert ("with its truth" in client.get("/turing/?q=1").content.decode()) == shown_end


def test_the_score_reports_sensitivity_specificity_and_percentiles(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_REPEATS = settings.TURING_ATTENTION_CATCH = 0
    from turing.selectors import participant_score

    turing_set = make_sets(tmp_path)[0]
    truthful = make_participant_with_answers(turing_set, None, profile="dermatologist", answer=lambda i: i.truth)
    make_participant_with_answers(turing_set, None, profile="layperson", ip="10.0.0.2")
    make_participant_with_answers(turing_set, None, profile="dermatologist", ip="10.0.0.3")
    score = participant_score(truthful)
    assert (score["accuracy"], score["sensitivity"], score["specificity"]) == (1.0, 1.0, 1.0)
    assert score["percentile"] == pytest.approx(100 * 2.5 / 3)
    assert score["percentile_group"] == pytest.approx(75.0)
    assert score["dprime"] > 2


@pytest.mark.redis
def test_with_redis_the_test_runs_on_cached_sessions_and_resumes(tmp_path, media_root, client, settings, redis_url):
    """Production (REDIS_URL set) keeps sessions in the Redis cache, written through to the database."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    for _ in range(3):
        assert submit(client, participant, **JSON).status_code == 200
    assert "Image 4 of" in client.get("/turing/?q=1").content.decode(), "a reload resumes where it stopped"
    assert Answer.objects.filter(participant=participant).count() == 3


def test_production_settings_with_redis_use_it_for_the_cache_and_sessions():
    code = ("from django.conf import settings as s; "
            "print(s.CACHES['default']['BACKEND'].rsplit('.', 1)[1], s.SESSION_ENGINE.rsplit('.', 1)[1])")
    out = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], cwd=REPO, text=True,
                         capture_output=True, env={**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/9"}).stdout
    assert out.split()[-2:] == ["RedisCache", "cached_db"]


@pytest.mark.parametrize("position", ["²", "1" * 5000, "-1", ""])
def test_a_malformed_position_is_a_clear_error_not_a_500(tmp_path, media_root, client, position):
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    token = showing_token(participant, 0)
    response = client.post("/turing/answer/", {"q": "1", "position": position, "token": token, "answer": "real"},
                           **JSON)
    assert response.status_code == 400 and "position" in response.json()["error"]
    assert not Answer.objects.exists()
    bad_set = {"q": "²", "position": "0", "token": token, "answer": "real"}
    assert client.post("/turing/answer/", bad_set).status_code == 404
