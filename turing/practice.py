"""A study's practice images: `ensure_practice(study)` builds what is missing (load_study calls it).

Practice images show their truth, so they must not be the images (nor the sources) of any live set:
they are drawn from the source datasets the study's sets were built from, leaving out every record a
current set uses, half real and half synthetic in a seeded order (the study's slug is the seed, so a
reload of the study file draws the same). Each is encoded as the set images are (the same side,
turing.encoding) and padded to the sets' file length, so a practice file looks like a trial's. Running
it again builds nothing new; a larger `practice` adds images after the existing ones.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

from django.conf import settings
from django.db import transaction

from common.files import atomic_write_bytes
from datasets.download.imaging import ImageFailure
from datasets.models import ImageRecord

from . import encoding
from .building import CLASSES, FILE_DIR
from .models import PracticeImage, Study, Truth, TuringImage, TuringSet
from .tokens import new_token


class PracticeError(ValueError):
    """The practice images cannot be built; nothing was written. The message names the study's key."""


def ensure_practice(study: Study, *, write: bool = True) -> int:
    """Build the study's missing practice images; returns how many were built. write=False (a dry run):
    choose and encode them, raising PracticeError as a build would, and write nothing."""
    have = study.practice_images.count()
    wanted = study.practice - have
    if wanted <= 0:
        return 0
    sets = list(TuringSet.objects.current().filter(number__in=study.sets))
    if not sets:
        raise PracticeError(f"practice: the study's sets ({', '.join(map(str, study.sets))}) are not built yet")
    side = int(sets[0].build_options.get("side", 256))
    truths = draw_truths(study, have, wanted)
    chosen = pick(study, sets, truths, side)
    if not write:
        return len(chosen)
    length = max(TuringImage.objects.filter(turing_set__in=sets).values_list("bytes", flat=True), default=0)
    length = max(length, encoding.common_length([len(jpeg) for _, _, jpeg in chosen]))
    return store(study, have, chosen, length)


def draw_truths(study: Study, have: int, wanted: int) -> list[str]:
    """Real and synthetic in turn over all practice places, shuffled by the slug; the places still missing."""
    total = have + wanted
    truths = [(Truth.REAL, Truth.SYNTHETIC)[i % 2].value for i in range(total)]
    random.Random(f"practice:{study.slug}").shuffle(truths)
    return truths[have:]


def candidates(sets: list[TuringSet], truth: str) -> list[ImageRecord]:
    """Source records of the sets' datasets for one truth that no current set uses, in a fixed order."""
    names = {name for s in sets for name in s.build_options.get("real" if truth == Truth.REAL else "synthetic", [])}
    used = TuringImage.objects.filter(turing_set__archived_at__isnull=True, record__isnull=False).values("record_id")
    return list(ImageRecord.objects.ok().filter(dataset__name__in=names, label__in=CLASSES)
                .exclude(id__in=used).select_related("dataset").order_by("dataset__name", "no"))


def pick(study: Study, sets: list[TuringSet], truths: list[str], side: int) -> list[tuple[str, ImageRecord, bytes]]:
    """One readable unused record per truth, encoded; an unreadable one is passed over."""
    rng = random.Random(f"practice-images:{study.slug}")
    pools = {truth: rng.sample(found, len(found)) for truth in set(truths) for found in [candidates(sets, truth)]}
    taken = set(study.practice_images.exclude(record=None).values_list("record_id", flat=True))
    chosen = []
    for truth in truths:
        pool = pools[truth]
        while pool:
            record = pool.pop()
            source = None if record.id in taken else record.image_source()
            if source is None:
                continue
            try:
                chosen.append((truth, record, encoding.encode_square(source, side)))
            except ImageFailure:
                continue
            taken.add(record.id)
            break
        else:
            raise PracticeError(f"practice: {study.practice} practice images need {truths.count(truth)} {truth} "
                                f"source images that no live set uses, and the sets' datasets have too few left")
    return chosen


def store(study: Study, first: int, chosen: list[tuple[str, ImageRecord, bytes]], length: int) -> int:
    """Write the padded files, then the rows in one transaction; a failure removes the files again."""
    written = []
    try:
        with transaction.atomic():
            for offset, (truth, record, jpeg) in enumerate(chosen):
                token = new_token()
                relative = f"{FILE_DIR}/practice-{token}.jpg"
                padded = encoding.pad(jpeg, length)
                atomic_write_bytes(Path(settings.MEDIA_ROOT) / relative, padded)
                written.append(relative)
                PracticeImage.objects.create(study=study, position=first + offset, token=token, truth=truth,
                                             label=record.label, record=record,
                                             origin_dataset=record.dataset.name, origin_item=record.no,
                                             file=relative, bytes=len(padded),
                                             sha256=hashlib.sha256(padded).hexdigest())
    except BaseException:
        for relative in written:
            (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
        raise
    return len(chosen)
