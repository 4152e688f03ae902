"""Reads for the Turing pages: the set list, a participant's score, the answers as rows, the analysis.

Analyses count each participant's first answer to each image (attention repeats are left out) and
only finished participants; catch trials (test patterns) never count in a score, only as a flag;
flagged participants are left out unless `include_flagged`, and archived builds unless `include_archived`.
"""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, Q

from . import stats
from .models import Answer, Kind, Participant, Profile, Study, Truth, TuringSet

ALL = "all"
NO_PROFILE = "not given"  # the group of participants who gave no profile
ROW_FIELDS = {
    "participant": "participant__public_id", "profile": "participant__profile", "years": "participant__years",
    "flagged": "participant__flagged", "set": "participant__turing_set__number",
    "archived": "participant__turing_set__archived_at", "position": "position", "repeat": "repeat",
    "token": "image__token", "kind": "image__kind", "truth": "image__truth", "class": "image__label",
    "origin_dataset": "image__origin_dataset", "origin_item": "image__origin_item", "answer": "answer",
    "confidence": "confidence", "response_ms": "response_ms", "fast": "fast",
    # a study's participant (blank outside a study); panel_id goes only into the staff-only study export
    "study": "participant__study__slug", "condition": "participant__condition", "language": "participant__language",
    "consent_version": "participant__consent_version__number", "panel_id": "participant__panel_id",
    "timed_out": "timed_out",
}


def open_studies():
    """The studies that take participants, for the pages that link their entries."""
    return Study.objects.filter(active=True).order_by("slug").only("slug", "title")


def set_list() -> list[dict]:
    counts = Count("participants", filter=Q(participants__finished_at__isnull=False))
    images = Count("images", filter=Q(images__kind=Kind.LESION), distinct=True)
    return list(TuringSet.objects.current().annotate(finished=counts, images_n=images)
                .order_by("number").values("number", "feedback", "finished", "images_n"))


def answer_rows(*, include_flagged: bool = False, include_archived: bool = False, set_number: int | None = None,
                study: Study | None = None):
    """One dict per answer of a finished participant, in a stable order (for CSV, JSON and the analysis).
    Only answers to images of the participant's own set: practice images come from outside the scored sets,
    so a practice answer stored as an Answer could never count."""
    answers = Answer.objects.filter(participant__finished_at__isnull=False,
                                    image__turing_set_id=F("participant__turing_set_id"))
    if not include_flagged:
        answers = answers.filter(participant__flagged=False)
    if not include_archived:
        answers = answers.filter(participant__turing_set__archived_at__isnull=True)
    if set_number is not None:
        answers = answers.filter(participant__turing_set__number=set_number)
    if study is not None:
        answers = answers.filter(participant__study=study)
    ordered = answers.order_by("participant__turing_set__number", "participant_id", "position")
    rows = ordered.values(*ROW_FIELDS.values())
    names = {v: k for k, v in ROW_FIELDS.items()}
    for row in rows:
        row = {names[k]: v for k, v in row.items()}
        row["profile"] = row["profile"] or NO_PROFILE
        row["position"] += 1  # trials count from 1 for people
        row["archived"] = row["archived"] is not None
        row["study"], row["consent_version"] = row["study"] or "", row["consent_version"] or ""
        row["flags"] = " ".join(f for f, on in (("fast", row["fast"]), ("attention-repeat", row["repeat"]),
                                                 ("catch-trial", row["kind"] == Kind.CATCH),
                                                 ("timed-out", row["timed_out"]),
                                                 ("flagged-participant", row["flagged"])) if on)
        yield row


def first_showings(rows) -> list[dict]:
    """Each lesion image's first showing (no repeat, no catch trial), timed-out trials included."""
    return [r for r in rows if not r["repeat"] and r["kind"] == Kind.LESION]


def scored(rows) -> list[dict]:
    """The answers a score counts: first showings that were answered (a timed-out trial is neither right
    nor wrong; the study analysis counts them on their own)."""
    return [r for r in first_showings(rows) if not r["timed_out"]]


def counts(rows) -> dict:
    """The counts stats.summarise needs, from answer rows."""
    rows = list(rows)
    synthetic = [r for r in rows if r["truth"] == Truth.SYNTHETIC]
    real = [r for r in rows if r["truth"] == Truth.REAL]
    return {"correct": sum(r["answer"] == r["truth"] for r in rows), "n": len(rows),
            "hits": sum(r["answer"] == Truth.SYNTHETIC for r in synthetic), "signal": len(synthetic),
            "false_alarms": sum(r["answer"] == Truth.SYNTHETIC for r in real), "noise": len(real)}


def participant_accuracies(turing_set: TuringSet) -> list[tuple[str, float]]:
    """(profile, accuracy) of every finished, unflagged participant of the set."""
    first = Q(answers__repeat=False, answers__image__kind=Kind.LESION, answers__timed_out=False)
    correct = Count("answers", filter=first & Q(answers__answer=F("answers__image__truth")))
    total = Count("answers", filter=first)
    rows = (Participant.objects.filter(turing_set=turing_set, finished_at__isnull=False, flagged=False)
            .annotate(correct=correct, total=total).values_list("profile", "correct", "total"))
    return [(profile, k / n) for profile, k, n in rows if n]


def participant_score(participant: Participant) -> dict:
    # a timed-out trial has no answer to score (the analysis counts it apart)
    answers = list(participant.answers.filter(repeat=False, image__kind=Kind.LESION, timed_out=False)
                   .select_related("image")
                   .order_by("position"))
    tokens = dict(participant.showings.values_list("position", "token"))
    for answer in answers:  # the page names each image by this participant's own token, never the image's
        answer.token = tokens[answer.position]
    rows = [{"truth": a.image.truth, "answer": a.answer} for a in answers if not a.timed_out]  # neither right nor wrong
    summary = stats.summarise(**counts(rows))
    others = participant_accuracies(participant.turing_set)
    everyone = [acc for _, acc in others]
    group = [acc for profile, acc in others if profile == participant.profile]
    mine = summary["accuracy"]
    if participant.flagged:  # a flagged participant is not among the others: rank them against them anyway
        everyone, group = everyone + [mine], group + [mine]
    return {
        **summary,
        "percentile": stats.percentile(mine, everyone),
        "percentile_group": stats.percentile(mine, group) if participant.profile else None,
        "group_label": Profile(participant.profile).label if participant.profile else "",
        "compared_with": len(everyone),
        "items": answers if participant.feedback != "none" else [],
    }


def group_summaries(rows: list[dict]) -> dict[str, dict]:
    groups = defaultdict(list)
    for row in rows:
        groups[ALL].append(row)
        groups[row["profile"]].append(row)
    order = [ALL] + [p for p in Profile.values if p in groups] + ([NO_PROFILE] if NO_PROFILE in groups else [])
    return {name: {**stats.summarise(**counts(groups[name])),
                   "participants": len({r["participant"] for r in groups[name]}),
                   "label": "All" if name == ALL else dict(Profile.choices).get(name, name.capitalize())}
            for name in order}


def by_position(rows: list[dict]) -> list[dict]:
    positions = defaultdict(lambda: [0, 0])
    for row in rows:
        positions[row["position"]][0] += row["answer"] == row["truth"]
        positions[row["position"]][1] += 1
    return [{"position": p, "correct": k, "n": n, "accuracy": k / n, "ci": stats.wilson(k, n)}
            for p, (k, n) in sorted(positions.items())]


def image_rates(rows: list[dict]) -> list[dict]:
    images = {}
    for row in rows:
        entry = images.setdefault(row["token"], {key: row[key] for key in
                                                 ("token", "truth", "class", "origin_dataset", "origin_item")}
                                  | {"judged_real": 0, "n": 0, "set": row["set"]})
        entry["judged_real"] += row["answer"] == Truth.REAL
        entry["n"] += 1
    for entry in images.values():
        entry["real_rate"] = entry["judged_real"] / entry["n"]
    return list(images.values())


def kappa(rows: list[dict]) -> float | None:
    table = defaultdict(lambda: [0, 0])
    for row in rows:
        table[row["token"]][row["answer"] == Truth.SYNTHETIC] += 1
    return stats.fleiss_kappa(list(table.values()))


def analysis(*, include_flagged: bool = False, include_archived: bool = False) -> dict:
    rows = scored(answer_rows(include_flagged=include_flagged, include_archived=include_archived))
    per_set = defaultdict(list)
    for row in rows:
        per_set[row["set"]].append(row)
    sets = []
    for turing_set in TuringSet.objects.current().order_by("number"):
        set_rows = per_set.get(turing_set.number, [])
        sets.append({"number": turing_set.number, "feedback": turing_set.feedback,
                     "composition": turing_set.composition, "groups": group_summaries(set_rows),
                     "kappa": kappa(set_rows), "by_position": by_position(set_rows)})
    return {"overall": group_summaries(rows), "by_position": by_position(rows), "sets": sets,
            "images": image_rates(rows), "include_flagged": include_flagged, "include_archived": include_archived,
            "flagged_participants": Participant.objects.filter(flagged=True).count(), "flag_reasons": flag_reasons(),
            "studies": list(Study.objects.order_by("slug").values("slug", "title"))}


def flag_reasons() -> dict[str, int]:
    """How many flagged participants each check caught (one participant may fail several)."""
    flagged = Participant.objects.filter(flagged=True)
    return flagged.aggregate(catch=Count("id", filter=Q(catch_failed__gt=0)),
                             repeat=Count("id", filter=Q(attention_failed__gt=0)),
                             fast=Count("id", filter=Q(fast_answers__gt=0)))


CSV_COLUMNS = ["participant", "profile", "years", "study", "condition", "language", "set", "position", "token", "truth",
               "class", "origin_dataset", "origin_item", "answer", "timed_out", "confidence", "response_ms", "flags",
               "archived"]
SUMMARY_COLUMNS = ["set", "group", "participants", "answers", "accuracy", "accuracy_low", "accuracy_high", "p_value",
                   "sensitivity", "sensitivity_low", "sensitivity_high", "specificity", "specificity_low",
                   "specificity_high", "dprime", "criterion", "fleiss_kappa"]
SORTS = {"real_rate": ("real_rate", False), "-real_rate": ("real_rate", True), "set": ("set", False),
         "truth": ("truth", False), "n": ("n", True)}


def sorted_images(images: list[dict], sort: str) -> list[dict]:
    """Per-image rates sorted by a known key (an unknown one is ignored: set, then token)."""
    key, reverse = SORTS.get(sort, ("set", False))
    return sorted(images, key=lambda i: (i[key], i["set"], i["token"]), reverse=reverse)


def summary_rows(data: dict) -> list[dict]:
    """One row per (set or "all", profile group), for the summary CSV and JSON."""
    blocks = [("all", data["overall"], None)] + [(s["number"], s["groups"], s["kappa"]) for s in data["sets"]]
    rows = []
    for set_name, groups, kappa_value in blocks:
        for group, s in groups.items():
            rows.append({"set": set_name, "group": group, "participants": s["participants"], "answers": s["answers"],
                         "accuracy": s["accuracy"], "accuracy_low": s["accuracy_ci"][0],
                         "accuracy_high": s["accuracy_ci"][1], "p_value": s["p_value"],
                         "sensitivity": s["sensitivity"], "sensitivity_low": s["sensitivity_ci"][0],
                         "sensitivity_high": s["sensitivity_ci"][1], "specificity": s["specificity"],
                         "specificity_low": s["specificity_ci"][0], "specificity_high": s["specificity_ci"][1],
                         "dprime": s["dprime"], "criterion": s["criterion"],
                         "fleiss_kappa": kappa_value if group == ALL else None})
    return rows
