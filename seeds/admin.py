from django.contrib import admin, messages

from .models import Publication, SeedProfile


@admin.register(SeedProfile)
class SeedProfileAdmin(admin.ModelAdmin):
    list_display = ["run", "counterpart", "extra_psi", "morph", "morph_frames"]
    raw_id_fields = ["run", "counterpart"]


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ["run", "seed_lo", "seed_hi", "psi", "noise_mode", "kimg", "status", "done", "total",
                    "created_at"]
    list_filter = ["status", "noise_mode"]
    list_select_related = ["run"]
    search_fields = ["run__name", "checkpoint_sha256"]
    raw_id_fields = ["run"]
    readonly_fields = ["checkpoint_sha256", "done", "total", "job_id", "owner", "error", "error_detail", "heartbeat",
                       "started_at", "finished_at"]
    actions = ["cancel"]

    @admin.action(description="Cancel (stop after the current batch, keep the images)")
    def cancel(self, request, queryset):
        cancelled = sum(pub.request_cancel() for pub in queryset)
        self.message_user(request, f"{cancelled} publication(s) asked to stop.", messages.INFO)
