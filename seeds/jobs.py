"""Queue jobs of the seed pages: they take ids, run on the `gpu` queue, and may run twice.

torch is imported only inside the job (through seeds.services.publish -> seeds.rendering).
"""
from __future__ import annotations

from rq import Retry, get_current_job

from cansite.queues import enqueue

from .models import Publication

PUBLISH_TIMEOUT_S = 24 * 3600
# A worker killed mid-publication: RQ retries the job, and it renders only what is missing.
PUBLISH_RETRY = Retry(max=3, interval=[60, 300, 900])


def publish_seeds(publication_id: int) -> str:
    from . import services

    job = get_current_job()
    return services.publish(publication_id=publication_id, job_id=job.id if job else "")


def enqueue_publication(pub: Publication) -> str:
    """Queue the publication once the transaction commits; returns (and stores) the job id."""
    pub.job_id = enqueue(publish_seeds, pub.id, queue="gpu", job_timeout=PUBLISH_TIMEOUT_S, retry=PUBLISH_RETRY)
    Publication.objects.filter(id=pub.id).update(job_id=pub.job_id)
    return pub.job_id
