"""Practice images: built from sources no live set uses, encoded and padded like the set images, shown
first with their truth, and never counted."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from turing.models import Answer, PracticeImage, TuringImage
from turing.practice import PracticeError, ensure_practice

from .factory import make_sets
from .study_factory import enter_and_start, make_study, me, url

pytestmark = pytest.mark.django_db


def test_practice_images_come_from_sources_no_live_set_uses_padded_like_the_sets(tmp_path, media_root):
    study = make_study(tmp_path, practice=4)
    assert ensure_practice(study) == 4
    practice = list(PracticeImage.objects.filter(study=study))
    used = set(TuringImage.objects.exclude(record=None).values_list("record_id", flat=True))
    assert len(practice) == 4 and not {p.record_id for p in practice} & used
    assert sorted(p.truth for p in practice) == ["real", "real", "synthetic", "synthetic"]
    set_bytes = set(TuringImage.objects.values_list("bytes", flat=True))
    for image in practice:
        data = (Path(media_root) / image.file).read_bytes()
        assert len(data) == image.bytes and {image.bytes} == set_bytes
        assert Image.open(io.BytesIO(data)).size == (48, 48)
        assert image.origin_dataset == ("REAL" if image.truth == "real" else "GAN")
    assert ensure_practice(study) == 0 and PracticeImage.objects.count() == 4  # idempotent
    study.practice = 5
    assert ensure_practice(study) == 1 and PracticeImage.objects.count() == 5


def test_too_few_unused_sources_is_one_clear_error_and_nothing_is_written(tmp_path, media_root):
    study = make_study(tmp_path, practice=40)
    with pytest.raises(PracticeError, match=r"^practice: 40 practice images need 20 "):
        ensure_practice(study)
    assert not PracticeImage.objects.exists()
    assert not list(Path(media_root).glob("turing/practice-*"))


def test_practice_comes_first_with_feedback_and_never_counts(tmp_path, media_root, client):
    study = make_study(tmp_path, practice=2, conditions=["none"])
    ensure_practice(study)
    enter_and_start(client, study)
    participant = me(client, study)
    first = client.get(url(study)).content.decode()
    assert "Practice image 1 of 2 (not scored)" in first and 'name="practice" value="1"' in first
    for position, image in enumerate(PracticeImage.objects.order_by("position")):
        response = client.post(url(study, "answer"), {"practice": "1", "position": position, "token": image.token,
                                                      "answer": "real"})
        assert response.status_code == 302
        page = client.get(url(study)).content.decode()
        said = "(right)" if image.truth == "real" else "(wrong)"
        assert f"Practice image {position + 1}" in page and said in page
    assert "Image 1 of 10" in page and 'name="practice"' not in page
    participant.refresh_from_db()
    assert participant.practice_position == 2 and participant.position == 0 and not Answer.objects.exists()
    image = client.get(f"/turing/img/{PracticeImage.objects.first().token}.jpg")
    assert image.status_code == 200 and len(image.content) == PracticeImage.objects.first().bytes


def test_a_practice_answer_for_another_image_or_a_second_time_changes_nothing(tmp_path, media_root, client):
    study = make_study(tmp_path, practice=2)
    ensure_practice(study)
    enter_and_start(client, study)
    participant = me(client, study)
    first, second = PracticeImage.objects.order_by("position")
    wrong = client.post(url(study, "answer"), {"practice": "1", "position": 0, "token": second.token,
                                               "answer": "real"}, HTTP_ACCEPT="application/json")
    assert wrong.status_code == 409
    for _ in range(2):
        client.post(url(study, "answer"), {"practice": "1", "position": 0, "token": first.token, "answer": "real"})
    participant.refresh_from_db()
    assert participant.practice_position == 1


def study_file(tmp_path, practice: int) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(f'slug = "mini"\ntitle = "Mini"\nsets = [1, 2]\npractice = {practice}\nconsent = "I agree."\n',
                    encoding="utf-8")
    return path


def test_load_study_builds_the_practice_images_and_a_dry_run_writes_none(tmp_path, media_root):
    from turing import studies
    from turing.models import Study

    make_sets(tmp_path)
    studies.load(study_file(tmp_path, 2), dry_run=True)
    assert not Study.objects.exists() and not list(Path(media_root).glob("turing/practice-*"))
    studies.load(study_file(tmp_path, 2))
    assert PracticeImage.objects.filter(study__slug="mini").count() == 2
    assert len(list(Path(media_root).glob("turing/practice-*"))) == 2


def test_load_study_refuses_too_many_practice_images_in_one_line_creating_nothing(tmp_path, media_root):
    from turing import studies
    from turing.models import Study

    make_sets(tmp_path)
    path = study_file(tmp_path, 30)
    refusal = f"^{path}: practice: 30 practice images need 15 (real|synthetic) source images"
    with pytest.raises(studies.StudyFileError, match=refusal):
        studies.load(path)
    assert not Study.objects.exists() and not PracticeImage.objects.exists()
