"""Classifier workflows: plan experiments and benchmark cells, train, evaluate.

The pure package classifier.cnn trains and scores; these functions choose the data (datasets
exported once as DIR/<label>/ under MEDIA_ROOT/cnn-data), record progress and results, and make
a benchmark matrix out of experiments that can be skipped when already done. torch is imported
inside the functions that train or score (see generator.services for why).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from cansite.jobs import ProgressWriter as JobProgressWriter
from cansite.jobs import drive
from cansite.status import JobStatus
from datasets.export import export_dataset, export_target
from datasets.models import Dataset

from .models import Benchmark, Evaluation, Experiment, train_key

DEFAULT_SETTINGS = {"arch": "tf_efficientnet_lite0", "weights": "imagenet-lite0", "recipe": "reference",
                    "epochs": 30, "batch": 64, "lr": 0.001, "img_size": 224}


class ExperimentError(ValueError):
    """A request that cannot be run as asked; the message names the flag or dataset."""


def parse_spec(spec: str, *, flag: str = "--train") -> list[Dataset]:
    """'asan+snu+pad' -> those datasets; each must exist and have images."""
    names = [name.strip() for name in spec.split("+") if name.strip()]
    if not names:
        raise ExperimentError(f"{flag}: empty training set in {spec!r}")
    datasets = []
    for name in names:
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is None:
            raise ExperimentError(f"{flag}: no dataset named {name!r}")
        if not dataset.images.ok().exists():
            raise ExperimentError(f"{flag}: dataset {name!r} has no downloaded images")
        datasets.append(dataset)
    return datasets


def resolve_settings(**overrides) -> dict:
    values = {**DEFAULT_SETTINGS, **{k: v for k, v in overrides.items() if v is not None}}
    if values["weights"] not in ("", "imagenet-lite0") and not Path(values["weights"]).is_file():
        raise ExperimentError(f"--pretrained-weights: {values['weights']} does not exist")
    for name in ("epochs", "batch", "img_size"):
        if int(values[name]) < 1:
            raise ExperimentError(f"--{name.replace('_', '-')}: must be positive")
    if values["recipe"] not in ("reference", "strong"):
        raise ExperimentError("--recipe: 'reference' or 'strong'")
    return values


def experiment_for(datasets: list[Dataset], setting: dict, repeat: int, seed_base: int = 0) -> Experiment:
    """The experiment for this training set, setting and repeat: found, or created queued."""
    key = train_key(d.name for d in datasets)
    experiment, created = Experiment.objects.get_or_create(
        train_key=key, repeat=repeat, **{k: setting[k] for k in DEFAULT_SETTINGS},
        defaults={"seed": seed_base + repeat})
    if created:
        experiment.train_datasets.set(datasets)
    return experiment


def plan_experiments(*, train_specs: list[str], tests: list[str], repeats: int, setting: dict) -> list[Experiment]:
    """Experiments and evaluations for a matrix; a test set inside a union is left out of it."""
    test_sets = [parse_spec(name, flag="--test")[0] for name in tests]
    planned: dict[int, Experiment] = {}
    for spec in train_specs:
        datasets = parse_spec(spec)
        for test in test_sets:
            trained_on = [d for d in datasets if d.id != test.id]
            if not trained_on:
                continue  # a set tested on itself alone: no cell
            for repeat in range(repeats):
                experiment = experiment_for(trained_on, setting, repeat)
                Evaluation.objects.get_or_create(experiment=experiment, test_dataset=test)
                planned[experiment.id] = experiment
    return list(planned.values())


def create_benchmark(*, name: str, train_specs: list[str], tests: list[str], repeats: int, setting: dict):
    experiments = plan_experiments(train_specs=train_specs, tests=tests, repeats=repeats, setting=setting)
    benchmark, _ = Benchmark.objects.update_or_create(
        name=name, defaults={"rows": train_specs, "tests": tests, "repeats": repeats, "settings": setting})
    return benchmark, experiments


def needs_work(experiment: Experiment) -> bool:
    return experiment.status != JobStatus.DONE or experiment.evaluations.filter(done=False).exists()


def image_folder(dataset: Dataset, *, beat=None) -> Path:
    """The dataset as DIR/<label>/<file>, exported once and refreshed when images change."""
    folder = Path(settings.MEDIA_ROOT) / "cnn-data" / dataset.name
    export_dataset(dataset=dataset, dest=folder, progress=beat)
    return folder


def run_experiment(*, experiment_id: int, job_id: str = "", job=None, device: str = "auto") -> str:
    """Train (or resume) an experiment, then run its pending evaluations; may run twice."""
    from classifier.cnn.train import TrainingAborted

    if not needs_work(Experiment.objects.get(id=experiment_id)):
        return "skipped"

    def work(experiment: Experiment) -> bool:
        if not experiment.checkpoint or not Path(experiment.checkpoint).is_file():
            train_experiment(experiment, job=job, device=device)
        for evaluation in experiment.evaluations.filter(done=False).select_related("test_dataset"):
            evaluate(evaluation, device=device, beat=experiment.beat)
        return True

    # A done experiment is taken again when evaluations were added to it later.
    return drive(Experiment, experiment_id, job_id, work, also=Q(status=JobStatus.DONE), stopped=(TrainingAborted,))


def train_experiment(experiment: Experiment, *, job=None, device: str = "auto") -> None:
    from classifier.cnn.train import TrainConfig, train

    cfg = TrainConfig(arch=experiment.arch, weights=experiment.weights or None, recipe=experiment.recipe,
                      epochs=experiment.epochs, batch=experiment.batch, lr=experiment.lr,
                      img_size=experiment.img_size, seed=experiment.seed, device=device)
    dirs = [image_folder(d, beat=experiment.beat) for d in experiment.train_datasets.order_by("name")]
    started = time.monotonic()
    result = train(cfg, dirs, experiment.out_dir, progress_fn=ProgressWriter(experiment, job),
                   abort_fn=experiment.cancel_flag())
    experiment.checkpoint, experiment.youden_threshold = result["checkpoint"], result.get("youden_threshold")
    experiment.start_weights, experiment.history = result.get("weights", {}), result.get("history", [])
    experiment.train_seconds = time.monotonic() - started
    experiment.save(update_fields=["checkpoint", "youden_threshold", "start_weights", "history", "train_seconds"])


def evaluate(evaluation: Evaluation, *, device: str = "auto", beat=None) -> Evaluation:
    """Score every image of the test set; keep the metrics and each image's probability.
    `beat` is called as work progresses (the experiment's heartbeat, when run as its job)."""
    from classifier.cnn.evaluate import evaluate as cnn_evaluate

    folder = image_folder(evaluation.test_dataset, beat=beat)
    record_of = {str(export_target(folder, r, False).resolve()): r.id for r in evaluation.test_dataset.images.ok()}
    result = cnn_evaluate(evaluation.experiment.checkpoint, folder, device=device,
                          cache_dir=Path(settings.MEDIA_ROOT) / "cnn-cache", progress_fn=beat)
    evaluation.metrics = {"at_05": result["at_05"], "at_youden": result["at_youden"],
                          "youden_threshold": result["youden_threshold"]}
    evaluation.auc, evaluation.n = result["at_05"]["auc"], result["n"]
    evaluation.scores = [[record_of.get(str(Path(p["path"]).resolve())), p["label"], round(p["prob"], 6)]
                         for p in result["predictions"]]
    evaluation.done, evaluation.error = True, ""
    evaluation.save()
    return evaluation


class ProgressWriter(JobProgressWriter):
    """progress_fn for training: epoch, loss and images/s on the row (at most once a second); in the
    other phases (decoding the image cache, the threshold) the heartbeat alone."""

    fields = ("epoch", "loss", "images_per_s")
    meta = ("epoch", "epochs", "step", "loss", "images_per_s")
    every_s = 1.0

    def records(self, info: dict) -> bool:
        return info.get("phase") == "train"
