"""python manage.py erase_participant SLUG PANEL_ID: erase the participant a panel id names (a GDPR request)."""
from django.core.management.base import BaseCommand, CommandError

from turing.models import Study
from turing.privacy import erase_panel_id


class Command(BaseCommand):
    help = ("Delete the participant of study SLUG whom PANEL_ID (their Prolific PID, MTurk worker id, ...) names: "
            "their answers, trials and profile. Prints how many were erased (0 or 1).")

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG", help="The study's slug.")
        parser.add_argument("panel_id", metavar="PANEL_ID", help="The panel's id of the participant.")

    def handle(self, *args, slug, panel_id, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"SLUG: no study {slug!r}")
        if not panel_id.strip():
            raise CommandError("PANEL_ID: must not be empty")
        erased = erase_panel_id(study, panel_id)
        note = "" if erased else " (none has this panel id: never there, already erased, or purged after retention)"
        self.stdout.write(f"{erased}{note}")
