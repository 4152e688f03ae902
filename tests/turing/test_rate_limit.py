"""The per-network limit of new tests: one locked count-and-insert (racing starts cannot pass it), and
of the address only a keyed HMAC, kept for the limit's hour and then deleted."""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from turing import services
from turing.models import Participant, StartLog

from .factory import make_sets

IP = "198.51.100.23"


@pytest.mark.django_db(transaction=True)
def test_thirty_racing_starts_with_seven_used_create_only_the_twenty_three_left(tmp_path, media_root, settings):
    settings.TURING_NEW_PARTICIPANTS_PER_IP_HOUR = 30
    turing_set = make_sets(tmp_path)[0]
    for _ in range(7):
        services.start_participant(turing_set=turing_set, ip=IP)
    gate, outcomes = threading.Barrier(30), []

    def start():
        try:
            gate.wait()
            services.start_participant(turing_set=turing_set, ip=IP)
            outcomes.append("started")
        except services.RateLimited:
            outcomes.append("limited")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("started") == 23 and outcomes.count("limited") == 7
    assert Participant.objects.count() == 30 and StartLog.objects.count() == 30


@pytest.mark.django_db
def test_the_address_is_kept_as_an_hmac_under_its_own_key_not_a_hash_salted_from_the_secret_key(
        tmp_path, media_root, settings):
    settings.TURING_IP_KEY = "a key of this install"
    services.start_participant(turing_set=make_sets(tmp_path)[0], ip=IP)
    stored = StartLog.objects.get().key
    assert stored == salted_hmac("turing.ip", IP, secret="a key of this install", algorithm="sha256").hexdigest()
    # the old scheme: anyone who knows SECRET_KEY (the demo's is public) can try all of IPv4 against it
    assert stored != hashlib.sha256(f"turing-ip:{settings.SECRET_KEY}|{IP}".encode()).hexdigest()
    settings.SECRET_KEY = "another secret key"
    assert services.ip_key(IP) == stored
    settings.TURING_IP_KEY = "another install"
    assert services.ip_key(IP) != stored


@pytest.mark.django_db
def test_start_logs_older_than_the_hour_are_deleted(tmp_path, media_root):
    turing_set = make_sets(tmp_path)[0]
    services.start_participant(turing_set=turing_set, ip=IP)
    StartLog.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    services.start_participant(turing_set=turing_set, ip="203.0.113.9")
    assert list(StartLog.objects.values_list("key", flat=True)) == [services.ip_key("203.0.113.9")]
    assert Participant.objects.count() == 2  # the participants stay; only the address logs go


def test_the_install_key_is_random_made_once_and_kept_in_var(tmp_path, monkeypatch):
    import subprocess
    import sys

    from tests.conftest import REPO

    script = "from django.conf import settings; print(settings.TURING_IP_KEY)"
    env = {"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "cansite.settings", "PATH": "/usr/bin:/bin"}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=REPO,
                              env=env, capture_output=True, text=True, check=True).stdout.strip()

    first = run()
    assert len(first) >= 40 and run() == first and (tmp_path / "turing-ip-key").read_text().strip() == first
    assert (tmp_path / "turing-ip-key").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_the_consent_text_says_what_is_kept_of_the_address_and_for_how_long(tmp_path, media_root, client):
    sets = make_sets(tmp_path)
    type(sets[1]).objects.filter(id=sets[1].id).update(consent_text="A set's own consent text.")
    for q in (1, 2):  # a set's own consent text too
        page = client.get(f"/turing/?q={q}").content.decode()
        assert "keyed hash of your IP address" in page and "delete it after one hour" in page
    assert timedelta(hours=1) == services.RATE_WINDOW  # what the page says
