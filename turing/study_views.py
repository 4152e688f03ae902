"""A study's analysis for researchers: /turing/results/s/<slug>/ and its exports.

The page, summary.csv and results.json follow the results page's rule (staff, or anyone when
TURING_RESULTS_PUBLIC); panel ids are in the staff-only answers.csv and on the page for staff alone.
"""
from __future__ import annotations

import json
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from . import exporting, selectors, study_analysis
from .models import Study
from .views import csv_response, researchers_only


def staff_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapped


def filters(request) -> dict:
    """The page's switches; any other value than "1" is no switch (a malformed query is ignored)."""
    return {"include_flagged": request.GET.get("flagged") == "1",
            "include_archived": request.GET.get("archived") == "1"}


@researchers_only
def study_results(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    data = study_analysis.study_analysis(study, **filters(request), with_panel_ids=request.user.is_staff)
    return render(request, "turing/study_results.html", {"a": data, "query": request.GET.urlencode(),
                                                         "steps": study_analysis.FLOW_STEPS})


@staff_only
def study_answers_csv(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    rows = selectors.answer_rows(study=study, **filters(request))
    columns = study_analysis.ANSWER_COLUMNS
    return csv_response(exporting.csv_text(columns, ([row[c] for c in columns] for row in rows)),
                        f"turing-{study.slug}-answers.csv")


@researchers_only
def study_summary_csv(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    rows = study_analysis.summary_rows(study_analysis.study_analysis(study, **filters(request)))
    columns = study_analysis.SUMMARY_COLUMNS
    return csv_response(exporting.csv_text(columns, ([row[c] for c in columns] for row in rows)),
                        f"turing-{study.slug}-summary.csv")


@researchers_only
def study_results_json(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    data = study_analysis.study_analysis(study, **filters(request))
    body = study_analysis.anonymous_json(data, selectors.answer_rows(study=study, **filters(request)))
    return HttpResponse(json.dumps(body, indent=1), content_type="application/json")
