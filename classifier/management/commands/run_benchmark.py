"""python manage.py run_benchmark --train A,B+C --test X,Y --repeats R [--name NAME] [--now]"""
from django.core.management.base import BaseCommand, CommandError

from cansite.status import public_reason
from classifier import jobs, services

from ._options import add_training_flags, split, training_settings


class Command(BaseCommand):
    help = ("Run a Table-2 matrix: each training spec (a dataset, or a union like asan+snu+pad) against each "
            "test set, R repeats; a test set inside a union is left out of it. Done cells are skipped.")

    def add_arguments(self, parser):
        parser.add_argument("--train", required=True, help="Comma-separated rows; '+' joins datasets into a union.")
        parser.add_argument("--test", required=True, help="Comma-separated test dataset names (columns).")
        parser.add_argument("--name", default="default",
                            help="Benchmark name shown on /benchmarks/ (default %(default)s).")
        add_training_flags(parser)

    def handle(self, *args, **opts):
        try:
            setting = training_settings(opts)
            benchmark, experiments = services.create_benchmark(
                name=opts["name"], train_specs=split(opts["train"]), tests=split(opts["test"]),
                repeats=opts["repeats"], setting=setting)
        except services.ExperimentError as exc:
            raise CommandError(str(exc)) from None
        todo = [e for e in experiments if services.needs_work(e)]
        self.stdout.write(f"benchmark {benchmark.name}: {len(experiments)} experiments, {len(todo)} to run, "
                          f"{len(experiments) - len(todo)} already done")
        failed: list[int] = []
        queued = [jobs.EXPERIMENT.submit(e, now=opts["now"], here=lambda e=e, i=i: self.here(e, i, len(todo), failed))
                  for i, e in enumerate(todo, 1)]
        if failed:
            raise CommandError(f"{len(failed)} of {len(todo)} experiments failed (tracebacks on them in the admin)")
        if any(queued):
            self.stdout.write(f"queued {len(todo)} jobs on gpu; results fill /benchmarks/?benchmark={benchmark.name}")

    def here(self, experiment, i: int, count: int, failed: list[int]) -> None:
        try:  # one experiment's failure is recorded on it and never stops the others
            status = services.run_experiment(experiment_id=experiment.id, job_id=f"now-{experiment.id}")
        except Exception as exc:
            failed.append(experiment.id)
            status = f"failed: {public_reason(exc)}"
        self.stdout.write(f"  [{i}/{count}] {experiment}: {status}")
