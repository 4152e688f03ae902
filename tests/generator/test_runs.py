"""The generator's Django side: train_gan, generate, project, morph, cancel, resume, the run pages."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from datasets.models import Dataset
from generator import services
from generator.models import Generation, TrainingRun
from tests.conftest import REPO, real_queue, run_burst_worker, subprocess_env
from tests.generator.factory import KIMG, train

pytestmark = pytest.mark.django_db


def test_train_gan_now_trains_a_run_and_records_its_progress(dataset):
    run = train(dataset="lesions", label="melanoma", gamma=0.3)
    assert run.status == "done" and run.kimg >= KIMG
    assert run.config["train"]["gamma"] == 0.3 and run.config["gan"]["resolution"] == 32
    assert Path(run.latest_checkpoint).is_file() and run.checkpoints.count() >= 1
    assert run.latest_grid.startswith("gan-runs/run1/") and run.heartbeat is not None
    prepared = Path(run.out_dir).parents[1] / "gan-data" / "lesions" / "melanoma-32px" / "melanoma"
    assert len(list(prepared.glob("*.png"))) == 8, "only the asked label, squared and resized, cached"
    assert Image.open(next(prepared.glob("*.png"))).size == (32, 32)


def test_naming_a_finished_run_again_continues_it_to_more_kimg(dataset):
    run = train(dataset="lesions")
    first = run.latest_checkpoint
    call_command("train_gan", "--name", "run1", "--kimg", str(2 * KIMG), "--now")
    run.refresh_from_db()
    assert run.status == "done" and run.kimg >= 2 * KIMG and run.latest_checkpoint != first
    with pytest.raises(CommandError, match="already trained"):
        call_command("train_gan", "--name", "run1", "--now")


def test_a_fine_tune_starts_from_its_parent_with_frozen_layers(dataset):
    train(dataset="lesions")
    child = train("child", dataset="lesions", label="nevus", resume="run1", freeze_d=3)
    parent = TrainingRun.objects.get(name="run1")
    assert child.parent.name == "run1" and child.init_checkpoint == parent.latest_checkpoint
    assert child.config["train"]["freeze_d"] == 3 and child.status == "done"


def test_train_gan_now_trains_in_two_processes_like_one(dataset):
    # Rank 0 is this process: it records progress, checkpoints and heartbeats; the other is spawned (gloo).
    run = train("duo", dataset="lesions", processes=2)
    assert run.status == "done" and run.kimg >= KIMG and run.config["processes"] == 2
    assert Path(run.latest_checkpoint).is_file() and run.checkpoints.count() >= 1 and run.heartbeat is not None
    assert json.loads((Path(run.out_dir) / "config.json").read_text())["world_size"] == 2


def test_a_cancel_stops_every_process_of_a_run(dataset):
    run = services.create_run(name="c2", dataset=dataset, config_name="tiny", overrides={"kimg": 10.0},
                              processes=2)
    TrainingRun.objects.filter(id=run.id).update(cancel_requested=True)
    assert services.train_run(run_id=run.id, job_id="j1") == "cancelled"  # returns: no process waits on
    run.refresh_from_db()
    assert run.status == "cancelled" and Path(run.latest_checkpoint).is_file()


def test_a_fine_tune_may_start_from_a_checkpoint_file(dataset):
    parent = train(dataset="lesions")
    child = train("child", dataset="lesions", resume=parent.latest_checkpoint)
    assert child.parent is None and child.init_checkpoint == parent.latest_checkpoint and child.status == "done"


def test_bad_requests_get_clear_errors(dataset):
    with pytest.raises(CommandError, match="--dataset: no dataset named 'nope'"):
        train(dataset="nope")
    with pytest.raises(CommandError, match="--label: lesions has no downloaded images labelled 'x'"):
        train(dataset="lesions", label="x")
    with pytest.raises(CommandError, match="--resume: no run named 'ghost'"):
        train(dataset="lesions", resume="ghost")
    with pytest.raises(CommandError, match="batch"):
        train(dataset="lesions", batch=0)
    with pytest.raises(CommandError, match="--processes: batch: 8 images over 3 processes"):
        train(dataset="lesions", processes=3)
    assert not TrainingRun.objects.exists()


def test_a_cancelled_run_stops_and_keeps_a_checkpoint(dataset):
    run = services.create_run(name="c", dataset=dataset, config_name="tiny", overrides={"kimg": 10.0})
    TrainingRun.objects.filter(id=run.id).update(cancel_requested=True)
    assert services.train_run(run_id=run.id, job_id="j1") == "cancelled"
    run.refresh_from_db()
    assert run.status == "cancelled" and Path(run.latest_checkpoint).is_file()


def test_a_job_run_twice_trains_once_and_a_retried_job_resumes(dataset):
    run = services.create_run(name="r", dataset=dataset, config_name="tiny", overrides={"kimg": KIMG})
    assert services.train_run(run_id=run.id, job_id="job-a") == "done"
    assert services.train_run(run_id=run.id, job_id="job-b") == "skipped", "a finished run is not trained again"
    # The worker died mid-run: RQ retries the same job id, which resumes from the last checkpoint.
    TrainingRun.objects.filter(id=run.id).update(status="running", config={
        **run.config, "train": {**run.config["train"], "kimg": 2 * KIMG}}, total_kimg=2 * KIMG)
    assert services.train_run(run_id=run.id, job_id="job-b") == "skipped", "another job may not take a live run"
    assert services.train_run(run_id=run.id, job_id="job-a") == "done"
    run.refresh_from_db()
    assert run.kimg >= 2 * KIMG and run.checkpoints.count() >= 2


def test_generate_project_and_morph_through_the_commands(dataset, tmp_path, capsys):
    train(dataset="lesions", label="melanoma")
    call_command("generate", "--run", "run1", "--seeds", "0-5,9", "--out", str(tmp_path / "gan"), "--as", "GAN7",
                 "--now", "-v", "0")
    synthetic = Dataset.objects.get(name="GAN7")
    assert synthetic.kind == "synthetic" and synthetic.images.ok().count() == 7
    assert set(synthetic.images.values_list("label", flat=True)) == {"melanoma"}
    assert (tmp_path / "gan" / "melanoma" / "seed0009.png").is_file()
    again = tmp_path / "again"
    call_command("generate", "--run", "run1", "--seeds", "9", "--out", str(again), "--as", "again", "--now", "-v", "0")
    assert (again / "melanoma" / "seed0009.png").read_bytes() == (tmp_path / "gan/melanoma/seed0009.png").read_bytes()

    target = tmp_path / "gan" / "melanoma" / "seed0003.png"
    call_command("project", "--run", "run1", "--target", str(target), "--steps", "6", "--out", str(tmp_path / "p"),
                 "-v", "0")
    assert "projected" in capsys.readouterr().out and (tmp_path / "p" / "projected_w.npz").is_file()
    call_command("morph", "--run", "run1", "--source", "3", "--target", str(tmp_path / "p" / "projected_w.npz"),
                 "--frames", "4", "--out", str(tmp_path / "m"))
    assert sorted(p.name for p in (tmp_path / "m").glob("frame*.png")) == [f"frame000{i}.png" for i in range(4)]
    for source in ("x.npz", "²"):
        with pytest.raises(CommandError, match="--source"):
            call_command("morph", "--run", "run1", "--source", source, "--target", "1", "--out", str(tmp_path / "m"))


def test_generate_here_keeps_its_request_on_a_row_and_a_cancel_stops_it_between_batches(dataset, tmp_path,
                                                                                          monkeypatch):
    from generator import generations

    train(dataset="lesions", label="melanoma")
    call_command("generate", "--run", "run1", "--seeds", "0-2", "--out", str(tmp_path / "a"), "--as", "A",
                 "--batch", "2", "-v", "0")  # no Redis in the tests: it runs here, as with --now
    done = Generation.objects.get(dataset_name="A")
    assert (done.status, done.batch, done.done, done.total, done.job_id) == ("done", 2, 3, 3, f"now-{done.id}")
    assert done.summary["dataset"] == "A" and done.owner and done.finished_at is not None

    cancel_after_first_batch = generations.GenerationProgress.__call__

    def cancelled_meanwhile(self, info):
        if info["done"] == 1:
            self.row.request_cancel()
        cancel_after_first_batch(self, info)

    monkeypatch.setattr(generations.GenerationProgress, "__call__", cancelled_meanwhile)
    with pytest.raises(CommandError, match="cancelled after 1 images"):
        call_command("generate", "--run", "run1", "--seeds", "0-3", "--out", str(tmp_path / "b"), "--as", "B",
                     "--batch", "1", "--now", "-v", "0")
    stopped = Generation.objects.get(dataset_name="B")
    assert (stopped.status, stopped.done) == ("cancelled", 1)
    assert sorted(p.name for p in (tmp_path / "b").rglob("*.png")) == ["seed0000.png"]
    assert not Dataset.objects.filter(name="B").exists(), "a cancelled generation registers nothing"


def test_generate_refuses_a_bad_request_before_creating_a_row(dataset, tmp_path):
    train(dataset="lesions")
    for flags, message in ((["--seeds", "x"], "--seeds"), (["--seeds", "1", "--as", "../x"], "--as"),
                           (["--seeds", "1", "--class", "3"], "--class")):
        with pytest.raises(CommandError, match=message):
            call_command("generate", "--run", "run1", "--out", str(tmp_path / "o"), *flags, "--now")
    assert not Generation.objects.exists()


def test_gan_metrics_without_inception_weights_reports_labelled_kid_never_fid(dataset, capsys, client):
    train(dataset="lesions")
    call_command("gan_metrics", "--run", "run1", "--images", "16")
    out, err = capsys.readouterr()
    assert "FID is not computed" in err and "FID" not in out.split("(")[0]
    assert "KID on random-conv-v1 features, not FID" in out
    entry = TrainingRun.objects.get(name="run1").metrics[-1]
    assert entry["fid"] is None and entry["num_images"] == 16
    assert "not FID" in client.get(reverse("generator:run", args=["run1"])).content.decode()
    with pytest.raises(CommandError, match="--inception-weights"):
        call_command("gan_metrics", "--run", "run1", "--inception-weights", "/no/such/file.pth")


def test_the_run_pages_show_progress_samples_and_losses(dataset, client, admin_client):
    run = train(dataset="lesions")
    page = client.get(reverse("generator:run", args=["run1"])).content.decode()
    assert "polyline" in page and reverse("generator:run_grid", args=["run1"]) in page and "done" in page
    assert client.get(reverse("generator:run_grid", args=["run1"]))["Content-Type"] == "image/png"
    status = json.loads(client.get(reverse("generator:run_status", args=["run1"])).content)
    assert status["status"] == "done" and status["kimg"] == run.kimg
    assert "run1" in client.get(reverse("generator:runs")).content.decode()
    assert client.post(reverse("generator:cancel", args=["run1"])).status_code == 302  # to the login page
    assert admin_client.get(f"/admin/generator/trainingrun/{run.id}/change/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_training_job_runs_on_a_real_rq_worker(dataset, redis_url, media_root):
    from generator import jobs

    run = services.create_run(name="queued", dataset=dataset, config_name="tiny", overrides={"kimg": KIMG})
    job = real_queue("gpu", redis_url).enqueue(jobs.train_gan, run.id, job_timeout=jobs.TRAIN_TIMEOUT_S)
    run_burst_worker("gpu", media_root, redis_url)
    job.refresh()
    assert job.is_finished, job.get_status()
    run.refresh_from_db()
    assert run.status == "done" and run.job_id == job.id and run.kimg >= KIMG
    assert job.get_meta()["progress"]["kimg"] >= KIMG, "progress also goes to job.meta"


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_work_horse_is_killed_is_retried_and_resumes(dataset, redis_url, media_root):
    """SIGKILL the forked job process mid-run: RQ retries the job, which resumes from the checkpoint."""
    import signal
    import time

    from rq import Retry

    from generator import jobs

    run = services.create_run(name="killed", dataset=dataset, config_name="tiny",
                              overrides={"kimg": 0.4, "checkpoint_every_kimg": 0.04})
    job = real_queue("gpu", redis_url).enqueue(jobs.train_gan, run.id, job_timeout=jobs.TRAIN_TIMEOUT_S,
                                               retry=Retry(max=2))
    env = subprocess_env(media_root, REDIS_URL=redis_url)
    worker = subprocess.Popen([sys.executable, "manage.py", "rqworker", "gpu", "--burst"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not run.checkpoints.exists():
        assert worker.poll() is None and time.monotonic() < deadline, "no checkpoint before the kill"
        time.sleep(0.1)
    horse = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert horse, "the worker runs each job in a forked work-horse"
    killed_at = TrainingRun.objects.get(id=run.id).kimg
    os.kill(int(horse[0]), signal.SIGKILL)
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    run.refresh_from_db()
    assert run.status == "done" and run.kimg >= 0.4
    assert killed_at < 0.4, "the kill landed mid-run"
    resumed_from = json.loads((run.out_dir / "config.json").read_text())["resume_from"]
    assert resumed_from and "checkpoint-" in resumed_from, "the retried job resumed from a checkpoint"
    assert job.id == run.job_id


@pytest.mark.parametrize(("device", "processes"), [(None, 2), ("auto", 2), ("cuda", 2), ("cuda:1", 1), ("cpu", 1)])
def test_a_run_uses_every_gpu_only_for_a_device_that_names_none(dataset, monkeypatch, device, processes):
    """"auto" is common.devices' name for the default, as None is: both mean every GPU of the host."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    run = services.create_run(name="gpus", dataset=dataset, config_name="tiny", overrides={"kimg": KIMG})
    assert services.training_processes(run, device) == processes
