"""Dataset pages: the list with counts, one dataset with thumbnails, boxes and failures."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cansite.web import int_param, text_param

from . import jobs, selectors
from .downloader import DownloadBusy, create_download
from .galleries import images_shown
from .models import Dataset, ImageRecord
from .thumbnails import thumbnail_path

PAGE_SIZE = 60


def dataset_list(request):
    return render(request, "datasets/list.html", {"overview": selectors.dataset_overview()})


def dataset_detail(request, name: str):
    dataset = get_object_or_404(Dataset, name=name)
    # A malformed filter or page number is ignored: the page shows every row, or its first page.
    filters = {"status": text_param(request.GET, "status", choices=ImageRecord.Status.values),
               "label": text_param(request.GET, "label"), "reason": text_param(request.GET, "reason")}
    page = Paginator(selectors.dataset_images(dataset, **filters), PAGE_SIZE).get_page(
        int_param(request.GET, "page", low=1, high=10**9) or 1)
    return render(request, "datasets/detail.html", {
        "dataset": dataset,
        "page": page,
        "images_shown": images_shown(request.user, dataset.id),
        "filters": filters,
        "status_counts": dataset.counts_by_status(),
        "label_counts": dataset.counts_by_label(),
        "failures": dataset.images.failures_by_reason(),
        "statuses": ImageRecord.Status.choices,
    })


def image_thumbnail(request, name: str, image_id: int):
    record = get_object_or_404(ImageRecord.objects.select_related("dataset"), id=image_id, dataset__name=name)
    if not images_shown(request.user, record.dataset_id):
        raise Http404("no image for this row")
    thumb = thumbnail_path(record)
    if thumb is None:
        raise Http404("no image for this row")
    response = FileResponse(open(thumb, "rb"), content_type="image/jpeg")  # noqa: SIM115 (the response closes it)
    response["Cache-Control"] = "private, max-age=86400"  # a set built later hides it: no shared cache
    return response


@staff_member_required
@require_POST
def start_download(request, name: str):
    dataset = get_object_or_404(Dataset, name=name, kind=Dataset.Kind.MANIFEST)
    try:
        row = create_download(dataset=dataset)
    except DownloadBusy as exc:
        messages.warning(request, str(exc))
        return redirect("datasets:detail", name=dataset.name)
    # A row like every job's: retried if its worker dies, cancelled from the admin. Without Redis it runs here.
    ran: dict = {}
    job_id = jobs.DOWNLOAD.submit(row, now=False, here=lambda: ran.update(jobs.download_dataset(row.pk)))
    done = (f"queued (job {job_id})" if job_id else f"skipped: {ran['skipped']}" if "skipped" in ran
            else f"done: {ran['ok']} ok, {ran['failed']} failed")
    messages.info(request, f"Download {row.pk} of {dataset.name} {done}.")
    return redirect("datasets:detail", name=dataset.name)
