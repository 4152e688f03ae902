"""python manage.py generate --run NAME --seeds 0-2500 [--psi 1.0] [--class N|NAME] --out DIR [--as NAME] [--now]"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import finite_float, positive_int
from cansite.queues import enqueue
from datasets.services import DatasetImportError
from generator import jobs
from generator.gan.networks import NOISE_MODES
from generator.outputs import MAX_SEEDS, check_output_folder, class_choice, generate_samples, parse_seeds
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
            seeds = parse_seeds(opts["seeds"])
            check_output_folder(Path(opts["out"]), opts["dataset_name"] or run.name)
            class_choice(run, opts["class_value"])
            if not (opts["now"] or not settings.REDIS_URL):
                job_id = enqueue(jobs.generate_seeds, run.id, opts["seeds"], opts["out"], opts["psi"],
                                 opts["noise_mode"], opts["dataset_name"], opts["class_value"], queue="gpu",
                                 job_timeout=jobs.GENERATE_TIMEOUT_S)
                self.stdout.write(f"queued {len(seeds)} seeds of {run.name} on gpu as job {job_id}")
                return
            bar = tqdm(total=len(seeds), unit="img", disable=opts["verbosity"] < 1, file=self.stderr._out)
            summary = generate_samples(run=run, seeds=seeds, out_dir=opts["out"], psi=opts["psi"],
                                       noise_mode=opts["noise_mode"], dataset_name=opts["dataset_name"],
                                       batch_size=opts["batch"], progress=lambda p: bar.update(p["done"] - bar.n),
                                       class_value=opts["class_value"])
            bar.close()
        except (RunError, DatasetImportError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(seeds)} images of {run.name} in {opts['out']}; dataset {summary.dataset}: "
                          f"{summary.files} images ({', '.join(f'{k} {v}' for k, v in summary.labels.items())})")
