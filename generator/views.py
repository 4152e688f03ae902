"""Training run pages: the list, one run with progress, sample grid and loss curves; cancel."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .charts import loss_curves
from .models import TrainingRun


def run_list(request):
    runs = TrainingRun.objects.select_related("dataset", "parent")
    return render(request, "generator/run_list.html", {"runs": runs})


def run_detail(request, name: str):
    run = get_object_or_404(TrainingRun.objects.select_related("dataset", "parent"), name=name)
    return render(request, "generator/run_detail.html", {
        "run": run,
        "chart": loss_curves(run.loss_history),
        "checkpoints": run.checkpoints.all(),
        "progress_pct": min(100.0, 100.0 * run.kimg / run.total_kimg) if run.total_kimg else 0.0,
    })


def run_status(request, name: str):
    run = get_object_or_404(TrainingRun, name=name)
    fields = ("status", "kimg", "total_kimg", "sec_per_kimg", "eta_s", "augment_p", "losses", "latest_grid")
    return JsonResponse({field: getattr(run, field) for field in fields})


def run_grid(request, name: str):
    run = get_object_or_404(TrainingRun, name=name)
    grid = Path(settings.MEDIA_ROOT) / run.latest_grid if run.latest_grid else None
    if grid is None or not grid.is_file():
        raise Http404("no sample grid yet")
    return FileResponse(open(grid, "rb"), content_type="image/png")


@staff_member_required
@require_POST
def cancel_run(request, name: str):
    run = get_object_or_404(TrainingRun, name=name)
    if run.request_cancel():
        messages.info(request, f"{run.name}: cancel requested; it stops at its next step and keeps a checkpoint.")
    else:
        messages.warning(request, f"{run.name} is {run.status}: nothing to cancel.")
    return redirect("generator:run", name=run.name)
