from django.contrib import admin, messages

from .models import Benchmark, Evaluation, Experiment, ReportedResult


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    fields = ["test_dataset", "done", "n", "auc"]
    readonly_fields = fields


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["id", "train_key", "arch", "weights", "recipe", "epochs", "repeat", "status", "epoch",
                    "images_per_s", "created_at"]
    list_filter = ["status", "arch", "recipe"]
    search_fields = ["train_key"]
    readonly_fields = ["history", "start_weights", "checkpoint", "youden_threshold", "job_id", "error", "heartbeat"]
    inlines = [EvaluationInline]
    actions = ["cancel"]

    @admin.action(description="Cancel (a queued one at once, a running one at its next step)")
    def cancel(self, request, queryset):
        cancelled = sum(experiment.request_cancel() for experiment in queryset)
        self.message_user(request, f"{cancelled} experiment(s) cancelled or asked to stop.", messages.INFO)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["experiment", "test_dataset", "done", "n", "auc"]
    list_filter = ["done", "test_dataset"]
    exclude = ["scores"]  # thousands of numbers: read them on the dashboard's cell page
    readonly_fields = ["metrics"]


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ["name", "repeats", "created_at"]


@admin.register(ReportedResult)
class ReportedResultAdmin(admin.ModelAdmin):
    list_display = ["train_spec", "test_name", "auc", "auc_sd", "source"]
    list_filter = ["source"]
