"""Plain helpers that make a small site's rows directly (no training, no download): datasets with
thumbnails and failures, a failed and a done GAN run with a sample grid, a benchmark with a cell."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from classifier.models import Benchmark, Evaluation, Experiment
from classifier.services import DEFAULT_SETTINGS
from datasets.models import Dataset, ImageRecord
from generator.models import Checkpoint, TrainingRun
from tests.datasets.factory import make_dataset, make_row

SERVER_DIR = "/work/main/var/media/private-run-folder"
TRACEBACK = ("Traceback (most recent call last):\n"
             f'  File "{SERVER_DIR}/generator/gan/train.py", line 120, in run\n'
             "    raise FileNotFoundError(path)\n"
             f"FileNotFoundError: [Errno 2] No such file or directory: '{SERVER_DIR}/weights.pt'")
LONG = "LESION130k-melanoma-and-nevus-crops-at-512px-second-version"  # 59 characters and no space


def job_failure(reason: str, detail: str = TRACEBACK) -> dict:
    """The error fields of a failed job: a short reason for anyone, the traceback for staff."""
    return {"error": reason, "error_detail": detail}


def make_photo(path: Path, seed: int = 0, size=(96, 72)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def make_image_dataset(media_root: Path, name: str, ok: int = 4, source: str = "") -> Dataset:
    """`ok` downloaded rows of both labels with crops on disk, one failed row whose detail holds a
    server path and a traceback, one pending row."""
    dataset = make_dataset(name)
    Dataset.objects.filter(id=dataset.id).update(source=source or f"{SERVER_DIR}/{name}.csv")
    for i in range(ok):
        relative = f"datasets/{name}/{i}.png"
        make_photo(media_root / relative, seed=i)
        make_row(dataset, str(i + 1), f"https://images.example.org/{i}.jpg", label=("nevus", "melanoma")[i % 2],
                 status=ImageRecord.Status.OK, file=relative, width=96, height=72, sha256=f"{i:02d}" * 32)
    make_row(dataset, str(ok + 1), "https://images.example.org/bad.jpg", status=ImageRecord.Status.FAILED,
             failure_reason="internal-error",
             failure_detail=f"OSError: cannot write {SERVER_DIR}/crop.png\n{TRACEBACK}")
    make_row(dataset, str(ok + 2), "https://images.example.org/later.jpg")
    dataset.refresh_from_db()
    return dataset


def make_run(dataset: Dataset, name: str, status: str = TrainingRun.Status.DONE, **fields) -> TrainingRun:
    config = {"gan": {"resolution": 32}, "train": {"freeze_d": 0}}
    return TrainingRun.objects.create(name=name, dataset=dataset, config_name="tiny", config=config, status=status,
                                      total_kimg=1.0, **fields)


def make_done_run_with_grid(media_root: Path, dataset: Dataset, name: str) -> TrainingRun:
    grid = f"gan-runs/{name}/grid-000001.png"
    make_photo(media_root / grid, seed=7, size=(128, 128))
    run = make_run(dataset, name, kimg=1.0, latest_grid=grid, init_checkpoint=f"{SERVER_DIR}/start.pt",
                   latest_checkpoint=f"{SERVER_DIR}/{name}/network-000001.pt", losses={"G": 1.2, "D": 0.6},
                   loss_history=[[0.5, {"G": 1.5, "D": 0.7}], [1.0, {"G": 1.2, "D": 0.6}]])
    Checkpoint.objects.create(run=run, kimg=1.0, path=run.latest_checkpoint, grid=grid)
    return run


def metrics(auc: float) -> dict:
    interval = [round(auc - 0.1, 3), round(auc + 0.05, 3)]
    at_05 = {"auc": auc, "auc_ci": interval, "n": 4, "tp": 1234, "fn": 56, "fp": 78, "tn": 9012,
             "roc": {"fpr": [0, 0, 0.5, 1], "tpr": [0, 0.5, 1, 1]}}
    for name in ("acc", "sens", "spec", "ppv", "npv"):
        at_05[name], at_05[f"{name}_ci"] = auc, interval
    return {"at_05": at_05, "at_youden": {"threshold": 0.42, "sens": 0.8, "spec": 0.7, "acc": 0.75}}


def make_benchmark(train: Dataset, test: Dataset, name: str = "table-2", repeats: int = 2) -> Benchmark:
    """A benchmark of one cell (train -> test) with `repeats` done experiments, plus a failed one."""
    setting = dict(DEFAULT_SETTINGS)
    benchmark = Benchmark.objects.create(name=name, rows=[train.name], tests=[test.name], repeats=repeats,
                                         settings=setting)
    scores = [[r.id, int(r.label == "melanoma"), 0.3 + 0.1 * i] for i, r in enumerate(test.images.ok())]
    for repeat in range(repeats):
        experiment = make_experiment(train, setting, repeat, status=Experiment.Status.DONE)
        Evaluation.objects.create(experiment=experiment, test_dataset=test, done=True, n=len(scores),
                                  auc=0.8 + 0.02 * repeat, metrics=metrics(0.8 + 0.02 * repeat), scores=scores)
    make_experiment(train, {**setting, "weights": f"{SERVER_DIR}/weights.pt"}, 0, status=Experiment.Status.FAILED,
                    **job_failure("FileNotFoundError: weights.pt"))
    return benchmark


def make_experiment(train: Dataset, setting: dict, repeat: int, **fields) -> Experiment:
    experiment = Experiment.objects.create(train_key=train.name, repeat=repeat, seed=repeat, epoch=setting["epochs"],
                                           history=[{"epoch": 1, "loss": 0.6, "images_per_s": 50.0, "seconds": 3.0}],
                                           **setting, **fields)
    experiment.train_datasets.set([train])
    return experiment


def make_site(media_root: Path) -> dict:
    """Every kind of page with data: two datasets, a failed and a done run, a benchmark with a cell."""
    train = make_image_dataset(media_root, LONG)
    test = make_image_dataset(media_root, "MED-NODE-test", ok=3)
    done = make_done_run_with_grid(media_root, train, "pretrain-tiny")
    failed = make_run(train, "fine-tune-melanoma", status=TrainingRun.Status.FAILED, label="melanoma", parent=done,
                      **job_failure("FileNotFoundError: weights.pt"))
    benchmark = make_benchmark(train, test)
    make_answered_turing_sets(media_root / "turing-sources")
    return {"train": train, "test": test, "done": done, "failed": failed, "benchmark": benchmark}


def make_answered_turing_sets(folder: Path) -> None:
    """Turing sets with a few simulated participants, so that the score and results pages have data."""
    import random

    from tests.turing.factory import make_sets
    from turing.demo import simulate

    rng = random.Random(0)
    for turing_set in make_sets(folder)[:2]:
        for i in range(3):
            simulate(turing_set, rng, ip=f"192.0.2.{turing_set.number * 10 + i}", careless=i == 2)
