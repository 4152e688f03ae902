from django.contrib import admin

from cansite.admin import JobAdmin

from .models import Publication, SeedProfile


@admin.register(SeedProfile)
class SeedProfileAdmin(admin.ModelAdmin):
    list_display = ["run", "counterpart", "extra_psi", "morph", "morph_frames"]
    raw_id_fields = ["run", "counterpart"]


@admin.register(Publication)
class PublicationAdmin(JobAdmin):
    list_display = ["run", "seed_lo", "seed_hi", "psi", "noise_mode", "kimg", "status", "done", "total",
                    "created_at"]
    list_filter = ["status", "noise_mode"]
    list_select_related = ["run"]
    search_fields = ["run__name", "checkpoint_sha256"]
    raw_id_fields = ["run"]
    readonly_fields = ["checkpoint_sha256", "done", "total"]
