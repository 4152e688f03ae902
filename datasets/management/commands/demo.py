"""python manage.py demo: build the demo data, one step per part of the site (settings.DEMO_STEPS)."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = ("Build the demo: a generated dataset served on 127.0.0.1 and downloaded for real, then each "
            "later part's step (a short GAN run, ...). Running it again only does what is missing.")

    def add_arguments(self, parser):
        parser.add_argument("--only", help="Run only the steps whose path contains this text, e.g. datasets.")

    def handle(self, *args, only=None, **options):
        for path in settings.DEMO_STEPS:
            if only and only not in path:
                continue
            started = time.monotonic()
            import_string(path)(write=self.stdout.write)
            self.stdout.write(f"  ({path}: {time.monotonic() - started:.1f}s)")
