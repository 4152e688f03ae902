"""Publishing seeds: keys, byte-identical re-renders, skips, new checkpoints, the job's life, bad input."""
import os

import pytest
from django.core.management import CommandError, call_command

from seeds import keys, services
from seeds.models import Publication, SeedProfile
from tests.seeds.factory import make_checkpoint, make_run, publish

pytestmark = pytest.mark.django_db


def image_files(pub: Publication) -> dict[str, bytes]:
    folder = keys.root() / pub.checkpoint_sha256
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publishing_renders_each_seed_under_its_key_and_marks_the_range_published(media_root):
    make_run("mel", media_root)
    pub = publish("mel", "0-4", "--extra-psi", "0.5", "--morph", "0:1", "--morph-frames", "3")
    assert pub.status == "done" and pub.done == pub.total == 5 * 2 + 3
    assert len(pub.checkpoint_sha256) == 64 and (pub.seed_lo, pub.seed_hi, pub.psi) == (0, 4, 1.0)
    files = image_files(pub)
    assert "psi1-const/seed0004.png" in files and "psi1-const/seed0004.webp" in files
    assert "psi0.5-const/seed0000.webp" in files and "psi1-const/morph-0000-0001-f02.webp" in files
    assert files["psi1-const/seed0000.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert files["psi1-const/seed0000.png"] != files["psi1-const/seed0001.png"], "each seed is its own image"


def test_the_same_seed_gives_byte_identical_files_on_a_re_render(media_root):
    make_run("mel", media_root)
    pub = publish("mel", "0-3", "--morph", "2:3", "--morph-frames", "3")
    first = image_files(pub)
    for path in (keys.root() / pub.checkpoint_sha256).rglob("*"):
        if path.is_file():
            path.unlink()
    publish("mel", "2-3")  # a different batch: seeds 2 and 3 rendered without 0 and 1
    publish("mel", "0-3")
    assert image_files(pub) == first
    assert b"tIME" not in first["psi1-const/seed0000.png"] and b"tEXt" not in first["psi1-const/seed0000.png"]


def test_re_publishing_skips_images_that_exist_for_the_same_key(media_root):
    make_run("mel", media_root)
    pub = publish("mel", "0-3")
    marked = keys.root() / keys.image_path(pub.checkpoint_sha256, 1.0, "const", "seed0002.png")
    os.utime(marked, (1, 1))
    again = publish("mel", "0-5")
    assert again.status == "done" and again.done == 6
    assert marked.stat().st_mtime == 1, "an existing image is not rendered again"
    assert (marked.parent / "seed0005.webp").is_file()


def test_a_new_checkpoint_gives_new_keys_and_never_overwrites_old_images(media_root):
    run = make_run("mel", media_root)
    old = publish("mel", "0-2")
    before = image_files(old)
    run.latest_checkpoint = str(make_checkpoint(media_root / "gan-runs/mel/checkpoint-000002.000kimg.pt", 7))
    run.save()
    new = publish("mel", "0-2")
    assert new.checkpoint_sha256 != old.checkpoint_sha256
    assert image_files(old) == before
    assert image_files(new)["psi1-const/seed0000.png"] != before["psi1-const/seed0000.png"]


def test_a_publication_job_run_twice_renders_once_and_a_cancelled_one_stops(media_root):
    run = make_run("mel", media_root)
    pub = services.create_publication(run=run, seeds="0-3")
    assert services.publish(publication_id=pub.id, job_id="a") == "done"
    assert services.publish(publication_id=pub.id, job_id="b") == "skipped"
    stopped = services.create_publication(run=run, seeds="10-40")
    Publication.objects.filter(id=stopped.id).update(cancel_requested=True)
    assert services.publish(publication_id=stopped.id, job_id="c") == "cancelled"
    stopped.refresh_from_db()
    assert stopped.done < stopped.total


def test_the_queued_job_takes_the_publication_id(media_root, settings):
    from seeds import jobs

    run = make_run("mel", media_root)
    pub = services.create_publication(run=run, seeds="0-1")
    assert jobs.publish_seeds(pub.id) == "done"
    pub.refresh_from_db()
    assert pub.status == "done" and pub.done == 2


def test_the_profile_keeps_the_counterpart_extra_psi_and_morphs_for_later_ranges(media_root):
    make_run("mel", media_root)
    make_run("nev", media_root, label="nevus", weights_seed=1)
    publish("mel", "0-3", "--counterpart", "nev", "--extra-psi", "0.5,0.7", "--morph", "0-9:next",
            "--morph-frames", "2")
    pub = publish("mel", "4-6")
    profile = SeedProfile.objects.get(run__name="mel")
    assert profile.counterpart.name == "nev" and profile.extra_psi == [0.5, 0.7]
    assert pub.extra_psi == [0.5, 0.7] and pub.morph_pairs == [[4, 5], [5, 6]]


@pytest.mark.parametrize("args, message", [
    (["--run", "ghost", "--seeds", "0-3"], "--run: no run named 'ghost'"),
    (["--run", "mel", "--seeds", "5-1"], "--seeds: '5-1' runs backwards"),
    (["--run", "mel", "--seeds", "a-b"], "--seeds: 'a-b' is not a seed or a range"),
    (["--run", "mel", "--seeds", "0-200000"], "--seeds: 200001 seeds in one publication"),
    (["--run", "mel", "--seeds", "0-3", "--psi", "x"], "--psi: 'x' is not a number"),
    (["--run", "mel", "--seeds", "0-3", "--extra-psi", "0.5,9"], "--extra-psi: 9 is outside"),
    (["--run", "mel", "--seeds", "0-3", "--extra-psi", "\u0660.\u0665"], "--extra-psi: .* is not a number"),
    (["--run", "mel", "--seeds", "0-3", "--psi", "nan"], "--psi: 'nan' is not a number"),
    (["--run", "mel", "--seeds", "0-3", "--morph", "0:9"], "--morph: '0:9' needs two different seeds inside"),
    (["--run", "mel", "--seeds", "0-3", "--counterpart", "mel"], "--counterpart: no other run named 'mel'"),
    (["--run", "mel", "--seeds", "0-3", "--morph-frames", "1"], "--morph-frames: 1 is outside"),
    (["--run", "mel", "--seeds", "0-3", "--morph-frames", "x"], "--morph-frames: must be a whole number >= 1"),
])
def test_bad_requests_get_a_one_line_error_and_create_nothing(media_root, args, message):
    make_run("mel", media_root)
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("publish_seeds", *args, "--now", "-v", "0")
    assert not Publication.objects.exists() and not SeedProfile.objects.exists()


def test_a_run_without_a_checkpoint_is_refused(media_root):
    run = make_run("mel", media_root)
    run.latest_checkpoint = ""
    run.save()
    with pytest.raises(CommandError, match="--run: 'mel' has no checkpoint yet"):
        call_command("publish_seeds", "--run", "mel", "--seeds", "0-3", "--now")


def test_a_queued_publication_goes_on_the_gpu_queue_once_the_transaction_commits(media_root,
                                                                                 django_capture_on_commit_callbacks):
    from seeds import jobs

    run = make_run("mel", media_root)
    pub = services.create_publication(run=run, seeds="0-1")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_id = jobs.enqueue_publication(pub)
    assert len(callbacks) == 1 and Publication.objects.get(id=pub.id).status == "queued", "nothing before commit"
    with django_capture_on_commit_callbacks(execute=True):  # commit (django-rq defers its own enqueue too)
        callbacks[0]()  # without Redis the job runs in-process on the fake queue
    pub.refresh_from_db()
    assert pub.job_id == job_id and pub.status == "done" and pub.done == 2


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_publication_job_runs_on_a_real_rq_worker(redis_url, media_root):
    from seeds import jobs
    from tests.conftest import real_queue, run_burst_worker

    run = make_run("mel", media_root)
    pub = services.create_publication(run=run, seeds="0-2")
    job = real_queue("gpu", redis_url).enqueue(jobs.publish_seeds, pub.id, job_timeout=jobs.PUBLISH_TIMEOUT_S)
    run_burst_worker("gpu", media_root, redis_url)
    job.refresh()
    assert job.is_finished and job.return_value() == "done", (job.get_status(), job.latest_result())
    pub.refresh_from_db()
    assert pub.status == "done" and pub.done == 3 and pub.job_id == job.id
    assert (keys.root() / keys.image_path(pub.checkpoint_sha256, 1.0, "const", "seed0002.webp")).is_file()


def test_a_publication_reports_done_of_total_on_its_row_its_job_and_its_caller_in_one_shape(media_root):
    class Job:
        id, meta = "job-1", {}

        def save_meta(self):
            pass

    run, heard, job = make_run("mel", media_root), [], Job()
    pub = services.create_publication(run=run, seeds="0-9")
    assert services.publish(publication_id=pub.id, job_id=job.id, job=job, progress=heard.append) == "done"
    pub.refresh_from_db()
    assert heard[0] == {"done": 0, "total": 10} and heard[-1] == {"done": 10, "total": 10}
    assert job.meta["progress"] == {"done": 10, "total": 10} and (pub.done, pub.total) == (10, 10)


def test_a_publisher_whose_row_was_taken_over_writes_no_progress_on_it(media_root):
    run = make_run("mel", media_root)
    pub = services.create_publication(run=run, seeds="0-3")
    assert Publication.claim(pub.id, "job-a")
    old = Publication.objects.get(id=pub.id)
    publisher = services.Publisher(old)
    Publication.objects.filter(id=pub.id).update(owner="elsewhere:2", job_id="job-b", done=0)
    publisher.advance(4)
    assert Publication.objects.get(id=pub.id).done == 0, "the new holder's count is its own"
