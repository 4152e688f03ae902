"""Plain helpers for study tests: a study over built sets with its consent text, and a visitor's steps
through /turing/s/<slug>/ with the test client."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from turing.models import ConsentVersion, Participant, Study

from .factory import make_sets, showing_token

CONSENT = "You will see photographs of moles. Your answers are kept for research."
CODES = {"completed": "C0MPL", "failed_attention": "ATTN0", "no_consent": "N0CON"}
PROLIFIC_URL = "https://app.prolific.com/submissions/complete?cc={code}"


def make_study(folder: Path | None = None, *, slug: str = "pilot", consent: str = CONSENT, build: dict | None = None,
               **fields) -> Study:
    """A study of sets 1 and 2 in two arms (sets built first when `folder` is given)."""
    if folder is not None:
        make_sets(folder, **(build or {}))
    values = {"title": "Real or synthetic?", "sets": [1, 2], "conditions": ["none", "each"], "practice": 0,
              "trial_seconds": 0, "languages": ["en", "ko", "es"], "debrief": "The study asks whether people can "
              "tell generated images from photographs.", "contact": "study@example.org", "panel": "none"}
    values.update(fields)
    study = Study.objects.create(slug=slug, **values)
    add_consent(study, consent)
    return study


def add_consent(study: Study, text: str) -> ConsentVersion:
    number = study.consent_versions.count() + 1
    return ConsentVersion.objects.create(study=study, number=number, text=text,
                                         sha256=hashlib.sha256(text.encode()).hexdigest())


def url(study: Study, step: str = "") -> str:
    return f"/turing/s/{study.slug}/" + (f"{step}/" if step else "")


def enter_and_start(client, study: Study, query: str = "", **fields):
    """GET the entry (with the panel's query), then consent; returns the start response."""
    client.get(url(study) + query)
    return client.post(url(study, "start"), {"consent": "on", **fields})


def me(client, study: Study) -> Participant:
    return Participant.objects.get(public_id=client.session["turing-study"][study.slug]["participant"])


def answer(client, study: Study, participant: Participant, value: str = "real", think: float | None = 1.0, **extra):
    """Answer the current trial `think` seconds after it was shown (None: leave the clock as it is)."""
    if think is not None:
        Participant.objects.filter(id=participant.id).update(shown_at=timezone.now() - timedelta(seconds=think))
    participant.refresh_from_db()
    data = {"position": participant.position, "token": showing_token(participant, participant.position),
            "answer": value}
    data.update({k: v for k, v in extra.items() if not k.startswith("HTTP_")})
    return client.post(url(study, "answer"), data, **{k: v for k, v in extra.items() if k.startswith("HTTP_")})


def finish_all(client, study: Study, participant: Participant, value: str = "real") -> None:
    client.get(url(study))  # the first trial's clock starts when it is shown
    participant.refresh_from_db()
    while not participant.finished:
        answer(client, study, participant, value)
        participant.refresh_from_db()
