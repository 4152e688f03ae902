"""The benchmark dashboard (Table 2), one cell in detail, one experiment, CSV and JSON exports."""
from __future__ import annotations

import csv

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from datasets.models import ImageRecord

from . import selectors
from .charts import roc_chart
from .models import Benchmark, Experiment


def chosen_table(request) -> dict:
    benchmark = Benchmark.objects.filter(name=request.GET.get("benchmark") or "").first() or Benchmark.objects.first()
    if benchmark is None:
        return {}
    repeats = request.GET.get("repeats", "")
    return selectors.benchmark_table(benchmark, arch=request.GET.get("arch") or None,
                                     max_repeats=int(repeats) if repeats.isdigit() else None,
                                     reference=request.GET.get("reference") or None)


def dashboard(request):
    table = chosen_table(request)
    archs = sorted(set(Experiment.objects.values_list("arch", flat=True)))
    return render(request, "classifier/dashboard.html", {"table": table, "archs": archs, "query": request.GET,
                                                         "benchmarks": Benchmark.objects.all()})


def export(request, fmt: str):
    table = chosen_table(request)
    if not table:
        raise Http404("no benchmark yet")
    records = selectors.table_records(table)
    if fmt == "json":
        return JsonResponse({"benchmark": table["benchmark"].name, "settings": table["setting"], "cells": records})
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{table["benchmark"].name}.csv"'
    columns = ["kind", "row", "test", "repeats", "mean_auc", "sd", "ci_low", "ci_high", "diff_from_reference",
               "p_value", "source"]
    writer = csv.DictWriter(response, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return response


def cell(request, name: str):
    benchmark = get_object_or_404(Benchmark, name=name)
    row, test = request.GET.get("row", ""), request.GET.get("test", "")
    if row not in benchmark.rows or test not in benchmark.tests:
        raise Http404("no such cell")
    evaluations = list(selectors.cell_evaluations(benchmark, row, test))
    averaged = selectors.averaged_scores(evaluations)
    records = ImageRecord.objects.in_bulk([rid for rid in averaged if rid is not None])
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
