"""A study's pages at /turing/s/<slug>/: consent, practice, trials, score with debrief, decline, withdrawal.

Thin: each view finds the study and this visitor (turing.study_flow), calls one step and renders. The
pages are plain forms with hidden inputs (the load bench parses them); static/turing.js posts untimed
trials with fetch, as on the set pages. Panel ids stay in the session, never in a page.
"""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.timezone import now
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cansite.i18n import allowed_language
from cansite.web import int_param

from . import selectors, services, study_flow
from .forms import ConsentForm
from .models import Study
from .views import refused, trial_payload, wants_json


def study_or_404(slug: str) -> Study:
    return get_object_or_404(Study, slug=slug)


def entry_url(study: Study) -> str:
    return reverse("turing:study", args=[study.slug])


def language_of(request, study: Study) -> str:
    return allowed_language(get_language(), study.languages, request.META.get("HTTP_ACCEPT_LANGUAGE", ""))


def in_study_language(view):
    """Serve the study's page in the visitor's language when the study offers it, else in their next
    Accept-Language choice it offers, else its first language (the study's `languages` limit the choice,
    and the switcher: each page passes them as `languages`), and say so in Content-Language."""
    @wraps(view)
    def wrapped(request, slug: str):
        study = study_or_404(slug)
        language = language_of(request, study)
        with translation.override(language):
            response = view(request, study)
        response["Content-Language"] = language
        return response
    return wrapped


@in_study_language
def entry(request, study: Study):
    visit = study_flow.visit_for(request.session, study, request.GET)
    if visit.preview:  # an MTurk worker previewing the HIT: the consent text, nothing stored
        return consent_page(request, study, None, preview=True)
    if visit.problem:
        return message(request, study, "turing/study_message.html", {"problem": visit.problem}, status=400)
    participant, expired = study_flow.find(request.session, study, visit)
    if participant is not None:
        return participant_page(request, study, participant)
    if study_flow.state(request.session, study).get("withdrawn"):
        return message(request, study, "turing/withdrawn.html", {})
    if not study.active or study.current_consent() is None:
        return message(request, study, "turing/study_message.html", {"closed": True}, status=410)
    study_flow.note_entered(request.session, study, visit, language_of(request, study))
    return consent_page(request, study, ConsentForm(), expired=expired)


def consent_page(request, study, form, *, preview=False, expired=False, error="", status=200):
    consent = study.current_consent()
    return render(request, "turing/study_consent.html", {
        "study": study, "form": form, "preview": preview, "expired": expired, "error": error,
        "consent_text": consent.text if consent else "", "languages": study.languages}, status=status)


def message(request, study, template, context, status=200):
    return render(request, template, {"study": study, "languages": study.languages, **context}, status=status)


def participant_page(request, study, participant):
    if not participant.finished and study_flow.time_out_if_late(participant):
        participant.refresh_from_db()
    if participant.finished:
        return score_page(request, study, participant)
    feedback = study_flow.pop_practice_feedback(request.session, study)
    practice = study_flow.practice_trial(participant)
    trial = practice or services.current_trial(participant)
    participant.refresh_from_db(fields=["shown_at"])  # the trial's clock started at its first showing
    return render(request, "turing/trial.html", {
        "study": study, "trial": trial, "practice": practice is not None,
        "feedback": feedback or trial.feedback,
        "timed_out": practice is None and study_flow.last_timed_out(participant),
        "remaining": (study.trial_seconds or None) if practice else study_flow.remaining_seconds(participant, now()),
        "action": reverse("turing:study_answer", args=[study.slug]), "languages": study.languages,
        "withdraw_url": reverse("turing:study_withdraw", args=[study.slug])})


def score_page(request, study, participant):
    return render(request, "turing/score.html", {
        "set": participant.turing_set, "study": study, "participant": participant,
        "score": selectors.participant_score(participant), "way_out": study_flow.way_out(participant),
        "languages": study.languages, "withdraw_url": reverse("turing:study_withdraw", args=[study.slug])})


def visitor(request, study: Study):
    """This visitor's participant in the study, or a 404-free error (FlowError) when there is none."""
    visit = study_flow.visit_for(request.session, study, {})
    participant, _expired = study_flow.find(request.session, study, visit)
    if participant is None:
        raise services.FlowError(_("There is no test in progress here: please start again."))
    return participant


@require_POST
@in_study_language
def start(request, study: Study):
    visit = study_flow.visit_for(request.session, study, {})
    if visit.problem or visit.preview:
        return redirect(entry_url(study))
    if study_flow.find(request.session, study, visit)[0] is not None:
        return redirect(entry_url(study))  # a second click on "Start": carry on
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return consent_page(request, study, form, status=400)
    try:
        participant = study_flow.start(study=study, ip=services.client_ip(request.META), visit=visit,
                                       language=language_of(request, study), profile=form.cleaned_data["profile"],
                                       years=form.cleaned_data["years"])
    except services.FlowError as exc:
        return consent_page(request, study, form, error=str(exc), status=exc.status)
    study_flow.update_state(request.session, study, participant=participant.public_id)
    return redirect(entry_url(study))


@require_POST
@in_study_language
def decline(request, study: Study):
    visit = study_flow.visit_for(request.session, study, {})
    if study_flow.find(request.session, study, visit)[0] is not None:
        return redirect(entry_url(study))  # already taking part: withdrawing is the way out
    way_out = study_flow.decline(request.session, study, visit, language_of(request, study))
    return message(request, study, "turing/study_declined.html", {"way_out": way_out})


@require_POST
@in_study_language
def answer(request, study: Study):
    url = entry_url(study)
    position = int_param(request.POST, "position")
    time_up = request.POST.get("time_up") == "1"
    try:
        if position is None:
            raise services.BadAnswer(_("position: missing or not a number"))
        participant = visitor(request, study)
        if request.POST.get("practice") == "1":
            feedback = study_flow.submit_practice(participant=participant, position=position, time_up=time_up,
                                                  token=request.POST.get("token", ""),
                                                  answer=request.POST.get("answer", ""))
            study_flow.update_state(request.session, study, practice_feedback=feedback)
            return JsonResponse({"done": False, "url": url}) if wants_json(request) else redirect(url)
        submitted = services.submit_answer(public_id=participant.public_id, study_id=study.id, position=position,
                                           token=request.POST.get("token", ""), time_up=time_up,
                                           answer=request.POST.get("answer", ""),
                                           confidence=request.POST.get("confidence"))
    except services.FlowError as exc:
        return refused(request, exc, url)
    if submitted.answer.timed_out and not time_up:
        messages.error(request, _("Time ran out before your answer arrived: the image was recorded as timed out."))
    if wants_json(request):
        return JsonResponse(trial_payload(submitted.participant, submitted.next_showing, url=url,
                                          answered=submitted.answer))
    return redirect(url)


@in_study_language
def withdraw(request, study: Study):
    """GET: the confirmation page; POST: delete the participant's answers and profile, then confirm."""
    try:
        participant = visitor(request, study)
    except services.FlowError:
        participant = None
    if request.method == "POST" and participant is not None:
        study_flow.withdraw(request.session, study, participant)
        return message(request, study, "turing/withdrawn.html", {"done": True})
    if request.method not in ("GET", "HEAD", "POST"):
        raise Http404("no such page")
    return message(request, study, "turing/withdraw.html", {
        "participant": participant, "action": reverse("turing:study_withdraw", args=[study.slug]),
        "back": entry_url(study)})
