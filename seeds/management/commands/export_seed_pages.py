"""python manage.py export_seed_pages --runs A,B --seeds 0-4999 --out DIR [--workers N] [--base-url URL]
[--languages en,ko]"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import positive_int
from seeds.export import ExportError, export_seed_pages


class Command(BaseCommand):
    help = ("Export the published seed pages of some runs as a static site (relative links: any server, any "
            "path prefix, or file://). Only what changed is rebuilt; the new folder is swapped in at once.")

    def add_arguments(self, parser):
        parser.add_argument("--runs", required=True, help="Runs to export, comma-separated.")
        parser.add_argument("--seeds", required=True, help="Seed range to export, e.g. 0-4999 (published ones).")
        parser.add_argument("--out", required=True, help="The export folder (replaced as a whole when done).")
        parser.add_argument("--workers", type=positive_int, default=1, help="Processes rendering pages (default 1).")
        parser.add_argument("--base-url", default="",
                            help="Public URL of the folder: absolute URLs in the sharing tags and 404.html, "
                                 "and sitemap.xml (written only with it: a sitemap needs absolute URLs).")
        parser.add_argument("--languages", default="",
                            help="Languages to export, comma-separated (default: all of the site's; the default "
                                 "language, the export's root, must be one). Each other one is a folder, ko/...")

    def handle(self, *args, **opts):
        runs = [name.strip() for name in opts["runs"].split(",") if name.strip()]
        languages = [code.strip() for code in opts["languages"].split(",") if code.strip()] or None
        bar = tqdm(unit="file", disable=opts["verbosity"] < 1, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            summary = export_seed_pages(runs=runs, seeds=opts["seeds"], out=Path(opts["out"]),
                                        workers=opts["workers"], base_url=opts["base_url"], languages=languages,
                                        progress=progress)
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self.stdout.write(summary.line(Path(opts["out"])))
