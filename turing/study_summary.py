"""A study as a readable pre-registration summary (Markdown), written beside its TOML file by export_study.

It says what the file means in words an ethics board or a registry reads: the design and its cells, each
set's composition, practice, time limit, languages, panel and codes, retention, every consent version with
its date and text, the debrief and the contact. Counts of participants so far are given per cell, so the
same summary serves before the study (all zero) and at its end.
"""
from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import get_language_info

from .models import Feedback, Kind, Outcome, Panel, Participant, Study, TuringSet
from .studies import entry_path


def summary_markdown(study: Study) -> str:
    sections = [header(study), design(study), cells(study), sets(study), practice_and_time(study),
                languages(study), panel(study), retention(study), consents(study), debrief(study)]
    return "\n\n".join(reflow(section.strip()) for section in sections) + "\n"


def reflow(text: str) -> str:
    """Each paragraph of prose on one line (the sections are written wrapped, for the code's width);
    headings, tables, lists and quotes keep their lines."""
    out: list[str] = []
    for line in text.splitlines():
        prose = line and not line.startswith(("#", "|", "- ", ">"))
        if prose and out and out[-1] and not out[-1].startswith(("#", "|", "- ", ">")):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


def cell(value) -> str:
    """A Markdown table cell: a pipe or a line break would end it."""
    return " ".join(str(value).split()).replace("|", "\\|")


def quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()) or "> (empty)"


def header(study: Study) -> str:
    state = "open to new participants" if study.active else "closed (takes no new participants)"
    return f"""
# {study.title}

Study `{study.slug}`, summary written {timezone.now():%Y-%m-%d %H:%M} UTC by cansite. Entry link:
`{entry_path(study.slug)}` (the site's address before it). The study is {state}.
Contact: {study.contact or "none given"}.
"""


def design(study: Study) -> str:
    arms = "; ".join(f"`{c}` ({Feedback(c).label.lower()})" for c in study.conditions)
    total = len(study.sets) * len(study.conditions)
    return f"""
## Design

Each participant judges the images of one Turing set, one at a time, as real or synthetic. Participants
are assigned to one of {total} cells ({len(study.sets)} set{plural(study.sets)} x {len(study.conditions)}
feedback condition{plural(study.conditions)}), balanced over the participants who finished or are still
active: an unfinished participant inactive for more than {settings.TURING_RESUME_MINUTES} minutes frees
their cell. Feedback conditions: {arms}. Each participant sees {settings.TURING_ATTENTION_REPEATS} image(s)
a second time as an attention check; a different answer, a catch trial (a test pattern) called real, or more
than {settings.TURING_FAST_SHARE:.0%} of answers under {settings.TURING_FAST_MS} ms flags them, and flagged
participants are left out of the default analysis.
"""


def plural(items) -> str:
    return "" if len(items) == 1 else "s"


def cells(study: Study) -> str:
    finished = Count("id", filter=Q(finished_at__isnull=False))
    counts = {(row["turing_set__number"], row["condition"]): row for row in
              Participant.objects.filter(study=study).values("turing_set__number", "condition")
              .annotate(started=Count("id"), finished=finished)}
    rows = ["| Set | Condition | Started | Finished |", "|---|---|---|---|"]
    for number in study.sets:
        for condition in study.conditions:
            row = counts.get((number, condition), {"started": 0, "finished": 0})
            rows.append(f"| {number} | {condition} | {row['started']} | {row['finished']} |")
    return "## Cells (participants so far)\n\n" + "\n".join(rows)


def sets(study: Study) -> str:
    builds = {s.number: s for s in TuringSet.objects.current().filter(number__in=study.sets)
              .annotate(lesions=Count("images", filter=Q(images__kind=Kind.LESION)),
                        catches=Count("images", filter=Q(images__kind=Kind.CATCH)))}
    lines = ["## Sets", ""]
    for number in study.sets:
        build = builds.get(number)
        if build is None:
            lines.append(f"- Set {number}: no current build.")
            continue
        parts = "; ".join(f"{truth}: " + ", ".join(f"{name} {labels.get('melanoma', 0)} melanoma "
                                                   f"{labels.get('nevus', 0)} nevus"
                                                   for name, labels in by_name.items())
                          for truth, by_name in build.composition.items())
        parts = f" ({parts})" if parts else ""
        lines.append(f"- Set {number}: {build.lesions} images{parts}, {build.catches} catch trial(s); "
                     f"built {build.created_at:%Y-%m-%d} with seed {build.seed}.")
    return "\n".join(lines)


def practice_and_time(study: Study) -> str:
    practice = (f"{study.practice} practice image(s) first, from outside the scored sets, with feedback; "
                "they never count." if study.practice else "No practice images.")
    limit = (f"{study.trial_seconds} seconds per image: then the image hides, the server refuses a later "
             "answer and the trial is recorded as timed out." if study.trial_seconds else "No time limit.")
    return f"## Practice and time limit\n\n{practice}\n{limit}"


def languages(study: Study) -> str:
    names = ", ".join(f"{get_language_info(code)['name']} (`{code}`)" for code in study.languages)
    return (f"## Languages\n\n{names}. Each participant's language (the one active when they start) is "
            "stored with their answers and shown in the exports and the analysis.")


def panel(study: Study) -> str:
    lines = [f"## Recruitment\n\nPanel: {Panel(study.panel).label}."]
    if study.completion_url:
        lines.append(f"After the last answer participants go to `{study.completion_url}` with their outcome's code.")
    if study.panel == Panel.MTURK:
        lines.append("MTurk participants complete through their assignment's `turkSubmitTo`.")
    if study.codes:
        lines += ["", "| Outcome | Code |", "|---|---|"]
        lines += [f"| {cell(Outcome(outcome).label)} | `{cell(code)}` |" for outcome, code in study.codes.items()]
    return "\n".join(lines)


def retention(study: Study) -> str:
    return f"""
## Data retention and withdrawal

Panel ids (and the panel's other ids) are deleted {study.retention_days} days after a participant
started (`manage.py purge_turing_data`). Answers are anonymous. A participant may withdraw on any trial
page or the score page: their answers and profile are deleted and only a count of withdrawals per
condition is kept. Staff erase a participant named by a panel id on request
(`manage.py erase_participant {study.slug} PANEL_ID`, or the admin).
"""


def consents(study: Study) -> str:
    current = study.current_consent()
    parts = ["## Consent"]
    for version in study.consent_versions.order_by("-number"):
        state = "current" if current and version.id == current.id else "replaced"
        agreed = version.participants.count()
        parts.append(f"### Version {version.number} ({state}), loaded {version.created_at:%Y-%m-%d %H:%M} UTC\n\n"
                     f"sha256 `{version.sha256}`; {agreed} participant(s) agreed to it.\n\n{quoted(version.text)}")
    return "\n\n".join(parts)


def debrief(study: Study) -> str:
    return "## Debrief (shown after the score)\n\n" + (quoted(study.debrief) if study.debrief else "None.")
