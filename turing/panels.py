"""Recruitment panels: the ids a panel appends to a study's link, and where a participant goes when done.

Prolific appends PROLIFIC_PID, STUDY_ID and SESSION_ID; MTurk workerId, assignmentId, hitId and
turkSubmitTo (assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE while a worker only previews the HIT);
CloudResearch and any other panel a `pid`. The first of each is the participant's id (one participant
per id per study); the others are kept beside it in Participant.panel_data, for the researcher's export
and MTurk's completion, and purged with it (turing.privacy). No page a visitor sees shows them, except
the assignment id MTurk's own completion form must post back. No queries here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from django.utils.translation import gettext as _

from .models import Outcome, Panel

# kind: (the id's parameter names, first found wins; the other ids kept)
PARAMS = {
    Panel.PROLIFIC: (("PROLIFIC_PID",), ("STUDY_ID", "SESSION_ID")),
    Panel.MTURK: (("workerId",), ("assignmentId", "hitId", "turkSubmitTo")),
    Panel.CLOUDRESEARCH: (("pid", "participantId"), ("assignmentId", "projectId")),
    Panel.GENERIC: (("pid",), ()),
}
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
# turkSubmitTo names where the completion form posts: only MTurk's own hosts, or a crafted link would
# send the participant (and their assignment id) anywhere
MTURK_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
VALUE = re.compile(r"[\x21-\x7e]{1,500}")  # printable ASCII, no spaces: what panels append


@dataclass(frozen=True)
class Visit:
    """Who the link says the visitor is: a panel id with the panel's other ids, or a preview, or why
    the link cannot start the study (`problem`, in words for the visitor)."""

    panel_id: str = ""
    data: dict = field(default_factory=dict)
    preview: bool = False
    problem: str = ""

    def as_session(self) -> dict:
        return {"panel_id": self.panel_id, "data": self.data}


def parse(kind: str, query) -> Visit | None:
    """The visit a study link's query describes, or None when it carries none of the panel's parameters."""
    if kind not in PARAMS:
        return None
    id_names, other_names = PARAMS[kind]
    if not any(name in query for name in id_names + other_names):
        return None
    if kind == Panel.MTURK and query.get("assignmentId") == MTURK_PREVIEW:
        return Visit(preview=True)
    panel_id = next((query.get(name, "") for name in id_names if query.get(name)), "")
    if not ID.fullmatch(panel_id):
        return Visit(problem=_("The link lacks a valid %(name)s: please open the study again from %(panel)s.")
                     % {"name": id_names[0], "panel": Panel(kind).label})
    data = {}
    for name in other_names:
        value = query.get(name, "")
        if value and not VALUE.fullmatch(value):
            return Visit(problem=_("The link's %(name)s is malformed: please open the study again from %(panel)s.")
                         % {"name": name, "panel": Panel(kind).label})
        if value:
            data[name] = value
    if "turkSubmitTo" in data and data["turkSubmitTo"].rstrip("/") not in MTURK_HOSTS:
        return Visit(problem=_("The link's turkSubmitTo is not an MTurk address: please open the HIT again."))
    return Visit(panel_id=panel_id, data=data)


def missing(kind: str) -> Visit:
    """A visit without the id a panel study needs."""
    return Visit(problem=_("This study is run on %(panel)s: please open it from there (the link lacks %(name)s).")
                 % {"panel": Panel(kind).label, "name": PARAMS[kind][0][0]})


def code_for(codes: dict, outcome: str) -> str:
    """The panel's code for an outcome; a study without a failed_attention code gives the completed one."""
    code = codes.get(outcome, "")
    if not code and outcome == Outcome.FAILED_ATTENTION:
        code = codes.get(Outcome.COMPLETED, "")
    return code


@dataclass(frozen=True)
class Completion:
    """Where a participant goes when they leave: a link (Prolific, CloudResearch, ...) or MTurk's form."""

    code: str
    url: str = ""  # the study's completion_url with the code in it
    mturk_action: str = ""  # turkSubmitTo/mturk/externalSubmit
    assignment_id: str = ""


def completion(*, kind: str, completion_url: str, codes: dict, outcome: str, data: dict) -> Completion | None:
    """The way out for `outcome`, or None when the study has none (no panel, no code, purged ids)."""
    code = code_for(codes, outcome)
    if kind == Panel.MTURK:
        submit_to, assignment = data.get("turkSubmitTo", "").rstrip("/"), data.get("assignmentId", "")
        if submit_to not in MTURK_HOSTS or not assignment:
            return None
        return Completion(code=code, mturk_action=f"{submit_to}/mturk/externalSubmit", assignment_id=assignment)
    if kind == Panel.NONE or not completion_url or not code:
        return None
    return Completion(code=code, url=completion_url.replace("{code}", quote(code, safe="")))
