"""Queue jobs of the generator: they take ids, run on the `gpu` queue, and may run twice.

A training job uses every GPU of its host, one process each (see services.training_processes).

torch is imported only inside the job functions, in RQ's forked work-horse: the worker's parent
process must never initialise CUDA.
"""
from __future__ import annotations

from rq import get_current_job

from cansite.jobs import JobKind

from .models import TrainingRun

# Long enough for days of training; RQ's default of 180 s would kill it.
TRAIN_TIMEOUT_S = 14 * 24 * 3600
GENERATE_TIMEOUT_S = 24 * 3600


def train_gan(run_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.train_run(run_id=run_id, job_id=job.id if job else "", job=job)


def generate_seeds(generation_id: int) -> str:
    """Sample a Generation's seeds into its folder and register them; a retry renders only what is missing."""
    from . import generations

    job = get_current_job()
    return generations.generate(generation_id=generation_id, job_id=job.id if job else "")


TRAIN = JobKind(train_gan, timeout_s=TRAIN_TIMEOUT_S)
GENERATE = JobKind(generate_seeds, timeout_s=GENERATE_TIMEOUT_S)


def enqueue_training(run: TrainingRun) -> str:
    return TRAIN.enqueue(run)
