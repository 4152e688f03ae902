"""The dataset download as a job like every other (cansite.jobs.drive): a DownloadRun row created before
anything runs, claimed, its progress on the row through the one ProgressWriter, RQ's retry taking the
row back, a cancel from the admin, and a queued row that finds the dataset taken."""
import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from cansite.status import JobStatus
from datasets import jobs
from datasets.downloader import DownloadBusy, DownloadOptions, create_download, download_images, run_download
from datasets.models import DownloadRun, ImageRecord
from tests.conftest import real_queue, run_burst_worker
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

pytestmark = pytest.mark.django_db
FAST = DownloadOptions(workers=2, per_host=2, timeout=5.0, retries=0, allow_private=True)


@pytest.fixture
def server():
    server = w.ImageServer().start()
    yield server
    server.stop()


def dataset_of(server, rows: int = 3, name: str = "demo"):
    dataset = make_dataset(name)
    for i in range(rows):
        make_row(dataset, str(i + 1), server.add(f"/{name}/{i}.jpg", w.jpeg_bytes(w.make_photo(seed=i))))
    return dataset


def live_run(dataset, owner: str = "elsewhere:1") -> DownloadRun:
    """A download another machine is running right now (fresh heartbeat)."""
    return DownloadRun.objects.create(dataset=dataset, status=JobStatus.RUNNING, owner=owner, job_id="other",
                                      heartbeat=timezone.now(), started_at=timezone.now())


def test_a_running_download_keeps_its_progress_on_its_row(server, media_root):
    dataset = dataset_of(server, rows=4)
    seen = []

    def progress(summary):
        if summary.ok and not seen:  # the row is written before the caller hears of the report
            seen.append(DownloadRun.objects.get(dataset=dataset).summary)

    summary = download_images(dataset=dataset, options=FAST, progress=progress)
    row = DownloadRun.objects.get(dataset=dataset)
    assert seen and seen[0]["rows"] == 4 and seen[0]["ok"] >= 1, "the admin sees a running download's counts"
    assert (row.status, row.summary["ok"], summary.ok) == ("done", 4, 4)


def test_the_download_job_writes_its_progress_into_the_rq_jobs_meta(server, media_root):
    class Job:
        id, meta, saved = "job-1", {}, 0

        def save_meta(self):
            self.saved += 1

    dataset, job = dataset_of(server, rows=2), Job()
    row = create_download(dataset=dataset, options=FAST)
    run_download(download_id=row.pk, job_id=job.id, job=job)
    assert job.saved and job.meta["progress"]["rows"] == 2 and "ok" in job.meta["progress"]


def test_rqs_retry_of_a_download_whose_worker_died_takes_its_row_back(server, media_root):
    dataset = dataset_of(server, rows=2)
    row = create_download(dataset=dataset, options=FAST)
    assert DownloadRun.claim(row.pk, "job-a")  # the first try's claim; its work-horse then died
    ImageRecord.objects.filter(no="1").update(status="downloading")
    summary = run_download(download_id=row.pk, job_id="job-a")
    row.refresh_from_db()
    assert (row.status, summary.recovered, summary.ok) == ("done", 1, 2)
    assert DownloadRun.objects.count() == 1, "the retry works on its own row, not a new one"


def test_a_second_download_is_refused_before_anything_is_created(server, media_root):
    dataset = dataset_of(server)
    live_run(dataset)
    with pytest.raises(DownloadBusy, match=r"another download of demo is running \(elsewhere:1"):
        create_download(dataset=dataset, options=FAST)
    assert DownloadRun.objects.count() == 1 and not server.hits


def test_a_queued_download_that_finds_the_dataset_taken_is_cancelled_saying_why(server, media_root):
    dataset = dataset_of(server)
    row = create_download(dataset=dataset, options=FAST)
    live_run(dataset)  # another run started between the request and the worker
    assert jobs.download_dataset(row.pk)["skipped"].startswith("another download of demo is running")
    row.refresh_from_db()
    assert row.status == "cancelled" and row.error.startswith("another download of demo is running")
    assert not server.hits


def test_a_forced_download_stops_the_live_run_and_takes_the_dataset(server, media_root):
    dataset = dataset_of(server, rows=2)
    old = live_run(dataset)
    download_images(dataset=dataset, options=FAST, force=True)
    old.refresh_from_db()
    assert old.status == "cancelled" and old.error.startswith("taken over by ")
    assert DownloadRun.objects.exclude(pk=old.pk).get().status == "done"


def test_a_queued_download_cancelled_in_the_admin_never_runs(server, media_root, rf, admin_user):
    dataset = dataset_of(server)
    row = create_download(dataset=dataset, options=FAST)
    request = rf.post("/admin/")
    request.user, request._messages = admin_user, type("M", (), {"add": lambda *a, **k: None})()
    site._registry[DownloadRun].cancel(request, DownloadRun.objects.filter(pk=row.pk))
    assert "skipped" in jobs.download_dataset(row.pk)
    row.refresh_from_db()
    assert row.status == "cancelled" and not server.hits
    assert set(ImageRecord.objects.values_list("status", flat=True)) == {"pending"}


def test_a_download_cancelled_while_it_runs_stops_and_is_recorded_cancelled(server, media_root):
    dataset = make_dataset()
    for i in range(6):
        make_row(dataset, str(i + 1), server.behave(f"/{i}.jpg", delay=0.3, body=("image/jpeg", w.jpeg_bytes(
            w.make_photo(seed=i)))))

    def cancel_after_the_first(summary):
        if summary.ok:
            assert DownloadRun.objects.get().request_cancel()

    summary = download_images(dataset=dataset, options=DownloadOptions(workers=1, per_host=1, timeout=5.0,
                                                                       retries=0, allow_private=True),
                              progress=cancel_after_the_first)
    row = DownloadRun.objects.get()
    assert summary.stopped and row.status == "cancelled" and 1 <= summary.ok < 6
    assert row.summary["ok"] == summary.ok and not ImageRecord.objects.filter(status="downloading").exists()


def test_the_dataset_page_makes_a_download_row_and_runs_it_without_redis(server, admin_client, media_root):
    dataset = dataset_of(server, rows=1, name="web")
    response = admin_client.post(reverse("datasets:download", args=["web"]), follow=True)
    row = DownloadRun.objects.get(dataset=dataset)
    # No --allow-private from the page: the loopback server is refused, and the row says how it went.
    assert row.status == "done" and row.summary["failed"] == 1
    assert f"Download {row.pk} of web done: 0 ok, 1 failed." in response.content.decode()


def test_the_dataset_page_refuses_a_download_while_one_runs(server, admin_client, media_root):
    dataset = dataset_of(server, rows=1, name="web")
    live_run(dataset)
    response = admin_client.post(reverse("datasets:download", args=["web"]), follow=True)
    assert "another download of web is running" in response.content.decode()
    assert DownloadRun.objects.count() == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_dataset_page_queues_a_row_with_a_retry_and_the_admin_can_cancel_it(server, admin_client, media_root,
                                                                                 redis_url, settings):
    settings.REDIS_URL = redis_url
    queue = real_queue("default", redis_url)
    dataset = dataset_of(server, rows=1, name="web")
    admin_client.post(reverse("datasets:download", args=["web"]))
    row = DownloadRun.objects.get(dataset=dataset)
    job = queue.fetch_job(row.job_id)
    assert row.status == "queued" and job.args == (row.pk,), "the job takes the row's id; the row holds the rest"
    assert job.retries_left == 3 and job.timeout == jobs.DOWNLOAD_TIMEOUT_S
    assert row.request_cancel()
    run_burst_worker("default", media_root, redis_url)
    row.refresh_from_db()
    assert row.status == "cancelled" and "skipped" in queue.fetch_job(row.job_id).return_value()
    assert not server.hits


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_download_images_queues_its_row_with_redis_and_a_real_worker_runs_it(server, media_root, redis_url,
                                                                            settings, capsys):
    from django.core.management import call_command

    settings.REDIS_URL = redis_url
    queue = real_queue("default", redis_url)
    dataset = dataset_of(server, rows=2, name="cmd")
    call_command("download_images", "--dataset", "cmd", "--allow-private", "--workers", "2", "-v", "0")
    row = DownloadRun.objects.get(dataset=dataset)
    assert row.status == "queued" and f"as job {row.job_id}" in capsys.readouterr().out
    assert queue.fetch_job(row.job_id).retries_left == 3 and not server.hits, "queued, not run here"
    run_burst_worker("default", media_root, redis_url)
    row.refresh_from_db()
    assert (row.status, row.summary["ok"], row.options["workers"]) == ("done", 2, 2)


def test_an_unexpected_failure_of_download_images_now_is_one_line_and_the_traceback_stays_on_the_row(
        server, media_root, monkeypatch):
    from django.core.management import CommandError, call_command

    from datasets import downloader

    dataset_of(server, rows=2, name="broken")

    def bug(*args, **kwargs):
        raise RuntimeError("planner bug in /srv/cansite/datasets/downloader.py")

    monkeypatch.setattr(downloader, "plan", bug)
    with pytest.raises(CommandError) as refused:
        call_command("download_images", "--dataset", "broken", "--allow-private", "--now", "-v", "0")
    row = DownloadRun.objects.get(dataset__name="broken")
    message = str(refused.value)
    assert message.startswith(f"download {row.pk} of broken failed: RuntimeError: planner bug") and "\n" not in message
    assert "/srv/cansite" not in message, "no server path, as on every other command's failure line"
    assert row.status == JobStatus.FAILED and row.error.startswith("RuntimeError: planner bug")
    assert "Traceback" in row.error_detail and "/srv/cansite/datasets/downloader.py" in row.error_detail
