"""The benchmark dashboard (Table 2), one cell in detail, one experiment, CSV and JSON exports."""
from __future__ import annotations

import csv

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from cansite.visibility import is_staff, public_path
from cansite.web import attachment, int_param, text_param
from datasets.models import ImageRecord

from . import selectors
from .charts import roc_chart
from .models import Benchmark, Experiment

EXPORT_COLUMNS = ["kind", "row", "test", "repeats", "mean_auc", "sd", "ci_low", "ci_high", "diff_from_reference",
                  "p_value", "source"]


def chosen_table(request) -> dict:
    """The table the query asks for; a malformed or unknown value falls back to the default."""
    query = request.GET
    benchmark = Benchmark.objects.filter(name=text_param(query, "benchmark")).first() or Benchmark.objects.first()
    if benchmark is None:
        return {}
    # An arch no experiment used, or a reference that is not a row, would show an empty or odd table: ignored.
    archs = set(Experiment.objects.values_list("arch", flat=True))
    return selectors.benchmark_table(benchmark, arch=text_param(query, "arch", choices=archs) or None,
                                     max_repeats=int_param(query, "repeats", low=1, high=10_000),
                                     reference=text_param(query, "reference", choices=benchmark.rows) or None)


def dashboard(request):
    table = chosen_table(request)
    archs = sorted(set(Experiment.objects.values_list("arch", flat=True)))
    return render(request, "classifier/dashboard.html", {"table": table, "archs": archs, "query": request.GET,
                                                         "benchmarks": Benchmark.objects.all()})


def export(request, fmt: str):
    if fmt not in ("csv", "json"):
        raise Http404("no such export format")
    table = chosen_table(request)
    if not table:
        raise Http404("no benchmark yet")
    records = selectors.table_records(table)
    setting = dict(table["setting"])
    if not is_staff(request.user) and setting.get("weights"):
        setting["weights"] = public_path(setting["weights"])  # a weights file's folders are the server's
    if fmt == "json":
        return JsonResponse({"benchmark": table["benchmark"].name, "settings": setting, "cells": records})
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = attachment(f"{table['benchmark'].name}.csv")
    writer = csv.DictWriter(response, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return response


def cell(request, name: str):
    benchmark = get_object_or_404(Benchmark, name=name)
    row, test = text_param(request.GET, "row"), text_param(request.GET, "test")
    if not (row and test) or row not in benchmark.rows or test not in benchmark.tests:
        raise Http404("no such cell")
    evaluations = list(selectors.cell_evaluations(benchmark, row, test))
    averaged = selectors.averaged_scores(evaluations)
    records = ImageRecord.objects.select_related("dataset").in_bulk([rid for rid in averaged if rid is not None])
    # What the models got most wrong first: melanoma scored low, nevus scored high.
    images = sorted(({"record": records.get(rid), "label": label, "prob": prob, "error": abs(label - prob)}
                     for rid, (label, prob) in averaged.items()), key=lambda item: -item["error"])
    return render(request, "classifier/cell.html", {
        "benchmark": benchmark, "row": row, "test": test, "evaluations": evaluations,
        "roc": roc_chart([(f"repeat {e.experiment.repeat}", e.metrics["at_05"].get("roc")) for e in evaluations]),
        "images": images[:120], "image_count": len(images),
    })


def experiment(request, experiment_id: int):
    found = get_object_or_404(Experiment.objects.prefetch_related("train_datasets"), id=experiment_id)
    return render(request, "classifier/experiment.html", {
        "experiment": found, "evaluations": found.evaluations.select_related("test_dataset"),
    })
