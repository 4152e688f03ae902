"""A study's analysis (turing/study_analysis.py) and its page and exports, against numbers worked by hand.

The study below has one set of 8 images, truths R S R S R S R S in the order shown, and two conditions:
  none: P1 (en, panel id) all right; P2 (ko) "real" to everything; P6 in progress; P7 flagged, all wrong
  each: P3 (en) "real" to the first half, then all right; P4 (en) first half all wrong, then right,
        timed out, right, right; P5 abandoned after one answer and one timed-out trial; one withdrawal
and 10 people entered, 2 declined, before any condition was drawn.
"""
from __future__ import annotations

import csv
import io
import json
import math

import pytest
from django.contrib.auth.models import User
from django.test import Client
from scipy.stats import ttest_1samp, ttest_ind

from turing import privacy, selectors, stats, study_analysis
from turing.models import Answer, FlowEvent, Participant

from .factory import make_study_participant, make_study_row, make_study_set

pytestmark = pytest.mark.django_db
PANEL_ID = "PROLIFIC5f3c9a1b"


@pytest.fixture
def staff():
    client = Client()  # its own client, so that a test may use `client` as an anonymous visitor beside it
    client.force_login(User.objects.create_user("researcher", password="x", is_staff=True))
    return client


@pytest.fixture
def study(settings):
    settings.TURING_RESUME_MINUTES = 60
    study = make_study_row()
    turing_set = make_study_set(1, "RSRSRSRS")
    make_study_participant(study, turing_set, "++++++++", condition="none", panel_id=PANEL_ID)
    make_study_participant(study, turing_set, "+-+-+-+-", condition="none", language="ko", panel_id="P2-ID")
    make_study_participant(study, turing_set, "+-+-++++", condition="each")
    make_study_participant(study, turing_set, "----+t++", condition="each")
    make_study_participant(study, turing_set, "+t", condition="each", finished=False, idle_minutes=120)
    make_study_participant(study, turing_set, "++", condition="none", finished=False, idle_minutes=1)
    make_study_participant(study, turing_set, "--------", condition="none", flagged=True)
    for event, n in (("entered", 10), ("declined", 2)):
        FlowEvent.objects.bulk_create(FlowEvent(study=study, event=event) for _ in range(n))
    FlowEvent.objects.create(study=study, event="withdrew", condition="each", set_number=1, language="en")
    return study


def test_the_rates_leave_timed_out_trials_out_and_count_them_apart(study):
    overall = study_analysis.study_analysis(study)["overall"]
    # P1 8/8, P2 4/8, P3 6/8, P4 3 of 7 answered: 21 of 31; synthetic called synthetic 4+0+2+1 of 4+4+4+3;
    # real called synthetic 0+0+0+2 of 16
    assert (overall["participants"], overall["answers"], overall["timed_out"]) == (4, 31, 1)
    assert overall["correct"] == 21 and overall["accuracy"] == pytest.approx(21 / 31)
    assert overall["sensitivity"] == pytest.approx(7 / 15) and overall["specificity"] == pytest.approx(14 / 16)
    assert overall["accuracy_ci"] == stats.wilson(21, 31) and overall["sensitivity_ci"] == stats.wilson(7, 15)
    assert overall["dprime"] == pytest.approx(stats.dprime_c(7, 15, 2, 16)[0])
    # said synthetic 9/31; chance agreement 15/31 * 9/31 + 16/31 * 22/31 = 487/961: (651 - 487) / (961 - 487)
    assert overall["cohen_kappa"] == pytest.approx(164 / 474)


def test_the_rates_are_given_by_condition_and_by_language(study):
    data = study_analysis.study_analysis(study)
    none, each = data["by_condition"]["none"], data["by_condition"]["each"]
    assert (none["participants"], none["answers"], none["correct"]) == (2, 16, 12)
    assert none["sensitivity"] == 0.5 and none["specificity"] == 1.0
    assert none["cohen_kappa"] == pytest.approx(0.5)  # said synthetic 1/4, chance 1/2: (3/4 - 1/2) / (1/2)
    assert (each["answers"], each["timed_out"], each["correct"]) == (15, 1, 9)
    assert each["sensitivity"] == pytest.approx(3 / 7) and each["specificity"] == pytest.approx(6 / 8)
    assert list(data["by_language"]) == ["en", "ko"]
    en, ko = data["by_language"]["en"], data["by_language"]["ko"]
    assert (en["participants"], en["answers"], en["correct"]) == (3, 23, 17)
    assert ko["accuracy"] == 0.5 and ko["cohen_kappa"] == 0.0  # "real" to everything: chance, whatever the truth


def test_flagged_participants_count_only_when_asked(study):
    with_flagged = study_analysis.study_analysis(study, include_flagged=True)["by_condition"]["none"]
    assert (with_flagged["participants"], with_flagged["answers"], with_flagged["correct"]) == (3, 24, 12)


def test_the_first_half_is_set_against_the_second_per_condition(study):
    learning = study_analysis.study_analysis(study)["learning"]
    each = learning["each"]
    assert (each["first"]["correct"], each["first"]["answers"]) == (2, 8)
    assert (each["second"]["correct"], each["second"]["answers"], each["second"]["timed_out"]) == (7, 7, 1)
    # P3 went from 2/4 to 4/4 (+0.5), P4 from 0/4 to 3/3 (+1): mean 0.75, sd 0.3536, se 0.25, t = 3 on 1 df,
    # where t is Cauchy: p = 1 - 2 atan(3) / pi and the 97.5% point is tan(0.475 pi)
    change = each["change"]
    assert change["n"] == 2 and change["mean"] == pytest.approx(0.75)
    assert change["p_value"] == pytest.approx(1 - 2 * math.atan(3) / math.pi)
    margin = math.tan(0.475 * math.pi) * 0.25  # 3.18: the interval is cut to the differences possible
    assert change["ci"] == (-1, 1)
    assert stats.mean_change([0.5, 1.0])["ci"] == pytest.approx((0.75 - margin, 0.75 + margin))
    none = learning["none"]["change"]  # P1 4/4 then 4/4, P2 2/4 then 2/4: no change at all, no test
    assert (none["n"], none["mean"], none["ci"], none["p_value"]) == (2, 0.0, (0.0, 0.0), None)


def test_each_arm_s_change_is_set_against_the_no_feedback_arm(study):
    learning = study_analysis.study_analysis(study)["learning"]
    assert learning["none"]["versus"] is None
    # changes [0.5, 1] against [0, 0]: the whole variance is the first arm's, se 0.25 on Welch's 1 df, t = 3
    versus = learning["each"]["versus"]
    assert versus["reference"] == "none" and versus["n"] == [2, 2] and versus["mean"] == pytest.approx(0.75)
    assert versus["p_value"] == pytest.approx(1 - 2 * math.atan(3) / math.pi) and versus["ci"] == (-2, 2)


def test_the_welch_difference_matches_scipy_and_is_undefined_without_spread():
    a, b = [0.25, 0.5, 0.0, 0.75], [0.0, -0.125, 0.125]
    result = stats.welch_difference(a, b)
    reference = ttest_ind(a, b, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert result["p_value"] == pytest.approx(reference.pvalue) and result["ci"] == pytest.approx((ci.low, ci.high))
    assert stats.welch_difference([0.5], b)["p_value"] is None
    assert stats.welch_difference([0.5, 0.5], [0.0, 0.0])["ci"] == (None, None)


def test_an_odd_number_of_trials_leaves_the_middle_one_in_neither_half():
    trials = [{"position": p, "timed_out": False} for p in (5, 1, 3, 2, 4, 7, 6)]
    first, second = study_analysis.split_halves(trials)
    assert [t["position"] for t in first] == [1, 2, 3] and [t["position"] for t in second] == [5, 6, 7]


def test_the_paired_change_matches_scipy_and_is_undefined_for_fewer_than_two():
    values = [0.25, 0.5, 0.0, 0.25, -0.125]
    result = stats.mean_change(values)
    reference = ttest_1samp(values, 0.0)
    ci = reference.confidence_interval(0.95)
    assert result["p_value"] == pytest.approx(reference.pvalue) and result["ci"] == pytest.approx((ci.low, ci.high))
    assert stats.mean_change([0.5]) == {"n": 1, "mean": 0.5, "ci": (None, None), "p_value": None}
    assert stats.mean_change([])["mean"] is None
    assert stats.mean_change([0.1] * 3)["p_value"] is None  # equal values: no variance, even if rounding says some


def test_cohen_kappa_is_chance_corrected_and_undefined_without_both_answers_and_truths():
    assert stats.cohen_kappa(10, 10, 0, 10) == 1.0
    assert stats.cohen_kappa(0, 10, 10, 10) == -1.0
    assert stats.cohen_kappa(5, 10, 5, 10) == 0.0
    assert stats.cohen_kappa(0, 0, 0, 0) is None and stats.cohen_kappa(4, 4, 0, 0) is None


def test_the_flow_table_counts_each_step_per_condition_as_consort_does(study):
    flow = study_analysis.study_analysis(study)["flow"]
    assert flow["columns"] == ["none", "each", "unassigned", "total"]
    table = {s["step"]: s["counts"] for s in flow["steps"]}
    assert table["entered"] == {"none": 0, "each": 0, "unassigned": 10, "total": 10}
    assert table["declined"] == {"none": 0, "each": 0, "unassigned": 2, "total": 2}
    assert table["consented"] == {"none": 4, "each": 4, "unassigned": 0, "total": 8}  # each: 3 + 1 withdrawn
    assert table["withdrew"]["each"] == 1 and table["withdrew"]["total"] == 1
    assert table["finished"] == {"none": 3, "each": 2, "unassigned": 0, "total": 5}
    assert table["in_progress"] == {"none": 1, "each": 0, "unassigned": 0, "total": 1}
    assert table["abandoned"] == {"none": 0, "each": 1, "unassigned": 0, "total": 1}
    assert table["timed_out"] == {"none": 0, "each": 2, "unassigned": 0, "total": 2}  # P4 finished, P5 abandoned
    assert table["flagged"]["none"] == 1 and table["analysed"] == {"none": 2, "each": 2, "unassigned": 0, "total": 4}
    for column in flow["columns"]:  # every consenting person is in exactly one of the outcomes
        assert table["consented"][column] == sum(table[s][column] for s in
                                                 ("finished", "in_progress", "abandoned", "withdrew"))


def test_a_withdrawal_moves_a_participant_from_their_outcome_to_withdrew_and_stays_consented(study):
    privacy.withdraw(Participant.objects.get(study=study, condition="none", finished_at__isnull=True))
    table = {s["step"]: s["counts"] for s in study_analysis.study_analysis(study)["flow"]["steps"]}
    assert (table["consented"]["none"], table["withdrew"]["none"], table["in_progress"]["none"]) == (4, 1, 0)


def test_a_resume_window_longer_than_the_idle_time_keeps_a_participant_in_progress(study, settings):
    settings.TURING_RESUME_MINUTES = 180
    table = {s["step"]: s["counts"] for s in study_analysis.study_analysis(study)["flow"]["steps"]}
    assert table["abandoned"]["total"] == 0 and table["in_progress"]["total"] == 2


def test_an_answer_to_an_image_outside_the_participants_set_never_counts(study):
    practice_set = make_study_set(9, "RS")  # practice images come from outside the study's scored sets
    participant = Participant.objects.get(panel_id=PANEL_ID)
    Answer.objects.create(participant=participant, image=practice_set.images.first(), position=50,
                          answer="synthetic", response_ms=900)
    assert study_analysis.study_analysis(study)["overall"]["answers"] == 31


def test_the_results_page_no_longer_scores_a_timed_out_trial_as_wrong(study):
    overall = selectors.analysis()["overall"]["all"]
    assert (overall["answers"], overall["correct"]) == (31, 21)
    score = selectors.participant_score(Participant.objects.get(study=study, condition="each", timed_out=1,
                                                                finished_at__isnull=False))
    assert (score["answers"], score["correct"]) == (7, 3)


def test_the_page_is_for_researchers_and_shows_panel_ids_to_staff_only(study, client, staff, settings):
    assert client.get("/turing/results/s/pilot/").status_code == 302
    page = staff.get("/turing/results/s/pilot/").content.decode()
    assert PANEL_ID in page and "Flow of participants" in page and "Abandoned (unfinished" in page
    assert "/turing/results/s/pilot/answers.csv" in page
    settings.TURING_RESULTS_PUBLIC = True
    public = client.get("/turing/results/s/pilot/")
    assert public.status_code == 200 and "Flow of participants" in public.content.decode()
    assert PANEL_ID not in public.content.decode() and "P2-ID" not in public.content.decode()
    assert "answers.csv" not in public.content.decode()


def test_the_results_page_links_each_study(study, staff):
    assert 'href="/turing/results/s/pilot/"' in staff.get("/turing/results/").content.decode()


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_answers_csv_is_staff_only_and_carries_panel_ids_and_the_cell(study, client, staff, settings):
    settings.TURING_RESULTS_PUBLIC = True
    assert client.get("/turing/results/s/pilot/answers.csv").status_code == 302
    response = staff.get("/turing/results/s/pilot/answers.csv")
    assert response["Content-Disposition"] == 'attachment; filename="turing-pilot-answers.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == study_analysis.ANSWER_COLUMNS and len(rows) == 32  # 4 finished, unflagged
    assert {r["panel_id"] for r in rows} == {PANEL_ID, "P2-ID", ""}
    assert {r["condition"] for r in rows} == {"none", "each"} and {r["language"] for r in rows} == {"en", "ko"}
    assert {r["consent_version"] for r in rows} == {"1"}
    timed_out = [r for r in rows if r["timed_out"] == "True"]
    assert len(timed_out) == 1 and timed_out[0]["answer"] == "" and "timed-out" in timed_out[0]["flags"]
    assert len(read_csv(staff.get("/turing/results/s/pilot/answers.csv?flagged=1"))) == 40


def test_the_summary_csv_and_json_carry_the_figures_without_panel_ids(study, client, settings):
    settings.TURING_RESULTS_PUBLIC = True
    summary = client.get("/turing/results/s/pilot/summary.csv")
    body = client.get("/turing/results/s/pilot/results.json")
    for text in (summary.content.decode(), body.content.decode()):
        assert PANEL_ID not in text and "P2-ID" not in text and "panel_id" not in text
    rows = read_csv(summary)
    assert list(rows[0]) == study_analysis.SUMMARY_COLUMNS
    figures = {(r["section"], r["group"], r["statistic"]): r for r in rows}
    accuracy = figures[("overall", "all", "accuracy")]
    assert float(accuracy["value"]) == pytest.approx(21 / 31)
    assert (float(accuracy["low"]), float(accuracy["high"])) == pytest.approx(stats.wilson(21, 31))
    assert figures[("condition", "each", "timed_out")]["value"] == "1"
    assert figures[("language", "ko", "cohen_kappa")]["value"] == "0.0"
    assert float(figures[("change", "each", "accuracy_change")]["value"]) == pytest.approx(0.75)
    assert float(figures[("change_vs_none", "each", "difference")]["value"]) == pytest.approx(0.75)
    assert figures[("flow", "unassigned", "entered")]["value"] == "10"
    assert figures[("flow", "total", "consented")]["value"] == "8"
    data = json.loads(body.content)
    assert data["by_condition"]["each"]["correct"] == 9 and data["learning"]["each"]["change"]["n"] == 2
    assert len(data["answers"]) == 32 and "participants" not in data
    assert list(data["answers"][0]) == study_analysis.ANONYMOUS_ANSWER_COLUMNS
    assert data["summary"] == json.loads(json.dumps(study_analysis.summary_rows(study_analysis.study_analysis(study))))


def test_the_existing_answers_csv_gains_the_cell_and_timed_out_columns(study, staff):
    rows = read_csv(staff.get("/turing/results/answers.csv"))
    assert {"study", "condition", "language", "timed_out"} <= set(rows[0]) and "panel_id" not in rows[0]
    assert {r["study"] for r in rows} == {"pilot"} and sum(r["timed_out"] == "True" for r in rows) == 1


@pytest.mark.parametrize("url", [
    "/turing/results/s/pilot/?flagged=zzz&archived=%F0%9F%98%80",
    "/turing/results/s/pilot/summary.csv?flagged=1&flagged=2&x=%FF",
    "/turing/results/s/pilot/results.json?archived[]=1",
    "/turing/results/s/pilot/answers.csv?flagged=",
])
def test_malformed_query_values_are_ignored(study, staff, url):
    assert staff.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/turing/results/s/nope/", "/turing/results/s/nope/summary.csv",
                                 "/turing/results/s/nope/answers.csv", "/turing/results/s/nope/results.json",
                                 "/turing/results/s/pi%20lot/", "/turing/results/s/%E2%91%A0/"])
def test_an_unknown_or_malformed_study_is_a_404(study, staff, url):
    assert staff.get(url).status_code == 404
