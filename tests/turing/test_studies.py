"""Study files: every fault refused in one line before anything is created, loading idempotent, consent
versions kept, export read back to the same study, and the pre-registration summary."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.shared_data import REPO
from tests.turing.factory import make_image_dataset, make_participant_with_answers, make_sets
from turing import studies
from turing.models import ConsentVersion, Participant, Study, TuringSet
from turing.study_summary import summary_markdown

pytestmark = pytest.mark.django_db

PILOT = '''
slug = "pilot"
title = "Real or synthetic?"
sets = [1, 2, 3]
conditions = ["none", "each"]
practice = 2
trial_seconds = 20
languages = ["en", "ko", "es"]
consent = """
I agree to take part.
My answers are anonymous.
"""
debrief = """Half of the images were synthetic."""
contact = "study@example.org"
retention_days = 365

[panel]
kind = "prolific"
completion_url = "https://app.prolific.com/submissions/complete?cc={code}"

[panel.codes]
completed = "C0MPL"
failed_attention = "ATTN0"
no_consent = "N0CON"
'''

MINIMAL = '''
slug = "mini"
title = "Mini"
sets = [1]
consent = "I agree."
'''


@pytest.fixture(autouse=True)
def practice_sources(tmp_path, media_root):
    """One source image of each truth and class that make_builds' sets name: what the practice images
    of a study file (load_study calls turing.practice.ensure_practice) are drawn from."""
    make_image_dataset(tmp_path / "sources", "PRACTICE-REAL", 1)
    make_image_dataset(tmp_path / "sources", "PRACTICE-GAN", 1, synthetic=True)


def make_builds(*numbers: int) -> None:
    """Current builds of these set numbers, without images (all that validating a study file needs),
    naming the practice sources as the datasets they were built from."""
    for number in numbers:
        TuringSet.objects.create(number=number, seed=0, build_options={"real": ["PRACTICE-REAL"], "side": 32,
                                                                       "synthetic": ["PRACTICE-GAN"]})


def write(tmp_path, text: str, name: str = "study.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, text: str = PILOT) -> str:
    assert old in text, old  # a test's edit that matched nothing would test the unedited file
    return text.replace(old, new, 1)


def load(path) -> str:
    out = io.StringIO()
    call_command("load_study", str(path), stdout=out)
    return out.getvalue()


FAULTS = [
    ("unknown key", edited("practice = 2", "practise = 2"), "practise: unknown key (known: slug, title, sets,"),
    ("unknown panel key", edited('kind = "prolific"', 'kind = "prolific"\nurl = "x"'), "panel.url: unknown key"),
    ("unknown code key", edited('no_consent = "N0CON"', 'no_consent = "N0CON"\ndone = "D0NE"'),
     "panel.codes.done: unknown key (known: completed, failed_attention, no_consent)"),
    ("text for a number", edited("practice = 2", 'practice = "2"'), "practice: must be a whole number, got text"),
    ("true for a number", edited("trial_seconds = 20", "trial_seconds = true"),
     "trial_seconds: must be a whole number, got true (true/false)"),
    ("decimal for a number", edited("retention_days = 365", "retention_days = 36.5"),
     "retention_days: must be a whole number, got the decimal number 36.5"),
    ("a number for text", edited('title = "Real or synthetic?"', "title = 7"),
     "title: must be text in quotes, got the number 7"),
    ("sets not a list", edited("sets = [1, 2, 3]", "sets = 1"), "sets: must be a list of set numbers"),
    ("missing set", edited("sets = [1, 2, 3]", "sets = [1, 7]"),
     "sets: set 7 has no current build (built now: 1, 2, 3;"),
    ("set twice", edited("sets = [1, 2, 3]", "sets = [1, 2, 1]"), "sets: set 1 is listed twice"),
    ("unknown condition", edited('conditions = ["none", "each"]', 'conditions = ["none", "sometimes"]'),
     "conditions: 'sometimes' is not one of none, each, end"),
    ("no conditions", edited('conditions = ["none", "each"]', "conditions = []"),
     "conditions: must be a non-empty list"),
    ("code with a space", edited('completed = "C0MPL"', 'completed = "C0 MPL"'),
     "panel.codes.completed: 'C0 MPL' may hold only ASCII letters, digits"),
    ("code not ASCII", edited('completed = "C0MPL"', 'completed = "CÖMPL"'),
     "panel.codes.completed: 'CÖMPL' may hold only ASCII letters, digits"),
    ("empty code", edited('completed = "C0MPL"', 'completed = ""'), "panel.codes.completed: must not be empty"),
    ("missing code", edited('no_consent = "N0CON"\n', ""), "panel.codes.no_consent: missing"),
    ("url without code", edited("cc={code}", "cc=C0MPL"), "panel.completion_url: 'https://app.prolific.com/"
     "submissions/complete?cc=C0MPL' has no {code}"),
    ("url not http", edited("https://app.prolific.com", "ftp://app.prolific.com"),
     "panel.completion_url: 'ftp://app.prolific.com/submissions/complete?cc={code}' must be an http:// or https://"),
    ("url without host", edited("https://app.prolific.com", "https://"), "panel.completion_url: 'https:///submissions"),
    ("url with other braces", edited("cc={code}", "cc={code}&x={study}"), "panel.completion_url: 'https://app.prolific"
     ".com/submissions/complete?cc={code}&x={study}': only {code} may stand in braces"),
    ("url missing for a panel", edited('completion_url = "https://app.prolific.com/submissions/complete?cc={code}"\n',
                                       ""), "panel.completion_url: missing: a prolific study sends participants"),
    ("codes missing for a panel", PILOT.split("[panel.codes]")[0], "panel.codes: missing: give [panel.codes] with "
     "completed, failed_attention, no_consent"),
    ("url without a panel", MINIMAL + '[panel]\ncompletion_url = "https://x.org/?c={code}"\n',
     'panel.completion_url: a study without a panel (kind "none") sends nobody back with a code'),
    ("codes without a panel", MINIMAL + '[panel.codes]\ncompleted = "A"\nfailed_attention = "B"\nno_consent = "C"\n',
     'panel.codes: a study without a panel (kind "none") sends nobody back'),
    ("url for mturk", edited('kind = "prolific"', 'kind = "mturk"'),
     "panel.completion_url: MTurk participants complete through their assignment's turkSubmitTo"),
    ("codes missing for mturk", MINIMAL + '[panel]\nkind = "mturk"\n', "panel.codes: missing"),
    ("unknown panel", edited('kind = "prolific"', 'kind = "toloka"'),
     "panel.kind: 'toloka' is not one of none, prolific, mturk, cloudresearch, generic"),
    ("panel not a table", MINIMAL + 'panel = "prolific"\n', "panel: must be a table ([panel] with kind"),
    ("unknown language", edited('languages = ["en", "ko", "es"]', 'languages = ["en", "fr"]'),
     "languages: 'fr' is not one of en, ko, es"),
    ("negative practice", edited("practice = 2", "practice = -1"), "practice: must be between 0 and 200, got -1"),
    ("negative time limit", edited("trial_seconds = 20", "trial_seconds = -5"),
     "trial_seconds: must be between 0 and 86400, got -5"),
    ("zero retention", edited("retention_days = 365", "retention_days = 0"),
     "retention_days: must be between 1 and 36500, got 0"),
    ("missing consent", MINIMAL.replace('consent = "I agree."\n', ""),
     "consent: missing (a study file needs slug, title, sets, consent)"),
    ("empty consent", MINIMAL.replace('"I agree."', '"""\n   \n"""'), "consent: must not be empty"),
    ("bad slug", edited('slug = "pilot"', 'slug = "Pilot study"'), "slug: 'Pilot study' must be lower-case ASCII"),
    ("two-line title", edited('title = "Real or synthetic?"', 'title = """Real\nor synthetic?"""'),
     "title: must be one line"),
    ("syntax error", edited('title = "Real or synthetic?"', 'title = "Real or synthetic?'),
     "line 3, column 28: Illegal character '\\n'"),
    ("syntax error at the end", PILOT + "extra =", "line 25 (the end of the file): Invalid value"),
    ("a key twice", edited("practice = 2", "practice = 2\npractice = 3"),
     "line 7, column 13: Cannot overwrite a value"),
]


@pytest.mark.parametrize("text, message", [case[1:] for case in FAULTS], ids=[case[0] for case in FAULTS])
def test_each_fault_is_one_line_naming_the_file_and_key_and_nothing_is_created(tmp_path, text, message):
    make_builds(1, 2, 3)
    path = write(tmp_path, text)
    with pytest.raises(CommandError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: {message}"), str(caught.value)
    assert "\n" not in str(caught.value)
    assert not Study.objects.exists() and not ConsentVersion.objects.exists()


def test_a_file_that_is_missing_a_folder_or_not_utf8_is_named(tmp_path):
    for path, message in ((tmp_path / "none.toml", "no such file"), (tmp_path, "is a folder, not a study file")):
        with pytest.raises(CommandError, match=f"^{path}: {message}$"):
            load(path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(MINIMAL.encode() + 'contact = "Müller"\n'.encode("latin-1"))
    with pytest.raises(CommandError, match=f"^{bad}: line 6: not UTF-8 text$"):
        load(bad)


def test_from_the_shell_a_fault_is_one_line_and_a_non_zero_exit_without_a_traceback(tmp_path):
    path = write(tmp_path, 'slug = "x"\ntitle = [\n')
    done = subprocess.run([sys.executable, "manage.py", "load_study", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [f"CommandError: {path}: line 3 (the end of the file): Invalid value"]
    assert "Traceback" not in done.stderr


def test_an_archived_build_is_not_a_set_a_study_can_use(tmp_path):
    make_builds(1)
    TuringSet.objects.create(number=2, seed=0, archived_at=timezone.now())
    with pytest.raises(CommandError, match="sets: set 2 has no current build \\(built now: 1;"):
        load(write(tmp_path, MINIMAL.replace("sets = [1]", "sets = [1, 2]")))


def test_a_minimal_file_gets_the_defaults(tmp_path):
    make_builds(1)
    assert load(write(tmp_path, MINIMAL)) == "created: study mini, consent version 1, entry /turing/s/mini/\n"
    study = Study.objects.get(slug="mini")
    assert (study.conditions, study.practice, study.trial_seconds, study.languages, study.retention_days) == \
        (["end"], 0, 0, ["en", "ko", "es"], 365)
    assert (study.panel, study.completion_url, study.codes, study.debrief, study.contact, study.active) == \
        ("none", "", {}, "", "", True)


def test_languages_follow_settings_once_the_project_sets_them(tmp_path, settings):
    make_builds(1)
    settings.LANGUAGES = [("en", "English"), ("fr", "French")]
    load(write(tmp_path, MINIMAL + 'languages = ["fr"]\n'))
    assert Study.objects.get().languages == ["fr"]
    with pytest.raises(CommandError, match="languages: 'ko' is not one of en, fr"):
        load(write(tmp_path, MINIMAL + 'languages = ["ko"]\n'))


def test_every_key_of_the_file_is_stored(tmp_path):
    make_builds(1, 2, 3)
    load(write(tmp_path, PILOT))
    study = Study.objects.get(slug="pilot")
    assert (study.title, study.sets, study.conditions, study.practice, study.trial_seconds) == \
        ("Real or synthetic?", [1, 2, 3], ["none", "each"], 2, 20)
    assert (study.debrief, study.contact, study.retention_days, study.panel) == \
        ("Half of the images were synthetic.", "study@example.org", 365, "prolific")
    assert study.completion_url == "https://app.prolific.com/submissions/complete?cc={code}"
    assert study.codes == {"completed": "C0MPL", "failed_attention": "ATTN0", "no_consent": "N0CON"}
    assert study.current_consent().text == "I agree to take part.\nMy answers are anonymous."


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    make_builds(1, 2, 3)
    path = write(tmp_path, PILOT)
    load(path)
    before = Study.objects.get()
    assert load(path) == "unchanged: study pilot, consent version 1, entry /turing/s/pilot/\n"
    after = Study.objects.get()
    assert after.updated_at == before.updated_at
    assert ConsentVersion.objects.count() == 1 and Study.objects.count() == 1
    # line ends and blank lines around the texts are not changes either
    windows = write(tmp_path, PILOT.replace("anonymous.\n", "anonymous.\n\n").replace("\n", "\r\n"))
    windows.write_bytes(b"\xef\xbb\xbf" + windows.read_bytes())  # and Notepad's byte order mark
    assert load(windows).startswith("unchanged")


def test_a_changed_file_updates_the_study_and_names_what_changed(tmp_path):
    make_builds(1, 2, 3)
    load(write(tmp_path, PILOT))
    out = load(write(tmp_path, edited('title = "Real or synthetic?"', 'title = "Real or fake?"')))
    assert out == "updated (title): study pilot, consent version 1, entry /turing/s/pilot/\n"
    assert Study.objects.get().title == "Real or fake?"


def test_a_dry_run_says_what_loading_would_do_and_changes_nothing(tmp_path):
    make_builds(1, 2, 3)
    out = io.StringIO()
    call_command("load_study", str(write(tmp_path, PILOT)), "--dry-run", stdout=out)
    assert out.getvalue() == "would be created: study pilot, consent version 1, entry /turing/s/pilot/\n"
    assert not Study.objects.exists() and not ConsentVersion.objects.exists()
    load(write(tmp_path, PILOT))
    out = io.StringIO()
    call_command("load_study", str(write(tmp_path, edited("I agree to take part.", "I agree."))), "--dry-run",
                 stdout=out)
    assert out.getvalue() == "would be updated (consent): study pilot, consent version 2, entry /turing/s/pilot/\n"
    assert ConsentVersion.objects.count() == 1


def test_an_update_keeps_active_as_the_admin_set_it(tmp_path):
    make_builds(1, 2, 3)
    load(write(tmp_path, PILOT))
    Study.objects.update(active=False)
    load(write(tmp_path, edited("practice = 2", "practice = 1")))
    assert Study.objects.get().active is False


def test_a_changed_consent_is_a_new_version_and_participants_keep_theirs(tmp_path, media_root):
    make_sets(tmp_path)
    load(write(tmp_path, PILOT))
    study = Study.objects.get()
    first = study.current_consent()
    participant = make_participant_with_answers(TuringSet.objects.current().get(number=1), 2)
    Participant.objects.filter(id=participant.id).update(study=study, consent_version=first,
                                                         consented_at=timezone.now())
    out = load(write(tmp_path, edited("I agree to take part.", "I agree to take part (version of May).")))
    assert out == "updated (consent): study pilot, consent version 2, entry /turing/s/pilot/\n"
    second = study.current_consent()
    assert (second.number, second.text.splitlines()[0]) == (2, "I agree to take part (version of May).")
    assert Participant.objects.get(id=participant.id).consent_version == first
    assert load(write(tmp_path, edited("I agree to take part.", "I agree to take part (version of May).")))\
        .startswith("unchanged")
    assert ConsentVersion.objects.filter(study=study).count() == 2


def test_going_back_to_an_earlier_consent_text_is_refused_in_one_line(tmp_path):
    make_builds(1, 2, 3)
    load(write(tmp_path, PILOT))
    load(write(tmp_path, edited("I agree to take part.", "I agree.")))
    path = write(tmp_path, PILOT)
    with pytest.raises(CommandError, match=f"^{path}: consent: this is the text of consent version 1, which "
                                           "version 2 replaced;[^\n]*version 3\\)$"):
        load(path)
    assert ConsentVersion.objects.count() == 2


TRICKY = PILOT.replace('"Real or synthetic?"', '"Real \\"or\\" synthetic? \\\\ 진짜일까요? \\t tab"').replace(
    "I agree to take part.",
    'I agree to take part: "quoted", a backslash \\\\, three quotes \\"\\"\\", ¿sí?\n\tindented')


MTURK = MINIMAL + '[panel]\nkind = "mturk"\n[panel.codes]\ncompleted = "A"\nfailed_attention = "B"\nno_consent = "C"\n'


@pytest.mark.parametrize("text", [PILOT, TRICKY, MINIMAL, MTURK], ids=["pilot", "quotes and unicode", "minimal",
                                                                      "mturk"])
def test_an_exported_study_loads_back_to_the_same_study(tmp_path, text):
    make_builds(1, 2, 3)
    original = write(tmp_path, text)
    load(original)
    study = Study.objects.get()
    exported = write(tmp_path, studies.export(study), "exported.toml")
    assert studies.read_study(exported) == studies.read_study(original)
    assert load(exported).startswith("unchanged")
    assert studies.export(Study.objects.get()) == studies.export(study)
    Study.objects.all().delete()  # and into an empty site: the same study again
    load(exported)
    assert studies.read_study(write(tmp_path, studies.export(Study.objects.get()), "again.toml")) == \
        studies.read_study(original)


def test_export_study_writes_the_file_and_the_summary_atomically_and_names_a_wrong_slug(tmp_path):
    make_builds(1, 2, 3)
    load(write(tmp_path, PILOT))
    folder = tmp_path / "out"
    folder.mkdir()
    call_command("export_study", "pilot", str(folder), stdout=io.StringIO())
    assert sorted(p.name for p in folder.iterdir()) == ["pilot.md", "pilot.toml"]  # no temporary file left
    call_command("export_study", "pilot", str(tmp_path / "reg" / "pilot-2026"), stdout=io.StringIO())
    call_command("export_study", "pilot", str(tmp_path / "named.toml"), stdout=io.StringIO())
    assert (tmp_path / "reg" / "pilot-2026.toml").read_text() == (folder / "pilot.toml").read_text() == \
        (tmp_path / "named.toml").read_text()
    assert (tmp_path / "named.md").exists() and not (tmp_path / "named.toml.toml").exists()
    with pytest.raises(CommandError, match=r"^SLUG: no study 'pilott' \(studies: pilot\)$"):
        call_command("export_study", "pilott", str(folder))


def test_the_summary_says_what_an_ethics_board_reads(tmp_path, media_root):
    make_sets(tmp_path)
    load(write(tmp_path, PILOT))
    load(write(tmp_path, edited("I agree to take part.", "I agree to take part, again.")))
    study = Study.objects.get()
    participant = make_participant_with_answers(TuringSet.objects.current().get(number=2), None)
    Participant.objects.filter(id=participant.id).update(study=study, condition="each")
    text = summary_markdown(study)
    assert text.startswith("# Real or synthetic?\n")
    assert "`/turing/s/pilot/`" in text and "Contact: study@example.org" in text
    assert "one of 6 cells (3 sets x 2" in text and "`none` (never); `each` (after each answer)" in text
    assert "| 2 | each | 1 | 1 |" in text and "| 1 | none | 0 | 0 |" in text and "| 3 | each | 0 | 0 |" in text
    set_one = TuringSet.objects.current().get(number=1)
    assert f"- Set 1: 8 images (real: REAL 2 melanoma 2 nevus; synthetic: GAN 2 melanoma 2 nevus), 1 catch " \
           f"trial(s); built {set_one.created_at:%Y-%m-%d} with seed 1." in text
    assert "2 practice image(s) first" in text and "20 seconds per image" in text
    assert "English (`en`), Korean (`ko`), Spanish (`es`)" in text
    assert "Panel: Prolific." in text and "| Completed | `C0MPL` |" in text and "| Declined consent | `N0CON` |" in text
    assert "deleted 365 days after a participant" in text
    versions = list(study.consent_versions.order_by("number"))
    assert f"### Version 2 (current), loaded {versions[1].created_at:%Y-%m-%d %H:%M} UTC" in text
    assert f"### Version 1 (replaced), loaded {versions[0].created_at:%Y-%m-%d %H:%M} UTC" in text
    assert "> I agree to take part, again.\n> My answers are anonymous." in text
    assert text.index("### Version 2") < text.index("### Version 1")
    assert "> Half of the images were synthetic." in text


def test_the_summary_of_a_study_without_panel_practice_or_limit_says_so(tmp_path):
    make_builds(1)
    load(write(tmp_path, MINIMAL))
    text = summary_markdown(Study.objects.get())
    assert "No practice images." in text and "No time limit." in text and "Panel: None (anyone" in text
    assert "Debrief (shown after the score)\n\nNone." in text and "Contact: none given." in text
    assert "Completion" not in text and "| Outcome |" not in text
