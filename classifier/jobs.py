"""Queue jobs of the classifier: one experiment per job on the `gpu` queue; jobs may run twice."""
from __future__ import annotations

from rq import get_current_job

from cansite.jobs import JobKind

TRAIN_TIMEOUT_S = 24 * 3600  # hours of training; RQ's default of 180 s would kill it


def run_experiment(experiment_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.run_experiment(experiment_id=experiment_id, job_id=job.id if job else "", job=job)


EXPERIMENT = JobKind(run_experiment, timeout_s=TRAIN_TIMEOUT_S)
