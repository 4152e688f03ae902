"""Plain helpers that make Turing test data: real and synthetic datasets with image files, built sets,
participants with answers, and a visitor's requests (start, submit) through the test client."""
from __future__ import annotations

import random
import secrets
import zlib
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.utils import timezone
from PIL import Image

from datasets.models import Dataset, ImageRecord
from turing import services
from turing.building import BuildOptions, build_turing_sets
from turing.models import Answer, ConsentVersion, Participant, Showing, Study, TuringImage, TuringSet


def write_image(path: Path, seed: int, size: tuple[int, int], smooth: bool, fmt: str = "PNG") -> Path:
    """Real ones are noisy photographs of varying size; synthetic ones smooth squares (they compress better)."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(90, 220, 3)
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = base[None, None, :] * (1 - 0.3 * np.hypot(xx - width / 2, yy - height / 2)[:, :, None] / max(size))
    if not smooth:
        pixels = pixels + rng.normal(0, 25, (height, width, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, fmt)
    return path


def make_image_dataset(folder: Path, name: str, per_class: int, synthetic: bool = False,
                       labels=("melanoma", "nevus")) -> Dataset:
    kind = Dataset.Kind.SYNTHETIC if synthetic else Dataset.Kind.FOLDER
    dataset = Dataset.objects.create(name=name, kind=kind, source=str(folder / name))
    rows = []
    for label in labels:
        for i in range(per_class):
            seed = zlib.crc32(f"{name}{label}{i}".encode())
            size = (64, 64) if synthetic else (80 + 7 * i % 50, 60 + 5 * i % 40)
            # Folder names as the importers meet them; rows hold the label the import normalised them to.
            folder_label = {"melanoma": "MalignantMelanoma", "nevus": "naevus"}.get(label, label)
            path = write_image(folder / name / folder_label / f"{i:03d}.png", seed, size, smooth=synthetic)
            rows.append(ImageRecord(dataset=dataset, no=f"{label}-{i:03d}", label=label, source_path=str(path),
                                    status=ImageRecord.Status.OK, width=size[0], height=size[1]))
    ImageRecord.objects.bulk_create(rows)
    return dataset


def make_sources(folder: Path, real_per_class: int = 12, synthetic_per_class: int = 12) -> tuple[Dataset, Dataset]:
    return (make_image_dataset(folder, "REAL", real_per_class),
            make_image_dataset(folder, "GAN", synthetic_per_class, synthetic=True))


def options(**overrides) -> BuildOptions:
    values = {"real": ["REAL"], "synthetic": ["GAN"], "sets": 3, "per_set": 8, "seed": 1, "side": 48}
    values.update(overrides)
    return BuildOptions(**values)


def make_sets(folder: Path, **overrides) -> list[TuringSet]:
    make_sources(folder)
    build_turing_sets(options=options(**overrides))
    return list(TuringSet.objects.current().order_by("number"))


def showing_token(participant, position: int) -> str:
    """The token the participant's trial `position` was shown under (each trial has its own)."""
    return Showing.objects.get(participant=participant, position=position).token


JSON = {"HTTP_ACCEPT": "application/json"}


def make_participant_with_answers(turing_set, count: int, profile: str = "", ip: str = "10.0.0.1",
                                  answer=lambda image: "real") -> Participant:
    """A participant who answered the first `count` trials (all of them when count is None), each after 1 s."""
    participant = services.start_participant(turing_set=turing_set, ip=ip, profile=profile, rng=random.Random(count))
    for position in range(participant.total if count is None else count):
        image = TuringImage.objects.get(id=participant.order[position])
        Participant.objects.filter(id=participant.id).update(shown_at=timezone.now() - timedelta(seconds=1))
        services.submit_answer(public_id=participant.public_id, set_number=participant.turing_set.number,
                               position=position, token=showing_token(participant, position), answer=answer(image))
    participant.refresh_from_db()
    return participant


def start(client, q=1, **fields):
    return client.post("/turing/start/", {"q": q, "consent": "on", **fields})


def current(client, q=1) -> Participant:
    return Participant.objects.get(public_id=client.session["turing"][str(q)])


def submit(client, participant, answer="real", q=1, position=None, token=None, **extra):
    participant.refresh_from_db()
    position = participant.position if position is None else position
    token = token or showing_token(participant, position)
    return client.post("/turing/answer/", {"q": q, "position": position, "token": token, "answer": answer},
                       **extra)


# --- Studies, built directly (no flow, no image files): tests/turing/test_study_analysis.py ---------------

def make_study_set(number: int, truths: str) -> TuringSet:
    """A set build whose lesion images have the truths given one letter each, in id order: R real, S synthetic."""
    turing_set = TuringSet.objects.create(number=number, seed=number, feedback="end")
    for i, letter in enumerate(truths):
        truth = {"R": "real", "S": "synthetic"}[letter]
        TuringImage.objects.create(turing_set=turing_set, token=f"s{number}i{i}", truth=truth, label="nevus",
                                   origin_dataset="REAL" if letter == "R" else "GAN", origin_item=f"item-{i}",
                                   file=f"turing/s{number}i{i}.jpg", bytes=1000, sha256="0" * 64)
    return turing_set


def make_study_row(slug: str = "pilot", sets=(1,), conditions=("none", "each"), languages=("en", "ko"),
                   **fields) -> Study:
    study = Study.objects.create(slug=slug, title=f"Study {slug}", sets=list(sets), conditions=list(conditions),
                                 languages=list(languages), **fields)
    ConsentVersion.objects.create(study=study, number=1, text="consent", sha256="1" * 64)
    return study


def make_study_participant(study: Study, turing_set: TuringSet, answers: str, *, condition: str,
                           language: str = "en", panel_id: str = "", finished: bool = True, flagged: bool = False,
                           idle_minutes: int = 0) -> Participant:
    """A study participant who gave `answers` to the set's images in id order, one letter a trial:
    + right, - wrong, t timed out; trials past the string's end are not answered yet."""
    images = list(turing_set.images.order_by("id"))
    now = timezone.now()
    participant = Participant.objects.create(
        public_id=secrets.token_hex(8), turing_set=turing_set, order=[i.id for i in images], study=study,
        condition=condition, language=language, panel_id=panel_id, position=len(answers), flagged=flagged,
        consent_version=study.consent_versions.first(), consented_at=now, timed_out=answers.count("t"),
        last_seen=now - timedelta(minutes=idle_minutes), finished_at=now if finished else None)
    Showing.objects.bulk_create(Showing(participant=participant, position=i, image=image,
                                        token=secrets.token_hex(8)) for i, image in enumerate(images))
    other = {"real": "synthetic", "synthetic": "real"}
    Answer.objects.bulk_create(
        Answer(participant=participant, image=image, position=i, timed_out=letter == "t", response_ms=1500,
               answer={"+": image.truth, "-": other[image.truth], "t": ""}[letter])
        for i, (image, letter) in enumerate(zip(images, answers)))
    return participant
