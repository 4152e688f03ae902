"""The queue paths of the commands: with REDIS_URL set they enqueue through cansite.jobs.JobKind
(after commit, with a retry) and a real `rqworker --burst` on Redis runs the jobs."""
import pytest
from django.core.management import call_command

from datasets.models import Dataset
from generator.models import Generation, TrainingRun
from tests.conftest import real_queue, run_burst_worker
from tests.generator.factory import KIMG

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_train_gan_and_generate_queue_jobs_that_a_real_worker_runs(dataset, redis_url, media_root,
                                                                   settings, tmp_path):
    settings.REDIS_URL = redis_url
    queue = real_queue("gpu", redis_url)
    call_command("train_gan", "--name", "q", "--dataset", "lesions", "--config", "tiny", "--kimg", str(KIMG))
    call_command("train_gan", "--name", "cancelled", "--dataset", "lesions", "--config", "tiny", "--kimg", "1")
    run, doomed = TrainingRun.objects.get(name="q"), TrainingRun.objects.get(name="cancelled")
    assert queue.count == 2 and run.status == "queued" and run.job_id in queue.job_ids
    assert doomed.request_cancel()
    run_burst_worker("gpu", media_root, redis_url)
    run.refresh_from_db(), doomed.refresh_from_db()
    assert run.status == "done" and run.kimg >= KIMG
    assert doomed.status == "cancelled" and doomed.kimg == 0 and not doomed.latest_checkpoint
    assert queue.fetch_job(doomed.job_id).return_value() == "skipped"

    call_command("generate", "--run", "q", "--seeds", "0-3", "--out", str(tmp_path / "gen"), "--as", "QGEN",
                 "--batch", "3", "--psi", "0.7", "--noise-mode", "none")
    call_command("generate", "--run", "q", "--seeds", "4", "--out", str(tmp_path / "gen"), "--as", "DOOMED")
    generation, doomed = Generation.objects.get(dataset_name="QGEN"), Generation.objects.get(dataset_name="DOOMED")
    assert (generation.status, generation.batch, generation.psi, generation.noise_mode) == ("queued", 3, 0.7, "none")
    job = queue.fetch_job(generation.job_id)
    assert queue.count == 2 and job.args == (generation.id,), "the job takes the row's id; the row holds the rest"
    assert job.retries_left == 3, "a generation killed with its worker is retried"
    assert not Dataset.objects.filter(name="QGEN").exists()
    assert doomed.request_cancel()
    run_burst_worker("gpu", media_root, redis_url)
    generation.refresh_from_db(), doomed.refresh_from_db()
    assert (generation.status, generation.done, generation.total) == ("done", 4, 4)
    assert Dataset.objects.get(name="QGEN").images.ok().count() == 4 and generation.summary["files"] == 4
    assert doomed.status == "cancelled" and queue.fetch_job(doomed.job_id).return_value() == "skipped"
    assert not Dataset.objects.filter(name="DOOMED").exists()
