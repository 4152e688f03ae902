from django.contrib import admin

from cansite.admin import JobAdmin

from .models import Checkpoint, Generation, TrainingRun


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    extra = 0
    readonly_fields = ["kimg", "path", "grid", "created_at"]
    can_delete = False


@admin.register(TrainingRun)
class TrainingRunAdmin(JobAdmin):
    list_display = ["name", "dataset", "label", "config_name", "status", "kimg", "total_kimg", "augment_p",
                    "created_at"]
    list_filter = ["status", "config_name"]
    search_fields = ["name", "label"]
    raw_id_fields = ["dataset", "parent"]
    readonly_fields = ["kimg", "sec_per_kimg", "eta_s", "augment_p", "losses", "latest_checkpoint", "latest_grid"]
    inlines = [CheckpointInline]


@admin.register(Generation)
class GenerationAdmin(JobAdmin):
    list_display = ["id", "run", "seeds", "psi", "dataset_name", "status", "done", "total", "created_at"]
    list_filter = ["status"]
    list_select_related = ["run"]
    search_fields = ["run__name", "dataset_name"]
    raw_id_fields = ["run"]
    readonly_fields = ["done", "total", "summary"]


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["run", "kimg", "path", "created_at"]
    list_select_related = ["run"]
