"""The classifier's part of `make demo`: a short Table-2 benchmark of real against synthetic
training sets on the demo datasets (four epochs at 64 px, two repeats: a minute or two on a CPU)."""
from __future__ import annotations

from . import services

ROWS = ["DEMO", "DEMO-GAN", "DEMO+DEMO-GAN"]
TESTS = ["DEMO-TEST", "DEMO"]


def demo_step(*, write, epochs: int = 4, repeats: int = 2) -> None:
    setting = services.resolve_settings(epochs=epochs, batch=16, img_size=64)
    _benchmark, experiments = services.create_benchmark(name="demo", train_specs=ROWS, tests=TESTS,
                                                       repeats=repeats, setting=setting)
    todo = [e for e in experiments if services.needs_work(e)]
    write(f"benchmark demo: {len(experiments)} experiments, {len(todo)} to run")
    for i, experiment in enumerate(todo, 1):
        status = services.run_experiment(experiment_id=experiment.id, job_id=f"demo-{experiment.id}")
        write(f"  [{i}/{len(todo)}] {experiment.train_key} repeat {experiment.repeat}: {status}")
