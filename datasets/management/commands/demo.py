"""python manage.py demo: build the demo data (each part adds its step as it arrives)."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from datasets.demo import build_demo_dataset


class Command(BaseCommand):
    help = "Build the demo: a generated dataset served on 127.0.0.1, imported and downloaded for real."

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=60, help="Generated photographs (default 60).")
        parser.add_argument("--folder", default=str(Path(settings.VAR_DIR) / "demo"),
                            help="Where the generated pictures and manifest go (default var/demo).")

    def handle(self, *args, images, folder, **options):
        imported, downloaded = build_demo_dataset(folder=Path(folder), count=images)
        self.stdout.write(f"DEMO manifest: {imported.lines} lines, {imported.imported} imported, "
                          f"{imported.updated} updated, {imported.unchanged} unchanged")
        failures = ", ".join(f"{reason} {n}" for reason, n in downloaded.failures_by_reason.items()) or "none"
        self.stdout.write(f"DEMO download: {downloaded.ok} ok, {downloaded.failed} failed ({failures}), "
                          f"{downloaded.already_done} already done, {downloaded.elapsed_s:.1f}s")
