"""The visitor's test: start a participant, find them again, show a trial, take an answer, finish.

Integrity lives here: an answer is taken only for the participant's current trial and the image
that trial showed; a repeated submit returns the stored answer unchanged (answers never change,
so none can change after its truth was shown); the database's unique constraints back this up
against two submits racing. Each trial is a Showing with its own random token. New participants
are rate-limited per network: a keyed HMAC of the address (settings.TURING_IP_KEY, never SECRET_KEY)
is logged per start and deleted after the window; counting and inserting are one locked step.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from .models import Answer, Feedback, Kind, Participant, Profile, Showing, StartLog, Truth, TuringSet
from .tokens import new_token

SESSION_KEY = "turing"
MIN_REPEAT_GAP = 3  # an attention repeat comes at least this many trials after the first showing
RATE_WINDOW = timedelta(hours=1)  # the per-network limit counts starts in this window; older logs are deleted
LATE_GRACE_MS = 1500  # a timed trial's answer may arrive this long after the limit (its trip over the network)
TIME_UP_EARLY_MS = 250  # a page's "time is up" may come this early (the page's clock starts after the server's)


class FlowError(ValueError):
    """A request the test cannot take; `status` is the HTTP status to answer with."""

    status = 409


class BadAnswer(FlowError):
    status = 400


class RateLimited(FlowError):
    status = 429


def client_ip(meta: dict) -> str:
    """REMOTE_ADDR, or behind a trusted proxy the address it appended (the last in its header)."""
    header = settings.TURING_PROXY_HEADER
    if header and meta.get(header):
        return meta[header].split(",")[-1].strip()
    return meta.get("REMOTE_ADDR", "")


def ip_key(ip: str) -> str:
    """The address as a keyed HMAC: without TURING_IP_KEY (which is not SECRET_KEY, so not public in the
    demo) nobody can test guessed addresses against it, as anyone could against a salted hash."""
    return salted_hmac("turing.ip", ip, secret=settings.TURING_IP_KEY, algorithm="sha256").hexdigest()


def purge_start_logs(now) -> int:
    """Delete the start logs the rate limit no longer needs; returns how many."""
    return StartLog.objects.filter(created_at__lt=now - RATE_WINDOW).delete()[0]


def lock_network(key: str) -> None:
    """Serialise the starts of one network until the transaction ends, so that counting and inserting
    are one step: a per-key advisory lock on PostgreSQL; on SQLite a write (the purge) first, which takes
    the database's one write lock (a read first would let two counts pass before either inserts)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(key[:15], 16)])


def log_start(ip: str, now) -> None:
    """Count this network's starts in the window and log one more, or raise RateLimited: call inside
    the transaction that creates the participant."""
    key = ip_key(ip)
    lock_network(key)
    purge_start_logs(now)
    if StartLog.objects.filter(key=key, created_at__gte=now - RATE_WINDOW).count() \
            >= settings.TURING_NEW_PARTICIPANTS_PER_IP_HOUR:
        raise RateLimited(_("Too many new tests from your network in the last hour: please come back later."))
    StartLog.objects.create(key=key, created_at=now)


def draw_order(image_ids: list[int], repeats: int, rng: random.Random, catch_ids: tuple | list = ()) -> list[int]:
    """A random order of the set; `repeats` images come again later, as attention checks, and each
    catch image (shown once) goes anywhere but first or last, where a reader would look for it."""
    order = rng.sample(image_ids, len(image_ids))
    early = order[:max(0, len(order) - MIN_REPEAT_GAP)][:len(order) // 2]  # room for the gap after them
    for image in rng.sample(early, min(repeats, len(early))):  # distinct images: none is shown thrice
        order.insert(rng.randint(order.index(image) + MIN_REPEAT_GAP, len(order)), image)
    for image in catch_ids:  # inserting inside only lengthens the gaps before repeats
        order.insert(rng.randint(1, max(1, len(order) - 1)), image)
    return order


def start_participant(*, turing_set: TuringSet, ip: str, profile: str = "", years: int | None = None,
                      rng: random.Random | None = None, fields: dict | None = None) -> Participant:
    """A new participant of the set, in an order of their own; `fields` are a study's (its cell,
    consent record, language, panel ids: turing.study_flow.start_in_study)."""
    if profile and profile not in Profile.values:
        raise BadAnswer(_("profile: %(given)r is not one of %(choices)s")
                        % {"given": profile, "choices": ", ".join(Profile.values)})
    if years is not None and not 0 <= years <= 80:
        raise BadAnswer(_("years: give a number of years between 0 and 80"))
    now = timezone.now()
    kinds = list(turing_set.images.values_list("id", "kind"))
    ids = [i for i, kind in kinds if kind == Kind.LESION]
    catch_ids = [i for i, kind in kinds if kind == Kind.CATCH]
    order = draw_order(ids, settings.TURING_ATTENTION_REPEATS, rng or random.SystemRandom(), catch_ids)
    with transaction.atomic():
        log_start(ip, now)
        participant = Participant.objects.create(public_id=new_token(), turing_set=turing_set, profile=profile,
                                                 years=years, order=order, last_seen=now, **(fields or {}))
        Showing.objects.bulk_create(new_showings(participant))
    return participant


def new_showings(participant: Participant) -> list[Showing]:
    """One fresh random token per trial: a repeat's second showing gets its own, unlike its first."""
    return [Showing(participant=participant, position=position, image_id=image_id,
                    token=new_token()) for position, image_id in enumerate(participant.order)]


def remember(session, participant: Participant) -> None:
    session[SESSION_KEY] = {**session.get(SESSION_KEY, {}), str(participant.turing_set.number): participant.public_id}


def forget(session, turing_set: TuringSet) -> None:
    session[SESSION_KEY] = {k: v for k, v in session.get(SESSION_KEY, {}).items() if k != str(turing_set.number)}


def session_participant(session, number: int) -> str:
    """The public id of this browser's participant in set `number`, or ''."""
    return session.get(SESSION_KEY, {}).get(str(number), "")


def is_expired(participant: Participant, now) -> bool:
    return not participant.finished and now - participant.last_seen > timedelta(minutes=settings.TURING_RESUME_MINUTES)


def find_participant(session, turing_set: TuringSet) -> tuple[Participant | None, bool]:
    """This browser's participant for the set, and whether an unfinished one just expired."""
    public_id = session_participant(session, turing_set.number)
    participant = Participant.objects.filter(public_id=public_id, turing_set=turing_set).first() if public_id else None
    if participant is not None:
        participant.turing_set = turing_set  # spare a query: it is the same row
    if participant is None or participant.finished:
        return participant, False
    if is_expired(participant, timezone.now()):
        forget(session, turing_set)
        return None, True
    return participant, False


@dataclass
class Trial:
    position: int
    total: int
    token: str  # this trial's own token: it names the image for this participant and this showing only
    feedback: dict | None  # the previous answer and its truth, when the set shows it after each answer


def current_trial(participant: Participant, *, touch: bool = True, showing: Showing | None = None,
                  answered: Answer | None = None) -> Trial:
    """The image to show now; the clock of its response time starts at its first showing.

    Right after an answer, which already started the next image's clock and read that trial: touch=False,
    the showing, and the answer just given (its feedback needs no second read).
    """
    if touch:
        now = timezone.now()
        first_showing = Coalesce(F("shown_at"), Value(now), output_field=DateTimeField())
        Participant.objects.filter(id=participant.id).update(last_seen=now, shown_at=first_showing)
    if showing is None:
        showing = Showing.objects.get(participant=participant, position=participant.position)
    return Trial(participant.position, participant.total, showing.token, previous_feedback(participant, answered))


def previous_feedback(participant: Participant, answered: Answer | None = None) -> dict | None:
    if participant.feedback != Feedback.EACH or participant.position == 0:
        return None
    answer = answered
    if answer is None or answer.position != participant.position - 1:
        answer = participant.answers.select_related("image").get(position=participant.position - 1)
    return {"position": answer.position + 1, "truth": answer.image.truth, "answer": answer.answer,
            "correct": answer.correct}


def parse_answer(answer: str, confidence: str | None) -> tuple[str, int | None]:
    if answer not in Truth.values:
        raise BadAnswer(_("answer: say real or synthetic"))
    if confidence in (None, ""):
        return answer, None
    if confidence not in {"1", "2", "3"}:
        raise BadAnswer(_("confidence: give 1, 2 or 3"))
    return answer, int(confidence)


@dataclass
class Submitted:
    answer: Answer
    participant: Participant  # as it stands after the answer
    next_showing: Showing | None = None  # read with the answered one, when there is a next


def submit_answer(*, public_id: str, set_number: int | None = None, study_id: int | None = None, position: int,
                  token: str, answer: str, confidence: str | None = None, time_up: bool = False) -> Submitted:
    """Store one answer, or return the one already stored for this trial (a repeated submit).

    The participant is named by the public id the session holds and must belong to the current build
    of set `set_number` (or to the study `study_id`) and not have expired. `time_up`: the page says the
    trial's time limit ran out (its "Next" button); the server checks the clock either way.
    """
    answer, level = ("", None) if time_up else parse_answer(answer, confidence)
    mine = Participant.objects.filter(public_id=public_id or None, turing_set__archived_at__isnull=True)
    mine = mine.filter(study_id=study_id) if study_id is not None else mine.filter(turing_set__number=set_number)
    try:
        with transaction.atomic():
            return record_answer(mine, position, token, answer, level)
    except IntegrityError:  # a racing duplicate committed first: answer as for a repeat
        return stored_answer(mine.get(), position, token)


def stored_answer(participant: Participant, position: int, token: str) -> Submitted:
    existing = Answer.objects.filter(participant=participant, position=position).first()
    shown = Showing.objects.filter(participant=participant, position=position, token=token).exists()
    if existing is None or not shown:
        raise FlowError(_("This is not the image you were shown: reload the page to continue."))
    return Submitted(existing, participant)


def locked(mine) -> Participant:
    """The participant, locked so that racing submits queue here: a row lock where the database has one;
    on SQLite a (no-op) write before any read takes its one write lock (a read first would fail later)."""
    if connection.features.has_select_for_update:
        mine = mine.select_for_update(of=("self",))
    else:
        mine.update(position=F("position"))
    # at most one row (public_id is unique): no ORDER BY for first() to compile and sort by
    participant = next(iter(mine.select_related("turing_set", "study").order_by()[:1]), None)
    if participant is None:
        raise FlowError(_("There is no test in progress here: please start again."))
    return participant


def record_answer(mine, position: int, token: str, answer: str, level: int | None) -> Submitted:
    participant, now = locked(mine), timezone.now()
    if is_expired(participant, now):
        raise FlowError(_("Your test has expired: please start again."))
    if position < participant.position:
        return stored_answer(participant, position, token)
    if participant.finished or position != participant.position:
        raise FlowError(_("This is not the image you were shown: reload the page to continue."))
    # this trial and the next, in one query; the image by its id alone (a join and 12 columns the
    # answer does not need: bench/turing_profile.py measured the ORM's compiling as most of an answer's CPU)
    showings = Showing.objects.filter(participant=participant, position__in=(position, position + 1))
    if participant.feedback == Feedback.EACH:  # its truth goes back with this answer: read it with the trial
        showings = showings.select_related("image")
    showings = list(showings.order_by("position"))
    if not showings or showings[0].token != token:
        raise FlowError(_("This is not the image you were shown: reload the page to continue."))
    image_id = showings[0].image_id
    elapsed = shown_ms(participant, now)
    late = is_late(participant, elapsed)
    if not answer:  # the page says time is up: so does the server's clock, or the page is early
        if elapsed < time_limit_ms(participant) - TIME_UP_EARLY_MS or not time_limit_ms(participant):
            raise FlowError(_("Time is not up yet for this image: please answer it."))
        late = True
    if late:  # the server's clock decides: a late answer is refused and the trial stored as timed out
        answer, level = "", None
    fast = not late and elapsed < settings.TURING_FAST_MS
    stored = Answer.objects.create(participant=participant, image_id=image_id, position=position, answer=answer,
                                   confidence=level, response_ms=elapsed, fast=fast, timed_out=late,
                                   repeat=image_id in participant.order[:position])
    if participant.feedback == Feedback.EACH:
        stored.image = showings[0].image
    participant.position += 1
    participant.fast_answers += fast
    participant.timed_out += late
    participant.shown_at, participant.last_seen = now, now  # the next image goes out with this response
    if participant.position == participant.total:
        finish(participant, now)
    save_progress(participant)
    return Submitted(stored, participant, showings[1] if len(showings) == 2 else None)


PROGRESS_FIELDS = ["position", "fast_answers", "timed_out", "shown_at", "last_seen", "finished_at",
                   "attention_failed", "catch_failed", "flagged"]


def save_progress(participant: Participant) -> None:
    """Write what an answer changed: one UPDATE of the locked row (cheaper to build than save()'s)."""
    Participant.objects.filter(id=participant.id).update(**{name: getattr(participant, name)
                                                            for name in PROGRESS_FIELDS})


def shown_ms(participant: Participant, now) -> int:
    """How long the current trial's image has been shown, in ms (0 before it went out)."""
    return int((now - (participant.shown_at or now)).total_seconds() * 1000)


def time_limit_ms(participant: Participant) -> int:
    """The participant's time per image in ms (their study's trial_seconds), 0 when there is none."""
    return participant.study.trial_seconds * 1000 if participant.study_id else 0


def is_late(participant: Participant, elapsed_ms: int) -> bool:
    """Whether a trial shown `elapsed_ms` ago is past its time limit, allowing LATE_GRACE_MS for the
    answer's trip to the server."""
    limit = time_limit_ms(participant)
    return bool(limit) and elapsed_ms > limit + LATE_GRACE_MS


def finish(participant: Participant, now) -> None:
    """Close the test and decide the flags: a failed attention check (a repeat answered differently,
    a catch test pattern called real), or too many fast answers."""
    rows = list(participant.answers.values_list("image_id", "repeat", "answer", "image__kind"))
    answers = {(image, repeat): given for image, repeat, given, _ in rows}
    participant.attention_failed = sum(1 for (image, repeat), given in answers.items()  # a timeout is no answer
                                       if repeat and given and answers.get((image, False)) not in (given, ""))
    participant.catch_failed = sum(1 for _, _, given, kind in rows if kind == Kind.CATCH and given == Truth.REAL)
    participant.finished_at = now
    participant.flagged = (participant.attention_failed > 0 or participant.catch_failed > 0
                           or participant.fast_answers > settings.TURING_FAST_SHARE * participant.total)
