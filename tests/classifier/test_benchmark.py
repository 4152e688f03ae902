"""The classifier's Django side: experiments, the benchmark matrix, the dashboard and its exports."""
import csv
import io
import json
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from classifier.models import Benchmark, Evaluation, Experiment, ReportedResult
from classifier.selectors import Cell
from datasets.services import import_folder
from tests.conftest import real_queue, run_burst_worker, shared_path

pytestmark = pytest.mark.django_db
FAST = ["--epochs", "1", "--batch", "8", "--img-size", "64", "--now"]


def lesion_subset(root, name: str, start: int, count: int):
    """A small folder-per-class set cut from the real MED-NODE photographs."""
    for label in ("melanoma", "nevus"):
        files = sorted(shared_path("lesions", label).iterdir())[start:start + count]
        (root / name / label).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / name / label / f.name)
    import_folder(path=root / name, name=name)


@pytest.fixture
def sets(tmp_path, media_root):
    lesion_subset(tmp_path, "A", 0, 6)
    lesion_subset(tmp_path, "B", 6, 6)
    lesion_subset(tmp_path, "C", 12, 5)


def test_train_classifier_trains_and_evaluates_with_every_metric(sets, capsys):
    call_command("train_classifier", "--train", "A,B", "--test", "C", *FAST)
    experiment = Experiment.objects.get()
    assert (experiment.train_key, experiment.status, experiment.epoch) == ("A+B", "done", 1)
    assert experiment.start_weights["name"] == "imagenet-lite0" and experiment.images_per_s > 0
    evaluation = experiment.evaluations.get()
    metrics = evaluation.metrics["at_05"]
    for key in ("auc", "auc_ci", "acc", "acc_ci", "sens", "sens_ci", "spec", "spec_ci", "ppv_ci", "npv_ci", "roc"):
        assert key in metrics
    assert evaluation.n == 10 and 0 <= evaluation.auc <= 1
    assert all(record_id is not None for record_id, _, _ in evaluation.scores), "each score maps to its image"
    assert "C: n=10 AUC" in capsys.readouterr().out


def test_the_benchmark_leaves_a_test_set_out_of_a_union_and_skips_done_cells(sets, capsys):
    args = ["run_benchmark", "--train", "A+B,B", "--test", "A,C", "--name", "t", *FAST]
    call_command(*args)
    assert sorted(Experiment.objects.values_list("train_key", flat=True)) == ["A+B", "B"]
    b_only = Experiment.objects.get(train_key="B")
    assert sorted(b_only.evaluations.values_list("test_dataset__name", flat=True)) == ["A", "C"]
    assert Evaluation.objects.filter(done=True).count() == 3
    call_command(*args)
    assert "2 experiments, 0 to run, 2 already done" in capsys.readouterr().out


def test_the_dashboard_shows_table_two_with_exports_and_reported_rows(sets, client):
    call_command("run_benchmark", "--train", "A+B,B", "--test", "A,C", "--name", "t", "--repeats", "2", *FAST)
    ReportedResult.objects.create(train_spec="CAN5600", test_name="C", auc=0.873, auc_sd=0.01)
    page = client.get(reverse("classifier:dashboard"), {"reference": "B"}).content.decode()
    assert "★" in page and "reported" in page and "0.873" in page and "p=" in page
    data = json.loads(client.get(reverse("classifier:export", args=["json"])).content)
    measured = [c for c in data["cells"] if c["kind"] == "measured" and c["repeats"]]
    assert {(c["row"], c["test"]) for c in measured} == {("A+B", "A"), ("A+B", "C"), ("B", "A"), ("B", "C")}
    assert all(c["repeats"] == 2 and c["ci_low"] <= c["mean_auc"] <= c["ci_high"] for c in measured)
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("classifier:export", args=["csv"])).content.decode())))
    assert {"measured", "reported"} == {r["kind"] for r in rows}
    cell = client.get(reverse("classifier:cell", args=["t"]), {"row": "A+B", "test": "C"}).content.decode()
    assert "polyline" in cell and "thumb.jpg" in cell and "Wilson" in cell
    experiment = Experiment.objects.first()
    assert client.get(reverse("classifier:experiment", args=[experiment.id])).status_code == 200


def test_evaluate_scores_a_saved_model_on_another_set(sets, capsys):
    call_command("train_classifier", "--train", "A", "--test", "B", *FAST)
    experiment = Experiment.objects.get()
    call_command("evaluate", "--experiment", str(experiment.id), "--test", "C")
    assert "on C: n=10 AUC" in capsys.readouterr().out
    assert experiment.evaluations.count() == 2


def test_a_cell_interval_is_the_t_interval_over_repeats():
    from scipy import stats

    cell = Cell("r", "t", aucs=[0.80, 0.84, 0.82])
    half = stats.t.ppf(0.975, 2) * 0.02 / 3 ** 0.5
    assert cell.ci == pytest.approx((0.82 - half, 0.82 + half))
    assert Cell("r", "t", aucs=[0.7], single_ci=[0.6, 0.8]).ci == (0.6, 0.8)


def test_bad_requests_get_clear_errors(sets):
    with pytest.raises(CommandError, match="--train: no dataset named 'nope'"):
        call_command("train_classifier", "--train", "nope", "--test", "C", *FAST)
    with pytest.raises(CommandError, match="--test: no dataset named 'X'"):
        call_command("run_benchmark", "--train", "A", "--test", "X", *FAST)
    with pytest.raises(CommandError, match="--pretrained-weights"):
        call_command("train_classifier", "--train", "A", "--test", "C", "--pretrained-weights", "/no/such.pt", *FAST)


def test_runs_from_scratch_are_marked_not_comparable(sets, client):
    call_command("run_benchmark", "--train", "A", "--test", "C", "--name", "scratch", "--from-scratch", *FAST)
    assert Experiment.objects.get().weights == ""
    assert "not comparable with the paper" in client.get(reverse("classifier:dashboard")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_run_benchmark_queues_experiments_that_a_real_rq_worker_runs(sets, redis_url, media_root, settings):
    """The command's queue branch (REDIS_URL set): enqueued through cansite.queues after commit."""
    settings.REDIS_URL = redis_url
    queue = real_queue("gpu", redis_url)
    call_command("run_benchmark", "--train", "A,B", "--test", "C", "--name", "q", *FAST[:-1])
    first, second = Experiment.objects.order_by("id")
    assert queue.count == 2 and first.status == "queued" and first.job_id
    assert second.request_cancel(), "a queued experiment is cancelled at once"
    run_burst_worker("gpu", media_root, redis_url)
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == "done" and first.evaluations.get().done
    assert second.status == "cancelled" and not second.checkpoint, "the worker skipped the cancelled one"
    assert queue.fetch_job(first.job_id).return_value() == "done"
    assert Benchmark.objects.get(name="q").rows == ["A", "B"]
