from django.contrib import admin

from cansite.admin import JobAdmin

from .models import Benchmark, Evaluation, Experiment, ReportedResult


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    fields = ["test_dataset", "done", "n", "auc"]
    readonly_fields = fields


@admin.register(Experiment)
class ExperimentAdmin(JobAdmin):
    list_display = ["id", "train_key", "arch", "weights", "recipe", "epochs", "repeat", "status", "epoch",
                    "images_per_s", "created_at"]
    list_filter = ["status", "arch", "recipe"]
    search_fields = ["train_key"]
    readonly_fields = ["history", "start_weights", "checkpoint", "youden_threshold"]
    inlines = [EvaluationInline]


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
