"""No public page shows an image of a live Turing set or its source: dataset galleries of its sources
are for staff, a seed page is never published for a seed a set's synthetic image was rendered from,
and a build leaves out (naming them) the synthetic images whose seeds a seed page shows."""
from __future__ import annotations

import inspect

import pytest
from django.contrib.auth.models import User

from datasets.models import ImageRecord
from generator.gan.seeds import parse_seeds
from seeds import demo as seeds_demo
from seeds.services import PublishError, create_publication
from tests.seeds.factory import make_run
from turing import demo
from turing.building import BuildError, build_turing_sets
from turing.models import TuringImage

from .factory import make_image_dataset, make_sources, options

pytestmark = pytest.mark.django_db


def name_by_seeds(dataset_name: str) -> None:
    """Synthetic rows named as the generator names its files: <class>/seed0007.png."""
    for label in ("melanoma", "nevus"):
        rows = ImageRecord.objects.filter(dataset__name=dataset_name, no__startswith=f"{label}-").order_by("no")
        for i, record in enumerate(rows):
            ImageRecord.objects.filter(id=record.id).update(no=f"{label}/seed{i:04d}.png")


def thumbnails(page: str) -> int:
    return page.count("/thumb.jpg")


def test_galleries_of_a_live_sets_sources_are_for_staff_only(tmp_path, media_root, client):
    make_sources(tmp_path)
    make_image_dataset(tmp_path, "SPARE", 2)
    build_turing_sets(options=options())
    record = ImageRecord.objects.filter(dataset__name="REAL").first()
    for name in ("REAL", "GAN"):
        page = client.get(f"/datasets/{name}/").content.decode()
        assert thumbnails(page) == 0 and "shown to staff only" in page
    assert client.get(f"/datasets/REAL/images/{record.id}/thumb.jpg").status_code == 404
    assert thumbnails(client.get("/datasets/SPARE/").content.decode()) == 4  # no set draws from it
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    assert thumbnails(client.get("/datasets/REAL/").content.decode()) == 24
    assert client.get(f"/datasets/REAL/images/{record.id}/thumb.jpg").status_code == 200


def test_a_seed_page_is_refused_for_seeds_a_live_sets_synthetic_images_came_from(tmp_path, media_root):
    make_sources(tmp_path)
    name_by_seeds("GAN")
    build_turing_sets(options=options())
    run = make_run("mel", media_root, label="melanoma")
    used = sorted({int(i.origin_item.split("seed")[1][:4]) for i in
                   TuringImage.objects.filter(truth="synthetic", label="melanoma", kind="lesion")})
    with pytest.raises(PublishError, match=rf"--seeds: \d+ of seeds 0-11 are synthetic images of live Turing sets "
                                           rf"\(GAN/melanoma/seed{used[0]:04d}.png \(set \d\)"):
        create_publication(run=run, seeds="0-11")
    assert create_publication(run=run, seeds="12-20").seed_lo == 12  # no set uses these
    assert not run.seed_publications.filter(seed_lo=0).exists()


def test_a_build_leaves_out_synthetic_images_whose_seeds_a_seed_page_shows_and_names_them(tmp_path, media_root):
    make_sources(tmp_path, synthetic_per_class=16)
    name_by_seeds("GAN")
    create_publication(run=make_run("mel", media_root, label="melanoma"), seeds="0-3")
    summary = build_turing_sets(options=options())
    assert summary.excluded == [f"GAN/melanoma/seed{i:04d}.png" for i in range(4)]
    items = set(TuringImage.objects.filter(truth="synthetic").values_list("origin_item", flat=True))
    assert not items & {f"melanoma/seed{i:04d}.png" for i in range(4)}
    assert {f"nevus/seed{i:04d}.png" for i in range(4)} & items  # another class's seed 0 is another image


def test_a_build_short_of_images_after_leaving_them_out_says_why(tmp_path, media_root):
    make_sources(tmp_path)
    name_by_seeds("GAN")
    create_publication(run=make_run("mel", media_root, label="melanoma"), seeds="0-8")
    with pytest.raises(BuildError, match=r"--synthetic: 3 usable melanoma images.*9 left out because a public seed "
                                         "page shows their seeds, e.g. GAN/melanoma/seed0000.png"):
        build_turing_sets(options=options())


def test_synthetic_seeds_keep_a_build_to_the_seeds_held_back(tmp_path, media_root):
    make_sources(tmp_path)
    name_by_seeds("GAN")
    build_turing_sets(options=options(synthetic_seeds="0-5", sets=1, per_set=4))
    items = TuringImage.objects.filter(truth="synthetic", kind="lesion").values_list("origin_item", flat=True)
    assert all(int(item.split("seed")[1][:4]) <= 5 for item in items) and items
    with pytest.raises(BuildError, match="--synthetic-seeds: 'x' is not a seed"):
        build_turing_sets(options=options(synthetic_seeds="x", force=True))


def test_the_demo_builds_its_sets_from_seeds_its_seed_pages_do_not_publish():
    published = range(inspect.signature(seeds_demo.demo_step).parameters["seeds"].default)
    held_back = parse_seeds(demo.OPTIONS.synthetic_seeds)
    assert len(held_back) and not set(published) & set(held_back)


def test_a_build_leaves_out_the_seeds_a_runs_public_sample_grid_shows(tmp_path, media_root):
    make_sources(tmp_path, synthetic_per_class=16)
    name_by_seeds("GAN")
    run = make_run("nev", media_root, label="nevus")
    config = {**run.config, "train": {**run.config["train"], "grid_seeds": [0, 1, 2]}}
    type(run).objects.filter(id=run.id).update(latest_grid="gan-runs/nev/grid.png", config=config)
    summary = build_turing_sets(options=options())
    assert summary.excluded == [f"GAN/nevus/seed{i:04d}.png" for i in range(3)]


def test_a_benchmark_cell_shows_no_thumbnail_of_a_live_sets_source_to_visitors(tmp_path, media_root, client):
    from django.urls import reverse

    from tests.cansite.factory import make_benchmark
    from tests.cansite.factory import make_image_dataset as make_photos
    from turing.models import TuringSet

    train, test = make_photos(media_root, "TRAIN"), make_photos(media_root, "TEST", ok=3)
    url = reverse("classifier:cell", args=[make_benchmark(train, test).name]) + "?row=TRAIN&test=TEST"
    assert thumbnails(client.get(url).content.decode()) == 3
    record = test.images.first()
    TuringImage.objects.create(turing_set=TuringSet.objects.create(number=1, seed=0), token="t", truth="real",
                               record=record, origin_dataset="TEST", origin_item=record.no, file="turing/t.jpg",
                               bytes=1, sha256="0" * 64)
    assert thumbnails(client.get(url).content.decode()) == 0
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    assert thumbnails(client.get(url).content.decode()) == 3


def test_the_demo_sets_leave_the_seeds_its_seed_pages_publish_free(tmp_path, media_root):
    """The demo's own datasets in miniature (as many images, tiny files): its sets build from seeds
    50-99, after which its seed pages' 0-49 of each class publish without a refusal."""
    make_image_dataset(tmp_path, "DEMO", 30)
    make_image_dataset(tmp_path, "DEMO-TEST", 20)
    make_image_dataset(tmp_path, "DEMO-GAN", 100, synthetic=True)
    name_by_seeds("DEMO-GAN")
    demo.demo_step(write=lambda line: None, simulated_sets=1, per_set=2)
    items = TuringImage.objects.filter(truth="synthetic", kind="lesion").values_list("origin_item", flat=True)
    assert len(items) == 95 and all(int(item.split("seed")[1][:4]) >= 50 for item in items)
    for label in ("melanoma", "nevus"):
        create_publication(run=make_run(f"demo-{label}", media_root, label=label), seeds="0-49")
