"""Careful reads for the dataset pages: counts for every dataset in two queries, not 2 per row."""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from .models import Dataset, ImageRecord


def dataset_overview() -> list[dict]:
    datasets = list(Dataset.objects.all())
    by_status: dict[int, dict[str, int]] = defaultdict(dict)
    for row in ImageRecord.objects.values("dataset_id", "status").annotate(n=Count("id")).order_by():
        by_status[row["dataset_id"]][row["status"]] = row["n"]
    by_label: dict[int, dict[str, int]] = defaultdict(dict)
    for row in ImageRecord.objects.values("dataset_id", "label").annotate(n=Count("id")).order_by("label"):
        by_label[row["dataset_id"]][row["label"]] = row["n"]
    return [
        {
            "dataset": dataset,
            "total": sum(by_status[dataset.id].values()),
            "status": {status: by_status[dataset.id].get(status, 0) for status in ImageRecord.Status.values},
            "labels": by_label[dataset.id],
        }
        for dataset in datasets
    ]


def dataset_images(dataset: Dataset, *, status: str = "", label: str = "", reason: str = ""):
    images = dataset.images.all()
    if status:
        images = images.filter(status=status)
    if label:
        images = images.filter(label=label)
    if reason:
        images = images.filter(failure_reason=reason)
    return images.order_by("line", "no")
