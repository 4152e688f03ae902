"""Queue jobs of the generator: they take ids, run on the `gpu` queue, and may run twice.

A training job uses every GPU of its host, one process each (see services.training_processes).

torch is imported only inside the job functions, in RQ's forked work-horse: the worker's parent
process must never initialise CUDA.
"""
from __future__ import annotations

from pathlib import Path

from rq import Retry, get_current_job

from cansite.queues import enqueue

from .models import TrainingRun

# Long enough for days of training; RQ's default of 180 s would kill it.
TRAIN_TIMEOUT_S = 14 * 24 * 3600
GENERATE_TIMEOUT_S = 24 * 3600
# A worker killed mid-run: RQ notices the abandoned job and retries it, and it resumes.
TRAIN_RETRY = Retry(max=3, interval=[60, 300, 900])


def train_gan(run_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.train_run(run_id=run_id, job_id=job.id if job else "", job=job)


def generate_seeds(run_id: int, seeds: str, out_dir: str, psi: float = 1.0, noise_mode: str = "const",
                   dataset_name: str | None = None, class_value: str | None = None) -> dict:
    from .outputs import generate_samples, parse_seeds

    run = TrainingRun.objects.get(id=run_id)
    summary = generate_samples(run=run, seeds=parse_seeds(seeds), out_dir=Path(out_dir), psi=psi,
                               noise_mode=noise_mode, dataset_name=dataset_name, class_value=class_value)
    return summary.as_dict()


def enqueue_training(run: TrainingRun) -> str:
    run.job_id = enqueue(train_gan, run.id, queue="gpu", job_timeout=TRAIN_TIMEOUT_S, retry=TRAIN_RETRY)
    TrainingRun.objects.filter(id=run.id).update(job_id=run.job_id)
    return run.job_id
