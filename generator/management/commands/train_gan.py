"""python manage.py train_gan --name RUN --dataset NAME [--label L] --config tiny|paper [--kimg N] ... [--dry-run]"""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cansite.cli import non_negative_float, non_negative_int, positive_float, positive_int
from cansite.status import public_reason
from datasets.models import Dataset
from generator import jobs, services
from generator.gan.config import CONFIGS
from generator.models import TrainingRun


class Command(BaseCommand):
    help = ("Train a StyleGAN2-ADA run on a dataset (queued on the gpu queue, or in-process with --now or "
            "without Redis). Naming an existing run continues it from its last checkpoint.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Run name (also its folder under MEDIA_ROOT/gan-runs).")
        data = parser.add_argument_group("data")
        data.add_argument("--dataset", help="Dataset to train on (prepared: squared, resized, cached).")
        data.add_argument("--label", default="", help="Train on this label only, e.g. melanoma.")
        model = parser.add_argument_group("model and schedule")
        model.add_argument("--config", default="tiny", choices=sorted(CONFIGS), help="Named config (default tiny).")
        model.add_argument("--kimg", type=positive_float, help="Thousands of real images to show (fractions allowed).")
        model.add_argument("--gamma", type=non_negative_float,
                           help="R1 weight (paper: 8.2 pretraining, 32 fine-tuning).")
        model.add_argument("--batch", type=positive_int, help="Global batch size (paper: 16).")
        model.add_argument("--mirror", action="store_true", default=None, help="Add x-flipped copies of the data.")
        model.add_argument("--checkpoint-every", type=positive_float, dest="checkpoint_every_kimg",
                           help="Write a checkpoint every N kimg.")
        tune = parser.add_argument_group("fine-tuning")
        tune.add_argument("--resume", metavar="RUN|PATH",
                          help="Start a new run from these weights, a run's latest checkpoint or a checkpoint file "
                               "(a fine-tune, NVIDIA's --resume: ADA speed 100 kimg, no EMA ramp-up).")
        tune.add_argument("--freeze-d", type=non_negative_int,
                          help="Freeze the first N discriminator layers (paper: 13).")
        parser.add_argument("--processes", type=positive_int,
                            help="Training processes, one per GPU (default: every GPU of the host, else 1; "
                                 "on the CPU, N gloo processes).")
        parser.add_argument("--now", action="store_true", help="Train in this process instead of queueing.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print the resolved options as one JSON object ({gan, train}, as the run would "
                                 "store them) and create nothing.")

    def handle(self, *args, **opts):
        existing = TrainingRun.objects.filter(name=opts["name"]).first()
        try:
            if opts["dry_run"]:
                config = (services.continued_config(existing, kimg=opts["kimg"], processes=opts["processes"])
                          if existing else self.create(opts, services.plan_run).config)
                self.stdout.write(json.dumps(config))
                return
            run = (services.continue_run(existing, kimg=opts["kimg"], processes=opts["processes"]) if existing
                   else self.create(opts))
        except services.RunError as exc:
            raise CommandError(str(exc)) from None
        queued = jobs.TRAIN.submit(run, now=opts["now"], here=lambda: self.here(run))
        if queued:
            self.stdout.write(f"{run.name}: queued on gpu as job {queued}; watch /generator/runs/{run.name}/")

    def here(self, run: TrainingRun) -> None:
        self.stdout.write(f"training {run.name} in this process ({run.config_name}, to {run.total_kimg:g} kimg)")
        try:
            status = services.train_run(run_id=run.id, job_id=f"now-{run.id}-{run.kimg}", job=None)
        except Exception as exc:  # recorded on the run (the traceback for staff): one line here
            raise CommandError(f"{run.name} failed: {public_reason(exc)} (the traceback is on the run in "
                               "the admin)") from None
        run.refresh_from_db()
        self.stdout.write(f"{run.name}: {status} at {run.kimg:.3f} kimg, checkpoint {run.latest_checkpoint}")

    def create(self, opts, make=None) -> TrainingRun:
        make = make or services.create_run
        dataset = Dataset.objects.filter(name=opts["dataset"] or "").first()
        if dataset is None:
            raise CommandError(f"--dataset: no dataset named {opts['dataset']!r}")
        parent, init_checkpoint = None, ""
        if opts["resume"]:
            parent = TrainingRun.objects.filter(name=opts["resume"]).first()
            if parent is None and not Path(opts["resume"]).is_file():
                raise CommandError(f"--resume: no run named {opts['resume']!r} and no checkpoint file there")
            init_checkpoint = "" if parent else opts["resume"]
        overrides = {key: opts[key] for key in ("kimg", "gamma", "batch", "mirror", "freeze_d",
                                                "checkpoint_every_kimg")}
        return make(name=opts["name"], dataset=dataset, config_name=opts["config"], label=opts["label"],
                    overrides=overrides, parent=parent, init_checkpoint=init_checkpoint,
                    processes=opts["processes"])
