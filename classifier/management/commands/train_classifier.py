"""python manage.py train_classifier --train NAME[,NAME] --test NAME[,NAME] [--repeats R] [--now] ..."""
from django.core.management.base import BaseCommand, CommandError

from cansite.status import public_reason
from classifier import jobs, services
from classifier.models import Evaluation

from ._options import add_training_flags, split, training_settings


class Command(BaseCommand):
    help = "Train EfficientNet-Lite0 on one training set (several names make a union) and test it on others."

    def add_arguments(self, parser):
        parser.add_argument("--train", required=True,
                            help="Training dataset(s): names joined by ',' or '+' form one union.")
        parser.add_argument("--test", required=True, help="Comma-separated test dataset names.")
        add_training_flags(parser)

    def handle(self, *args, **opts):
        try:
            setting = training_settings(opts)
            datasets = services.parse_spec("+".join(split(opts["train"].replace("+", ","))))
            tests = [services.parse_spec(name, flag="--test")[0] for name in split(opts["test"])]
        except services.ExperimentError as exc:
            raise CommandError(str(exc)) from None
        experiments = []
        for repeat in range(max(opts["repeats"], 1)):
            experiment = services.experiment_for(datasets, setting, repeat)
            for test in tests:
                Evaluation.objects.get_or_create(experiment=experiment, test_dataset=test)
            experiments.append(experiment)
        for experiment in experiments:
            queued = jobs.EXPERIMENT.submit(experiment, now=opts["now"], here=lambda e=experiment: self.here(e))
            if queued:
                self.stdout.write(f"experiment {experiment.id} queued on gpu as job {queued}")

    def here(self, experiment) -> None:
        try:
            status = services.run_experiment(experiment_id=experiment.id, job_id=f"now-{experiment.id}")
        except Exception as exc:  # recorded on the experiment, with its traceback for staff
            raise CommandError(f"experiment {experiment.id} failed: {public_reason(exc)}") from None
        self.report(experiment, status)

    def report(self, experiment, status: str) -> None:
        self.stdout.write(f"experiment {experiment.id} ({experiment.train_key}, repeat {experiment.repeat}): {status}")
        for evaluation in experiment.evaluations.select_related("test_dataset"):
            if evaluation.done:
                m = evaluation.metrics["at_05"]
                self.stdout.write(f"  {evaluation.test_dataset.name}: n={evaluation.n} AUC {m['auc']:.3f} "
                                  f"[{m['auc_ci'][0]:.3f}, {m['auc_ci'][1]:.3f}] acc {m['acc']:.3f} "
                                  f"sens {m['sens'] if m['sens'] is None else round(m['sens'], 3)} "
                                  f"spec {m['spec'] if m['spec'] is None else round(m['spec'], 3)}")
