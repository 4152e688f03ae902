"""The seed pages' part of `make demo`: seeds 0-49 of the demo's melanoma and nevus runs published (with
an extra psi of 0.5 and morphs of seeds 0-4 to their next), each run the other's counterpart, and the
pages exported as a static site to var/seed-site. Running it again only does what is missing."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from generator.demo import LABELS, PRETRAIN
from generator.models import TrainingRun

from . import services
from .export import export_seed_pages
from .models import Publication

RUNS = tuple(f"{PRETRAIN}-{label}" for label in LABELS)


def published(run: TrainingRun, seeds: int, counterpart: str, write) -> Publication:
    """The run's seeds published from its latest checkpoint: found, or made now (in this process)."""
    pub = Publication.objects.done().filter(run=run, checkpoint=run.latest_checkpoint, seed_lo=0,
                                            seed_hi=seeds - 1).first()
    if pub is not None:
        return pub
    change = services.ProfileChange(counterpart=counterpart, extra_psi="0.5", morph="0-4:next", morph_frames=12)
    pub = services.create_publication(run=run, seeds=f"0-{seeds - 1}", change=change)
    write(f"publishing seeds 0-{seeds - 1} of {run.name} ({pub.seed_count * 2 + 5 * 12} images on the CPU)")
    services.publish(publication_id=pub.id, job_id=f"demo-seeds-{pub.id}")
    pub.refresh_from_db()
    return pub


def demo_step(*, write, seeds: int = 50) -> None:
    runs = {run.name: run for run in TrainingRun.objects.filter(name__in=RUNS)}
    for name, other in zip(RUNS, reversed(RUNS)):
        published(runs[name], seeds, other, write)
    out = Path(settings.VAR_DIR) / "seed-site"
    summary = export_seed_pages(runs=list(RUNS), seeds=f"0-{seeds - 1}", out=out)
    write(f"seed pages: {summary.line(out)}")
    write(f"  open {(out / 'index.html').as_uri()} (or serve {out} with any web server); live: "
          f"{settings.SITE_URL}/thismoledoesnotexist/")
