"""The live seed pages: provenance and the synthetic note, 404s, image caching, the random redirect."""
import re
import subprocess
import sys

import pytest
from django.urls import reverse

from seeds.models import Publication
from tests.conftest import REPO
from tests.seeds.factory import make_run, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(media_root):
    """mel (melanoma, seeds 0-4, extra psi 0.5, morph 0 -> 1) paired with nev (nevus, seeds 0-2)."""
    make_run("mel", media_root)
    make_run("nev", media_root, label="nevus", weights_seed=1)  # normalised when a run is made
    publish("nev", "0-2")
    return publish("mel", "0-4", "--extra-psi", "0.5", "--morph", "0:1", "--morph-frames", "2",
                   "--counterpart", "nev")


def test_a_seed_page_shows_its_image_provenance_and_the_synthetic_note(client, published, settings):
    response = client.get("/thismoledoesnotexist/mel/3/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Melanoma, seed 3" in html and "0.5" in html and "const" in html
    assert published.checkpoint_sha256 in html and "1 kimg" in html
    assert "not for diagnosis" in html and 'alt="Synthetic melanoma image generated from seed 3' in html
    assert 'href="/thismoledoesnotexist/mel/2/" data-key="prev"' in html
    assert 'href="/thismoledoesnotexist/mel/4/" data-key="next"' in html
    assert 'href="/thismoledoesnotexist/" data-key="random"' in html
    image = re.search(r'<img src="([^"]+\.webp)"', html).group(1)
    assert client.get(image).status_code == 200
    assert f'<meta property="og:image" content="{settings.SITE_URL}{image}">' in html
    assert f'<meta name="twitter:image" content="{settings.SITE_URL}{image}">' in html


def test_pages_link_the_counterpart_the_extra_psi_strip_and_the_morph(client, published):
    html = client.get("/thismoledoesnotexist/mel/0/").content.decode()
    assert 'href="/thismoledoesnotexist/nev/0/"' in html and "(nevus)" in html
    assert "/psi0.5-const/seed0000.webp" in html
    assert 'href="/thismoledoesnotexist/mel/0/morph/1/"' in html
    assert "/nev/4/" not in client.get("/thismoledoesnotexist/mel/4/").content.decode(), "nev has no seed 4"
    morph = client.get("/thismoledoesnotexist/mel/0/morph/1/")
    assert morph.status_code == 200 and "morph-0000-0001-f01.webp" in morph.content.decode()


@pytest.mark.parametrize("path", [
    "/thismoledoesnotexist/ghost/1/", "/thismoledoesnotexist/mel/5/", "/thismoledoesnotexist/mel/abc/",
    "/thismoledoesnotexist/mel/1.5/", "/thismoledoesnotexist/mel/-1/", "/thismoledoesnotexist/mel/%D9%A1/",
    "/thismoledoesnotexist/mel/99999999999999999999/", "/thismoledoesnotexist/mel/0/morph/2/",
    "/thismoledoesnotexist/mel/1/morph/0/", "/thismoledoesnotexist/ghost/", "/thismoledoesnotexist/mel/?page=x",
    "/thismoledoesnotexist/_img/" + "0" * 64 + "/psi1-const/seed0000.png",
    "/thismoledoesnotexist/_img/abc/psi1-const/seed0000.png",
    "/thismoledoesnotexist/_img/" + "0" * 64 + "/psi1-const/..%2Fsecret.png",
])
def test_anything_not_published_is_the_sites_404_page(client, published, path):
    response = client.get(path)
    if path.endswith("?page=x"):  # a malformed page number is ignored: the first page
        assert response.status_code == 200
        return
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]


def test_a_run_with_only_unfinished_publications_has_no_pages(client, media_root):
    make_run("mel", media_root)
    pub = publish("mel", "0-1")
    Publication.objects.filter(id=pub.id).update(status="running")
    assert client.get("/thismoledoesnotexist/mel/0/").status_code == 404
    assert client.get("/thismoledoesnotexist/")["Location"] == "/thismoledoesnotexist/_all/"


def test_images_are_cached_for_long_with_an_etag_and_answer_304(client, published):
    html = client.get("/thismoledoesnotexist/mel/1/").content.decode()
    download = re.search(r'href="([^"]+\.png)" download', html).group(1)
    response = client.get(download)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "max-age=31536000" in response["Cache-Control"] and response["ETag"]
    assert b"".join(response.streaming_content)[:4] == b"\x89PNG"
    again = client.get(download, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again["ETag"] == response["ETag"] and not again.content
    assert client.get(download, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_random_redirect_is_a_plain_uncached_302_to_a_published_seed(client, published):
    seen = set()
    for _ in range(20):
        response = client.get("/thismoledoesnotexist/")
        assert response.status_code == 302 and "no-store" in response["Cache-Control"]
        match = re.fullmatch(r"/thismoledoesnotexist/(mel|nev)/([0-9]+)/", response["Location"])
        run, seed = match.groups()
        assert int(seed) <= (4 if run == "mel" else 2)
        seen.add((run, int(seed)))
    assert len(seen) > 1
    assert client.get(response["Location"]).status_code == 200


def test_the_run_index_the_top_index_the_run_page_and_the_home_page_link_the_seeds(client, published):
    assert "/thismoledoesnotexist/mel/4/" in client.get("/thismoledoesnotexist/mel/").content.decode()
    top = client.get(reverse("seeds:index")).content.decode()
    assert "/thismoledoesnotexist/mel/" in top and "/thismoledoesnotexist/nev/" in top
    run_page = client.get(reverse("generator:run", args=["mel"])).content.decode()
    assert "Seed pages" in run_page and 'href="/thismoledoesnotexist/mel/0/"' in run_page
    assert published.checkpoint_sha256[:12] in run_page
    assert reverse("seeds:index") in client.get("/").content.decode()


def test_the_seed_pages_and_the_publishing_job_module_never_import_torch():
    code = ("import sys, django; django.setup(); import cansite.urls, seeds.views, seeds.jobs, seeds.services, "
            "seeds.export, seeds.admin, seeds.templatetags.seeds; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "cansite.settings"})
    assert result.stdout.strip() == "False", result.stderr


def test_the_random_redirect_goes_to_the_index_while_nothing_is_published(client):
    response = client.get("/thismoledoesnotexist/")
    assert response.status_code == 302 and response["Location"] == "/thismoledoesnotexist/_all/"
    assert client.get(response["Location"]).status_code == 200
