"""The load bench's own parts: it reads the real pages' forms, its HTTP client keeps a connection and
reads every body our servers send, and its check finds a lost and a changed answer."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from bench._http import Connection
from bench._turing import form_with, page_forms
from bench.turing_load import check_stored
from tests.turing.factory import current, make_sets, showing_token

pytestmark = pytest.mark.django_db


def test_the_bench_reads_the_consent_and_trial_forms_from_the_pages(tmp_path, media_root, client):
    make_sets(tmp_path)
    consent = form_with(client.get("/turing/?q=2").content.decode(), "consent")
    assert consent["action"] == "/turing/start/" and consent["method"] == "post"
    assert consent["fields"]["q"] == "2" and consent["fields"]["csrfmiddlewaretoken"]
    assert "consent" not in consent["fields"]  # an unticked box sends nothing
    started = client.post(consent["action"], {**consent["fields"], "consent": "on"})
    assert started.status_code == 302
    trial = form_with(client.get(started["Location"]).content.decode(), "token")
    participant = current(client, 2)
    assert trial["action"] == "/turing/answer/"
    assert trial["fields"]["position"] == "0" and trial["fields"]["token"] == showing_token(participant, 0)
    assert "confidence" not in trial["fields"]  # no radio button is checked


def test_a_form_keeps_checked_boxes_and_skips_buttons():
    html = ('<form action="/a?x=1&amp;y=2"><input type="hidden" name="h" value="&lt;v&gt;">'
            '<input type="checkbox" name="c" checked><input type="checkbox" name="off">'
            '<input type="radio" name="r" value="2" checked><input type="submit" name="go" value="Go"></form>')
    (form,) = page_forms(html)
    assert form["action"] == "/a?x=1&y=2" and form["method"] == "get"
    assert form["fields"] == {"h": "<v>", "c": "on", "r": "2"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: list = []

    def do_GET(self):  # the standard library's name for it
        self.peers.append(self.client_address[1])
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_load_client_keeps_its_connection_and_reads_sized_and_chunked_bodies():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Handler.peers = []
    try:
        conn = Connection("127.0.0.1", server.server_address[1], timeout=5)
        assert conn.request("GET", "/sized", {}).body == b"/sized"
        assert conn.request("GET", "/chunked", {}).body == b"one two"
        closing = conn.request("GET", "/close", {})
        assert closing.body == b"/close" and closing.header("Connection") == "close"
        assert conn.request("GET", "/again", {}).body == b"/again"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    first = Handler.peers[0]
    assert Handler.peers[:3] == [first] * 3 and Handler.peers[3] != first  # one connection, then a new one


def test_the_check_counts_a_lost_answer_and_a_changed_one(tmp_path, media_root, client):
    from turing import services

    make_sets(tmp_path)
    client.post("/turing/start/", {"q": 1, "consent": "on"})
    participant = current(client)
    tokens = [showing_token(participant, position) for position in range(3)]
    for position in range(2):
        services.submit_answer(public_id=participant.public_id, set_number=1, position=position,
                               token=tokens[position], answer="real")
    visitor = SimpleNamespace(session=client.cookies["sessionid"].value, errors=[],
                              acked={tokens[0]: "real", tokens[1]: "synthetic", tokens[2]: "real"})
    assert check_stored([visitor], "") == {"lost": 2, "doubled": 1, "finished": 0, "practice_answers": 0}
    visitor.acked = {tokens[0]: "real", "a-practice-token": "real"}
    assert check_stored([visitor], "") == {"lost": 0, "doubled": 0, "finished": 0, "practice_answers": 1}
