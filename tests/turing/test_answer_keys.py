"""Nothing one participant sees names an image to the next: tokens and padding bytes are per
participant and per showing, so a finished participant's score page is no answer key."""
from __future__ import annotations

import hashlib
import io
import re

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from turing.models import Participant, Showing, Truth

from .factory import current, make_sets, start, submit

pytestmark = pytest.mark.django_db

TILE = re.compile(r'<img src="/turing/img/([^"]+)\.jpg"[^>]*>\s*<div>\d+\. <strong>(real|synthetic)</strong>')


def served(client, token: str) -> bytes:
    return client.get(f"/turing/img/{token}.jpg").content


def finish_with_a_score_page(client, q=1) -> str:
    start(client, q=q)
    participant = current(client, q)
    for _ in range(participant.total):
        assert submit(client, participant, q=q).status_code == 302
    return client.get(f"/turing/?q={q}").content.decode()


def test_a_score_page_read_by_a_script_is_no_answer_key_for_the_next_participant(tmp_path, media_root, settings):
    settings.TURING_ATTENTION_CATCH = 0
    make_sets(tmp_path, feedback="end")
    first = Client(REMOTE_ADDR="10.0.0.1")
    page = finish_with_a_score_page(first)
    key = dict(TILE.findall(page))
    assert len(key) == 8  # the page does show each image with its truth
    key_files = {hashlib.sha256(served(first, token)).hexdigest(): truth for token, truth in key.items()}
    second = Client(REMOTE_ADDR="10.0.0.2")
    start(second)
    participant, hits = current(second), 0
    for _ in range(participant.total):  # the attack: look the token or the file up, else say "real"
        participant.refresh_from_db()
        shown = Showing.objects.get(participant=participant, position=participant.position)
        looked_up = key.get(shown.token) or key_files.get(hashlib.sha256(served(second, shown.token)).hexdigest())
        hits += looked_up is not None
        submit(second, participant, answer=looked_up or Truth.REAL)
    assert hits == 0
    participant.refresh_from_db()
    scored = participant.answers.filter(repeat=False)
    assert sum(a.correct for a in scored) == scored.filter(image__truth=Truth.REAL).count()  # what "real" gives


def test_the_attention_repeat_comes_under_a_fresh_token_with_its_own_bytes(tmp_path, media_root, client, settings):
    settings.TURING_ATTENTION_REPEATS = 1
    make_sets(tmp_path)
    start(client)
    participant = current(client)
    showings = list(Showing.objects.filter(participant=participant).order_by("position"))
    by_image: dict[int, list[Showing]] = {}
    for showing in showings:
        by_image.setdefault(showing.image_id, []).append(showing)
    first, again = next(pair for pair in by_image.values() if len(pair) == 2)
    assert first.token != again.token
    a, b = served(client, first.token), served(client, again.token)
    assert a != b and len(a) == len(b) == first.image.bytes
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(a))), np.asarray(Image.open(io.BytesIO(b))))
    assert len({s.token for s in showings}) == len(showings)


def test_every_served_file_of_a_set_is_one_length_and_its_padding_is_the_showings_own(tmp_path, media_root):
    make_sets(tmp_path)
    one, two = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    start(one), start(two)
    files = {}
    for client in (one, two):
        for showing in Showing.objects.filter(participant=current(client)):
            files[showing.token] = (showing.image_id, served(client, showing.token))
    assert len({len(data) for _, data in files.values()}) == 1
    assert len({data for _, data in files.values()}) == len(files)  # no two showings get the same file
    for showing in Showing.objects.select_related("image"):  # the JPEG itself is the stored one, up to its end
        jpeg = (media_root / showing.image.file).read_bytes().rstrip(b"\0")
        assert jpeg.endswith(b"\xff\xd9") and files[showing.token][1][:len(jpeg)] == jpeg


def test_a_visitor_cannot_fetch_an_image_by_its_researcher_token(tmp_path, media_root, client, admin_client):
    image = make_sets(tmp_path)[0].images.first()
    assert client.get(f"/turing/img/{image.token}.jpg").status_code == 404
    assert admin_client.get(f"/turing/img/{image.token}.jpg").status_code == 200  # the results page's thumbnails


def test_participants_keep_no_network_address_nor_hash(tmp_path, media_root, client):
    make_sets(tmp_path)
    start(client)
    fields = {f.name for f in Participant._meta.get_fields()}
    assert not fields & {"ip", "ip_hash", "ip_key"}
