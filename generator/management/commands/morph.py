"""python manage.py morph --run NAME --source A --target B --frames 30 --out DIR"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cansite.cli import finite_float, positive_int
from generator.outputs import morph_images
from generator.services import RunError

from ._common import run_named


class Command(BaseCommand):
    help = "Morph between two latents (a seed or a projected .npz each): frames from A to B, both included."

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="Training run whose generator to use.")
        parser.add_argument("--source", required=True, help="A seed (e.g. 42) or a projected_w.npz.")
        parser.add_argument("--target", required=True, help="A seed or a projected_w.npz.")
        parser.add_argument("--frames", type=positive_int, default=30, help="Frames, both ends included (default 30).")
        parser.add_argument("--psi", type=finite_float, default=1.0, help="Truncation psi for seeds (default 1.0).")
        parser.add_argument("--class", dest="class_value", metavar="N|NAME",
                            help="Class of a class-conditional run: its index or its name.")
        parser.add_argument("--out", required=True, help="Output folder: frameNNNN.png and morph.gif.")

    def handle(self, *args, **opts):
        run = run_named(opts["run"])
        try:
            result = morph_images(run=run, source=opts["source"], target=opts["target"], out_dir=Path(opts["out"]),
                                  frames=opts["frames"], psi=opts["psi"], class_value=opts["class_value"])
        except RunError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(result['frames'])} frames and {result['animation']}")
