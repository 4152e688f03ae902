"""python manage.py gan_metrics --run NAME [--images 1000] [--inception-weights PATH]"""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cansite.cli import finite_float, positive_int
from datasets.models import Dataset
from generator.outputs import measure_quality
from generator.services import RunError

from ._common import run_named


class Command(BaseCommand):
    help = ("FID and KID of a run's latest generator against its training images (torch-fidelity, with a local "
            "Inception weights file). Without that file: KID on local features, clearly labelled, never FID.")

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="Training run to measure.")
        parser.add_argument("--images", type=positive_int, default=1000,
                            help="Generated images to compare (default 1000).")
        parser.add_argument("--psi", type=finite_float, default=1.0, help="Truncation psi (default 1.0).")
        parser.add_argument("--real", metavar="DATASET",
                            help="Compare with this dataset's images (default: the run's own training images; "
                                 "needed for an imported run).")
        parser.add_argument("--real-label", default="", help="Only this label of --real.")
        parser.add_argument("--class", dest="class_value", metavar="N|NAME",
                            help="Class of a class-conditional run to generate.")
        parser.add_argument("--inception-weights", default=settings.INCEPTION_WEIGHTS,
                            help="torch-fidelity's Inception-v3 weights file (default: the INCEPTION_WEIGHTS setting).")

    def handle(self, *args, **opts):
        run = run_named(opts["run"])
        if opts["images"] < 2:
            raise CommandError("--images must be at least 2")
        if not opts["inception_weights"]:
            self.stderr.write("No Inception weights file (--inception-weights or INCEPTION_WEIGHTS): FID is not "
                              "computed; reporting KID on local random-convolution features instead.")
        real = None
        if opts["real"]:
            real = Dataset.objects.filter(name=opts["real"]).first()
            if real is None:
                raise CommandError(f"--real: no dataset named {opts['real']!r}")
        try:
            result = measure_quality(run=run, num_images=opts["images"], inception_weights=opts["inception_weights"],
                                     psi=opts["psi"], real=real, real_label=opts["real_label"],
                                     class_value=opts["class_value"])
        except RunError as exc:
            raise CommandError(str(exc)) from None
        fid = f"FID {result['fid']:.2f}, " if result["fid"] is not None else ""
        self.stdout.write(f"{run.name} at {result['kimg']:g} kimg: {fid}KID {result['kid_mean']:.4f} "
                          f"± {result['kid_std']:.4f} ({result['label']})")
