"""The Turing test's part of `make demo`: the 19 sets from the demo's real images (DEMO-TEST, DEMO)
and its synthetic ones (DEMO-GAN), then simulated participants on the first sets, so that the
results page has something to show. Running it again only does what is missing."""
from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from . import services
from .building import BuildOptions, build_turing_sets
from .models import Kind, Participant, Profile, Truth, TuringSet

# DEMO-GAN holds seeds 0-99 of each class; the demo's seed pages publish 0-49 (seeds/demo.py), and a seed
# page labelled "synthetic" would give a test image's answer away: the sets take theirs from 50-99.
OPTIONS = BuildOptions(real=["DEMO-TEST", "DEMO"], synthetic=["DEMO-GAN"], sets=19, per_set=10, seed=0, side=128,
                       synthetic_seeds="50-99")
# How often each simulated profile is right: the published anchors sit near chance for the crowd.
SKILL = {Profile.DERMATOLOGIST: 0.68, Profile.RESIDENT: 0.62, Profile.PHYSICIAN: 0.56, Profile.LAYPERSON: 0.52, "": 0.5}


def demo_step(*, write, simulated_sets: int = 4, per_set: int = 12) -> None:
    if not TuringSet.objects.current().exists():
        summary = build_turing_sets(options=OPTIONS)
        write(f"turing: {len(summary.sets)} sets of {OPTIONS.per_set} images built, "
              f"every file {summary.file_bytes} bytes")
    if Participant.objects.exists():
        write("turing: simulated participants already there")
        return
    rng = random.Random(0)
    for turing_set in TuringSet.objects.current().order_by("number")[:simulated_sets]:
        for i in range(per_set):
            simulate(turing_set, rng, ip=f"192.0.2.{turing_set.number * 20 + i}", careless=i == per_set - 1)
    write(f"turing: {Participant.objects.count()} simulated participants on sets 1-{simulated_sets} "
          f"({Participant.objects.filter(flagged=True).count()} flagged)")


def simulate(turing_set: TuringSet, rng: random.Random, *, ip: str, careless: bool) -> Participant:
    """One participant answering every trial; a careless one clicks through in under 300 ms, and guesses
    even on the catch test pattern, which attentive people call synthetic."""
    profile = rng.choice(list(SKILL))
    participant = services.start_participant(turing_set=turing_set, ip=ip, profile=profile,
                                             years=rng.randint(0, 30) if profile else None, rng=rng)
    showings = list(participant.showings.select_related("image").order_by("position"))
    first_answers: dict[int, str] = {}
    for position, showing in enumerate(showings):
        image, image_id = showing.image, showing.image_id
        thinking = rng.uniform(0.05, 0.2) if careless else rng.uniform(0.8, 6.0)
        Participant.objects.filter(id=participant.id).update(shown_at=timezone.now() - timedelta(seconds=thinking))
        if image.kind == Kind.CATCH:
            answer = rng.choice(Truth.values) if careless else Truth.SYNTHETIC
        elif image_id in first_answers:
            answer = first_answers[image_id]  # attentive people repeat themselves
        else:
            right = rng.random() < SKILL[profile]
            answer = image.truth if right else ("real" if image.truth == "synthetic" else "synthetic")
            first_answers[image_id] = answer
        services.submit_answer(public_id=participant.public_id, set_number=participant.turing_set.number,
                               position=position, token=showing.token, answer=answer,
                               confidence=rng.choice(["", "1", "2", "3"]))
    return participant
