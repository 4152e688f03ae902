from django.contrib import admin

from cansite.admin import JobAdmin

from .models import Dataset, DownloadRun, ImageRecord


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "source", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "source"]


@admin.register(ImageRecord)
class ImageRecordAdmin(admin.ModelAdmin):
    list_display = ["no", "dataset", "label", "status", "failure_reason", "width", "height", "http_status", "attempts"]
    list_filter = ["dataset", "status", "label", "failure_reason"]
    search_fields = ["no", "url", "source_path", "sha256"]
    list_select_related = ["dataset"]
    raw_id_fields = ["dataset"]
    readonly_fields = ["sha256", "fetched_at"]
    show_full_result_count = False  # counting 130k rows on every page is slow


@admin.register(DownloadRun)
class DownloadRunAdmin(JobAdmin):
    list_display = ["id", "dataset", "status", "owner", "heartbeat", "started_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["dataset"]
    raw_id_fields = ["dataset"]
    readonly_fields = ["options", "force", "summary"]
