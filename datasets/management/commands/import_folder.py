"""python manage.py import_folder PATH --name NAME [--json]"""
import json

from django.core.management.base import BaseCommand, CommandError

from datasets.services import DatasetImportError, import_folder


class Command(BaseCommand):
    help = "Import a folder-per-class test set laid out as PATH/<label>/<image>."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Folder holding one sub-folder per class.")
        parser.add_argument("--name", required=True, help="Dataset name, e.g. MED-NODE.")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON object.")

    def handle(self, *args, path, name, **options):
        def report(file, why):
            self.stderr.write(f"{file}: unreadable: {why}")

        def report_skipped(skipped):
            self.stderr.write(f"{skipped.path}: skipped: {skipped.why}")

        try:
            summary = import_folder(path=path, name=name, on_unreadable=report, on_skipped=report_skipped)
        except DatasetImportError as exc:
            raise CommandError(str(exc)) from None
        labels = ", ".join(f"{k} {v}" for k, v in sorted(summary.labels.items()))
        self.stdout.write(f"{summary.dataset}: {summary.files} files ({labels}): {summary.imported} imported, "
                          f"{summary.updated} updated, {summary.unchanged} unchanged, {summary.unreadable} unreadable, "
                          f"{len(summary.skipped)} skipped"
                          f"{f', {summary.missing} no longer on disk (kept)' if summary.missing else ''}")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False))
