"""Two submits of one answer racing each other store one answer (the database decides)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from turing import services
from turing.models import Answer

from .factory import make_sets, showing_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_submits_of_one_answer_store_it_once(tmp_path, media_root):
    participant = services.start_participant(turing_set=make_sets(tmp_path)[0], ip="10.0.0.1")
    token = showing_token(participant, 0)
    gate, results = threading.Barrier(4), []

    def send(answer):
        gate.wait()
        try:
            submitted = services.submit_answer(public_id=participant.public_id, set_number=1, position=0,
                                               token=token, answer=answer)
            results.append(submitted.answer.id)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(a,)) for a in ("real", "real", "synthetic", "real")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert Answer.objects.count() == 1
    participant.refresh_from_db()
    assert participant.position == 1
