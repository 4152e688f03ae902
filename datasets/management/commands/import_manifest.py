"""python manage.py import_manifest PATH [--name NAME] [--json]"""
import json

from django.core.management.base import BaseCommand, CommandError

from datasets.manifest import ManifestError
from datasets.services import DatasetImportError, import_manifest


class Command(BaseCommand):
    help = "Import or re-import a manifest ('no label x_center y_center width height url' per line)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Manifest file, e.g. CAN2000.csv.")
        parser.add_argument("--name", help="Dataset name (default: the file name without its extension).")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON object.")
        parser.add_argument("--quiet-rejects", action="store_true", help="Do not list each rejected line.")

    def handle(self, *args, path, name, quiet_rejects: bool, **options):
        def report(rejection):
            if not quiet_rejects:
                self.stderr.write(f"{path}:{rejection.line}: rejected ({rejection.reason}): {rejection.detail}")

        try:
            summary = import_manifest(path=path, name=name, on_reject=report)
        except (ManifestError, DatasetImportError) as exc:
            raise CommandError(str(exc)) from None
        if summary.missing:
            self.stderr.write(f"{summary.missing} rows of {summary.dataset} are no longer in {path} (kept, not "
                              f"deleted): {', '.join(summary.missing_sample)}{' ...' if summary.missing > 20 else ''}")
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.rejected_by_reason.items())) or "none"
        self.stdout.write(
            f"{summary.dataset}: {summary.lines} lines: {summary.imported} imported, {summary.updated} updated "
            f"({summary.invalidated} downloads invalidated), {summary.unchanged} unchanged, "
            f"{summary.rejected} rejected ({reasons})")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False))
