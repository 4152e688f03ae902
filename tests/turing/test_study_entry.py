"""A study's entry at /turing/s/<slug>/: the consent page, one entry counted per browser, balanced cells
(an inactive participant frees theirs), racing starts, the consent record and the language."""
from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation

from turing import study_flow
from turing.models import FlowEvent, Participant
from turing.panels import Visit

from .study_factory import CONSENT, add_consent, enter_and_start, make_study, me, url

pytestmark = pytest.mark.django_db


def start_many(study, count: int, seed: int = 0) -> list[Participant]:
    rng = random.Random(seed)
    return [study_flow.start(study=study, ip=f"10.1.0.{i}", visit=Visit(), language="en", rng=rng)
            for i in range(count)]


def test_the_entry_shows_the_consent_and_counts_one_entry_per_browser(tmp_path, media_root, client):
    study = make_study(tmp_path)
    page = client.get(url(study)).content.decode()
    assert CONSENT in page and "I agree: start" in page and "I do not want to take part" in page
    assert "study@example.org" in page and "Withdraw link" in page
    client.get(url(study))
    client.get(url(study))
    assert FlowEvent.objects.filter(event="entered").count() == 1
    client.cookies.clear()  # another browser
    client.get(url(study))
    assert FlowEvent.objects.filter(event="entered").count() == 2
    assert not Participant.objects.exists()


def test_participants_are_spread_evenly_over_the_set_and_condition_cells(tmp_path, media_root):
    study = make_study(tmp_path, sets=[1, 2, 3], conditions=["none", "each"])
    cells = Counter((p.turing_set.number, p.condition) for p in start_many(study, 12))
    assert cells == {(s, c): 2 for s in (1, 2, 3) for c in ("none", "each")}


def test_an_inactive_participant_frees_their_cell_and_a_finished_one_keeps_it(tmp_path, media_root, settings):
    settings.TURING_RESUME_MINUTES = 30
    study = make_study(tmp_path, sets=[1], conditions=["none", "each"])
    gone, done = start_many(study, 2)
    long_ago = timezone.now() - timedelta(minutes=31)
    Participant.objects.filter(id=gone.id).update(last_seen=long_ago)
    Participant.objects.filter(id=done.id).update(last_seen=long_ago, finished_at=long_ago)
    newcomer = start_many(study, 1, seed=5)[0]
    assert newcomer.condition == gone.condition != done.condition


def test_a_closed_study_or_an_unknown_slug_takes_nobody(tmp_path, media_root, client):
    study = make_study(tmp_path, active=False)
    assert client.get(url(study)).status_code == 410
    assert enter_and_start(client, study).status_code == 409
    assert not Participant.objects.exists()
    assert client.get("/turing/s/no-such-study/").status_code == 404
    assert client.get("/turing/s/%C2%B2/").status_code == 404


def test_the_participant_keeps_the_consent_version_they_agreed_to_and_when(tmp_path, media_root, client):
    study = make_study(tmp_path)
    second = add_consent(study, "A changed text: version two.")
    before = timezone.now()
    assert "version two" in client.get(url(study)).content.decode()
    assert enter_and_start(client, study).status_code == 302
    participant = me(client, study)
    add_consent(study, "Version three, loaded later.")
    participant.refresh_from_db()
    assert participant.consent_version == second and before <= participant.consented_at <= timezone.now()


def test_consent_is_required_before_anything_is_stored(tmp_path, media_root, client):
    study = make_study(tmp_path)
    client.get(url(study))
    refused = client.post(url(study, "start"), {})
    assert refused.status_code == 400 and "tick the box" in refused.content.decode()
    assert not Participant.objects.exists()


@pytest.mark.parametrize("active, languages, stored", [("ko", ["en", "ko", "es"], "ko"), ("es-mx", ["en", "es"], "es"),
                                                       ("ko", ["es", "en"], "es")])
def test_the_language_stored_is_the_active_one_limited_to_the_study(tmp_path, media_root, client, active,
                                                                    languages, stored):
    study = make_study(tmp_path, languages=languages)
    with translation.override(active):
        client.get(url(study), HTTP_ACCEPT_LANGUAGE=active)
        client.post(url(study, "start"), {"consent": "on"}, HTTP_ACCEPT_LANGUAGE=active)
    assert me(client, study).language == stored


def test_the_old_set_links_keep_working_beside_a_study(tmp_path, media_root, client):
    study = make_study(tmp_path)
    index = client.get("/turing/").content.decode()
    assert f'href="{url(study)}"' in index and '?q=1"' in index
    assert "Start set 1" in client.get("/turing/?q=1").content.decode()
    client.post("/turing/start/", {"q": 1, "consent": "on"})
    set_participant = Participant.objects.get()
    assert set_participant.study is None and set_participant.condition == ""
    assert "Image 1 of" in client.get("/turing/?q=1").content.decode()
    assert "I agree: start" in client.get(url(study)).content.decode()  # the set's test is not the study's


@pytest.mark.django_db(transaction=True)
def test_racing_starts_never_both_take_the_last_place_of_a_cell(tmp_path, media_root):
    study = make_study(tmp_path, sets=[1, 2, 3], conditions=["none", "each"])
    gate, made, errors = threading.Barrier(12), [], []

    def start(i):
        gate.wait()
        try:
            made.append(study_flow.start(study=study, ip=f"10.2.0.{i}", visit=Visit(), language="en"))
        except Exception as exc:  # reported below, with the thread's own error
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cells = Counter(Participant.objects.values_list("turing_set__number", "condition"))
    assert sorted(cells.values()) == [2] * 6


def test_with_javascript_a_study_answer_returns_the_next_image_and_the_arms_feedback(tmp_path, media_root, client):
    from .study_factory import answer

    study = make_study(tmp_path, sets=[1], conditions=["each"])
    enter_and_start(client, study)
    participant = me(client, study)
    client.get(url(study))
    data = answer(client, study, participant, HTTP_ACCEPT="application/json").json()
    assert data["done"] is False and data["position"] == 1 and data["feedback"]["answer"] == "real"
    while not data["done"]:
        data = answer(client, study, participant, HTTP_ACCEPT="application/json").json()
    assert data == {"done": True, "url": url(study)}


def test_the_study_pages_are_served_in_a_language_the_study_offers(tmp_path, media_root, client):
    study = make_study(tmp_path, languages=["es", "en"])
    assert client.get(url(study), HTTP_ACCEPT_LANGUAGE="ko")["Content-Language"] == "es"  # the study's first
    assert client.get(url(study), HTTP_ACCEPT_LANGUAGE="en-US")["Content-Language"] == "en"
    assert client.get(url(study), HTTP_ACCEPT_LANGUAGE="ko,en;q=0.5")["Content-Language"] == "en"  # their next
