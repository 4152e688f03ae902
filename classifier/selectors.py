"""Reads for the benchmark dashboard: the Table-2 matrix, one cell's detail, exports.

A cell (row spec S, test T) gathers the done evaluations on T of experiments trained on S minus T
with the benchmark's settings. Its value is the mean AUC over repeats +- SD; its 95% interval is
the t-interval of that mean when there are two or more repeats, and the DeLong interval of the
single model otherwise. The difference from a reference row is tested with DeLong's test on the
repeat-averaged scores of the images both rows scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .models import Benchmark, Evaluation, ReportedResult, train_key

SETTING_FIELDS = ("arch", "weights", "recipe", "epochs", "batch", "lr", "img_size")


@dataclass
class Cell:
    row: str
    test: str
    aucs: list[float] = field(default_factory=list)
    single_ci: list | None = None
    evaluation_ids: list[int] = field(default_factory=list)
    best: bool = False
    diff: float | None = None
    p_value: float | None = None

    @property
    def repeats(self) -> int:
        return len(self.aucs)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.aucs)) if self.aucs else None

    @property
    def sd(self) -> float | None:
        return float(np.std(self.aucs, ddof=1)) if len(self.aucs) > 1 else None

    @property
    def ci(self) -> tuple[float, float] | None:
        if len(self.aucs) > 1:
            half = stats.t.ppf(0.975, len(self.aucs) - 1) * self.sd / math.sqrt(len(self.aucs))
            return (float(max(0.0, self.mean - half)), float(min(1.0, self.mean + half)))
        return tuple(self.single_ci) if self.single_ci else None

    def as_dict(self) -> dict:
        ci = self.ci
        return {"row": self.row, "test": self.test, "repeats": self.repeats, "mean_auc": self.mean, "sd": self.sd,
                "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None, "aucs": self.aucs,
                "best": self.best, "diff_from_reference": self.diff, "p_value": self.p_value}


def setting_filter(setting: dict, prefix: str = "experiment__") -> dict:
    return {f"{prefix}{name}": setting[name] for name in SETTING_FIELDS if name in setting}


def cell_evaluations(benchmark: Benchmark, row: str, test: str, *, setting: dict | None = None,
                     max_repeats: int | None = None):
    key = train_key(name for name in row.split("+") if name != test)
    evaluations = Evaluation.objects.filter(done=True, test_dataset__name=test, experiment__train_key=key,
                                            **setting_filter(setting or benchmark.settings))
    if max_repeats:
        evaluations = evaluations.filter(experiment__repeat__lt=max_repeats)
    return evaluations.select_related("experiment", "test_dataset").order_by("experiment__repeat")


def averaged_scores(evaluations) -> dict[int, tuple[int, float]]:
    """{image record id: (label, mean melanoma probability over the repeats)}."""
    sums: dict[int, list] = {}
    for evaluation in evaluations:
        for record_id, label, prob in evaluation.scores:
            sums.setdefault(record_id, [label, 0.0, 0])
            sums[record_id][1] += prob
            sums[record_id][2] += 1
    return {rid: (label, total / count) for rid, (label, total, count) in sums.items()}


def compare_rows(benchmark: Benchmark, cell: Cell, reference: str, setting: dict, max_repeats) -> None:
    from classifier.cnn.metrics import delong_test

    ours = averaged_scores(cell_evaluations(benchmark, cell.row, cell.test, setting=setting, max_repeats=max_repeats))
    theirs = averaged_scores(cell_evaluations(benchmark, reference, cell.test, setting=setting,
                                              max_repeats=max_repeats))
    common = sorted(set(ours) & set(theirs) - {None})
    labels = [ours[i][0] for i in common]
    if len(set(labels)) < 2:
        return
    result = delong_test(labels, [ours[i][1] for i in common], [theirs[i][1] for i in common])
    cell.p_value = result["p"]


def benchmark_table(benchmark: Benchmark, *, arch: str | None = None, max_repeats: int | None = None,
                    reference: str | None = None) -> dict:
    setting = {**benchmark.settings, **({"arch": arch} if arch else {})}
    cells: dict[tuple[str, str], Cell] = {}
    for row in benchmark.rows:
        for test in benchmark.tests:
            cell = Cell(row, test)
            for evaluation in cell_evaluations(benchmark, row, test, setting=setting, max_repeats=max_repeats):
                cell.aucs.append(evaluation.auc)
                cell.evaluation_ids.append(evaluation.id)
                cell.single_ci = evaluation.metrics["at_05"].get("auc_ci")
            cells[row, test] = cell
    for test in benchmark.tests:
        column = [cells[row, test] for row in benchmark.rows if cells[row, test].aucs]
        if column:
            max(column, key=lambda c: c.mean).best = True
    if reference in benchmark.rows:
        for (row, test), cell in cells.items():
            base = cells[reference, test]
            if row != reference and cell.aucs and base.aucs:
                cell.diff = cell.mean - base.mean
                compare_rows(benchmark, cell, reference, setting, max_repeats)
    return {"benchmark": benchmark, "setting": setting, "tests": benchmark.tests,
            "rows": [{"spec": row, "cells": [cells[row, t] for t in benchmark.tests]} for row in benchmark.rows],
            "reported": reported_rows(benchmark.tests), "reference": reference}


def reported_rows(tests: list[str]) -> list[dict]:
    by_row: dict[tuple[str, str], dict] = {}
    for result in ReportedResult.objects.filter(test_name__in=tests).order_by("source", "train_spec"):
        by_row.setdefault((result.train_spec, result.source), {})[result.test_name] = result
    return [{"spec": spec, "source": source, "cells": [values.get(t) for t in tests]}
            for (spec, source), values in by_row.items()]


def table_records(table: dict) -> list[dict]:
    """Flat rows for CSV and JSON export: measured cells, then reported ones."""
    records = [{"kind": "measured", **cell.as_dict()} for row in table["rows"] for cell in row["cells"]]
    for row in table["reported"]:
        for test, result in zip(table["tests"], row["cells"]):
            if result is not None:
                records.append({"kind": "reported", "row": row["spec"], "test": test, "mean_auc": result.auc,
                                "sd": result.auc_sd, "source": row["source"]})
    return records
