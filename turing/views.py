"""Turing test pages. Plain HTML forms do everything; static/turing.js posts the same forms with
fetch and asks for JSON (Accept: application/json) to skip the page reload."""
from __future__ import annotations

import json
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cansite.web import IMMUTABLE, int_param

from . import charts, exporting, privacy, selectors, services
from .encoding import repad
from .forms import ConsentForm
from .models import PracticeImage, Showing, TuringImage, TuringSet


def set_number_or_404(query) -> int:
    """The set number `q` of a query or form: ASCII digits only ("²".isdigit() is true, int() refuses it)."""
    number = int_param(query, "q", low=1, high=999)
    if number is None:
        raise Http404("no such set")
    return number


def set_or_404(query) -> TuringSet:
    turing_set = TuringSet.objects.current().filter(number=set_number_or_404(query)).first()
    if turing_set is None:
        raise Http404("no such set")
    return turing_set


def set_url(turing_set: TuringSet) -> str:
    return f"{reverse('turing:index')}?q={turing_set.number}"


def wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def index(request):
    if "q" not in request.GET:
        return render(request, "turing/index.html", {"sets": selectors.set_list(),
                                                     "studies": selectors.open_studies(),
                                                     "results_public": settings.TURING_RESULTS_PUBLIC})
    turing_set = set_or_404(request.GET)
    participant, expired = services.find_participant(request.session, turing_set)
    if participant is None:
        return consent_page(request, turing_set, ConsentForm(), expired=expired)
    if participant.finished:
        return render(request, "turing/score.html", {"set": turing_set, "participant": participant,
                                                     "score": selectors.participant_score(participant)})
    return render(request, "turing/trial.html", {"set": turing_set, "trial": services.current_trial(participant)})


def consent_page(request, turing_set, form, *, expired=False, error="", status=200):
    return render(request, "turing/consent.html", {
        "set": turing_set, "form": form, "expired": expired, "error": error,
        "consent_text": consent_text(turing_set)}, status=status)


def consent_text(turing_set) -> str:
    """The set's own text, else the site's: the built-in default in the visitor's language (it is in the
    catalogues), a text set in TURING_CONSENT_TEXT as written (gettext finds no translation of it)."""
    text = turing_set.consent_text or settings.TURING_CONSENT_TEXT
    return _(text) if text else ""  # gettext("") would be the catalogue's header


@require_POST
def start(request):
    turing_set = set_or_404(request.POST)
    if services.find_participant(request.session, turing_set)[0] is not None:
        return redirect(set_url(turing_set))  # a second click on "Start": carry on
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return consent_page(request, turing_set, form, status=400)
    try:
        participant = services.start_participant(turing_set=turing_set, ip=services.client_ip(request.META),
                                                 profile=form.cleaned_data["profile"], years=form.cleaned_data["years"])
    except services.FlowError as exc:
        return consent_page(request, turing_set, form, error=str(exc), status=exc.status)
    services.remember(request.session, participant)
    return redirect(set_url(turing_set))


@require_POST
def answer(request):
    number = set_number_or_404(request.POST)
    url = f"{reverse('turing:index')}?q={number}"
    position = int_param(request.POST, "position")
    try:
        if position is None:
            raise services.BadAnswer(_("position: missing or not a number"))
        submitted = services.submit_answer(public_id=services.session_participant(request.session, number),
                                           set_number=number, position=position,
                                           token=request.POST.get("token", ""), answer=request.POST.get("answer", ""),
                                           confidence=request.POST.get("confidence"))
    except services.FlowError as exc:
        return refused(request, exc, url)
    if wants_json(request):
        return JsonResponse(trial_payload(submitted.participant, submitted.next_showing, answered=submitted.answer))
    return redirect(url)


def withdraw(request):
    """A set's participant withdraws: GET the confirmation page, POST delete their answers and profile."""
    turing_set = set_or_404(request.POST if request.method == "POST" else request.GET)
    participant = services.find_participant(request.session, turing_set)[0]
    if request.method == "POST" and participant is not None:
        privacy.withdraw(participant)
        services.forget(request.session, turing_set)
        return render(request, "turing/withdrawn.html", {"set": turing_set, "done": True})
    return render(request, "turing/withdraw.html", {"set": turing_set, "participant": participant,
                                                    "action": reverse("turing:withdraw"), "back": set_url(turing_set)})


def refused(request, exc: services.FlowError, url: str):
    """An answer the test cannot take: its reason as JSON for the script, or as a message on the page at `url`."""
    if wants_json(request):
        return JsonResponse({"error": str(exc), "url": url}, status=exc.status)
    messages.error(request, str(exc))
    return redirect(url)


def trial_payload(participant, next_showing=None, url: str = "", answered=None) -> dict:
    """What the script needs to show the next image (or to go to the score at `url`, the set's by default)."""
    if participant.finished:
        return {"done": True, "url": url or set_url(participant.turing_set)}
    trial = services.current_trial(participant, touch=False, showing=next_showing, answered=answered)
    return {"done": False, "position": trial.position, "total": trial.total, "token": trial.token,
            "image": reverse("turing:image", args=[trial.token]), "feedback": trial.feedback}


def image(request, token: str):
    """A trial's image under its showing's token, padded with bytes of that showing alone; staff may
    also name an image by its researcher token (the results page). A token's bytes never change."""
    found = Showing.objects.filter(token=token).values_list("image__file", flat=True).first()
    if not found:  # a study's practice image: its truth is shown anyway, so one token serves everyone
        found = PracticeImage.objects.filter(token=token).values_list("file", flat=True).first()
    if not found and request.user.is_staff:
        found = TuringImage.objects.filter(token=token).values_list("file", flat=True).first()
    if not found:
        raise Http404("no such image")
    return immutable_bytes(request, Path(settings.MEDIA_ROOT) / found, token)


def researchers_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (settings.TURING_RESULTS_PUBLIC or request.user.is_staff):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapped


def result_filters(request) -> dict:
    """The results pages' switches; any other value than "1" is no switch (a malformed query is ignored)."""
    return {"include_flagged": request.GET.get("flagged") == "1",
            "include_archived": request.GET.get("archived") == "1"}


def analysis_for(request) -> dict:
    return selectors.analysis(**result_filters(request))


@researchers_only
def results(request):
    data = analysis_for(request)
    sort = request.GET.get("sort", "")
    images = selectors.sorted_images(data["images"], sort)
    return render(request, "turing/results.html", {"a": data, "images": images, "sort": sort,
                                                   "charts": charts.results_charts(data),
                                                   "query": request.GET.urlencode()})


@researchers_only
def answers_csv(request):
    return csv_download(selectors.CSV_COLUMNS, selectors.answer_rows(**result_filters(request)),
                        "turing-answers.csv")


@researchers_only
def summary_csv(request):
    return csv_download(selectors.SUMMARY_COLUMNS, selectors.summary_rows(analysis_for(request)),
                        "turing-summary.csv")


@researchers_only
def results_json(request):
    data = analysis_for(request)
    rows = selectors.answer_rows(include_flagged=data["include_flagged"], include_archived=data["include_archived"])
    body = {"summary": selectors.summary_rows(data),
            "answers": [{c: r[c] for c in selectors.CSV_COLUMNS} for r in rows]}
    return HttpResponse(json.dumps(body, indent=1), content_type="application/json")


def csv_download(columns: list[str], rows, name: str) -> HttpResponse:
    """Rows (dicts) as a formula-safe CSV attachment with these columns, in this order."""
    text = exporting.csv_text(columns, ([row[c] for c in columns] for row in rows))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def immutable_bytes(request, path: Path, token: str) -> HttpResponse:
    """The stored file with its padding replaced by the token's own bytes, cached like a file whose name
    is its identity (an ETag, 304 to a matching If-None-Match)."""
    etag = f'"{token}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        try:
            data = path.read_bytes()
        except OSError:
            raise Http404("no such file") from None
        response = HttpResponse(repad(data, token.encode()), content_type="image/jpeg")
    response["ETag"], response["Cache-Control"] = etag, IMMUTABLE
    return response
