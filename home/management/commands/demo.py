"""python manage.py demo [--only TEXT]: build the demo data, one step per part of the site, in order.

Each app keeps its own step in `<app>/demo.py`; this command, in the one app allowed to depend on all
of them, calls them directly (no dotted paths in settings to drift from the code).
"""
import time

from django.core.management.base import BaseCommand

from classifier import demo as classifier_demo
from datasets import demo as datasets_demo
from generator import demo as generator_demo
from seeds import demo as seeds_demo
from turing import demo as turing_demo

# Later steps use what earlier ones built: a dataset, then GAN runs on it, then benchmarks, sets and pages.
STEPS = [datasets_demo.demo_step, generator_demo.demo_step, classifier_demo.demo_step, turing_demo.demo_step,
         seeds_demo.demo_step]


def step_name(step) -> str:
    return f"{step.__module__}.{step.__name__}"


class Command(BaseCommand):
    help = ("Build the demo: a generated dataset served on 127.0.0.1 and downloaded for real, then each "
            "later part's step (a short GAN run, ...). Running it again only does what is missing.")

    def add_arguments(self, parser):
        parser.add_argument("--only", help="Run only the steps whose path contains this text, e.g. datasets.")

    def handle(self, *args, only=None, **options):
        for step in STEPS:
            name = step_name(step)
            if only and only not in name:
                continue
            started = time.monotonic()
            step(write=self.stdout.write)
            self.stdout.write(f"  ({name}: {time.monotonic() - started:.1f}s)")
