"""python manage.py evaluate --experiment ID --test NAME"""
from django.core.management.base import BaseCommand, CommandError

from cansite.cli import positive_int
from cansite.status import public_reason
from classifier import services
from classifier.models import Evaluation, Experiment


class Command(BaseCommand):
    help = "Score a trained experiment's model on another dataset (or again on one it was tested on)."

    def add_arguments(self, parser):
        parser.add_argument("--experiment", type=positive_int, required=True, help="Experiment id (see /benchmarks/).")
        parser.add_argument("--test", required=True, help="Test dataset name.")

    def handle(self, *args, experiment, test, **opts):
        found = Experiment.objects.filter(id=experiment).first()
        if found is None:
            raise CommandError(f"--experiment: no experiment {experiment}")
        if not found.checkpoint:
            raise CommandError(f"--experiment: experiment {experiment} has no trained model yet ({found.status})")
        try:
            dataset = services.parse_spec(test, flag="--test")[0]
        except services.ExperimentError as exc:
            raise CommandError(str(exc)) from None
        evaluation, _ = Evaluation.objects.get_or_create(experiment=found, test_dataset=dataset)
        try:
            services.evaluate(evaluation)
        except Exception as exc:  # a missing or damaged checkpoint file, an unreadable test set
            raise CommandError(f"evaluating experiment {experiment} on {dataset.name} failed: "
                               f"{public_reason(exc)}") from None
        m = evaluation.metrics["at_05"]
        self.stdout.write(f"experiment {experiment} on {dataset.name}: n={evaluation.n} AUC {m['auc']:.4f} "
                          f"[{m['auc_ci'][0]:.4f}, {m['auc_ci'][1]:.4f}]")
