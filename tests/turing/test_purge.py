"""Retention and erasure: panel ids purged after the study's retention_days (safely twice, and a dry run
that changes nothing), expired start logs purged with them, a participant erased by panel id from the
command and from the admin (after a confirmation page), and withdrawal counts left standing."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.turing.factory import make_participant_with_answers, make_sets
from turing import privacy
from turing.models import Answer, FlowEvent, Participant, Showing, StartLog, Study

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/turing/participant/"


@pytest.fixture
def sets(tmp_path, media_root):
    return make_sets(tmp_path)


def make_study(slug: str = "pilot", retention_days: int = 30) -> Study:
    return Study.objects.create(slug=slug, title=slug, sets=[1, 2], conditions=["none", "each"], panel="prolific",
                                retention_days=retention_days)


def make_study_participant(turing_set, study: Study, panel_id: str, days_old: float = 0, answers: int = 2,
                           condition: str = "none", ip: str = "10.0.0.1") -> Participant:
    participant = make_participant_with_answers(turing_set, answers, ip=ip)
    Participant.objects.filter(id=participant.id).update(
        study=study, condition=condition, language="ko", panel_id=panel_id,
        panel_data={"STUDY_ID": "s1", "SESSION_ID": f"session-{panel_id}"},
        created_at=timezone.now() - timedelta(days=days_old))
    participant.refresh_from_db()
    return participant


def command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_panel_ids_past_retention_are_purged_and_a_second_run_finds_nothing(sets):
    study, other = make_study(retention_days=30), make_study("long", retention_days=400)
    old = make_study_participant(sets[0], study, "PID-OLD", days_old=31)
    recent = make_study_participant(sets[0], study, "PID-NEW", days_old=29)
    kept_longer = make_study_participant(sets[1], other, "PID-OTHER", days_old=31)
    StartLog.objects.create(key="a" * 64, created_at=timezone.now() - timedelta(hours=2))
    StartLog.objects.create(key="b" * 64, created_at=timezone.now())
    assert command("purge_turing_data") == ("cleared the panel ids of 1 participant(s) past their study's retention; "
                                            "deleted 1 expired start log(s)")
    old.refresh_from_db(), recent.refresh_from_db(), kept_longer.refresh_from_db()
    assert (old.panel_id, old.panel_data) == ("", {})
    assert old.answers.count() == 2  # the answers stay: only the ids that name a person go
    assert (recent.panel_id, kept_longer.panel_id) == ("PID-NEW", "PID-OTHER")
    assert recent.panel_data == {"STUDY_ID": "s1", "SESSION_ID": "session-PID-NEW"}
    assert not StartLog.objects.filter(key="a" * 64).exists()  # the participants' own starts are recent: kept
    assert StartLog.objects.filter(key="b" * 64).exists()
    assert command("purge_turing_data") == ("cleared the panel ids of 0 participant(s) past their study's retention; "
                                            "deleted 0 expired start log(s)")


def test_a_dry_run_counts_what_would_go_and_changes_nothing(sets):
    study = make_study(retention_days=30)
    old = make_study_participant(sets[0], study, "PID-OLD", days_old=45)
    StartLog.objects.create(key="a" * 64, created_at=timezone.now() - timedelta(hours=2))
    assert command("purge_turing_data", "--dry-run") == (
        "would clear the panel ids of 1 participant(s) past their study's retention; would delete 1 expired "
        "start log(s)")
    old.refresh_from_db()
    assert old.panel_id == "PID-OLD" and StartLog.objects.filter(key="a" * 64).exists()
    assert command("purge_turing_data").startswith("cleared the panel ids of 1 participant(s)")


def test_erase_participant_deletes_the_one_the_panel_id_names_in_that_study_only(sets):
    study, other = make_study(), make_study("other")
    named = make_study_participant(sets[0], study, "PID-1", answers=3)
    same_id_elsewhere = make_study_participant(sets[0], other, "PID-1")
    bystander = make_study_participant(sets[1], study, "PID-2")
    assert command("erase_participant", "pilot", "PID-1") == "1"
    assert not Participant.objects.filter(id=named.id).exists()
    assert not Answer.objects.filter(participant_id=named.id).exists()
    assert not Showing.objects.filter(participant_id=named.id).exists()
    assert Participant.objects.filter(id__in=[same_id_elsewhere.id, bystander.id]).count() == 2
    assert command("erase_participant", "pilot", "PID-1").startswith("0 (none has this panel id")
    assert not FlowEvent.objects.exists()  # an erasure leaves no count, unlike a withdrawal


def test_erase_participant_names_a_wrong_slug_or_an_empty_id_in_one_line(sets):
    make_study()
    with pytest.raises(CommandError, match=r"^SLUG: no study 'pilott'$"):
        command("erase_participant", "pilott", "PID-1")
    with pytest.raises(CommandError, match=r"^PANEL_ID: must not be empty$"):
        command("erase_participant", "pilot", " ")


def test_staff_find_a_participant_by_panel_id_and_erase_them_after_a_confirmation_page(sets, admin_client):
    study = make_study()
    named = make_study_participant(sets[0], study, "PID-GDPR", answers=3)
    bystander = make_study_participant(sets[0], study, "PID-KEEP")
    listing = admin_client.get(CHANGELIST, {"q": "PID-GDPR"}).content.decode()
    assert named.public_id in listing and bystander.public_id not in listing
    assert "Erase (GDPR request)" in listing
    form = {"action": "erase_gdpr", ACTION_CHECKBOX_NAME: [named.id]}
    page = admin_client.post(CHANGELIST, form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "PID-GDPR" in text and "cannot be undone" in text and 'name="confirmed" value="yes"' in text
    assert Participant.objects.filter(id=named.id).exists()  # nothing is erased before the confirmation
    done = admin_client.post(CHANGELIST, {**form, "confirmed": "yes"}, follow=True)
    assert "1 participant(s) erased" in done.content.decode()
    assert not Participant.objects.filter(id=named.id).exists()
    assert not Answer.objects.filter(participant_id=named.id).exists()
    assert Participant.objects.filter(id=bystander.id).exists()


def test_staff_without_the_delete_permission_cannot_erase(sets, client):
    study = make_study()
    named = make_study_participant(sets[0], study, "PID-GDPR")
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_participant"))
    client.force_login(user)
    listing = client.get(CHANGELIST).content.decode()
    assert named.public_id in listing and "Erase (GDPR request)" not in listing
    client.post(CHANGELIST, {"action": "erase_gdpr", ACTION_CHECKBOX_NAME: [named.id], "confirmed": "yes"})
    assert Participant.objects.filter(id=named.id).exists()


def test_the_participant_admin_shows_study_condition_language_consent_and_panel_id(sets, admin_client):
    study = make_study()
    version = study.consent_versions.create(number=1, text="I agree.", sha256="0" * 64)
    participant = make_study_participant(sets[0], study, "PID-SHOWN", condition="each")
    Participant.objects.filter(id=participant.id).update(consent_version=version, consented_at=timezone.now())
    listing = admin_client.get(CHANGELIST).content.decode()
    for column, shown in (("study", "pilot"), ("condition", "After each answer"), ("language", "ko"),
                          ("consent", f"v1, {timezone.now():%Y-%m-%d}"), ("panel_id", "PID-SHOWN")):
        assert re.search(f'<td class="field-{column}( nowrap)?">{shown}[^<]*<', listing), column


def test_withdrawal_counts_survive_erasure_and_the_purge(sets):
    study = make_study(retention_days=30)
    leaving = make_study_participant(sets[1], study, "PID-W", condition="each", days_old=40)
    privacy.withdraw(leaving)
    make_study_participant(sets[0], study, "PID-E")
    call_command("erase_participant", "pilot", "PID-E", stdout=io.StringIO())
    call_command("purge_turing_data", stdout=io.StringIO())
    call_command("purge_turing_data", stdout=io.StringIO())
    assert list(FlowEvent.objects.values_list("event", "condition", "set_number", "language")) == \
        [("withdrew", "each", 2, "ko")]
    assert not Participant.objects.filter(study=study).exists()


def test_the_study_admin_edits_only_active_and_exports_the_study_file(sets, admin_client, tmp_path):
    from turing.studies import export

    study = make_study()
    study.consent_versions.create(number=1, text="I agree.", sha256="0" * 64)
    page = admin_client.get(f"/admin/turing/study/{study.id}/change/").content.decode()
    assert 'name="active"' in page and 'name="title"' not in page and 'name="retention_days"' not in page
    assert "I agree." in page  # the consent version is shown inline, read-only
    assert 'name="consent_versions-0-text"' not in page
    toml = admin_client.get(f"/admin/turing/study/{study.id}/export.toml")
    assert toml["Content-Disposition"] == 'attachment; filename="pilot.toml"'
    assert toml.content.decode() == export(study)
    markdown = admin_client.get(f"/admin/turing/study/{study.id}/export.md").content.decode()
    assert markdown.startswith("# pilot\n") and "> I agree." in markdown
    assert admin_client.get(f"/admin/turing/study/{study.id}/export.pdf").status_code == 404
    admin_client.post(f"/admin/turing/study/{study.id}/change/", {"active": "", "title": "changed",
                                                                  "consent_versions-TOTAL_FORMS": "1",
                                                                  "consent_versions-INITIAL_FORMS": "1"})
    study.refresh_from_db()
    assert (study.active, study.title) == (False, "pilot")
