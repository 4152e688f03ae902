"""Build the Turing test sets: draw images, re-encode them alike, store them under random tokens.

`build_turing_sets()` is deterministic for a seed (which source images go in which set); the
tokens are random. Each set is class-balanced (melanoma, nevus) inside its real half and inside
its synthetic half, and no source image is in two sets unless `reuse`. A synthetic image whose seed a
public seed page shows is left out and named (turing/exposure.py); `synthetic_seeds` keeps the
synthetic half to the seeds a researcher holds back from the seed pages. Each set also gets
`catch` catch trials (settings.TURING_ATTENTION_CATCH by default): a test pattern drawn by code
(turing/catch.py), encoded and padded like the rest and stored as kind "catch". Everything is
checked and encoded in memory before anything is written; a rebuild archives the current builds
(their participants and answers stay, exportable) and refuses when they have answers unless `force`.
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.files import atomic_write_bytes
from common.labels import MELANOMA, NEVUS
from common.seeds import Seeds, parse_seeds
from datasets.download.imaging import ImageFailure
from datasets.models import Dataset, ImageRecord

from . import catch, encoding, exposure
from .models import Answer, Feedback, Kind, Truth, TuringImage, TuringSet
from .tokens import new_token

CLASSES = (MELANOMA, NEVUS)  # in this order: odd sets get the extra melanoma
FILE_DIR = "turing"
CATCH_ORIGIN = "test-pattern"


class BuildError(ValueError):
    """The build was refused; nothing was written."""


@dataclass
class BuildOptions:
    real: list[str]
    synthetic: list[str]
    sets: int = 19
    per_set: int = 20
    real_fraction: float = 0.5
    seed: int = 0
    feedback: str = Feedback.END
    side: int = 256
    reuse: bool = False
    force: bool = False
    catch: int | None = None  # catch trials per set; None: settings.TURING_ATTENTION_CATCH
    synthetic_seeds: str = ""  # e.g. "50-99": only synthetic images named by these seeds; "": any


@dataclass
class Drawn:
    record: ImageRecord | None  # None for a catch pattern
    truth: str
    label: str
    jpeg: bytes
    kind: str = Kind.LESION
    pattern: str = ""  # a catch pattern's name

    @property
    def origin(self) -> tuple[str, str]:
        """(dataset, item) for truth.csv and the answers: a catch pattern's origin is the code that drew it."""
        if self.record is None:
            return CATCH_ORIGIN, self.pattern
        return self.record.dataset.name, self.record.no


@dataclass
class BuildSummary:
    sets: list[dict] = field(default_factory=list)  # number, images, composition
    archived: int = 0
    archived_answers: int = 0
    skipped: list[str] = field(default_factory=list)  # unreadable sources, replaced by the next draw
    excluded: list[str] = field(default_factory=list)  # synthetic images whose seeds a public seed page shows
    file_bytes: int = 0


def validate(options: BuildOptions) -> None:
    checks = [
        (options.sets >= 1, f"--sets: {options.sets} must be at least 1"),
        (options.per_set >= 2, f"--per-set: {options.per_set} must be at least 2"),
        (0 < options.real_fraction < 1, f"--real-fraction: {options.real_fraction} must lie strictly between 0 and 1"),
        (options.feedback in Feedback.values,
         f"--feedback: {options.feedback!r} is not one of {', '.join(Feedback.values)}"),
        (32 <= options.side <= 2048, f"--side: {options.side} must lie between 32 and 2048"),
        (0 <= options.catch <= options.per_set,
         f"TURING_ATTENTION_CATCH: {options.catch} must lie between 0 and --per-set ({options.per_set})"),
        (bool(options.real), "--real: name at least one dataset"),
        (bool(options.synthetic), "--synthetic: name at least one dataset"),
    ]
    for ok, message in checks:
        if not ok:
            raise BuildError(message)
    n_real = half_sizes(options)[0]
    if not 1 <= n_real < options.per_set:
        raise BuildError(f"--real-fraction: {options.real_fraction} of {options.per_set} leaves a half empty")
    synthetic_seeds(options)


def synthetic_seeds(options: BuildOptions) -> Seeds | None:
    """The --synthetic-seeds list, or None when any seed will do."""
    if not options.synthetic_seeds.strip():
        return None
    try:
        return parse_seeds(options.synthetic_seeds)
    except ValueError as exc:
        raise BuildError(f"--synthetic-seeds: {exc}") from None


def kind_refusal(flag: str, dataset: Dataset) -> str:
    if flag == "--synthetic":  # a real folder set: say how generated images imported as a folder are marked
        return (f"--synthetic: {dataset.name} is a {dataset.kind} dataset of real images; a folder of generated "
                f"images is imported with import_folder --synthetic")
    return f"--real: {dataset.name} is a synthetic dataset, not real images"


def synthetic_usable(record: ImageRecord, seeds: Seeds | None, published: list, excluded: list[str]) -> bool:
    """Whether a synthetic image may go in a set: within --synthetic-seeds, and on no public seed page
    (those are named in `excluded`)."""
    seed = exposure.record_seed(record)
    if seeds is not None and (seed is None or not any(seed in r for r in seeds.ranges)):
        return False
    if exposure.is_published(record, published):
        excluded.append(f"{record.dataset.name}/{record.no}")
        return False
    return True


def half_sizes(options: BuildOptions) -> tuple[int, int]:
    n_real = round(options.per_set * options.real_fraction)
    return n_real, options.per_set - n_real


def class_counts(n: int, set_index: int) -> dict[str, int]:
    """Split a half of n images between the classes; an odd one goes to each class in turn."""
    extra = n % 2
    first = CLASSES[set_index % 2]
    return {label: n // 2 + (extra if label == first else 0) for label in CLASSES}


def pools(options: BuildOptions, excluded: list[str]) -> dict[tuple[str, str], list[ImageRecord]]:
    """Usable records by (truth, class), in a fixed order so that a seed means the same draw."""
    result: dict[tuple[str, str], list[ImageRecord]] = {(t, c): [] for t in Truth.values for c in CLASSES}
    seeds, published = synthetic_seeds(options), exposure.published_ranges()
    halves = ((Truth.REAL, options.real, "--real"), (Truth.SYNTHETIC, options.synthetic, "--synthetic"))
    for truth, names, flag in halves:
        for name in names:
            dataset = Dataset.objects.filter(name=name).first()
            if dataset is None:
                raise BuildError(f"{flag}: no dataset named {name!r}")
            if (dataset.kind == Dataset.Kind.SYNTHETIC) != (truth == Truth.SYNTHETIC):
                raise BuildError(kind_refusal(flag, dataset))
            for record in dataset.images.ok().select_related("dataset").order_by("no"):
                source = record.image_source()  # labels were normalised at import (common.labels)
                if record.label not in CLASSES or source is None or not source.exists():
                    continue
                if truth == Truth.REAL or synthetic_usable(record, seeds, published, excluded):
                    result[(truth, record.label)].append(record)
    return result


def needs(options: BuildOptions) -> list[dict[tuple[str, str], int]]:
    """For each set, how many images of each (truth, class)."""
    n_real, n_syn = half_sizes(options)
    per_set = []
    for index in range(options.sets):
        counts = {(Truth.REAL.value, c): n for c, n in class_counts(n_real, index).items()}
        counts.update({(Truth.SYNTHETIC.value, c): n for c, n in class_counts(n_syn, index + 1).items()})
        per_set.append(counts)
    return per_set


def check_supply(options: BuildOptions, supply: dict, demand: list[dict], excluded: list[str]) -> None:
    for key, records in supply.items():
        wanted = max(d[key] for d in demand) if options.reuse else sum(d[key] for d in demand)
        if wanted > len(records):
            flag = "--real" if key[0] == Truth.REAL else "--synthetic"
            left_out = (f"; {len(excluded)} left out because a public seed page shows their seeds, "
                        f"e.g. {excluded[0]}") if excluded and key[0] == Truth.SYNTHETIC else ""
            raise BuildError(f"{flag}: {len(records)} usable {key[1]} images, {options.sets} sets of "
                             f"{options.per_set} need {wanted}{'' if options.reuse else ' (or pass --reuse)'}"
                             f"{left_out}")


def check_answers(force: bool) -> tuple[list[TuringSet], int]:
    current = list(TuringSet.objects.current())
    answers = Answer.objects.filter(participant__turing_set__in=current).count()
    if answers and not force:
        answered = sorted({s.number for s in current if Answer.objects.filter(participant__turing_set=s).exists()})
        raise BuildError(f"sets {', '.join(map(str, answered))} already have {answers} answers: pass --force to "
                         "archive them (they are kept and stay exportable)")
    return current, answers


def draw(options: BuildOptions, supply: dict, demand: list[dict], summary: BuildSummary,
         progress: Callable[[int, int], None] | None = None) -> list[list[Drawn]]:
    rng = random.Random(options.seed)
    shuffled = {key: rng.sample(records, len(records)) for key, records in sorted(supply.items())}
    cursor = dict.fromkeys(shuffled, 0)
    drawn: list[list[Drawn]] = []
    total, done = sum(sum(d.values()) for d in demand), 0
    for counts in demand:
        if options.reuse:  # each set draws afresh from the whole pool, never twice within itself
            shuffled = {key: rng.sample(records, len(records)) for key, records in sorted(supply.items())}
            cursor = dict.fromkeys(shuffled, 0)
        images: list[Drawn] = []
        for key, n in sorted(counts.items()):
            for _ in range(n):
                images.append(next_readable(key, shuffled, cursor, options, summary))
                done += 1
                if progress:
                    progress(done, total)
        rng.shuffle(images)  # row ids follow this order: keep them from grouping by truth
        drawn.append(images)
    return drawn


def next_readable(key, shuffled, cursor, options: BuildOptions, summary: BuildSummary) -> Drawn:
    records = shuffled[key]
    while cursor[key] < len(records):
        record = records[cursor[key]]
        cursor[key] += 1
        try:
            jpeg = encoding.encode_square(record.image_source(), options.side)
        except ImageFailure as exc:
            summary.skipped.append(f"{record}: {exc.reason}")
            continue
        return Drawn(record=record, truth=key[0], label=key[1], jpeg=jpeg)
    flag = "--real" if key[0] == Truth.REAL else "--synthetic"
    raise BuildError(f"{flag}: too few readable {key[1]} images ({len(summary.skipped)} unreadable)")


def add_catch_trials(options: BuildOptions, drawn: list[list[Drawn]]) -> None:
    """Put `options.catch` test patterns among each set's images, at seeded places in the row order
    (the order participants see is drawn for each of them when they start)."""
    rng = random.Random(f"catch:{options.seed}")  # its own stream: the lesion draw stays what it was
    for index, images in enumerate(drawn):
        for k in range(options.catch):
            name, pixels = catch.pattern(index + k, options.side)
            image = Drawn(record=None, truth=Truth.SYNTHETIC, label="", kind=Kind.CATCH, pattern=name,
                          jpeg=encoding.encode_pixels(pixels, options.side))
            images.insert(rng.randint(0, len(images)), image)


def composition(images: list[Drawn]) -> dict:
    counts: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for image in (i for i in images if i.kind == Kind.LESION):
        counts[image.truth][image.record.dataset.name][image.label] += 1
    return {truth: {name: dict(labels) for name, labels in sorted(by_name.items())}
            for truth, by_name in sorted(counts.items())}


def build_turing_sets(*, options: BuildOptions, progress: Callable[[int, int], None] | None = None) -> BuildSummary:
    if options.catch is None:  # resolved here, so that the stored build options say what was built
        options = replace(options, catch=settings.TURING_ATTENTION_CATCH)
    validate(options)
    excluded: list[str] = []
    supply = pools(options, excluded)
    demand = needs(options)
    check_supply(options, supply, demand, excluded)
    current, answers = check_answers(options.force)
    summary = BuildSummary(archived=len(current), archived_answers=answers, excluded=excluded)
    drawn = draw(options, supply, demand, summary, progress)
    add_catch_trials(options, drawn)
    length = encoding.common_length([len(d.jpeg) for images in drawn for d in images])
    written = write_files(drawn, length)
    try:
        store(options, drawn, written, current, summary)
    except BaseException:
        for relative, _ in written:
            (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
        raise
    summary.file_bytes = length
    return summary


def write_files(drawn: list[list[Drawn]], length: int) -> list[tuple[str, str]]:
    """Write every padded file under a fresh token; returns (relative path, token) in draw order."""
    written = []
    for images in drawn:
        for image in images:
            token = new_token()
            relative = f"{FILE_DIR}/{token}.jpg"
            image.jpeg = encoding.pad(image.jpeg, length)
            atomic_write_bytes(Path(settings.MEDIA_ROOT) / relative, image.jpeg)
            written.append((relative, token))
    return written


@transaction.atomic
def store(options: BuildOptions, drawn, written, current: list[TuringSet], summary: BuildSummary) -> None:
    TuringSet.objects.filter(id__in=[s.id for s in current]).update(archived_at=timezone.now())
    files = iter(written)
    build = {k: v for k, v in asdict(options).items() if k != "force"}
    for number, images in enumerate(drawn, 1):
        parts = composition(images)
        turing_set = TuringSet.objects.create(number=number, feedback=options.feedback, seed=options.seed,
                                              composition=parts, build_options=build)
        rows = []
        for image in images:
            relative, token = next(files)
            origin_dataset, origin_item = image.origin
            rows.append(TuringImage(turing_set=turing_set, token=token, truth=image.truth, kind=image.kind,
                                    label=image.label, record=image.record, origin_dataset=origin_dataset,
                                    origin_item=origin_item, file=relative, bytes=len(image.jpeg),
                                    sha256=hashlib.sha256(image.jpeg).hexdigest()))
        TuringImage.objects.bulk_create(rows)
        catches = sum(image.kind == Kind.CATCH for image in images)
        summary.sets.append({"number": number, "images": len(rows) - catches, "catch": catches,
                             "composition": parts})
