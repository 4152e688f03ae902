"""One job lifecycle (cansite.status.JobRecord) for GAN runs and CNN experiments: claim, heartbeat,
staleness with a dead-owner check, cancel, and how a failure is recorded."""
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.db.models import QuerySet
from django.test import RequestFactory
from django.utils import timezone

from cansite.status import JobStatus, public_reason
from classifier.admin import ExperimentAdmin
from classifier.models import Experiment
from generator import services
from generator.models import TrainingRun
from tests.conftest import REPO, subprocess_env
from tests.generator.factory import KIMG

pytestmark = pytest.mark.django_db


class FakeClock:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_run(dataset, name="r", **overrides) -> TrainingRun:
    return services.create_run(name=name, dataset=dataset, config_name="tiny", overrides={"kimg": KIMG, **overrides})


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def hold(run, *, owner: str, silent_for: timedelta = timedelta(0), job_id="old-job") -> None:
    TrainingRun.objects.filter(id=run.id).update(status="running", owner=owner, job_id=job_id,
                                                 heartbeat=timezone.now() - silent_for)
    run.refresh_from_db()


def test_a_queued_row_is_claimed_once_and_the_same_job_may_take_it_again(dataset):
    run = make_run(dataset)
    assert TrainingRun.claim(run.id, "job-a")
    assert not TrainingRun.claim(run.id, "job-b"), "a live holder keeps its row"
    assert TrainingRun.claim(run.id, "job-a"), "RQ's retry of the same job takes it back"
    run.refresh_from_db()
    assert run.owner == f"{socket.gethostname()}:{os.getpid()}" and run.started_at is not None


def test_a_holder_killed_on_this_machine_is_seen_dead_at_once(dataset):
    run = make_run(dataset)
    hold(run, owner=f"{socket.gethostname()}:{dead_pid()}")
    assert run.is_stale(), "a fresh heartbeat from a dead process counts for nothing"
    assert TrainingRun.claim(run.id, "job-b")


def test_a_holder_on_another_machine_is_stale_only_after_five_silent_minutes(dataset):
    run = make_run(dataset)
    hold(run, owner="elsewhere:1", silent_for=timedelta(minutes=4))
    assert not run.is_stale() and not TrainingRun.claim(run.id, "job-b")
    hold(run, owner="elsewhere:1", silent_for=timedelta(minutes=6))
    assert run.is_stale() and TrainingRun.claim(run.id, "job-b")


def test_two_claimers_of_a_stale_row_never_both_win(dataset, monkeypatch):
    """The second claimer judged the row stale from what it read, but the first took it meanwhile."""
    run = make_run(dataset)
    hold(run, owner="elsewhere:1", silent_for=timedelta(hours=1))
    stale_copy = TrainingRun.objects.get(id=run.id)
    assert TrainingRun.claim(run.id, "job-a")
    first = QuerySet.first

    def read_the_old_row(self):
        row = first(self)
        return stale_copy if row is not None and row.id == run.id else row

    monkeypatch.setattr(type(TrainingRun.objects.all()), "first", read_the_old_row)
    assert not TrainingRun.claim(run.id, "job-b")
    monkeypatch.undo()
    assert TrainingRun.objects.get(id=run.id).job_id == "job-a"


def test_a_run_preparing_its_data_keeps_its_heartbeat_so_a_second_start_is_refused(dataset, monkeypatch):
    """Exporting and resizing LESION130k takes longer than the stale window: the export must beat."""
    run = make_run(dataset)
    seen = {}
    real_export = services.export_dataset

    def slow_export(**kwargs):
        # As if the claim happened half an hour ago and the export had been running since.
        TrainingRun.objects.filter(id=run.id).update(heartbeat=timezone.now() - timedelta(minutes=30))
        summary = real_export(**kwargs)
        during = TrainingRun.objects.get(id=run.id)
        seen["stale"] = during.is_stale()
        seen["second claim"] = TrainingRun.claim(run.id, "second-job")
        with pytest.raises(services.RunError, match="is running"):
            services.continue_run(during, kimg=1.0)
        return summary

    monkeypatch.setattr(services, "export_dataset", slow_export)
    assert services.train_run(run_id=run.id, job_id="job-a") == "done"
    assert seen == {"stale": False, "second claim": False}


def test_an_experiment_decoding_its_cache_keeps_its_heartbeat():
    from classifier.services import ProgressWriter

    experiment = make_experiment(status="running", owner="h:1", heartbeat=timezone.now() - timedelta(minutes=30))
    ProgressWriter(experiment)({"phase": "cache", "done": 1, "images": 10})
    experiment.refresh_from_db()
    assert timezone.now() - experiment.heartbeat < timedelta(seconds=5)


def make_experiment(**fields) -> Experiment:
    defaults = {"train_key": "A", "arch": "tf_efficientnet_lite0", "weights": "", "epochs": 1, "batch": 8,
                "lr": 0.001, "seed": 0, "repeat": Experiment.objects.count()}
    return Experiment.objects.create(**{**defaults, **fields})


def test_the_experiment_admin_cancels_queued_experiments_at_once_and_asks_running_ones_to_stop(admin_user):
    queued, running = make_experiment(), make_experiment(status="running", owner="elsewhere:1",
                                                         heartbeat=timezone.now())
    request = RequestFactory().post("/admin/")
    request.user, request._messages = admin_user, type("M", (), {"add": lambda *a, **k: None})()
    ExperimentAdmin(Experiment, site).cancel(request, Experiment.objects.all())
    queued.refresh_from_db(), running.refresh_from_db()
    assert queued.status == "cancelled" and queued.finished_at is not None
    assert running.status == "running" and running.cancel_requested


def test_cancelling_a_run_whose_holder_died_cancels_it_at_once(dataset):
    run = make_run(dataset)
    hold(run, owner=f"{socket.gethostname()}:{dead_pid()}")
    assert run.request_cancel()
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_a_holder_that_lost_its_row_to_another_stops(dataset):
    run = make_run(dataset)
    assert TrainingRun.claim(run.id, "job-a")
    run.refresh_from_db()
    clock = FakeClock()
    abort = run.cancel_flag(clock=clock)
    assert not abort()
    TrainingRun.objects.filter(id=run.id).update(owner="elsewhere:2")
    assert not abort(), "the flag reads the database at most once a second"
    clock.now += 1.0
    assert abort(), "a process whose row was taken over must stop, not train beside the new holder"


def test_a_failure_shows_visitors_one_safe_line_and_staff_the_traceback(dataset, monkeypatch):
    run = make_run(dataset)

    def broken(**kwargs):
        with open("/work/secret/place/data.bin"):
            pass

    monkeypatch.setattr(services, "export_dataset", broken)
    with pytest.raises(FileNotFoundError):
        services.train_run(run_id=run.id, job_id="j")
    run.refresh_from_db()
    assert run.status == "failed" and "\n" not in run.error and "/work/secret" not in run.error
    assert run.error.startswith("FileNotFoundError") and "'data.bin'" in run.error
    assert "Traceback" in run.error_detail and "/work/secret/place/data.bin" in run.error_detail


def test_public_reason_keeps_messages_without_paths_and_shortens_long_ones():
    assert public_reason(ValueError("kimg must be > 0")) == "ValueError: kimg must be > 0"
    assert public_reason(RuntimeError("")) == "RuntimeError"
    assert len(public_reason(ValueError("x" * 1000))) == 300
    assert public_reason(ValueError("first line\nsecond line")) == "ValueError: first line"


@pytest.mark.django_db(transaction=True)
def test_a_train_gan_now_killed_with_kill_9_can_be_continued_at_once(dataset, media_root):
    env = subprocess_env(media_root)
    trainer = subprocess.Popen([sys.executable, "manage.py", "train_gan", "--name", "k", "--dataset", "lesions",
                                "--config", "tiny", "--kimg", "50", "--now"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not TrainingRun.objects.filter(name="k", status="running").exists():
        assert trainer.poll() is None and time.monotonic() < deadline, trainer.stderr and trainer.stderr.read()
        time.sleep(0.1)
    os.kill(trainer.pid, signal.SIGKILL)
    trainer.wait()
    call_command("train_gan", "--name", "k", "--kimg", str(KIMG), "--now")
    run = TrainingRun.objects.get(name="k")
    assert run.status == JobStatus.DONE and Path(run.latest_checkpoint).is_file()


def test_a_holder_whose_row_was_taken_over_writes_nothing_on_the_new_holders_row(dataset):
    run = make_run(dataset)
    assert TrainingRun.claim(run.id, "job-a")
    old = TrainingRun.objects.get(id=run.id)
    TrainingRun.objects.filter(id=run.id).update(owner="elsewhere:2", job_id="job-b", heartbeat=None)
    old.beat(force=True)
    assert not old.finish(JobStatus.CANCELLED), "the old holder's ending is not recorded"
    row = TrainingRun.objects.get(id=run.id)
    assert (row.status, row.job_id, row.heartbeat, row.finished_at) == ("running", "job-b", None, None)


def test_every_job_admin_offers_cancel_and_shows_the_jobs_own_fields_read_only(rf, admin_user):
    from cansite.status import JobRecord

    job_admins = {model: a for model, a in site._registry.items() if issubclass(model, JobRecord)}
    assert {m.__name__ for m in job_admins} >= {"TrainingRun", "Experiment", "Publication", "Generation",
                                                "DownloadRun"}
    request = rf.get("/admin/")
    request.user = admin_user
    for model, model_admin in job_admins.items():
        readonly = set(model_admin.get_readonly_fields(request))
        assert readonly >= {"job_id", "owner", "error", "error_detail", "heartbeat", "started_at", "finished_at"}, \
            model.__name__
        assert "cancel" in model_admin.get_actions(request), model.__name__


def test_ctrl_c_in_a_job_run_here_is_recorded_as_its_failure(dataset):
    """A `--now` run stopped with Ctrl-C does not leave its row running for a holder that is leaving."""
    from cansite.jobs import drive

    run = make_run(dataset)

    def interrupted(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drive(TrainingRun, run.id, "now-1", interrupted)
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "KeyboardInterrupt") and run.finished_at is not None

