"""`make demo` serves with DEBUG off: the settings its Makefile target exports answer a wrong Host, a
20 MB body, 1,500 form fields and a missing page with the site's own pages (no traceback, no settings,
no URL patterns), and no URL maps MEDIA_ROOT."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# Runs inside the demo's settings; prints one JSON object: {name: [status, body]}.
PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
big = "x=" + "a" * (20 * 1024 * 1024)
fields = "&".join(f"f{i}=1" for i in range(1500))
form = "application/x-www-form-urlencoded"
answers = {
    "wrong_host": client.get("/", HTTP_HOST="evil.example"),
    "big_body": client.post("/turing/start/", big, content_type=form),
    "many_fields": client.post("/turing/start/", fields, content_type=form),
    "media_dotdot": client.get("/media/%2e%2e/cansite/settings.py"),
    "media_file": client.get("/media/turing/kept.jpg"),
    "missing": client.get("/no/such/page/"),
    "static": client.get("/static/cansite.css"),
}
out = {name: [r.status_code, b"".join(r.streaming_content).decode(errors="replace") if r.streaming
              else r.content.decode(errors="replace")] for name, r in answers.items()}
out["settings"] = [settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE,
                   settings.ALLOWED_HOSTS, settings.SECRET_KEY != "insecure-local-only-key"]
print(json.dumps(out))
"""
DEBUG_MARKS = ("Traceback", "DisallowedHost", "RequestDataTooBig", "TooManyFieldsSent", "Using the URLconf",
               "settings.py", "SECRET_KEY", "Request Method", str(REPO))


def demo_environment() -> dict[str, str]:
    """The variables the Makefile's demo target exports (`demo: export NAME := VALUE`)."""
    text = (REPO / "Makefile").read_text()
    found = dict(re.findall(r"^demo: export (\w+) :?= (\S+)$", text, re.MULTILINE))
    assert found, "the demo target exports its settings"
    return found


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict:
    var = tmp_path_factory.mktemp("demo-var")
    (var / "media" / "turing").mkdir(parents=True)
    (var / "media" / "turing" / "kept.jpg").write_bytes(b"\xff\xd8 a private file \xff\xd9")
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "LOCAL_SITE", "DJANGO_ALLOW_ASYNC_UNSAFE",
                          "MEDIA_ROOT", "STATIC_ROOT"}}
    env = {**clean, **demo_environment(), "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "cansite.settings",
           "DATABASE_URL": f"sqlite:///{var / 'demo.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["var"] = str(var)
    return data


def test_the_demo_serves_with_debug_off_over_plain_http_on_localhost(answers):
    debug, ssl_redirect, secure_cookie, hosts, own_key = answers["settings"]
    assert (debug, ssl_redirect, secure_cookie) == (False, False, False)
    assert set(hosts) == {"localhost", "127.0.0.1", "[::1]"} and own_key
    key = (Path(answers["var"]) / "secret-key").read_text().strip()
    assert len(key) >= 50


@pytest.mark.parametrize("name,status,words", [
    ("wrong_host", 400, "This request could not be read"),
    ("big_body", 413, "This request is too large"),
    ("many_fields", 400, "This request could not be read"),
    ("media_dotdot", 404, "There is no page at this address"),
    ("missing", 404, "There is no page at this address"),
])
def test_bad_requests_get_the_sites_own_page_and_no_debug_page(answers, name, status, words):
    got, body = answers[name]
    assert got == status and words in body
    assert not [mark for mark in DEBUG_MARKS if mark in body]


def test_no_url_maps_media_root_but_static_files_are_served(answers):
    assert answers["media_file"][0] == 404 and "a private file" not in answers["media_file"][1]
    status, css = answers["static"]
    assert status == 200 and "{" in css
