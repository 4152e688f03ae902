"""Catch trials: an obvious test pattern in every set, flagging whoever calls it real, never scored."""
from __future__ import annotations

import csv
import io
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from turing import catch, selectors, services
from turing.building import build_turing_sets
from turing.models import Participant, TuringImage, TuringSet

from .factory import make_participant_with_answers, make_sets, make_sources, options, showing_token

pytestmark = pytest.mark.django_db


def catch_then(answer: str):
    """Says `answer` to the catch pattern and "real" to every lesion image."""
    return lambda image: answer if image.kind == "catch" else "real"


def test_each_set_gets_one_test_pattern_encoded_like_its_other_images(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_CATCH = 1
    make_sources(tmp_path)
    out = io.StringIO()
    call_command("build_turing_sets", "--real", "REAL", "--synthetic", "GAN", "--sets", "2", "--per-set", "4",
                 "--side", "48", stdout=out, stderr=io.StringIO())
    assert "set 1: 4 images (real REAL 1 melanoma 1 nevus; synthetic GAN 1 melanoma 1 nevus) + 1 catch trial" \
        in out.getvalue()
    patterns = []
    for turing_set in TuringSet.objects.current().order_by("number"):
        pattern = turing_set.images.get(kind="catch")
        assert (pattern.truth, pattern.label, pattern.record_id, pattern.origin_dataset) == \
            ("synthetic", "", None, "test-pattern")
        assert {i.bytes for i in turing_set.images.all()} == {pattern.bytes}
        assert "test-pattern" not in str(turing_set.composition)
        patterns.append(pattern)
    assert [p.origin_item for p in patterns] == ["checkerboard", "colour-bars"]
    with Image.open(media_root / patterns[0].file) as image:  # what it shows: a grey card, black and white checks
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    assert image.size == (48, 48) and abs(pixels[0, 0] - 128).max() < 12
    assert np.ptp(pixels) > 200 and (np.abs(pixels - pixels.mean(axis=2, keepdims=True)) < 12).mean() > 0.95


def test_the_patterns_are_drawn_by_code_the_same_every_time():
    name, first = catch.pattern(0, 64)
    assert name == "checkerboard" and np.array_equal(first, catch.pattern(0, 64)[1])
    assert catch.pattern(1, 64)[0] == "colour-bars" and first.shape == (64, 64, 3) and first.dtype == np.uint8


def test_the_catch_trial_is_never_first_or_last_and_its_place_is_drawn_per_participant():
    places = set()
    for seed in range(60):
        order = services.draw_order(list(range(8)), 1, random.Random(seed), catch_ids=[99])
        assert order.count(99) == 1 and len(order) == 10
        places.add(order.index(99))
    assert min(places) >= 1 and max(places) <= 8 and len(places) > 4


def test_a_participant_calling_the_pattern_real_is_flagged_and_left_out_by_default(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_REPEATS, settings.TURING_ATTENTION_CATCH = 0, 1
    turing_set = make_sets(tmp_path)[0]
    fooled = make_participant_with_answers(turing_set, None, ip="10.0.0.1", answer=catch_then("real"))
    attentive = make_participant_with_answers(turing_set, None, ip="10.0.0.2", answer=catch_then("synthetic"))
    assert (fooled.catch_failed, fooled.flagged) == (1, True)
    assert fooled.flag_reasons == ["1 catch test pattern called real"]
    assert (attentive.catch_failed, attentive.flagged) == (0, False)
    data = selectors.analysis()
    assert data["overall"]["all"]["participants"] == 1 and data["flag_reasons"]["catch"] == 1
    assert selectors.analysis(include_flagged=True)["overall"]["all"]["participants"] == 2


def test_the_catch_trial_never_counts_in_a_score_a_table_or_kappa(tmp_path, media_root, settings, client):
    settings.TURING_ATTENTION_REPEATS, settings.TURING_ATTENTION_CATCH = 0, 1
    turing_set = make_sets(tmp_path)[0]
    pattern = turing_set.images.get(kind="catch")
    # "real" to the 8 lesion images (4 right), "synthetic" to the pattern: counted, it would make 5 of 9
    first = make_participant_with_answers(turing_set, None, ip="10.0.0.1", answer=catch_then("synthetic"))
    make_participant_with_answers(turing_set, None, ip="10.0.0.2", answer=lambda i: i.truth)
    score = selectors.participant_score(first)
    assert (score["answers"], score["correct"], score["sensitivity"]) == (8, 4, 0.0)
    assert pattern.id not in [a.image_id for a in score["items"]]
    assert score["percentile"] == pytest.approx(25.0)  # below the perfect participant, on lesion images only
    data = selectors.analysis()
    assert data["overall"]["all"]["answers"] == 16 and data["sets"][0]["groups"]["all"]["sensitivity"] == 0.5
    assert pattern.token not in {i["token"] for i in data["images"]} and len(data["images"]) == 8
    assert sum(p["n"] for p in data["by_position"]) == 16
    # real images: both said real; synthetic ones: one each way. P = 0.5, Pe = 0.75² + 0.25² = 0.625, so
    # kappa = -1/3; the pattern, which both called synthetic, would have made it 0
    assert data["sets"][0]["kappa"] == pytest.approx(-1 / 3)
    rows = list(selectors.answer_rows())
    assert [r["flags"] for r in rows if r["token"] == pattern.token] == ["catch-trial", "catch-trial"]
    settings.TURING_RESULTS_PUBLIC = True
    summary = list(csv.DictReader(io.StringIO(client.get("/turing/results/summary.csv").content.decode())))
    assert summary[0]["answers"] == "16"


def test_a_rebuild_adds_the_pattern_and_zero_builds_without_it(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_CATCH = 0
    make_sets(tmp_path)
    assert not TuringImage.objects.filter(kind="catch").exists()
    settings.TURING_ATTENTION_CATCH = 2
    build_turing_sets(options=options(force=True))
    for turing_set in TuringSet.objects.current():
        assert turing_set.images.filter(kind="catch").count() == 2 and turing_set.build_options["catch"] == 2
        order = services.start_participant(turing_set=turing_set, ip=f"10.1.0.{turing_set.number}").order
        assert len(order) == 8 + 1 + 2


def test_a_bad_catch_setting_is_refused_in_one_line_before_anything_is_made(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_CATCH = -1
    make_sources(tmp_path)
    with pytest.raises(CommandError, match=r"TURING_ATTENTION_CATCH: -1 must lie between 0 and --per-set \(4\)"):
        call_command("build_turing_sets", "--real", "REAL", "--synthetic", "GAN", "--per-set", "4",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not TuringSet.objects.exists() and not (media_root / "turing").exists()


def test_the_score_page_says_why_a_participant_was_set_aside(tmp_path, media_root, client, settings):
    settings.TURING_ATTENTION_CATCH = 1
    make_sets(tmp_path)
    client.post("/turing/start/", {"q": 1, "consent": "on"})
    participant = Participant.objects.get()
    for position in range(participant.total):
        token = showing_token(participant, position)
        client.post("/turing/answer/", {"q": 1, "position": position, "token": token, "answer": "real"})
    page = client.get("/turing/?q=1").content.decode()
    assert "A test pattern, which is no photograph" in page and "left out of the study" in page
