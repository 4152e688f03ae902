"""What the crowd's every request costs: a study participant's answers write no session (a changed
session is a database write and, in production, a Redis write, on each of a crowd's answers)."""
from __future__ import annotations

import pytest
from django.contrib.sessions.backends.base import SessionBase

from .study_factory import CODES, PROLIFIC_URL, answer, enter_and_start, make_study, me, url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("panel, query", [("prolific", "?PROLIFIC_PID=5f1a2b3c&STUDY_ID=s1&SESSION_ID=x1"),
                                          ("none", "")])
def test_answers_leave_the_session_unchanged(tmp_path, media_root, client, monkeypatch, panel, query):
    links = {"completion_url": PROLIFIC_URL, "codes": CODES} if panel != "none" else {}
    study = make_study(tmp_path, panel=panel, **links)
    assert enter_and_start(client, study, query).status_code == 302
    participant = me(client, study)
    client.get(url(study))
    saves = []
    original = SessionBase.__setitem__
    monkeypatch.setattr(SessionBase, "__setitem__", lambda s, k, v: (saves.append(k), original(s, k, v)))
    for _ in range(3):
        assert answer(client, study, participant, HTTP_ACCEPT="application/json").status_code == 200
    participant.refresh_from_db()
    assert participant.position == 3 and client.session.get("turing-study")
    assert saves == []


def test_an_answer_with_feedback_costs_no_more_queries_than_one_without(tmp_path, media_root):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    study = make_study(tmp_path, conditions=["none", "each"])
    counts, feedback = {}, {}
    for _ in range(4):  # balanced cells: two participants in each arm
        client = Client()
        enter_and_start(client, study)
        participant = me(client, study)
        client.get(url(study))
        answer(client, study, participant, HTTP_ACCEPT="application/json")  # the first has nothing to show
        with CaptureQueriesContext(connection) as queries:
            reply = answer(client, study, participant, HTTP_ACCEPT="application/json").json()
        counts.setdefault(participant.condition, set()).add(len(queries))
        feedback[participant.condition] = reply["feedback"]
    assert feedback["each"]["position"] == 2 and feedback["each"]["truth"] in ("real", "synthetic")
    assert feedback["none"] is None
    assert counts["each"] == counts["none"] and len(counts["none"]) == 1, counts
