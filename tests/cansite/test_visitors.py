"""What visitors see: no traceback, no server path, no 500 from a malformed request; staff see the detail."""
import pytest
from django.urls import reverse

from cansite.visibility import public_path, public_text
from datasets import views as dataset_views
from tests.cansite.factory import SERVER_DIR, TRACEBACK, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(media_root, settings):
    settings.DEBUG = False  # production: what a visitor of the real site gets
    return make_site(media_root)


def pages(site) -> list[str]:
    benchmark, train, test = site["benchmark"], site["train"], site["test"]
    failed_experiment = benchmark_experiments(site).get(status="failed")
    return [reverse("datasets:detail", args=[train.name]),
            reverse("datasets:detail", args=[train.name]) + "?status=failed",
            reverse("generator:run", args=[site["failed"].name]), reverse("generator:run", args=[site["done"].name]),
            reverse("generator:runs"), reverse("classifier:experiment", args=[failed_experiment.id]),
            reverse("classifier:cell", args=[benchmark.name]) + f"?row={train.name}&test={test.name}",
            reverse("classifier:dashboard"), reverse("classifier:export", args=["json"]), "/"]


def benchmark_experiments(site):
    from classifier.models import Experiment

    return Experiment.objects.filter(train_key=site["train"].name)


def test_a_traceback_becomes_its_last_line_without_the_folders():
    assert public_text(TRACEBACK) == "FileNotFoundError: [Errno 2] No such file or directory: 'weights.pt'"
    assert public_text(f"write-error: {SERVER_DIR}/a.png: disk full") == "write-error: a.png: disk full"
    url_text = "unexpected HTTP 404 for https://host.org/a/b.jpg"
    assert public_text(url_text) == url_text, "a URL is not a server path"
    assert public_text("x" * 500).endswith("…") and len(public_text("x" * 500)) == 160
    assert public_path(f"{SERVER_DIR}/run/network-000001.pt") == "network-000001.pt" and public_path("") == ""


def test_anonymous_visitors_see_no_traceback_and_no_server_path_on_any_page(client, site):
    for url in pages(site):
        response = client.get(url)
        text = response.content.decode()
        assert response.status_code == 200, url
        assert "Traceback" not in text and SERVER_DIR not in text and "/work/main" not in text, url


def test_visitors_see_the_short_reason_and_file_names_instead(client, site):
    run = client.get(reverse("generator:run", args=[site["failed"].name])).content.decode()
    assert "FileNotFoundError" in run and "Error" in run
    done = client.get(reverse("generator:run", args=[site["done"].name])).content.decode()
    assert "network-000001.pt" in done and "start.pt" in done, "kimg and the file name stay visible"
    dataset = client.get(reverse("datasets:detail", args=[site["train"].name]) + "?status=failed").content.decode()
    assert "internal-error" in dataset and "OSError: cannot write crop.png" in dataset
    assert f"{site['train'].name}.csv" in dataset


def test_staff_see_the_traceback_and_the_full_paths(admin_client, site):
    run = admin_client.get(reverse("generator:run", args=[site["failed"].name])).content.decode()
    assert "Traceback (most recent call last)" in run and f"{SERVER_DIR}/weights.pt" in run
    done = admin_client.get(reverse("generator:run", args=[site["done"].name])).content.decode()
    assert f"{SERVER_DIR}/pretrain-tiny/network-000001.pt" in done and f"{SERVER_DIR}/start.pt" in done
    failed_experiment = benchmark_experiments(site).get(status="failed")
    experiment = admin_client.get(reverse("classifier:experiment", args=[failed_experiment.id])).content.decode()
    assert "Traceback (most recent call last)" in experiment and f"{SERVER_DIR}/weights.pt" in experiment
    dataset = admin_client.get(reverse("datasets:detail", args=[site["train"].name])).content.decode()
    assert f"{SERVER_DIR}/{site['train'].name}.csv" in dataset and f"cannot write {SERVER_DIR}/crop.png" in dataset


def test_the_sites_own_error_pages_show_no_internals(client, site, monkeypatch):
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "Not found" in missing.content.decode()

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom in {SERVER_DIR}")

    monkeypatch.setattr("classifier.selectors.benchmark_table", broken)
    client.raise_request_exception = False
    response = client.get(reverse("classifier:dashboard"))
    text = response.content.decode()
    assert response.status_code == 500 and "Something went wrong" in text
    assert "Traceback" not in text and SERVER_DIR not in text and "RuntimeError" not in text


MALFORMED = ["%C2%B2", "9" * 5000, "-1", "1e3", "%00", "abc", "%0A", ""]


# Label and reason are free text (any label may exist): only what no row can hold is malformed there.
MALFORMED_TEXT = ["9" * 5000, "%0A", "%1F", "%00"]


@pytest.mark.parametrize("key, value", [(key, value) for key in ("page", "status") for value in MALFORMED]
                         + [(key, value) for key in ("label", "reason") for value in MALFORMED_TEXT])
def test_malformed_dataset_filters_and_page_numbers_are_ignored(client, site, monkeypatch, key, value):
    monkeypatch.setattr(dataset_views, "PAGE_SIZE", 2)  # 6 rows on 3 pages: page 1 is not the only page
    url = reverse("datasets:detail", args=[site["train"].name])
    response = client.get(f"{url}?{key}={value}")
    if value == "%00":  # the middleware answers a NUL anywhere in the query before any view runs
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response.content == client.get(url).content  # the page as if the value were not there


def test_an_unknown_filter_shows_every_row_and_a_huge_page_the_last_page(client, site, monkeypatch):
    monkeypatch.setattr(dataset_views, "PAGE_SIZE", 2)  # 6 rows on 3 pages, so that "last" is not "first"
    url = reverse("datasets:detail", args=[site["train"].name])
    assert "6 rows" in client.get(url, {"status": "nonsense"}).content.decode()
    assert "page 3 of 3" in client.get(url, {"page": "99999"}).content.decode()
    assert "page 1 of 3" in client.get(url, {"page": "9" * 5000}).content.decode()  # malformed: the default


@pytest.mark.parametrize("url", ["/datasets/%00/", "/generator/runs/%00/", "/generator/runs/a%00b/status.json",
                                 "/benchmarks/%00/cell/", "/datasets/?x=%00", "/generator/?q=a%00",
                                 "/datasets/x/images/99999999999999999999999/thumb.jpg"])
def test_a_nul_or_control_character_in_a_request_is_a_404_never_a_500(client, site, url):
    client.raise_request_exception = False
    assert client.get(url).status_code == 404


def test_a_run_failed_before_error_detail_existed_shows_visitors_only_its_last_line(client, admin_client, site):
    run = site["failed"]
    type(run).objects.filter(id=run.id).update(error=TRACEBACK, error_detail="")
    url = reverse("generator:run", args=[run.name])
    visitor = client.get(url).content.decode()
    assert "Traceback" not in visitor and SERVER_DIR not in visitor
    assert "No such file or directory: &#x27;weights.pt" in visitor
    assert "Traceback (most recent call last)" in admin_client.get(url).content.decode()
