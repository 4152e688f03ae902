"""Publishing seeds: validate a request into a queued Publication, then render it as a job.

    pub = create_publication(run=run, seeds="0-4999", psi=1.0, extra_psi="0.5,0.7", morph="0-99:next")
    publish(publication_id=pub.id, job_id="...")     # in a worker (seeds.jobs) or in-process

Rendering skips every image whose file exists for the same key (checkpoint sha256 + psi + noise mode
+ seed), so a re-publication and a job run twice do only what is missing. torch is imported inside
`publish` only (through seeds.rendering).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from cansite.jobs import CountProgress, drive
from common.files import atomic_write_bytes, sha256_of
from common.seeds import MAX_SEEDS, SeedError
from common.seeds import parse_seed_range as common_seed_range
from generator.models import Checkpoint, TrainingRun
from generator.services import RunError, checkpoint_of

from . import keys
from .imaging import png_bytes, webp_bytes
from .models import NOISE_MODES, Publication, SeedProfile

PSI_RANGE = (-2.0, 2.0)
MORPH_FRAMES_RANGE = (2, 60)
BATCH = 8  # seeds rendered between progress writes; each is still rendered alone (the canonical render)


class PublishError(ValueError):
    """A publication cannot be made as asked; the message names the flag."""


def parse_seed_range(text: str, flag: str = "--seeds") -> tuple[int, int]:
    """'0-4999' -> (0, 4999); '7' -> (7, 7) (the grammar of common.seeds, one range)."""
    try:
        return common_seed_range(text)
    except SeedError as exc:
        raise PublishError(f"{flag}: {exc}") from None


def parse_psi(value, flag: str) -> float:
    try:  # ASCII only, as common.flags reads numbers: float() alone also takes '٠.٥'
        psi = float(value) if str(value).isascii() else math.nan
    except (TypeError, ValueError):
        psi = math.nan
    if not math.isfinite(psi):
        raise PublishError(f"{flag}: {value!r} is not a number") from None
    if not PSI_RANGE[0] <= psi <= PSI_RANGE[1]:
        raise PublishError(f"{flag}: {psi:g} is outside [{PSI_RANGE[0]:g}, {PSI_RANGE[1]:g}]")
    return round(psi, 4)


def parse_psi_list(text: str, flag: str = "--extra-psi") -> list[float]:
    return list(dict.fromkeys(parse_psi(part, flag) for part in text.split(",") if part.strip()))


def parse_morph(text: str, lo: int, hi: int, flag: str = "--morph") -> list[list[int]]:
    """'0-9:next,3:42' -> [[0, 1], ..., [8, 9], [9, 10], [3, 42]] with both ends inside [lo, hi]."""
    pairs: list[list[int]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        left, sep, right = item.partition(":")
        if not sep:
            raise PublishError(f"{flag}: {item!r} is not a pair like 3:42 or a range like 0-9:next")
        if right == "next":
            a_lo, a_hi = parse_seed_range(left, flag)
            pairs += [[a, a + 1] for a in range(max(a_lo, lo), min(a_hi, hi - 1) + 1)]
            continue
        (a, _), (b, _) = parse_seed_range(left, flag), parse_seed_range(right, flag)
        if a == b or not (lo <= a <= hi and lo <= b <= hi):
            raise PublishError(f"{flag}: {item!r} needs two different seeds inside --seeds {lo}-{hi}")
        pairs.append([a, b])
    return [list(p) for p in dict.fromkeys(tuple(p) for p in pairs)]


def checkpoint_kimg(run: TrainingRun, path: str) -> float:
    row = Checkpoint.objects.filter(run=run, path=path).values_list("kimg", flat=True).first()
    return float(row if row is not None else run.kimg)


@dataclass
class ProfileChange:
    counterpart: str | None = None
    extra_psi: str | None = None
    morph: str | None = None
    morph_frames: int | None = None


def updated_profile(run: TrainingRun, change: ProfileChange) -> SeedProfile:
    """The run's profile with the asked changes applied (not saved yet), validated."""
    profile = SeedProfile.objects.filter(run=run).first() or SeedProfile(run=run)
    if change.counterpart is not None:
        other = TrainingRun.objects.filter(name=change.counterpart).first() if change.counterpart else None
        if change.counterpart and (other is None or other.pk == run.pk):
            raise PublishError(f"--counterpart: no other run named {change.counterpart!r}")
        profile.counterpart = other
    if change.extra_psi is not None:
        profile.extra_psi = parse_psi_list(change.extra_psi)
    if change.morph is not None:
        profile.morph = change.morph.strip()
    if change.morph_frames is not None:
        if not MORPH_FRAMES_RANGE[0] <= change.morph_frames <= MORPH_FRAMES_RANGE[1]:
            raise PublishError(f"--morph-frames: {change.morph_frames} is outside {MORPH_FRAMES_RANGE}")
        profile.morph_frames = change.morph_frames
    return profile


def create_publication(*, run: TrainingRun, seeds: str, psi: float = 1.0, noise_mode: str = "const",
                       change: ProfileChange | None = None) -> Publication:
    """Validate everything, then save the profile and a queued publication (nothing when a check fails)."""
    lo, hi = parse_seed_range(seeds)
    if hi - lo + 1 > MAX_SEEDS:
        raise PublishError(f"--seeds: {hi - lo + 1} seeds in one publication; at most {MAX_SEEDS}")
    psi = parse_psi(psi, "--psi")
    if noise_mode not in NOISE_MODES:
        raise PublishError(f"--noise-mode: {noise_mode!r} is not one of {', '.join(NOISE_MODES)}")
    try:
        checkpoint = checkpoint_of(run)
    except RunError as exc:
        raise PublishError(str(exc)) from None
    profile = updated_profile(run, change or ProfileChange())
    pairs = parse_morph(profile.morph, lo, hi)
    refuse_turing_seeds(run, lo, hi)
    with transaction.atomic():
        profile.save()
        return Publication.objects.create(
            run=run, checkpoint=checkpoint, kimg=checkpoint_kimg(run, checkpoint), resolution=run.resolution,
            seed_lo=lo, seed_hi=hi, psi=psi, extra_psi=[p for p in profile.extra_psi if p != psi],
            noise_mode=noise_mode, morph_pairs=pairs, morph_frames=profile.morph_frames)


def refuse_turing_seeds(run: TrainingRun, lo: int, hi: int) -> None:
    """A seed page labelled "synthetic" would give away the truth of a live Turing set's image made from
    that seed: refuse, naming them (turing.exposure has the matching rule)."""
    from turing.exposure import live_synthetic_seeds  # turing asks seeds too: imported when called

    used = live_synthetic_seeds(run.label, lo, hi)
    if used:
        raise PublishError(f"--seeds: {len(used)} of seeds {lo}-{hi} are synthetic images of live Turing sets "
                           f"({', '.join(used[:5])}{', ...' if len(used) > 5 else ''}): publish seeds the sets "
                           "do not use")


def publish(*, publication_id: int, job_id: str = "", job=None, device=None,
            progress: Callable[[dict], None] | None = None) -> str:
    """Render a claimed publication; returns its final status ("skipped" when another holds it).
    `progress` gets what the row gets: {"done": images so far, "total": images}."""

    def work(pub: Publication) -> bool:
        if not Path(pub.checkpoint).is_file():
            raise PublishError(f"checkpoint {Path(pub.checkpoint).name} of run {pub.run.name} is gone")
        pub.checkpoint_sha256 = sha256_of(pub.checkpoint, pub.beat)
        Publication.objects.filter(pub.held()).update(checkpoint_sha256=pub.checkpoint_sha256)
        return Publisher(pub, device, CountProgress(pub, job, also=progress)).run()

    return drive(Publication, publication_id, job_id, work, related=("run",))


class Publisher:
    """Walks a publication's images in order, rendering only the missing ones, batch by batch."""

    def __init__(self, pub: Publication, device=None, progress: Callable[[dict], None] | None = None):
        self.pub, self.device = pub, device
        self.progress = progress or CountProgress(pub)
        self.abort = pub.cancel_flag()
        self.renderer = None  # loaded on the first missing image: a complete re-publish needs no model
        self.done = 0
        seeds = pub.seed_count
        self.total = seeds * (1 + len(pub.extra_psi)) + len(pub.morph_pairs) * pub.morph_frames

    def run(self) -> bool:
        self.progress({"done": 0, "total": self.total})
        seeds = list(range(self.pub.seed_lo, self.pub.seed_hi + 1))
        for psi in [self.pub.psi, *self.pub.extra_psi]:
            for start in range(0, len(seeds), BATCH):
                if self.abort():
                    return False
                self.seed_batch(seeds[start:start + BATCH], psi)
        for a, b in self.pub.morph_pairs:
            if self.abort():
                return False
            self.morph_pair(a, b)
        return True

    def path(self, psi: float, name: str) -> Path:
        return keys.root() / keys.image_path(self.pub.checkpoint_sha256, psi, self.pub.noise_mode, name)

    def render(self):
        if self.renderer is None:
            from .rendering import Renderer

            self.renderer = Renderer(self.pub.checkpoint, self.device)
        return self.renderer

    def seed_batch(self, batch: list[int], psi: float) -> None:
        # The page image is written last: when it exists, both files are complete.
        missing = [s for s in batch if not self.path(psi, keys.seed_file(s, "webp")).is_file()]
        if missing:
            images = self.render().seeds(missing, psi=psi, noise_mode=self.pub.noise_mode)
            for seed, image in zip(missing, images):
                atomic_write_bytes(self.path(psi, keys.seed_file(seed, "png")), png_bytes(image))
                atomic_write_bytes(self.path(psi, keys.seed_file(seed, "webp")), webp_bytes(image))
        self.advance(len(batch))

    def morph_pair(self, a: int, b: int) -> None:
        frames = self.pub.morph_frames
        paths = [self.path(self.pub.psi, keys.morph_file(a, b, i)) for i in range(frames)]
        if not all(p.is_file() for p in paths):
            images = self.render().morph(a, b, frames=frames, psi=self.pub.psi, noise_mode=self.pub.noise_mode)
            for path, image in zip(paths, images):
                atomic_write_bytes(path, webp_bytes(image))
        self.advance(frames)

    def advance(self, count: int) -> None:
        self.done += count
        self.progress({"done": self.done, "total": self.total})
