"""Admin: set builds (feedback mode and consent text are editable); studies (only `active` is editable: the
rest comes from the study file, with links to export it); participants, answers, consent versions and flow
events read-only. The one deletion staff may make is a GDPR erasure of chosen participants, after a
confirmation page, through turing.privacy (the one home for deleting people's data)."""
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .models import Answer, ConsentVersion, FlowEvent, Participant, Study, TuringImage, TuringSet
from .privacy import erase
from .studies import entry_path, export
from .study_summary import summary_markdown


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


class ConsentVersionInline(admin.TabularInline):
    model = ConsentVersion
    fields = readonly_fields = ["number", "created_at", "sha256", "text"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # a new version comes from load_study with a changed text

    def has_change_permission(self, request, obj=None):
        return False  # participants agreed to this very text


STUDY_FILE_FIELDS = ["slug", "title", "sets", "conditions", "practice", "trial_seconds", "languages", "debrief",
                     "contact", "retention_days", "panel", "completion_url", "codes"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "panel", "active", "entry", "created_at"]
    list_filter = ["active", "panel"]
    fields = ["active", "entry", "exports", *STUDY_FILE_FIELDS, "created_at", "updated_at"]
    readonly_fields = ["entry", "exports", *STUDY_FILE_FIELDS, "created_at", "updated_at"]
    inlines = [ConsentVersionInline]

    def has_add_permission(self, request):
        return False  # studies come from load_study: the file is the study's record

    def has_delete_permission(self, request, obj=None):
        return False  # its participants and consent records are kept

    @admin.display(description="entry link")
    def entry(self, study):
        return entry_path(study.slug)

    @admin.display(description="study file")
    def exports(self, study):
        return format_html('<a href="{}" download>{}.toml</a> · <a href="{}" download>{}.md</a> (what '
                           "manage.py export_study writes)",
                           reverse("admin:turing_study_export", args=[study.id, "toml"]), study.slug,
                           reverse("admin:turing_study_export", args=[study.id, "md"]), study.slug)

    def get_urls(self):
        export_view = self.admin_site.admin_view(self.export_view)
        return [path("<int:study_id>/export.<str:kind>", export_view, name="turing_study_export"),
                *super().get_urls()]

    def export_view(self, request, study_id: int, kind: str):
        study = Study.objects.filter(id=study_id).first()
        if study is None or kind not in ("toml", "md") or not self.has_view_permission(request, study):
            raise Http404("No such study file")
        text = export(study) if kind == "toml" else summary_markdown(study)
        content_type = "application/toml" if kind == "toml" else "text/markdown"
        response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{study.slug}.{kind}"'
        return response


@admin.register(FlowEvent)
class FlowEventAdmin(ReadOnly):
    list_display = ["study", "event", "condition", "set_number", "language", "created_at"]
    list_filter = ["study", "event", "condition", "language"]


@admin.register(TuringImage)
class TuringImageAdmin(ReadOnly):
    list_display = ["token", "turing_set", "kind", "truth", "label", "origin_dataset", "origin_item"]
    list_filter = ["kind", "truth", "label"]
    search_fields = ["token", "origin_item"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnly):
    list_display = ["public_id", "study", "turing_set", "condition", "language", "consent", "panel_id", "profile",
                    "position", "finished_at", "flagged", "reasons"]
    list_filter = ["study", "condition", "language", "flagged", "profile"]
    search_fields = ["public_id", "panel_id"]  # a GDPR request names the panel id
    list_select_related = ["study", "turing_set", "consent_version"]
    actions = ["erase_gdpr"]

    @admin.display(description="flagged for")
    def reasons(self, participant):
        return "; ".join(participant.flag_reasons)

    @admin.display(description="consent")
    def consent(self, participant):
        if participant.consent_version is None:
            return ""
        return f"v{participant.consent_version.number}, {participant.consented_at:%Y-%m-%d %H:%M}"

    def has_erase_permission(self, request):
        return request.user.has_perm("turing.delete_participant")

    @admin.action(description="Erase (GDPR request)", permissions=["erase"])
    def erase_gdpr(self, request, queryset):
        """A confirmation page first; erasing on its POST. Withdrawal counts are not touched: an erasure
        leaves no count (privacy.erase), a withdrawal already left its own."""
        if request.POST.get("confirmed") != "yes":
            context = {**self.admin_site.each_context(request), "title": "Erase participants (GDPR request)",
                       "opts": self.model._meta, "participants": queryset.select_related("study"),
                       "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
            return TemplateResponse(request, "admin/turing/participant/erase_confirmation.html", context)
        erased = 0
        for participant in queryset:
            erase(participant)
            erased += 1
        self.message_user(request, f"{erased} participant(s) erased with their answers and trials.", messages.SUCCESS)
        return None


@admin.register(Answer)
class AnswerAdmin(ReadOnly):
    list_display = ["participant", "position", "image", "answer", "confidence", "response_ms", "fast", "repeat"]
    list_filter = ["answer", "fast", "repeat"]
