"""python manage.py export_dataset NAME DEST [--square --size N]"""
import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import positive_int
from datasets.export import export_dataset
from datasets.models import Dataset


class Command(BaseCommand):
    help = "Write a dataset's downloaded images as DEST/<label>/<file>, the layout training reads."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Dataset name.")
        parser.add_argument("dest", help="Output folder.")
        parser.add_argument("--square", action="store_true", help="Centre-crop each image to a square.")
        parser.add_argument("--size", type=positive_int, help="With --square: resize to SIZE x SIZE (e.g. 512).")
        parser.add_argument("--overwrite", action="store_true", help="Rewrite files that are already up to date.")
        parser.add_argument("--workers", type=positive_int, default=4,
                            help="Threads decoding and resizing (default 4).")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON object.")

    def handle(self, *args, name, dest, **options):
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is None:
            raise CommandError(f"no dataset named {name!r}")
        bar = tqdm(total=dataset.images.ok().count(), unit="img", disable=options["verbosity"] < 1,
                   file=self.stderr._out)
        try:
            summary = export_dataset(dataset=dataset, dest=dest, square=options["square"], size=options["size"],
                                     overwrite=options["overwrite"], workers=options["workers"],
                                     progress=lambda s: bar.update(1))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        for failure in summary.failures[:20]:
            self.stderr.write(f"failed: {failure}")
        self.stdout.write(f"{dataset.name} -> {dest}: {summary.written} written, {summary.skipped} already there, "
                          f"{summary.failed} failed")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict()))
