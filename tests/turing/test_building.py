"""build_turing_sets and export_turing_set: draws, balance, encoding, archiving, the exported set."""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from turing.building import BuildError, build_turing_sets
from turing.models import Answer, Showing, TuringImage, TuringSet

from .factory import make_participant_with_answers, make_sets, make_sources, options

pytestmark = pytest.mark.django_db


def draw_of(turing_set: TuringSet) -> list[tuple]:
    return sorted((i.origin_dataset, i.origin_item) for i in turing_set.images.all())


def test_the_same_seed_draws_the_same_sets_and_another_seed_does_not(tmp_path, media_root):
    first = [draw_of(s) for s in make_sets(tmp_path)]
    build_turing_sets(options=options(force=True))
    again = [draw_of(s) for s in TuringSet.objects.current().order_by("number")]
    build_turing_sets(options=options(seed=2, force=True))
    other = [draw_of(s) for s in TuringSet.objects.current().order_by("number")]
    assert first == again
    assert first != other


def test_each_half_is_class_balanced_and_no_image_is_in_two_sets(tmp_path, media_root):
    sets = make_sets(tmp_path, per_set=8)
    seen = Counter()
    for turing_set in sets:
        lesions = turing_set.images.filter(kind="lesion")
        counts = Counter((i.truth, i.label) for i in lesions)
        assert counts == {("real", "melanoma"): 2, ("real", "nevus"): 2,
                          ("synthetic", "melanoma"): 2, ("synthetic", "nevus"): 2}
        seen.update(i.record_id for i in lesions)
    assert max(seen.values()) == 1


def test_an_odd_half_alternates_the_extra_image_between_classes(tmp_path, media_root):
    sets = make_sets(tmp_path, per_set=6, sets=2)
    reals = [Counter(i.label for i in s.images.filter(truth="real")) for s in sets]
    assert reals == [{"melanoma": 2, "nevus": 1}, {"melanoma": 1, "nevus": 2}]


def test_the_composition_is_stored_and_printed(tmp_path, media_root):
    make_sources(tmp_path)
    out = io.StringIO()
    call_command("build_turing_sets", "--real", "REAL", "--synthetic", "GAN", "--sets", "2", "--per-set", "4",
                 "--side", "48", stdout=out, stderr=io.StringIO())
    first = TuringSet.objects.get(number=1)
    assert first.composition == {"real": {"REAL": {"melanoma": 1, "nevus": 1}},
                                 "synthetic": {"GAN": {"melanoma": 1, "nevus": 1}}}
    assert "set 1: 4 images (real REAL 1 melanoma 1 nevus; synthetic GAN 1 melanoma 1 nevus)" in out.getvalue()


@pytest.mark.parametrize("flags, message", [
    (["--real", "NOPE", "--synthetic", "GAN"], "--real: no dataset named 'NOPE'"),
    (["--real", "GAN", "--synthetic", "GAN"], "--real: GAN is a synthetic dataset"),
    (["--real", "REAL", "--synthetic", "REAL"], "--synthetic: REAL is a folder dataset"),
    (["--real", "REAL", "--synthetic", "GAN", "--per-set", "40"], "--real: 12 usable melanoma images"),
    (["--real", "REAL", "--synthetic", "GAN", "--real-fraction", "1.5"], "--real-fraction"),
    # Bigger than the database column: refused by the parser, not an overflow after the images are encoded.
    (["--real", "REAL", "--synthetic", "GAN", "--seed", "9" * 30], "--seed: must be a whole number >= 0"),
    (["--real", "REAL", "--synthetic", "GAN", "--real-fraction", "nan"], "--real-fraction: must be a finite number"),
    (["--real", "REAL", "--synthetic", "GAN", "--sets", "0"], "--sets: must be a whole number >= 1"),
])
def test_bad_flags_are_refused_in_one_line_before_anything_is_made(tmp_path, media_root, flags, message):
    make_sources(tmp_path)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("build_turing_sets", *flags, stdout=io.StringIO(), stderr=io.StringIO())
    assert not TuringSet.objects.exists()
    assert not (media_root / "turing").exists()


def test_reuse_allows_a_small_pool_to_fill_many_sets(tmp_path, media_root):
    make_sources(tmp_path, real_per_class=3, synthetic_per_class=3)
    with pytest.raises(BuildError, match="pass --reuse"):
        build_turing_sets(options=options(sets=3, per_set=8))
    build_turing_sets(options=options(sets=3, per_set=8, reuse=True))
    for turing_set in TuringSet.objects.current():
        ids = [i.record_id for i in turing_set.images.filter(kind="lesion")]
        assert len(ids) == len(set(ids)) == 8


def test_an_unreadable_source_is_replaced_by_the_next_draw(tmp_path, media_root):
    real, _ = make_sources(tmp_path, real_per_class=3, synthetic_per_class=3)
    broken = real.images.get(no="melanoma-000")
    Path(broken.source_path).write_text("<html>not an image</html>")  # an HTML page where an image should be
    summary = build_turing_sets(options=options(sets=1, per_set=8))  # 2 of the 3 melanomas: the broken one may be drawn
    assert set(summary.skipped) <= {f"{broken}: not-an-image"}
    assert not TuringImage.objects.filter(record=broken).exists()
    assert TuringImage.objects.filter(kind="lesion").count() == 8
    Path(real.images.get(no="melanoma-001").source_path).write_bytes(b"")
    with pytest.raises(BuildError, match="--real: too few readable melanoma images"):
        build_turing_sets(options=options(sets=1, per_set=8, force=True))


def test_a_rebuild_of_answered_sets_is_refused_without_force_and_archives_with_it(tmp_path, media_root):
    old = make_sets(tmp_path)
    make_participant_with_answers(old[0], count=3)
    with pytest.raises(BuildError, match="sets 1 already have 3 answers: pass --force"):
        build_turing_sets(options=options())
    summary = build_turing_sets(options=options(force=True))
    assert summary.archived == 3 and summary.archived_answers == 3
    assert Answer.objects.count() == 3
    assert TuringSet.objects.filter(archived_at__isnull=False).count() == 3
    assert TuringSet.objects.current().count() == 3
    assert all((media_root / i.file).exists() for i in TuringImage.objects.filter(turing_set=old[0]))


def test_tokens_are_opaque_and_urls_name_nothing_of_the_source(tmp_path, media_root, client):
    turing_set = make_sets(tmp_path)[0]
    image = turing_set.images.first()
    assert len(image.token) == 24 and image.file == f"turing/{image.token}.jpg"
    client.post("/turing/start/", {"q": 1, "consent": "on"})
    showing = Showing.objects.get(position=0)  # visitors see a showing's token, never the image's
    response = client.get(f"/turing/img/{showing.token}.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "max-age=31536000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]
    assert len(response.content) == len((media_root / showing.image.file).read_bytes())
    assert client.get(f"/turing/img/{showing.token}.jpg", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.get("/turing/img/nosuchtoken.jpg").status_code == 404


def test_an_exported_set_cannot_be_told_apart_by_format_size_metadata_or_bytes(tmp_path, media_root):
    make_sources(tmp_path)  # real: noisy, odd-sized PNGs; synthetic: smooth 64 px squares
    build_turing_sets(options=options(sets=1, per_set=16, side=48))
    out = tmp_path / "export"
    call_command("export_turing_set", "1", str(out), stdout=io.StringIO())
    truth = {row["token"]: row for row in csv.DictReader((out / "truth.csv").open())}
    assert len(truth) == 17 and set(truth[next(iter(truth))]) == {"token", "kind", "truth", "class", "origin_dataset",
                                                                  "origin_item"}
    catches = [row for row in truth.values() if row["kind"] == "catch"]  # the test pattern is a synthetic image too
    assert [(r["truth"], r["origin_dataset"]) for r in catches] == [("synthetic", "test-pattern")]
    props, sizes = {}, {"real": [], "synthetic": []}
    jfif = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}  # the same header on every file
    for token, row in truth.items():
        path = out / f"{token}.jpg"
        with Image.open(path) as image:
            extra = tuple(sorted(k for k in image.info if k not in jfif))  # exif, icc_profile, comment...
            props.setdefault(row["truth"], set()).add((image.format, image.size, image.mode, extra,
                                                       str(image.quantization), len(image.getexif()),
                                                       image.layers, image.info.get("progressive")))
        sizes[row["truth"]].append(path.stat().st_size)
    assert props["real"] == props["synthetic"] and len(props["real"]) == 1
    assert len(set(sizes["real"] + sizes["synthetic"])) == 1  # the catch file included
    assert best_threshold_accuracy(sizes["real"], sizes["synthetic"]) == 0.5


def best_threshold_accuracy(a: list[int], b: list[int]) -> float:
    """The best balanced accuracy of any byte-size threshold (either direction): 0.5 means useless."""
    best = 0.5
    for cut in sorted(set(a + b)):
        below_a = sum(x <= cut for x in a) / len(a)
        below_b = sum(x <= cut for x in b) / len(b)
        best = max(best, (below_a + 1 - below_b) / 2, (below_b + 1 - below_a) / 2)
    return best


def test_without_padding_the_sizes_would_have_told_them_apart(tmp_path, media_root):
    """The check above has teeth: the raw JPEGs of these sources are separable by size."""
    from turing.encoding import encode_square

    real, gan = make_sources(tmp_path)
    a = [len(encode_square(r.image_source(), 48)) for r in real.images.all()]
    b = [len(encode_square(r.image_source(), 48)) for r in gan.images.all()]
    assert best_threshold_accuracy(a, b) > 0.9


def test_export_refuses_a_missing_set_or_a_folder_with_files(tmp_path, media_root):
    make_sets(tmp_path, sets=1)
    with pytest.raises(CommandError, match="N: there is no set 7"):
        call_command("export_turing_set", "7", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="N: must be a whole number >= 1"):  # not an overflow in the query
        call_command("export_turing_set", "9" * 30, str(tmp_path / "x"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not an empty folder"):
        call_command("export_turing_set", "1", str(tmp_path / "full"))
