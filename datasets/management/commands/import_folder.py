"""python manage.py import_folder PATH --name NAME [--synthetic] [--note TEXT] [--subdir NAME] [--json]

PATH is a folder or a zip archive (read in place, never extracted)."""
import json

from django.core.management.base import BaseCommand, CommandError

from datasets.models import Dataset
from datasets.services import DatasetImportError, import_folder


class Command(BaseCommand):
    help = "Import a folder-per-class set laid out as PATH/<label>/<image>; PATH may be a zip archive."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Folder, or zip archive, holding one sub-folder per class.")
        parser.add_argument("--subdir", default="", help="The folder inside PATH (or inside the zip) that holds the "
                            "class folders, e.g. GAN5000 in the authors' torrent zip. Default: PATH itself.")
        parser.add_argument("--synthetic", action="store_true", help="The images were generated (e.g. the paper's "
                            "GAN5000): a synthetic dataset, usable as build_turing_sets --synthetic.")
        parser.add_argument("--note", default=None, help="Where the images come from, shown as the dataset's "
                            "provenance on its page (e.g. 'GAN5000, figshare, the CAN paper's authors').")
        parser.add_argument("--name", required=True, help="Dataset name, e.g. MED-NODE.")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON object.")

    def handle(self, *args, path, name, subdir, synthetic, note, **options):
        def report(file, why):
            self.stderr.write(f"{file}: unreadable: {why}")

        def report_skipped(skipped):
            self.stderr.write(f"{skipped.path}: skipped: {skipped.why}")

        try:
            kind = Dataset.Kind.SYNTHETIC if synthetic else Dataset.Kind.FOLDER
            summary = import_folder(path=path, name=name, kind=kind, subdir=subdir, note=note,
                                    on_unreadable=report, on_skipped=report_skipped)
        except DatasetImportError as exc:  # bad input: a usage error, exit 2 as argparse's own
            raise CommandError(str(exc), returncode=2) from None
        labels = ", ".join(f"{k} {v}" for k, v in sorted(summary.labels.items()))
        self.stdout.write(f"{summary.dataset}: {summary.files} files ({labels}): {summary.imported} imported, "
                          f"{summary.updated} updated, {summary.unchanged} unchanged, {summary.unreadable} unreadable, "
                          f"{len(summary.skipped)} skipped"
                          f"{f', {summary.missing} no longer on disk (kept)' if summary.missing else ''}")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False))
