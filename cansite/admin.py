"""The admin of every job model (cansite.status.JobRecord): one cancel action, and the fields a job
writes itself shown read-only, so that nobody edits a holder, a heartbeat or a traceback by hand."""
from __future__ import annotations

from django.contrib import admin, messages

JOB_FIELDS = ["job_id", "owner", "error", "error_detail", "cancel_requested", "heartbeat", "created_at",
              "started_at", "finished_at"]


class JobAdmin(admin.ModelAdmin):
    actions = ["cancel"]

    def get_readonly_fields(self, request, obj=None):
        own = [name for name in super().get_readonly_fields(request, obj) if name not in JOB_FIELDS]
        return [*own, *JOB_FIELDS]

    @admin.action(description="Cancel (a queued one at once, a running one at its next step, keeping what it saved)")
    def cancel(self, request, queryset):
        cancelled = sum(row.request_cancel() for row in queryset)
        name = self.model._meta.verbose_name_plural
        self.message_user(request, f"{cancelled} {name} cancelled or asked to stop.", messages.INFO)
