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

from . import selectors, study_analysis
from .models import Study
from .views import csv_download, researchers_only, result_filters


def staff_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapped


@researchers_only
def study_results(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    data = study_analysis.study_analysis(study, **result_filters(request), with_panel_ids=request.user.is_staff)
    return render(request, "turing/study_results.html", {"a": data, "query": request.GET.urlencode(),
                                                         "steps": study_analysis.FLOW_STEPS})


@staff_only
def study_answers_csv(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    return csv_download(study_analysis.ANSWER_COLUMNS, selectors.answer_rows(study=study, **result_filters(request)),
                        f"turing-{study.slug}-answers.csv")


@researchers_only
def study_summary_csv(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    rows = study_analysis.summary_rows(study_analysis.study_analysis(study, **result_filters(request)))
    return csv_download(study_analysis.SUMMARY_COLUMNS, rows, f"turing-{study.slug}-summary.csv")


@researchers_only
def study_results_json(request, slug: str):
    study = get_object_or_404(Study, slug=slug)
    data = study_analysis.study_analysis(study, **result_filters(request))
    body = study_analysis.anonymous_json(data, selectors.answer_rows(study=study, **result_filters(request)))
    return HttpResponse(json.dumps(body, indent=1), content_type="application/json")
