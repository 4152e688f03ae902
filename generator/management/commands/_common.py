"""What generate, project and morph share."""
from cansite.cli import named
from generator.models import TrainingRun


def run_named(name: str) -> TrainingRun:
    return named(TrainingRun.objects, name, flag="--run")
