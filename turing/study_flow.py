"""A study's flow at /turing/s/<slug>/: entry, a balanced cell, practice, timed trials, leaving.

A new participant takes the (set, condition) cell with the fewest participants who finished or are still
active (seen within TURING_RESUME_MINUTES: one who left frees the cell), ties drawn at random; the study's
row is locked while counting and inserting, so two racing starts never both take a cell's last place.
A panel id names one participant per study: the same id returning resumes (even past the resume window,
from another browser) or sees the end page, and never starts again. The browser's state for a study (its
participant, the panel ids the link carried, whether it entered or declined) lives in the session, never
in a page. Practice trials (turing/practice.py builds their images) come first, with feedback, and never
count. With trial_seconds the server's clock decides: an answer past the limit, or a page reloaded after
it, stores the trial as timed out (services.record_answer).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from . import panels, privacy, services
from .models import (
    Answer,
    FlowEvent,
    Panel,
    Participant,
    PracticeImage,
    Showing,
    Study,
    TuringSet,
)
from .panels import Visit

SESSION_KEY = "turing-study"
_MISSING = object()  # a key the state does not have (None may be a value)


# --- the browser's state for a study, kept in its session ---

def state(session, study: Study) -> dict:
    return dict(session.get(SESSION_KEY, {}).get(study.slug, {}))


def save_state(session, study: Study, value: dict) -> None:
    session[SESSION_KEY] = {**session.get(SESSION_KEY, {}), study.slug: value}


def update_state(session, study: Study, **changes) -> None:
    """Change the browser's state for the study; the same values again write nothing (every answer of a
    panel participant names its participant again, and a changed session is a database and a Redis write)."""
    current = state(session, study)
    if any(current.get(name, _MISSING) != value for name, value in changes.items()):
        save_state(session, study, {**current, **changes})



def visit_for(session, study: Study, query) -> Visit:
    """Who the visitor is for a panel study: the link's ids (kept in the session for the next requests),
    or those the session kept; a visit with a `problem` when neither names one."""
    if study.panel == Panel.NONE:
        return Visit()
    parsed = panels.parse(study.panel, query)
    if parsed is None:
        kept = state(session, study).get("panel")
        return Visit(**kept) if kept else panels.missing(study.panel)
    if parsed.panel_id:
        update_state(session, study, panel=parsed.as_session())
    return parsed


# --- finding and starting participants ---

def find(session, study: Study, visit: Visit) -> tuple[Participant | None, bool]:
    """This visitor's participant in the study, and whether an anonymous one just expired.

    A panel id finds its participant whatever the browser; an anonymous participant is the session's,
    and expires as a set's participant does."""
    if visit.panel_id:
        participant = Participant.objects.filter(study=study, panel_id=visit.panel_id).first()
        if participant is not None:
            update_state(session, study, participant=participant.public_id)
        return participant, False
    public_id = state(session, study).get("participant", "")
    participant = Participant.objects.filter(public_id=public_id, study=study).first() if public_id else None
    if participant is None or participant.finished or participant.panel_id:
        return participant, False
    if services.is_expired(participant, timezone.now()):
        update_state(session, study, participant="")
        return None, True
    return participant, False


def active_filter(now) -> Q:
    window = timedelta(minutes=settings.TURING_RESUME_MINUTES)
    return Q(finished_at__isnull=False) | Q(last_seen__gte=now - window)


def cell_counts(study: Study, now) -> dict[tuple[int, str], int]:
    """Participants per (set number, condition) who finished or are still active, current builds only."""
    rows = (Participant.objects.filter(study=study, turing_set__archived_at__isnull=True).filter(active_filter(now))
            .values_list("turing_set__number", "condition").annotate(n=Count("id")))
    return {(number, condition): n for number, condition, n in rows}


def choose_cell(study: Study, now, rng: random.Random) -> tuple[TuringSet, str]:
    """The least filled (set, condition) cell; ties drawn at random, so no cell is favoured by its place."""
    sets = {s.number: s for s in TuringSet.objects.current().filter(number__in=study.sets)}
    cells = [(number, condition) for number in study.sets if number in sets for condition in study.conditions or [""]]
    if not cells:
        raise services.FlowError(_("This study has no test sets yet: please come back later."))
    counts = cell_counts(study, now)
    fewest = min(counts.get(cell, 0) for cell in cells)
    number, condition = rng.choice([cell for cell in cells if counts.get(cell, 0) == fewest])
    return sets[number], condition


def lock_study(study: Study) -> None:
    """Serialise the study's starts until the transaction ends: a row lock where the database has one; on
    SQLite a (no-op) write first, which takes its one write lock (a read first would let two counts pass)."""
    rows = Study.objects.filter(id=study.id)
    if connection.features.has_select_for_update:
        list(rows.select_for_update().values_list("id"))
    else:
        rows.update(active=F("active"))


def start(*, study: Study, ip: str, visit: Visit, language: str, profile: str = "", years: int | None = None,
          rng: random.Random | None = None) -> Participant:
    """A new participant in the study's least filled cell, or the panel id's participant when it has one."""
    if not study.active:
        raise services.FlowError(_("This study is closed: it takes no new participants."))
    consent = study.current_consent()
    if consent is None:
        raise services.FlowError(_("This study is not open yet: please come back later."))
    rng = rng or random.SystemRandom()
    now = timezone.now()
    with transaction.atomic():
        lock_study(study)
        if visit.panel_id:
            existing = Participant.objects.filter(study=study, panel_id=visit.panel_id).first()
            if existing is not None:
                return existing
        turing_set, condition = choose_cell(study, now, rng)
        fields = {"study": study, "condition": condition, "language": language, "consent_version": consent,
                  "consented_at": now, "panel_id": visit.panel_id, "panel_data": visit.data}
        return services.start_participant(turing_set=turing_set, ip=ip, profile=profile, years=years, rng=rng,
                                          fields=fields)


# --- anonymous counts: entering and declining ---

def note_entered(session, study: Study, visit: Visit, language: str) -> None:
    """Count the visitor as entered: once per browser, and once per panel id (from any browser).

    A panel id that entered is remembered in the cache under a keyed HMAC (FlowEvent stays anonymous),
    for the study's retention_days; one that consented has its participant row anyway."""
    if state(session, study).get("entered"):
        return
    update_state(session, study, entered=True)
    if visit.panel_id:
        if Participant.objects.filter(study=study, panel_id=visit.panel_id).exists():
            return
        key = salted_hmac("turing.entered", f"{study.id}:{visit.panel_id}", secret=settings.TURING_IP_KEY,
                          algorithm="sha256").hexdigest()
        if not cache.add(f"turing-entered:{key}", 1, timeout=study.retention_days * 86400):
            return
    FlowEvent.objects.create(study=study, event=FlowEvent.Event.ENTERED, language=language)


def decline(session, study: Study, visit: Visit, language: str) -> panels.Completion | None:
    """Count the decline (once per browser) and say where the panel's participant goes with no_consent
    (nowhere on MTurk: a worker who declines returns the HIT rather than submitting it)."""
    if not state(session, study).get("declined"):
        FlowEvent.objects.create(study=study, event=FlowEvent.Event.DECLINED, language=language)
        update_state(session, study, declined=True)
    if study.panel == Panel.MTURK:
        return None
    return panels.completion(kind=study.panel, completion_url=study.completion_url, codes=study.codes,
                             outcome="no_consent", data=visit.data)


def way_out(participant: Participant) -> panels.Completion | None:
    """A finished participant's completion: their outcome's code (failed_attention when flagged)."""
    study = participant.study
    outcome = "failed_attention" if participant.flagged else "completed"
    return panels.completion(kind=study.panel, completion_url=study.completion_url, codes=study.codes,
                             outcome=outcome, data=participant.panel_data)


def withdraw(session, study: Study, participant: Participant) -> None:
    """The participant's answers and profile deleted (turing.privacy); this browser remembers only that."""
    privacy.withdraw(participant)
    save_state(session, study, {"withdrawn": True, "entered": True})


# --- timed trials ---

def remaining_seconds(participant: Participant, now) -> int | None:
    """Seconds left to answer the current trial, or None without a time limit."""
    limit = services.time_limit_ms(participant)
    if not limit:
        return None
    return max(0, -(-(limit - services.shown_ms(participant, now)) // 1000))


def time_out_if_late(participant: Participant) -> bool:
    """A page asked for after the current trial's time ran out: store that trial as timed out."""
    now = timezone.now()
    if participant.finished or participant.shown_at is None:
        return False
    if not services.is_late(participant, services.shown_ms(participant, now)):
        return False
    token = Showing.objects.get(participant=participant, position=participant.position).token
    try:
        services.submit_answer(public_id=participant.public_id, study_id=participant.study_id,
                               position=participant.position, token=token, answer="", time_up=True)
    except services.FlowError:  # a racing request took the trial first: nothing to do
        return False
    return True


def last_timed_out(participant: Participant) -> bool:
    """Whether the trial before the current one ran out of time (the page says so)."""
    return bool(participant.position and services.time_limit_ms(participant)) and Answer.objects.filter(
        participant=participant, position=participant.position - 1, timed_out=True).exists()


# --- practice ---

@dataclass
class PracticeTrial:
    position: int
    total: int
    token: str
    feedback: dict | None = None  # like a Trial's; a practice answer's feedback comes through the session


def practice_total(participant: Participant) -> int:
    return min(participant.study.practice, participant.study.practice_images.count()) if participant.study_id else 0


def practice_trial(participant: Participant) -> PracticeTrial | None:
    """The practice image to show now, or None when practice is over (or the study has none)."""
    total = practice_total(participant)
    if participant.practice_position >= total:
        return None
    image = PracticeImage.objects.get(study_id=participant.study_id, position=participant.practice_position)
    Participant.objects.filter(id=participant.id).update(last_seen=timezone.now())
    return PracticeTrial(participant.practice_position, total, image.token)


def pop_practice_feedback(session, study: Study) -> dict | None:
    """The last practice answer's feedback, shown once (a practice answer is stored nowhere else)."""
    kept = state(session, study)
    if "practice_feedback" not in kept:
        return None
    feedback = kept.pop("practice_feedback")
    save_state(session, study, kept)
    return feedback


def submit_practice(*, participant: Participant, position: int, token: str, answer: str,
                    time_up: bool = False) -> dict:
    """Take a practice answer (stored nowhere) and return its feedback; a repeated submit changes nothing."""
    if not time_up:
        services.parse_answer(answer, None)  # the scored trials' rule and message
    image = PracticeImage.objects.filter(study_id=participant.study_id, position=position, token=token).first()
    if image is None or position >= practice_total(participant):
        raise services.FlowError(_("This is not the image you were shown: reload the page to continue."))
    Participant.objects.filter(id=participant.id, practice_position=position).update(
        practice_position=position + 1, last_seen=timezone.now())
    return {"position": position + 1, "truth": image.truth, "answer": "" if time_up else answer,
            "correct": not time_up and answer == image.truth, "practice": True}
