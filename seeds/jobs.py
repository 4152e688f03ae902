"""Queue jobs of the seed pages: they take ids, run on the `gpu` queue, and may run twice.

torch is imported only inside the job (through seeds.services.publish -> seeds.rendering).
A worker killed mid-publication: RQ retries the job, and it renders only what is missing.
"""
from __future__ import annotations

from rq import get_current_job

from cansite.jobs import JobKind

from .models import Publication

PUBLISH_TIMEOUT_S = 24 * 3600


def publish_seeds(publication_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.publish(publication_id=publication_id, job_id=job.id if job else "", job=job)


PUBLISH = JobKind(publish_seeds, timeout_s=PUBLISH_TIMEOUT_S)


def enqueue_publication(pub: Publication) -> str:
    """Queue the publication once the transaction commits; returns (and stores) the job id."""
    return PUBLISH.enqueue(pub)
