"""`generate` as a job: a Generation row holds the request (validated before it exists), and the job
samples it into its folder and registers the folder as a synthetic dataset.

    generation = create_generation(run=run, seeds="0-2499", out_dir="/data/gan5000", batch=32)
    jobs.GENERATE.submit(generation, now=False, here=...)      # or generate(generation_id=...) here
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cansite.jobs import CountProgress, JobCancelled, drive

from .models import Generation, TrainingRun
from .outputs import check_output_folder, class_choice, generate_samples, parse_seeds
from .services import checkpoint_of


def create_generation(*, run: TrainingRun, seeds: str, out_dir: str | Path, psi: float = 1.0,
                      noise_mode: str = "const", dataset_name: str | None = None, batch: int = 16,
                      class_value: str | None = None) -> Generation:
    """Check every argument (RunError naming the flag), then create the queued row."""
    count = len(parse_seeds(seeds))
    name = dataset_name or run.name
    check_output_folder(Path(out_dir), name)
    class_choice(run, class_value)
    checkpoint_of(run)
    return Generation.objects.create(run=run, seeds=seeds, out_dir=str(out_dir), psi=psi, noise_mode=noise_mode,
                                     dataset_name=name, batch=batch, class_value=class_value or "", total=count)


class GenerationProgress(CountProgress):
    """Images done on the row after each batch; a cancel stops the sampling between batches."""

    def __init__(self, row: Generation, job=None, also: Callable[[dict], object] | None = None):
        super().__init__(row, job, also=also)
        self.abort = row.cancel_flag()

    def __call__(self, info: dict) -> None:
        super().__call__(info)
        if self.abort():
            raise JobCancelled(f"generation {self.row.pk} cancelled")


def generate(*, generation_id: int, job_id: str = "", job=None, device=None,
             progress: Callable[[dict], None] | None = None) -> str:
    """Sample a claimed Generation; returns its final status ("skipped" when another holds it).
    A retried job samples the seeds again: the same seeds give the same images."""

    def work(generation: Generation) -> bool:
        summary = generate_samples(run=generation.run, seeds=parse_seeds(generation.seeds),
                                   out_dir=Path(generation.out_dir), psi=generation.psi,
                                   noise_mode=generation.noise_mode, dataset_name=generation.dataset_name,
                                   batch_size=generation.batch, device=device,
                                   class_value=generation.class_value or None,
                                   progress=GenerationProgress(generation, job, progress))
        generation.summary = summary.as_dict()
        Generation.objects.filter(generation.held()).update(summary=generation.summary)
        return True

    return drive(Generation, generation_id, job_id, work, related=("run",), stopped=(JobCancelled,))
