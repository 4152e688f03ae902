from django.contrib import admin, messages

from .models import Checkpoint, TrainingRun


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    extra = 0
    readonly_fields = ["kimg", "path", "grid", "created_at"]
    can_delete = False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "label", "config_name", "status", "kimg", "total_kimg", "augment_p",
                    "created_at"]
    list_filter = ["status", "config_name"]
    search_fields = ["name", "label"]
    raw_id_fields = ["dataset", "parent"]
    readonly_fields = ["kimg", "sec_per_kimg", "eta_s", "augment_p", "losses", "latest_checkpoint", "latest_grid",
                       "job_id", "error", "heartbeat", "started_at", "finished_at"]
    inlines = [CheckpointInline]
    actions = ["cancel"]

    @admin.action(description="Cancel (stop at the next step, keep a checkpoint)")
    def cancel(self, request, queryset):
        cancelled = sum(run.request_cancel() for run in queryset)
        self.message_user(request, f"{cancelled} run(s) asked to stop.", messages.INFO)


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["run", "kimg", "path", "created_at"]
    list_select_related = ["run"]
