"""The researchers' analysis at /turing/results/ and its CSV and JSON exports."""
from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User

from turing import exporting, selectors, stats
from turing.building import build_turing_sets
from turing.models import Participant, TuringImage

from .factory import make_participant_with_answers, make_sets, options

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_user("researcher", password="x", is_staff=True)
    client.force_login(user)
    return client


def make_study(tmp_path, settings):
    settings.TURING_ATTENTION_REPEATS = settings.TURING_ATTENTION_CATCH = 0
    sets = make_sets(tmp_path)
    make_participant_with_answers(sets[0], None, profile="dermatologist", answer=lambda i: i.truth)
    make_participant_with_answers(sets[0], None, profile="layperson", ip="10.0.0.2")
    make_participant_with_answers(sets[1], None, ip="10.0.0.3", answer=lambda i: "synthetic")
    cheat = make_participant_with_answers(sets[1], None, ip="10.0.0.4", answer=lambda i: i.truth)
    Participant.objects.filter(id=cheat.id).update(flagged=True)
    make_participant_with_answers(sets[2], 3, ip="10.0.0.5")  # unfinished: not counted
    return sets


def test_results_are_for_staff_unless_made_public(tmp_path, media_root, client, settings):
    make_sets(tmp_path)
    assert client.get("/turing/results/").status_code == 302
    assert client.get("/turing/results/answers.csv").status_code == 302
    settings.TURING_RESULTS_PUBLIC = True
    assert client.get("/turing/results/").status_code == 200


def test_the_analysis_counts_finished_unflagged_participants_by_group(tmp_path, media_root, settings):
    make_study(tmp_path, settings)
    data = selectors.analysis()
    overall = data["overall"]
    assert overall["all"]["participants"] == 3 and overall["all"]["answers"] == 24
    assert overall["all"]["correct"] == 8 + 4 + 4
    assert overall["dermatologist"]["accuracy"] == 1.0 and overall["layperson"]["specificity"] == 1.0
    assert overall["not given"]["sensitivity"] == 1.0 and overall["not given"]["specificity"] == 0.0
    assert overall["all"]["accuracy_ci"] == stats.wilson(16, 24)
    assert overall["all"]["p_value"] == stats.binomial_p(16, 24)
    set1 = data["sets"][0]
    assert set1["groups"]["all"]["participants"] == 2
    # real images: both said real; synthetic ones: one each way. P = 0.5, Pe = 0.75² + 0.25² = 0.625
    assert set1["kappa"] == pytest.approx((0.5 - 0.625) / (1 - 0.625))
    assert [p["n"] for p in data["by_position"]] == [3] * 8
    with_flagged = selectors.analysis(include_flagged=True)["overall"]["all"]
    assert with_flagged["participants"] == 4 and with_flagged["correct"] == 24


def test_the_page_shows_tables_charts_and_sortable_images(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    page = staff.get("/turing/results/").content.decode()
    assert "Hautus (1995)" in page and "Fleiss" in page and page.count("<svg") == 3
    assert "Dermatologist" in page and "include flagged participants (1)" in page
    assert page.count('/turing/img/') >= 16
    most = staff.get("/turing/results/?sort=-real_rate").context["images"]
    assert [i["real_rate"] for i in most] == sorted((i["real_rate"] for i in most), reverse=True)
    assert staff.get("/turing/results/?sort=bogus&flagged=zzz").status_code == 200


def test_the_answers_csv_has_one_row_per_answer_in_long_form(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    rows = list(csv.DictReader(io.StringIO(staff.get("/turing/results/answers.csv").content.decode())))
    assert len(rows) == 24
    assert list(rows[0]) == selectors.CSV_COLUMNS
    assert {r["profile"] for r in rows} == {"dermatologist", "layperson", "not given"}
    assert all(r["truth"] in {"real", "synthetic"} and r["origin_dataset"] in {"REAL", "GAN"} for r in rows)
    flagged = list(csv.DictReader(io.StringIO(staff.get("/turing/results/answers.csv?flagged=1").content.decode())))
    assert len(flagged) == 32 and sum("flagged-participant" in r["flags"] for r in flagged) == 8


def test_the_summary_csv_and_json_carry_the_same_figures(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    summary = list(csv.DictReader(io.StringIO(staff.get("/turing/results/summary.csv").content.decode())))
    first = summary[0]
    assert (first["set"], first["group"], first["participants"], first["answers"]) == ("all", "all", "3", "24")
    assert float(first["accuracy"]) == pytest.approx(16 / 24)
    data = staff.get("/turing/results/results.json").json()
    assert data["summary"][0]["accuracy"] == pytest.approx(16 / 24) and len(data["answers"]) == 24


def test_archived_answers_are_left_out_unless_asked_and_stay_exportable(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    build_turing_sets(options=options(force=True))
    assert selectors.analysis()["overall"]["all"]["answers"] == 0
    rows = list(csv.DictReader(io.StringIO(staff.get("/turing/results/answers.csv?archived=1").content.decode())))
    assert len(rows) == 24 and {r["archived"] for r in rows} == {"True"}


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_escaped(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    starts = {"-": "-2+3", "=": "=HYPERLINK(\"http://x\")", "+": "+1", "@": "@SUM(A1)", "\t": "\tx", "\r": "\rx"}
    images = list(TuringImage.objects.filter(answers__isnull=False).distinct()[:len(starts)])
    for image, token in zip(images, starts.values()):
        TuringImage.objects.filter(id=image.id).update(token=token)
    TuringImage.objects.filter(id=images[0].id).update(origin_item="=cmd|' /C calc'!A0")
    text = staff.get("/turing/results/answers.csv?flagged=1").content.decode()
    cells = {cell for row in csv.reader(io.StringIO(text)) for cell in row}
    assert {"'" + token for token in starts.values()} <= cells
    assert "'=cmd|' /C calc'!A0" in cells
    assert not [cell for cell in cells if cell[:1] in starts]  # nothing left a spreadsheet would run
    exported = tmp_path / "set-1"
    exporting.export_set(number=1, dest=exported)
    truth = {cell for row in csv.reader(io.StringIO((exported / "truth.csv").read_text(), newline=""))
             for cell in row}
    assert not [cell for cell in truth if cell[:1] in starts]


def test_numbers_in_the_summary_csv_stay_numbers(tmp_path, media_root, staff, settings):
    make_study(tmp_path, settings)
    rows = list(csv.DictReader(io.StringIO(staff.get("/turing/results/summary.csv").content.decode())))
    criteria = [row["criterion"] for row in rows if row["criterion"]]
    assert any(c.startswith("-") for c in criteria) and all(float(c) == float(c) for c in criteria)
