"""What generate, project and morph share."""
from django.core.management.base import CommandError

from generator.models import TrainingRun


def run_named(name: str) -> TrainingRun:
    run = TrainingRun.objects.filter(name=name).first()
    if run is None:
        raise CommandError(f"--run: no run named {name!r}")
    return run
