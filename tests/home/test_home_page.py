"""The front page is a door to every part, the open studies included."""
import pytest

from tests.turing.factory import make_study_row

pytestmark = pytest.mark.django_db


def test_the_front_page_links_each_open_study_and_no_closed_one(client):
    make_study_row(slug="pilot")
    closed = make_study_row(slug="old-one")
    closed.active = False
    closed.save(update_fields=["active"])
    page = client.get("/").content.decode()
    assert 'href="/turing/s/pilot/">Study pilot</a>' in page
    assert "/turing/s/old-one/" not in page and "Study old-one" not in page


def test_the_front_page_names_no_study_when_there_is_none(client):
    page = client.get("/").content.decode()
    assert "/turing/s/" not in page
