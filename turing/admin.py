"""Admin: set builds (feedback mode and consent text are editable), participants and answers read-only."""
from django.contrib import admin

from .models import Answer, Participant, TuringImage, TuringSet


@admin.register(TuringSet)
class TuringSetAdmin(admin.ModelAdmin):
    list_display = ["number", "feedback", "seed", "created_at", "archived_at"]
    list_filter = ["feedback", ("archived_at", admin.EmptyFieldListFilter)]
    fields = ["number", "feedback", "consent_text", "seed", "composition", "build_options", "archived_at"]
    readonly_fields = ["number", "seed", "composition", "build_options", "archived_at"]

    def has_add_permission(self, request):
        return False  # sets come from build_turing_sets


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # answers are kept: archived, never deleted


@admin.register(TuringImage)
class TuringImageAdmin(ReadOnly):
    list_display = ["token", "turing_set", "kind", "truth", "label", "origin_dataset", "origin_item"]
    list_filter = ["kind", "truth", "label"]
    search_fields = ["token", "origin_item"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnly):
    list_display = ["public_id", "turing_set", "profile", "position", "finished_at", "flagged", "reasons"]
    list_filter = ["flagged", "profile"]

    @admin.display(description="flagged for")
    def reasons(self, participant):
        return "; ".join(participant.flag_reasons)


@admin.register(Answer)
class AnswerAdmin(ReadOnly):
    list_display = ["participant", "position", "image", "answer", "confidence", "response_ms", "fast", "repeat"]
    list_filter = ["answer", "fast", "repeat"]
