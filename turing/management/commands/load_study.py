"""python manage.py load_study FILE: create or update the study that a TOML study file defines."""
from django.core.management.base import BaseCommand, CommandError

from turing.studies import StudyFileError, entry_path, load


class Command(BaseCommand):
    help = ("Create or update a study from its TOML file (see README, 'Running a study'). Everything is checked "
            "first: any fault is one line naming the key, and nothing is created. Loading the same file again "
            "changes nothing; a changed consent text becomes a new consent version.")

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The study file (TOML).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check the file and say what loading it would do; change nothing.")

    def handle(self, *args, file, dry_run, **options):
        try:
            loaded = load(file, dry_run=dry_run)
        except StudyFileError as exc:
            raise CommandError(str(exc)) from None
        what = f" ({', '.join(loaded.changed)})" if loaded.changed else ""
        status = f"would be {loaded.status}" if dry_run else loaded.status
        self.stdout.write(f"{status}{what}: study {loaded.study.slug}, consent version "
                          f"{loaded.consent_version}, entry {entry_path(loaded.study.slug)}")
