"""python manage.py purge_turing_data [--dry-run]: delete what the Turing test no longer may keep."""
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from turing.privacy import purge_panel_ids
from turing.services import purge_start_logs


class Command(BaseCommand):
    help = ("Clear the panel ids of study participants older than their study's retention_days, and delete the "
            "per-network start logs the rate limit no longer needs. Safe to run again (and from cron).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")

    def handle(self, *args, dry_run, **options):
        now = timezone.now()
        with transaction.atomic():  # a dry run does the very same purge and rolls it back: one home for the rule
            cleared, logs = purge_panel_ids(now), purge_start_logs(now)
            transaction.set_rollback(dry_run)
        verb = "would clear" if dry_run else "cleared"
        self.stdout.write(f"{verb} the panel ids of {cleared} participant(s) past their study's retention; "
                          f"{'would delete' if dry_run else 'deleted'} {logs} expired start log(s)")
