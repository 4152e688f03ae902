"""python manage.py generate --run NAME --seeds 0-2500 [--psi 1.0] [--class N|NAME] --out DIR [--as NAME] [--now]"""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import finite_float, positive_int
from cansite.status import public_reason
from datasets.services import DatasetImportError
from generator import jobs
from generator.gan.networks import NOISE_MODES
from generator.generations import create_generation, generate
from generator.models import Generation
from generator.outputs import MAX_SEEDS
from generator.services import RunError

from ._common import run_named


class Command(BaseCommand):
    help = "Sample seeds from a run's latest checkpoint into OUT/<label>/seedNNNN.png and register them as a dataset."

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="Training run to sample from.")
        parser.add_argument("--seeds", required=True,
                            help=f"Seeds, e.g. 0-2500 or 1,5,9 (ranges include both ends; at most {MAX_SEEDS:,}).")
        parser.add_argument("--psi", type=finite_float, default=1.0, help="Truncation psi (default 1.0: none).")
        parser.add_argument("--noise-mode", default="const", choices=NOISE_MODES,
                            help="Per-layer noise: the checkpoint's fixed maps (default), random, or none.")
        parser.add_argument("--out", required=True, help="Output folder; images go to OUT/<label>/.")
        parser.add_argument("--as", dest="dataset_name", help="Dataset name to register (default: the run's name).")
        parser.add_argument("--batch", type=positive_int, default=16,
                            help="Images rendered between progress reports (default 16); each image is still "
                                 "rendered alone, so this never changes a byte.")
        parser.add_argument("--class", dest="class_value", metavar="N|NAME",
                            help="Class of a class-conditional run: its index or its name (images go to OUT/<class>/).")
        parser.add_argument("--now", action="store_true", help="Generate in this process instead of queueing.")

    def handle(self, *args, **opts):
        run = run_named(opts["run"])
        try:
            generation = create_generation(run=run, seeds=opts["seeds"], out_dir=opts["out"], psi=opts["psi"],
                                           noise_mode=opts["noise_mode"], dataset_name=opts["dataset_name"],
                                           batch=opts["batch"], class_value=opts["class_value"])
            queued = jobs.GENERATE.submit(generation, now=opts["now"], here=lambda: self.here(generation, opts))
        except (RunError, DatasetImportError) as exc:
            raise CommandError(str(exc)) from None
        if queued:
            self.stdout.write(f"queued {generation.total} seeds of {run.name} on gpu as job {queued} "
                              f"(generation {generation.id})")

    def here(self, generation: Generation, opts) -> None:
        bar = tqdm(total=generation.total, unit="img", disable=opts["verbosity"] < 1, file=self.stderr._out)
        try:
            status = generate(generation_id=generation.id, job_id=f"now-{generation.id}",
                              progress=lambda p: bar.update(p["done"] - bar.n))
        except (RunError, DatasetImportError):
            raise
        except Exception as exc:  # recorded on the row, with its traceback for staff
            raise CommandError(f"generation {generation.id} failed: {public_reason(exc)}") from None
        finally:
            bar.close()
        generation.refresh_from_db()
        summary = generation.summary
        if status != "done":
            raise CommandError(f"generation {generation.id}: {status} after {generation.done} images")
        self.stdout.write(f"{generation.total} images of {generation.run.name} in {generation.out_dir}; dataset "
                          f"{summary['dataset']}: {summary['files']} images "
                          f"({', '.join(f'{k} {v}' for k, v in summary['labels'].items())})")
