"""Queue jobs of the classifier: one experiment per job on the `gpu` queue; jobs may run twice."""
from __future__ import annotations

from rq import Retry, get_current_job

from cansite.queues import enqueue

from .models import Experiment

TRAIN_TIMEOUT_S = 24 * 3600  # hours of training; RQ's default of 180 s would kill it
RETRY = Retry(max=3, interval=[60, 300, 900])  # a worker restarted mid-run: the job resumes


def run_experiment(experiment_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.run_experiment(experiment_id=experiment_id, job_id=job.id if job else "", job=job)


def enqueue_experiment(experiment: Experiment) -> str:
    job_id = enqueue(run_experiment, experiment.id, queue="gpu", job_timeout=TRAIN_TIMEOUT_S, retry=RETRY)
    Experiment.objects.filter(id=experiment.id).update(job_id=job_id)
    return job_id
