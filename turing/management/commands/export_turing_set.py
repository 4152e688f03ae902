"""python manage.py export_turing_set N DIR"""
from django.core.management.base import BaseCommand, CommandError

from cansite.cli import positive_int
from turing.exporting import ExportError, export_set


class Command(BaseCommand):
    help = ("Write set N exactly as visitors receive it (the served files, named by their tokens) and "
            "truth.csv (token, truth, class, origin dataset and item), to publish or audit a set.")

    def add_arguments(self, parser):
        parser.add_argument("number", type=positive_int, metavar="N", help="Set number (1..19).")
        parser.add_argument("dest", help="Output folder (new or empty).")

    def handle(self, *args, number, dest, **options):
        try:
            count = export_set(number=number, dest=dest)
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"set {number} -> {dest}: {count} images and truth.csv")
