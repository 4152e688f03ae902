"""The Turing step of `make demo`: sets built once, simulated participants, a filled analysis."""
from __future__ import annotations

import pytest

from turing import demo, selectors
from turing.models import Participant, Study, TuringImage, TuringSet

from .factory import make_sources, options

pytestmark = pytest.mark.django_db


def test_the_demo_step_builds_the_sets_and_answers_some_once(tmp_path, media_root, monkeypatch, settings, client):
    settings.VAR_DIR = tmp_path / "var"
    make_sources(tmp_path)
    monkeypatch.setattr(demo, "OPTIONS", options(sets=3, per_set=8))
    lines = []
    demo.demo_step(write=lines.append, simulated_sets=2, per_set=4)
    assert TuringSet.objects.current().count() == 3
    assert Participant.objects.filter(finished_at__isnull=False).count() == 8
    assert Participant.objects.filter(flagged=True).count() == 2  # one careless clicker per set
    catch_ids = set(TuringImage.objects.filter(kind="catch").values_list("id", flat=True))
    assert all(catch_ids & set(p.order) for p in Participant.objects.all())  # and the attentive said synthetic
    analysis = selectors.analysis()
    assert analysis["overall"]["all"]["participants"] == 6 and analysis["images"]
    study = Study.objects.get(slug="demo")  # loaded from the study file the demo wrote
    assert (study.sets, study.conditions, study.practice, study.trial_seconds) == ([1, 2, 3], ["none", "each"], 2, 20)
    assert 'slug = "demo"' in (tmp_path / "var" / "demo-study.toml").read_text()
    assert study.practice_images.count() == 2 and study.consent_versions.count() == 1
    assert 'href="/turing/s/demo/"' in client.get("/turing/").content.decode()
    demo.demo_step(write=lines.append, simulated_sets=2, per_set=4)
    assert Participant.objects.count() == 8 and TuringSet.objects.count() == 3 and Study.objects.count() == 1
    assert lines[-1] == "turing: simulated participants already there"
