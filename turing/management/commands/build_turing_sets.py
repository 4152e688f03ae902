"""python manage.py build_turing_sets --real DATASET[,DATASET] --synthetic DATASET[,DATASET] [--sets 19] ..."""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import finite_float, non_negative_int, positive_int
from turing.building import BuildError, BuildOptions, build_turing_sets
from turing.models import Feedback


def names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


class Command(BaseCommand):
    help = ("Build the Turing test sets from real and synthetic datasets: class-balanced halves, every image "
            "re-encoded alike under a random token. Refuses to replace sets that have answers unless --force.")

    def add_arguments(self, parser):
        parser.add_argument("--real", type=names, required=True, help="Real datasets, comma-separated.")
        parser.add_argument("--synthetic", type=names, required=True, help="Synthetic datasets, comma-separated.")
        parser.add_argument("--sets", type=positive_int, default=19, help="Number of sets (default 19).")
        parser.add_argument("--per-set", type=positive_int, default=20, help="Images per set (default 20).")
        parser.add_argument("--real-fraction", type=finite_float, default=0.5,
                            help="Share of real images (default 0.5).")
        parser.add_argument("--seed", type=non_negative_int, default=0,
                            help="Seed of the draw (default 0): same seed, same sets.")
        parser.add_argument("--feedback", default=Feedback.END, choices=Feedback.values,
                            help="Show the truth after each answer, at the end (default), or never.")
        parser.add_argument("--side", type=positive_int, default=256,
                            help="Pixel side of the square images (default 256).")
        parser.add_argument("--reuse", action="store_true", help="Allow an image in several sets (never twice in one).")
        parser.add_argument("--synthetic-seeds", default="",
                            help="Only synthetic images named by these seeds (e.g. 50-99: seeds kept off the "
                                 "public seed pages); default any. Seeds a seed page shows are always left out.")
        parser.add_argument("--force", action="store_true",
                            help="Rebuild although sets have answers: they are archived, never deleted.")

    def handle(self, *args, **opts):
        options = BuildOptions(real=opts["real"], synthetic=opts["synthetic"], sets=opts["sets"],
                               per_set=opts["per_set"], real_fraction=opts["real_fraction"], seed=opts["seed"],
                               feedback=opts["feedback"], side=opts["side"], reuse=opts["reuse"], force=opts["force"],
                               synthetic_seeds=opts["synthetic_seeds"])
        bars = []  # made on the first image, so that a refused build prints no bar

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(tqdm(total=total, unit="img", disable=opts["verbosity"] < 1, file=self.stderr._out))
            bars[0].update(done - bars[0].n)

        try:
            summary = build_turing_sets(options=options, progress=progress)
        except BuildError as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars:
                bar.close()
        for line in summary.skipped[:20]:
            self.stderr.write(f"unreadable, replaced: {line}")
        if summary.excluded:
            shown = ", ".join(summary.excluded[:10]) + (", ..." if len(summary.excluded) > 10 else "")
            self.stderr.write(f"left out {len(summary.excluded)} synthetic images whose seeds public seed pages "
                              f"show: {shown}")
        for entry in summary.sets:
            parts = "; ".join(f"{truth} " + ", ".join(f"{name} {labels.get('melanoma', 0)} melanoma "
                                                      f"{labels.get('nevus', 0)} nevus"
                                                      for name, labels in by_name.items())
                              for truth, by_name in entry["composition"].items())
            catches = f" + {entry['catch']} catch trial{'s' if entry['catch'] > 1 else ''}" if entry["catch"] else ""
            self.stdout.write(f"set {entry['number']}: {entry['images']} images ({parts}){catches}")
        archived = f", {summary.archived} earlier builds archived ({summary.archived_answers} answers kept)" \
            if summary.archived else ""
        self.stdout.write(f"{len(summary.sets)} sets built, seed {options.seed}, feedback {options.feedback}, "
                          f"every file {summary.file_bytes} bytes{archived}")
