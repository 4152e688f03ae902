"""The dataset pages, the home page, the admin and the queue dashboard."""
import pytest
from django.urls import reverse

from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

pytestmark = pytest.mark.django_db


def dataset_with_rows(media_root):
    dataset = make_dataset("CAN-demo")
    relative = "datasets/CAN-demo/nevus/1.png"
    (media_root / relative).parent.mkdir(parents=True)
    w.make_photo(300, 200).save(media_root / relative)
    ok = make_row(dataset, "1", "https://x.org/1.jpg", status="ok", file=relative, width=300, height=200,
                  sha256="ab" * 32, box=(0.25, 0.5, 0.5, 0.9))
    bad = make_row(dataset, "2", "https://x.org/2.jpg", label="melanoma", status="failed",
                   failure_reason="not-an-image", failure_detail="HTML page instead of an image")
    make_row(dataset, "3", "https://x.org/3.jpg")
    return dataset, ok, bad


def test_the_home_page_links_every_part(client):
    page = client.get("/").content.decode()
    assert reverse("datasets:list") in page
    for part in ("Datasets", "Seed pages", "Turing test", "Benchmarks"):
        assert part in page


def test_the_list_shows_counts_by_status_and_label(client, media_root, django_assert_max_num_queries):
    dataset_with_rows(media_root)
    make_dataset("other")
    with django_assert_max_num_queries(4):
        page = client.get(reverse("datasets:list")).content.decode()
    assert "CAN-demo" in page and "other" in page
    assert "melanoma: 1" in page and "nevus: 2" in page


def test_the_detail_page_shows_thumbnails_boxes_and_failure_reasons(client, media_root):
    dataset, ok, bad = dataset_with_rows(media_root)
    page = client.get(reverse("datasets:detail", args=[dataset.name])).content.decode()
    assert reverse("datasets:thumbnail", args=[dataset.name, ok.id]) in page
    assert "box 0.25 0.5 0.5 0.9" in page
    assert "HTML page instead of an image" in page and "not-an-image" in page
    failed_only = client.get(reverse("datasets:detail", args=[dataset.name]), {"status": "failed"}).content.decode()
    assert "x.org/2.jpg" in failed_only and "x.org/1.jpg" not in failed_only


def test_thumbnails_are_small_jpegs_and_missing_images_404(client, media_root):
    dataset, ok, bad = dataset_with_rows(media_root)
    response = client.get(reverse("datasets:thumbnail", args=[dataset.name, ok.id]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(b"".join(response.streaming_content))).size) <= 192
    assert client.get(reverse("datasets:thumbnail", args=[dataset.name, bad.id])).status_code == 404
    assert client.get("/datasets/nope/").status_code == 404


def test_staff_can_queue_a_download_and_the_public_cannot(client, admin_client, media_root,
                                                          django_capture_on_commit_callbacks):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset("web")
        make_row(dataset, "1", server.add("/1.jpg", w.jpeg_bytes(w.make_photo())))
        url = reverse("datasets:download", args=["web"])
        assert client.post(url).status_code == 302 and dataset.images.get().status == "pending"
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url)
        assert response.status_code == 302
        # No REDIS_URL here: the job ran in-process, refused the loopback server (no --allow-private).
        assert dataset.images.get().failure_reason == "private-address"
    finally:
        server.stop()


def test_the_admin_and_the_queue_dashboard_are_for_staff(client, admin_client, media_root):
    dataset, ok, bad = dataset_with_rows(media_root)
    for url in ("/admin/datasets/dataset/", "/admin/datasets/imagerecord/",
                f"/admin/datasets/imagerecord/{ok.id}/change/"):
        assert admin_client.get(url).status_code == 200
    assert client.get("/django-rq/").status_code == 302
