"""What a trained run makes: seeded samples registered as a synthetic dataset, projections, morphs.

Samples go to OUT/<label>/seedNNNN.png, so that the melanoma run and the nevus run can write one
GAN5000-style set between them, which the classifier and the Turing test then read like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from common.labels import normalise_label
from common.seeds import MAX_SEEDS, SeedError, Seeds
from common.seeds import parse_seeds as common_parse_seeds
from datasets.models import Dataset
from datasets.services import DatasetImportError, FolderSummary, import_folder, validated_name

from .models import TrainingRun
from .services import RunError, checkpoint_of, prepared_images, training_data_dir

SYNTHETIC_LABEL = "synthetic"


def parse_seeds(text: str) -> Seeds:
    """The seeds of a --seeds flag (kept as ranges), or RunError naming what is wrong with it.
    GAN5000 is 5,000 seeds; a set bigger than MAX_SEEDS is several requests."""
    try:
        seeds = common_parse_seeds(text)
    except SeedError as exc:
        raise RunError(f"--seeds: {exc}") from None
    if len(seeds) > MAX_SEEDS:
        raise RunError(f"--seeds: {len(seeds):,} seeds; at most {MAX_SEEDS:,} per request")
    return seeds


def check_output_folder_only(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise RunError(f"--out: {out_dir} is a file, not a folder")


def check_image(path: Path, flag: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise RunError(f"{flag}: {path} is not a readable image ({type(exc).__name__})") from None


def check_projected_w(path: Path, flag: str) -> None:
    """A projected_w.npz as `project` writes it: refuse anything else before loading a network."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            if "w" not in data.files:
                raise ValueError("no array named 'w'")
    except (OSError, ValueError, EOFError) as exc:
        raise RunError(f"{flag}: {path} is not a projected_w.npz from `project` ({exc})") from None


def check_output_folder(out_dir: Path, dataset_name: str) -> None:
    """Refuse a bad --out or --as before any image is written."""
    check_output_folder_only(out_dir)
    try:
        validated_name(dataset_name)
    except DatasetImportError as exc:
        raise RunError(f"--as: {exc}") from None
    existing = Dataset.objects.filter(name=dataset_name).exclude(kind=Dataset.Kind.SYNTHETIC).first()
    if existing is not None:
        raise RunError(f"--as: dataset {dataset_name!r} exists and is a {existing.kind} dataset, not a synthetic one")


def sample_label(run: TrainingRun, class_name: str | None = None) -> str:
    """The folder label of a sample: labels and class names were normalised when the run was made."""
    if class_name is not None:
        return class_name
    return run.label or SYNTHETIC_LABEL


def run_class_names(run: TrainingRun) -> list[str]:
    """A conditional run's class names in index order: an imported run's --classes, else the label
    folders its checkpoint was trained on, else the indices."""
    count = int(run.config["gan"].get("num_classes", 0))
    names = run.config.get("classes") or []
    if not names and run.latest_checkpoint:
        from generator.gan.checkpoint import load_checkpoint

        try:
            # A checkpoint file may predate the one label rule: its names are normalised as they come in.
            names = [normalise_label(str(n)) for n in load_checkpoint(checkpoint_of(run)).get("labels") or []]
        except (RunError, ValueError, OSError):
            names = []
    return [str(n) for n in names] if len(names) == count else [str(i) for i in range(count)]


def class_choice(run: TrainingRun, value: str | None) -> tuple[int | None, str | None]:
    """(index, name) that --class N|NAME picks; (None, None) for an unconditional run."""
    count = int(run.config["gan"].get("num_classes", 0))
    if not count:
        if value:
            raise RunError(f"--class: run {run.name!r} is unconditional (it has no classes)")
        return None, None
    names = run_class_names(run)
    choices = f"0-{count - 1} or one of {', '.join(names)}"
    if not value:
        raise RunError(f"--class: run {run.name!r} is class-conditional: pass --class {choices}")
    # ASCII digits only: "²".isdigit() is true, and int() refuses it (or a 5,000-digit number).
    is_index = value.isascii() and value.isdigit() and len(value) <= 6
    name = normalise_label(value)  # class names were normalised when the run was made
    index = int(value) if is_index else names.index(name) if name in names else None
    if index is None or index >= count:
        raise RunError(f"--class: {value!r} is not a class of run {run.name!r} ({choices})")
    return index, names[index]


def generate_samples(*, run: TrainingRun, seeds, out_dir: Path, psi: float = 1.0,
                     noise_mode: str = "const", dataset_name: str | None = None, batch_size: int = 16,
                     device=None, progress: Callable[[dict], None] | None = None,
                     class_value: str | None = None) -> FolderSummary:
    """Write the seeds' images (a common.seeds.Seeds) and register OUT as a synthetic dataset
    (named after the run). A conditional run's images are of class `class_value` and go to OUT/<class>/."""
    from generator.gan.sample import generate_images

    folder = Path(out_dir)
    check_output_folder(folder, dataset_name or run.name)
    class_idx, class_name = class_choice(run, class_value)
    generate_images(checkpoint_of(run), seeds, folder / sample_label(run, class_name), psi=psi,
                    noise_mode=noise_mode, class_idx=class_idx, batch_size=batch_size, device=device,
                    progress_fn=progress)
    summary = import_folder(path=folder, name=dataset_name or run.name, kind=Dataset.Kind.SYNTHETIC)
    Dataset.objects.filter(name=summary.dataset).update(
        description=f"Generated by run {run.name} ({run.config_name}, {run.kimg:g} kimg): psi {psi}, "
                    f"noise {noise_mode}, seeds {seeds} ({len(seeds)} images).")
    return summary


def project_image(*, run: TrainingRun, target: Path, out_dir: Path, steps: int = 1000, device=None,
                  progress: Callable[[dict], None] | None = None, class_value: str | None = None) -> dict:
    from generator.gan.project import project

    if not Path(target).is_file():
        raise RunError(f"--target: {target} does not exist")
    check_image(Path(target), "--target")
    check_output_folder_only(Path(out_dir))
    class_idx, _ = class_choice(run, class_value)
    return project(checkpoint_of(run), target, out_dir, steps=steps, class_idx=class_idx, device=device,
                   progress_fn=progress)


def morph_images(*, run: TrainingRun, source: str, target: str, out_dir: Path, frames: int = 30, psi: float = 1.0,
                 device=None, progress: Callable[[dict], None] | None = None, class_value: str | None = None) -> dict:
    from generator.gan.morph import is_seed, morph

    for flag, value in (("--source", source), ("--target", target)):
        if not is_seed(value) and not Path(value).is_file():
            raise RunError(f"{flag}: {value!r} is neither a seed nor a projected .npz file")
        if not is_seed(value):
            check_projected_w(Path(value), flag)
    check_output_folder_only(Path(out_dir))
    if frames < 2:
        raise RunError("--frames: need at least 2 (both ends are included)")
    class_idx, _ = class_choice(run, class_value)
    return morph(checkpoint_of(run), source, target, out_dir, frames=frames, psi=psi, class_idx=class_idx,
                 device=device, progress_fn=progress)


def measure_quality(*, run: TrainingRun, num_images: int = 1000, inception_weights: str = "", psi: float = 1.0,
                    device=None, real: Dataset | None = None, real_label: str = "",
                    class_value: str | None = None) -> dict:
    """FID and KID of the run's latest generator against its training images (or `real`, e.g. for an
    imported run), kept in its history. Without an Inception weights file: KID on a local
    extractor's features, labelled as such."""
    import tempfile

    from generator.gan.metrics import fid_kid
    from generator.gan.sample import generate_images

    if inception_weights and not Path(inception_weights).is_file():
        raise RunError(f"--inception-weights: {inception_weights} does not exist")
    if real is None and run.dataset_id is None:
        raise RunError(f"--real: {run.name!r} was imported from a snapshot: name a dataset of real images to "
                       "compare with")
    class_idx, class_name = class_choice(run, class_value)
    real_label = normalise_label(real_label) if real_label else ""  # as the dataset's labels were, at import
    folder = (prepared_images(real, real_label, run.resolution) if real is not None else training_data_dir(run))
    with tempfile.TemporaryDirectory(prefix="cansite-fake-") as fake:
        generate_images(checkpoint_of(run), range(num_images), fake, psi=psi, class_idx=class_idx, device=device)
        result = fid_kid(folder, fake, inception_weights or None, device=device)
    entry = {"kimg": round(run.kimg, 3), "num_images": num_images, "psi": psi, **result,
             **({"real": f"{real.name}{f'/{real_label}' if real_label else ''}"} if real is not None else {}),
             **({"class": class_name} if class_name else {})}
    TrainingRun.objects.filter(id=run.id).update(metrics=run.metrics + [entry])
    return entry
