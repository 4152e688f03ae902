"""What a participant may take back, and what the study may keep: one home for deleting people's data.

Withdrawing deletes a participant's answers, trials and profile and leaves one anonymous FlowEvent (its
condition, set and language), so that the attrition table still counts them. Staff erase a participant
named by a panel id (a GDPR request) the same way, without the count. Panel ids are kept only for the
study's `retention_days`: purge_panel_ids clears them (and the panel's other ids) after that, and finds
nothing left to do when it runs again.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from .models import Answer, FlowEvent, Participant, Study


@transaction.atomic
def erase(participant: Participant) -> None:
    """Delete the participant, their answers and their trials (Showing rows go with the participant)."""
    Answer.objects.filter(participant=participant).delete()
    participant.delete()


@transaction.atomic
def withdraw(participant: Participant) -> None:
    """The participant's own withdrawal: erased, and counted (anonymously) for the attrition table."""
    if participant.study_id is not None:
        FlowEvent.objects.create(study_id=participant.study_id, event=FlowEvent.Event.WITHDREW,
                                 condition=participant.condition, set_number=participant.turing_set.number,
                                 language=participant.language)
    erase(participant)


def erase_panel_id(study: Study, panel_id: str) -> int:
    """Erase the participant whom `panel_id` names in `study` (a GDPR request); returns how many (0 or 1)."""
    found = list(Participant.objects.filter(study=study, panel_id=panel_id).exclude(panel_id=""))
    for participant in found:
        erase(participant)
    return len(found)


def purge_panel_ids(now) -> int:
    """Clear the panel ids (and the panel's other ids) of participants older than their study's
    retention_days; returns how many participants were cleared."""
    cleared = 0
    for study in Study.objects.all():
        old = Participant.objects.filter(study=study, created_at__lt=now - timedelta(days=study.retention_days))
        cleared += old.exclude(panel_id="", panel_data={}).update(panel_id="", panel_data={})
    return cleared
