"""The analysis of one study (issue 15 §6), for /turing/results/s/<slug>/ and its exports.

Accuracy, sensitivity, specificity, d′ and κ overall, by condition and by language; each participant's
first half of the trials against their second half (does feedback teach?); and the flow of people through
the study per condition, as a CONSORT diagram draws it. Pure functions over rows do the arithmetic (answer
rows from selectors.answer_rows, participant and flow-event rows); `study_analysis(study)` reads the rows.

What counts is what the results page counts: each lesion image's first showing, finished participants
only, flagged ones and archived builds left out unless asked. A timed-out trial is neither right nor wrong:
it is left out of every rate and counted on its own. Practice trials are never answer rows.
"""
from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.utils import timezone

from . import selectors, services, stats
from .models import Feedback, FlowEvent, Participant, Study

UNASSIGNED = "unassigned"  # the flow column of people who left before a condition was drawn
TOTAL = "total"
FLOW_STEPS = {  # step: what a CONSORT box says (the page and the summary export name the steps this way)
    "entered": "Entered (opened the study page)",
    "declined": "Declined consent",
    "consented": "Consented (participants + withdrawn)",
    "withdrew": "Withdrew (data deleted)",
    "finished": "Finished",
    "in_progress": "In progress (unfinished, still active)",
    "abandoned": "Abandoned (unfinished, inactive past TURING_RESUME_MINUTES)",
    "timed_out": "Timed out (at least one trial ran past its time limit)",
    "flagged": "Flagged (failed an attention check or answered too fast)",
    "analysed": "Analysed (finished, in the rates below)",
}


def metrics(rows: list[dict]) -> dict:
    """The figures of a group of first-showing rows: stats.summarise over the answered ones, Cohen's κ of
    answer against truth, Fleiss' κ of agreement between participants, and the timed-out trials apart."""
    answered = [r for r in rows if not r["timed_out"]]
    counts = selectors.counts(answered)
    return {**stats.summarise(**counts), "participants": len({r["participant"] for r in rows}),
            "timed_out": len(rows) - len(answered),
            "cohen_kappa": stats.cohen_kappa(counts["hits"], counts["signal"], counts["false_alarms"],
                                             counts["noise"]),
            "fleiss_kappa": selectors.kappa(answered)}


def ordered_keys(known: list[str], seen) -> list[str]:
    """The study's own order first (every condition or language it names, even one nobody has yet), then
    any other value the rows hold (a condition dropped when the study file was reloaded, say)."""
    return list(known) + sorted(set(seen) - set(known))


def grouped(rows: list[dict], key: str, known: list[str], names: dict[str, str]) -> dict[str, dict]:
    """metrics() per value of rows' `key`, each with the value's label for people (`names`)."""
    groups = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return {value: {**metrics(groups[value]), "label": names.get(value, value)}
            for value in ordered_keys(known, groups)}


def split_halves(trials: list[dict]) -> tuple[list[dict], list[dict]]:
    """One participant's trials in the order shown: the first n//2 and the last n//2 (the middle trial of
    an odd count belongs to neither, so that both halves have as many trials)."""
    trials = sorted(trials, key=lambda r: r["position"])
    half = len(trials) // 2
    return trials[:half], trials[len(trials) - half:]


def accuracy(rows: list[dict]) -> float | None:
    answered = [r for r in rows if not r["timed_out"]]
    return sum(r["answer"] == r["truth"] for r in answered) / len(answered) if answered else None


def learning(rows: list[dict]) -> dict:
    """First half against second half of a group's first-showing rows. The halves' rates pool the answers;
    the change is the mean over participants of (second-half − first-half accuracy) with a t interval and
    test, because one person's answers are not independent of each other: the participant is the unit.
    Participants with a half of timed-out trials only have no change and are left out of it."""
    people = defaultdict(list)
    for row in rows:
        people[row["participant"]].append(row)
    first_rows, second_rows, changes = [], [], []
    for trials in people.values():
        first, second = split_halves(trials)
        first_rows += first
        second_rows += second
        before, after = accuracy(first), accuracy(second)
        if before is not None and after is not None:
            changes.append(after - before)
    return {"first": metrics(first_rows), "second": metrics(second_rows),
            "change": stats.mean_change(changes, bounds=(-1, 1)), "changes": changes}


def compare_arms(arms: dict[str, dict]) -> dict[str, dict]:
    """Does feedback teach more than none? Each arm's per-participant changes against the reference arm's
    (no feedback when the study has it, else its first condition), a Welch interval and test of the
    difference in mean change: independent groups of participants."""
    reference = Feedback.NONE if Feedback.NONE in arms else next(iter(arms), None)
    for condition, arm in arms.items():
        arm["versus"] = None if condition == reference else {
            "reference": reference, **stats.welch_difference(arm["changes"], arms[reference]["changes"],
                                                             bounds=(-2, 2))}
    return arms


def flow_table(participants: list[dict], events: list[dict], analysed: dict[str, int],
               conditions: list[str]) -> dict:
    """Counts per flow step and condition, plus the unassigned column and the total. `participants` rows
    have condition, status (finished, in_progress or abandoned), timed_out (trials) and flagged; `events`
    rows have event and condition (blank before a cell was assigned); `analysed` is participants per
    condition in the rates. A withdrawn participant consented: consented = participants + withdrawals."""
    seen = {p["condition"] for p in participants} | {e["condition"] for e in events} | set(analysed)
    columns = ordered_keys(conditions, seen - {""}) + [UNASSIGNED, TOTAL]
    names = [CONDITION_NAMES.get(c, c) for c in columns]
    table = {step: dict.fromkeys(columns, 0) for step in FLOW_STEPS}

    def add(step: str, condition: str, n: int = 1) -> None:
        table[step][condition or UNASSIGNED] += n
        table[step][TOTAL] += n

    for event in events:
        add(event["event"], event["condition"])
        if event["event"] == FlowEvent.Event.WITHDREW:
            add("consented", event["condition"])
    for person in participants:
        add("consented", person["condition"])
        add(person["status"], person["condition"])
        if person["timed_out"]:
            add("timed_out", person["condition"])
        if person["flagged"]:
            add("flagged", person["condition"])
    for condition, n in analysed.items():
        add("analysed", condition, n)
    return {"columns": columns, "names": names, "steps": [{"step": step, "label": label, "counts": table[step],
                                           "cells": [table[step][c] for c in columns]}
                                          for step, label in FLOW_STEPS.items()]}


def status(participant: Participant, now) -> str:
    if participant.finished:
        return "finished"
    return "abandoned" if services.is_expired(participant, now) else "in_progress"


def study_participants(study: Study, now) -> list[dict]:
    """Every participant of the study with their cell, consent record, status and panel id (staff only)."""
    rows = []
    for p in (Participant.objects.filter(study=study).select_related("turing_set", "consent_version")
              .order_by("created_at", "id")):
        rows.append({"participant": p.public_id, "panel_id": p.panel_id, "condition": p.condition,
                     "language": p.language, "set": p.turing_set.number,
                     "consent_version": p.consent_version.number if p.consent_version else "",
                     "consented_at": p.consented_at, "status": status(p, now), "answered": p.position,
                     "total": p.total, "timed_out": p.timed_out, "flagged": p.flagged,
                     "flag_reasons": "; ".join(p.flag_reasons)})
    return rows


CONDITION_NAMES = {**{value: f"{value}: feedback {label[0].lower()}{label[1:]}" for value, label in Feedback.choices},
                   "": "(no condition)", UNASSIGNED: "unassigned", TOTAL: "total"}


def language_names() -> dict[str, str]:
    return {**{code: f"{code}: {name}" for code, name in settings.LANGUAGES}, "": "(no language)"}


def study_analysis(study: Study, *, include_flagged: bool = False, include_archived: bool = False,
                   with_panel_ids: bool = False, now=None) -> dict:
    """Everything the study's page and exports show, from the database. The participant list (which
    carries panel ids) is in it only `with_panel_ids`: for staff, never for the anonymous exports."""
    now = now or timezone.now()
    rows = selectors.first_showings(selectors.answer_rows(study=study, include_flagged=include_flagged,
                                                          include_archived=include_archived))
    people = study_participants(study, now)
    events = list(FlowEvent.objects.filter(study=study).values("event", "condition"))
    by_condition = grouped(rows, "condition", study.conditions, CONDITION_NAMES)
    analysed = {c: m["participants"] for c, m in by_condition.items() if m["participants"]}
    per_condition = defaultdict(list)
    for row in rows:
        per_condition[row["condition"]].append(row)
    return {
        "study": {"slug": study.slug, "title": study.title, "conditions": study.conditions, "sets": study.sets,
                  "languages": study.languages, "practice": study.practice, "trial_seconds": study.trial_seconds,
                  "panel": study.panel},
        "include_flagged": include_flagged, "include_archived": include_archived,
        "overall": metrics(rows), "by_condition": by_condition,
        "by_language": grouped(rows, "language", study.languages, language_names()),
        "learning": compare_arms({c: {**learning(per_condition[c]), "label": CONDITION_NAMES.get(c, c)}
                                  for c in by_condition}),
        "flow": flow_table(people, events, analysed, study.conditions),
        "participants": people if with_panel_ids else None,
    }


ANSWER_COLUMNS = ["participant", "panel_id", "profile", "years", "condition", "language", "consent_version", "set",
                  "position", "token", "truth", "class", "origin_dataset", "origin_item", "answer", "timed_out",
                  "confidence", "response_ms", "flags", "archived"]  # the researcher's export, staff only
ANONYMOUS_ANSWER_COLUMNS = [c for c in ANSWER_COLUMNS if c != "panel_id"]
SUMMARY_COLUMNS = ["section", "group", "statistic", "value", "low", "high"]
METRIC_STATISTICS = ["participants", "answers", "correct", "timed_out", "accuracy", "p_value", "sensitivity",
                     "specificity", "dprime", "criterion", "cohen_kappa", "fleiss_kappa"]  # low/high: <name>_ci


def metric_rows(section: str, group: str, m: dict) -> list[dict]:
    rows = []
    for name in METRIC_STATISTICS:
        low, high = m.get(f"{name}_ci", (None, None))
        rows.append({"section": section, "group": group, "statistic": name, "value": m[name], "low": low,
                     "high": high})
    return rows


def summary_rows(data: dict) -> list[dict]:
    """The whole analysis in long form, one figure a row (section, group, statistic, value, low, high):
    the metrics overall, by condition, by language and by half; the change between halves; the flow."""
    rows = metric_rows("overall", "all", data["overall"])
    for section, key in (("condition", "by_condition"), ("language", "by_language")):
        for group, m in data[key].items():
            rows += metric_rows(section, group, m)
    for condition, halves in data["learning"].items():
        rows += metric_rows("first_half", condition, halves["first"])
        rows += metric_rows("second_half", condition, halves["second"])
        change = halves["change"]
        rows += [{"section": "change", "group": condition, "statistic": "accuracy_change", "value": change["mean"],
                  "low": change["ci"][0], "high": change["ci"][1]},
                 {"section": "change", "group": condition, "statistic": "p_value", "value": change["p_value"],
                  "low": None, "high": None},
                 {"section": "change", "group": condition, "statistic": "participants", "value": change["n"],
                  "low": None, "high": None}]
        if versus := halves["versus"]:
            rows += [{"section": f"change_vs_{versus['reference']}", "group": condition, "statistic": name,
                      "value": value, "low": low, "high": high}
                     for name, value, (low, high) in (("difference", versus["mean"], versus["ci"]),
                                                      ("p_value", versus["p_value"], (None, None)))]
    for step in data["flow"]["steps"]:
        rows += [{"section": "flow", "group": column, "statistic": step["step"], "value": n, "low": None,
                  "high": None} for column, n in step["counts"].items()]
    return rows


def anonymous_json(data: dict, answers) -> dict:
    """The JSON export: the same figures as the summary, structured, and the answers without panel ids."""
    keep = ("study", "include_flagged", "include_archived", "overall", "by_condition", "by_language", "learning",
            "flow")
    return {**{key: data[key] for key in keep}, "summary": summary_rows(data),
            "answers": [{c: row[c] for c in ANONYMOUS_ANSWER_COLUMNS} for row in answers]}
