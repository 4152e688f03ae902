"""The benchmark pages read query values safely: malformed ones are ignored or 404, never a 500."""
import csv
import io
import json
from urllib.parse import unquote

import pytest
from django.urls import reverse

from classifier.models import Benchmark
from tests.cansite.factory import SERVER_DIR, make_image_dataset, make_site

pytestmark = pytest.mark.django_db
MALFORMED = ["%C2%B2", "9" * 5000, "-1", "1.5", "%00", "%0A", "x%22y", "%ED%A0%80", "0", "99999999999"]


@pytest.fixture
def site(media_root, client):
    client.raise_request_exception = False  # a 500 shows up as a status, not as the test's own error
    return make_site(media_root)


@pytest.mark.parametrize("value", MALFORMED)
@pytest.mark.parametrize("name", ["dashboard", "csv", "json"])
def test_malformed_query_values_are_ignored_on_the_dashboard_and_both_exports(client, site, name, value):
    url = reverse("classifier:dashboard") if name == "dashboard" else reverse("classifier:export", args=[name])
    default = client.get(url)
    for key in ("repeats", "arch", "benchmark", "reference"):
        response = client.get(f"{url}?{key}={value}")
        if value == "%00":  # the middleware answers a NUL anywhere in the query before any view runs
            assert response.status_code == 404, key
        elif name == "dashboard":  # its form shows the query back: the table is what must not change
            assert response.status_code == 200 and response.context["table"] == default.context["table"], key
        else:
            assert response.status_code == 200 and response.content == default.content, key


def test_a_malformed_repeats_shows_the_whole_table(client, site):
    whole = json.loads(client.get(reverse("classifier:export", args=["json"])).content)
    for value in ("%C2%B2", "9" * 5000, "-1"):
        data = json.loads(client.get(reverse("classifier:export", args=["json"]) + f"?repeats={value}").content)
        assert data == whole
    one = json.loads(client.get(reverse("classifier:export", args=["json"]), {"repeats": "1"}).content)
    assert one["cells"][0]["repeats"] == 1 and whole["cells"][0]["repeats"] == 2


@pytest.mark.parametrize("fmt", ["xml", "CSV", "csv.exe", "json "])
def test_an_unknown_export_format_is_a_404(client, site, fmt):
    assert client.get(reverse("classifier:export", args=[fmt])).status_code == 404


@pytest.mark.parametrize("name", ['quote"d', "new\nline", "semi;colon, comma", "Ωmega/../x", "\\back"])
def test_any_benchmark_name_gives_a_safe_csv_download(client, site, name):
    Benchmark.objects.filter(id=site["benchmark"].id).update(name=name)
    response = client.get(reverse("classifier:export", args=["csv"]), {"benchmark": name})
    assert response.status_code == 200
    header = response["Content-Disposition"]
    fallback = header.split('filename="')[1].split('"')[0]
    assert all(c.isalnum() or c in "._-" for c in fallback) and fallback.endswith(".csv")
    assert unquote(header.split("filename*=UTF-8''")[1]) == f"{name}.csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and rows[0]["kind"] == "measured"


@pytest.mark.parametrize("query", ["row=%00&test=x", "row=&test=", "test=MED-NODE-test", "row=nope&test=MED-NODE-test",
                                   "row=" + "9" * 5000, "row=%0A&test=%0A"])
def test_a_malformed_cell_is_a_404(client, site, query):
    assert client.get(reverse("classifier:cell", args=[site["benchmark"].name]) + "?" + query).status_code == 404


def test_the_json_export_shows_visitors_a_weights_file_name_only(client, admin_client, site):
    site["benchmark"].settings["weights"] = f"{SERVER_DIR}/weights.pt"
    site["benchmark"].save()
    visitor = client.get(reverse("classifier:export", args=["json"])).content.decode()
    assert SERVER_DIR not in visitor and json.loads(visitor)["settings"]["weights"] == "weights.pt"
    staff = json.loads(admin_client.get(reverse("classifier:export", args=["json"])).content)
    assert staff["settings"]["weights"] == f"{SERVER_DIR}/weights.pt"


def test_the_dashboard_without_a_benchmark_ignores_every_value(client, media_root):
    make_image_dataset(media_root, "only")
    response = client.get(reverse("classifier:dashboard") + "?repeats=%C2%B2&arch=x%22y&benchmark=9&reference=%0A")
    assert response.status_code == 200 and response.context["table"] == {}
    assert "no benchmark" in response.content.decode().lower()
    assert client.get(reverse("classifier:export", args=["csv"])).status_code == 404
