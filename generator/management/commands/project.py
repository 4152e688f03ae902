"""python manage.py project --run NAME --target IMAGE --steps 1000 --out DIR"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import positive_int
from generator.outputs import project_image
from generator.services import RunError

from ._common import run_named


class Command(BaseCommand):
    help = "Project an image into a run's latest generator: writes projected_w.npz and the reconstruction."

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="Training run whose generator to use.")
        parser.add_argument("--target", required=True, help="Image to reproduce (squared and resized to fit).")
        parser.add_argument("--steps", type=positive_int, default=1000, help="Optimisation steps (default 1000).")
        parser.add_argument("--class", dest="class_value", metavar="N|NAME",
                            help="Class of a class-conditional run: its index or its name.")
        parser.add_argument("--out", required=True, help="Output folder.")

    def handle(self, *args, **opts):
        run = run_named(opts["run"])
        bar = tqdm(total=opts["steps"], unit="step", disable=opts["verbosity"] < 1, file=self.stderr._out)
        try:
            result = project_image(run=run, target=Path(opts["target"]), out_dir=Path(opts["out"]),
                                   steps=opts["steps"], progress=lambda p: bar.update(1),
                                   class_value=opts["class_value"])
        except RunError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        history = result["loss_history"]
        self.stdout.write(f"projected {opts['target']}: loss {history[0]:.4f} -> {history[-1]:.4f}; "
                          f"{result['w_path']}, {result['image_path']}")
