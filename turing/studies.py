"""A study, defined in one TOML file: read and validated into a StudySpec, loaded into a Study, written back.

    spec = read_study("pilot.toml")        # StudyFileError, one line naming the file and the key, on any fault
    result = load("pilot.toml")            # creates or updates the Study; loading it twice changes nothing
    export(study)                          # TOML text that load() reads back to the same study
    study_summary.summary_markdown(study)  # the readable pre-registration summary, in a module of its own

The file is what a researcher registers in advance or shows an ethics board, so everything in it is
checked before anything is created: an unknown key (a typo would otherwise silently fall back to a
default), a wrong type, a set without a current build, a code a panel could not echo. A changed consent
text becomes a new ConsentVersion; participants keep the version they agreed to. `active` is not in the
file: closing a study is done in the admin, and loading its file again must not reopen it.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction

from cansite.i18n import codes

from .models import ConsentVersion, Feedback, Outcome, Panel, Study, TuringSet
from .practice import PracticeError, ensure_practice

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # lower case: the slug is a URL path a participant may retype
CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # goes into the completion URL unescaped, as panels expect
LIMITS = {"practice": 200, "trial_seconds": 24 * 3600, "retention_days": 100 * 365}
MAX_TEXT = {"slug": 64, "title": 200, "contact": 200, "completion_url": 500}


class StudyFileError(ValueError):
    """A study file that cannot be loaded; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class PanelSpec:
    kind: str = Panel.NONE.value
    completion_url: str = ""
    codes: dict[str, str] = field(default_factory=dict)  # outcome -> code


@dataclass(frozen=True)
class StudySpec:
    """A study file's content, validated. Field order is the file's key order (export writes it so)."""

    slug: str
    title: str
    sets: list[int]
    consent: str
    conditions: list[str] = field(default_factory=lambda: [Feedback.END.value])
    practice: int = 0
    trial_seconds: int = 0
    languages: list[str] = field(default_factory=lambda: list(allowed_languages()))
    debrief: str = ""
    contact: str = ""
    retention_days: int = 365
    panel: PanelSpec = field(default_factory=PanelSpec)


REQUIRED = ("slug", "title", "sets", "consent")
KEYS = tuple(f.name for f in fields(StudySpec))
PANEL_KEYS = tuple(f.name for f in fields(PanelSpec))
STUDY_FIELDS = ("title", "sets", "conditions", "practice", "trial_seconds", "languages", "debrief", "contact",
                "retention_days")  # StudySpec fields stored as they are on Study


def allowed_languages() -> tuple[str, ...]:
    """The language codes a study may list: the site's (settings.LANGUAGES, through cansite.i18n)."""
    return tuple(codes())


def entry_path(slug: str) -> str:
    return f"/turing/s/{slug}/"


# --- reading -------------------------------------------------------------------------------------------

def read_study(path: str | Path) -> StudySpec:
    """The file at `path` as a validated StudySpec, or StudyFileError naming the file and the key."""
    path = Path(path)
    data = parse_toml(path)
    try:
        spec = spec_from(data)
        check_against_database(spec)
    except StudyFileError as exc:
        raise StudyFileError(f"{path}: {exc}") from None
    return spec


def parse_toml(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StudyFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise StudyFileError(f"{path}: is a folder, not a study file") from None
    except OSError as exc:
        raise StudyFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # Windows editors start UTF-8 files with a BOM
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise StudyFileError(f"{path}: line {line}: not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"{path}: {toml_position(str(exc), text)}") from None


def toml_position(message: str, text: str) -> str:
    """tomllib's 'Invalid value (at line 3, column 9)' as 'line 3, column 9: Invalid value'."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.DOTALL)
    if found:
        return f"line {found[2]}, column {found[3]}: {found[1]}"
    found = re.fullmatch(r"(.*) \(at end of document\)", message, re.DOTALL)
    if found:
        return f"line {text.count(chr(10)) + 1} (the end of the file): {found[1]}"
    return " ".join(message.split())


def spec_from(data: dict) -> StudySpec:
    """Types, ranges and vocabularies; what needs the database is check_against_database's."""
    unknown_keys(data, KEYS, "")
    for key in REQUIRED:
        if key not in data:
            raise StudyFileError(f"{key}: missing (a study file needs {', '.join(REQUIRED)})")
    values: dict = {
        "slug": slug(data["slug"]),
        "title": text(data, "title", nonempty=True),
        "sets": whole_numbers(data["sets"], "sets"),
        "consent": text(data, "consent", nonempty=True, block=True),
    }
    if "conditions" in data:
        values["conditions"] = words(data["conditions"], "conditions", Feedback.values)
    for key in ("practice", "trial_seconds", "retention_days"):
        if key in data:
            values[key] = whole(data[key], key, low=1 if key == "retention_days" else 0)
    if "languages" in data:
        values["languages"] = words(data["languages"], "languages", allowed_languages())
    for key in ("debrief", "contact"):
        if key in data:
            values[key] = text(data, key, block=key == "debrief")
    values["panel"] = panel(data.get("panel", {}))
    return StudySpec(**values)


def unknown_keys(table: dict, known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key not in known:
            raise StudyFileError(f"{prefix}{key}: unknown key (known: {', '.join(known)})")


def kind_of(value) -> str:
    """A TOML value's type in the words a researcher reads in their file."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the decimal number {value}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a date/time ({value})"


def whole(value, key: str, low: int = 0) -> int:
    high = LIMITS.get(key, 2**31 - 1)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StudyFileError(f"{key}: must be a whole number, got {kind_of(value)}")
    if not low <= value <= high:
        raise StudyFileError(f"{key}: must be between {low} and {high}, got {value}")
    return value


def text(data: dict, key: str, nonempty: bool = False, block: bool = False, prefix: str = "") -> str:
    """A string; a block (consent, debrief) keeps its lines, with LF line ends and no blank ends, so that
    re-saving the file with CRLF or a trailing newline is not a new consent version."""
    value = data[key]
    if not isinstance(value, str):
        raise StudyFileError(f"{prefix}{key}: must be text in quotes, got {kind_of(value)}")
    value = value.replace("\r\n", "\n").strip()
    if not block and ("\n" in value or "\r" in value):
        raise StudyFileError(f"{prefix}{key}: must be one line")
    if nonempty and not value:
        raise StudyFileError(f"{prefix}{key}: must not be empty")
    if key in MAX_TEXT and len(value) > MAX_TEXT[key]:
        raise StudyFileError(f"{prefix}{key}: longer than {MAX_TEXT[key]} characters")
    return value


def slug(value) -> str:
    value = text({"slug": value}, "slug", nonempty=True)
    if not SLUG.fullmatch(value):
        raise StudyFileError(f"slug: {value!r} must be lower-case ASCII letters, digits and '-' (it is the "
                             f"URL {entry_path('<slug>')}), starting with a letter or digit")
    return value


def whole_numbers(value, key: str) -> list[int]:
    if not isinstance(value, list) or not value:
        raise StudyFileError(f"{key}: must be a list of set numbers such as [1, 2, 3], got {kind_of(value)}")
    numbers = []
    for item in value:
        if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= 32767:
            raise StudyFileError(f"{key}: {item!r} is not a set number (a whole number >= 1)")
        if item in numbers:
            raise StudyFileError(f"{key}: set {item} is listed twice")
        numbers.append(item)
    return numbers


def words(value, key: str, allowed) -> list[str]:
    if not isinstance(value, list) or not value:
        raise StudyFileError(f"{key}: must be a non-empty list of {', '.join(allowed)}, got {kind_of(value)}")
    chosen = []
    for item in value:
        if item not in allowed:
            raise StudyFileError(f"{key}: {item!r} is not one of {', '.join(allowed)}")
        if item in chosen:
            raise StudyFileError(f"{key}: {item!r} is listed twice")
        chosen.append(item)
    return chosen


def panel(table) -> PanelSpec:
    if not isinstance(table, dict):
        raise StudyFileError(f"panel: must be a table ([panel] with kind, completion_url, codes), got "
                             f"{kind_of(table)}")
    unknown_keys(table, PANEL_KEYS, "panel.")
    kind = table.get("kind", Panel.NONE.value)
    if kind not in Panel.values:
        raise StudyFileError(f"panel.kind: {kind!r} is not one of {', '.join(Panel.values)}")
    url = text(table, "completion_url", prefix="panel.") if "completion_url" in table else ""
    # What the flow uses (turing/panels.py): a completion URL for Prolific, CloudResearch and generic panels;
    # MTurk returns through the assignment's turkSubmitTo; without a panel nobody is sent anywhere. A key
    # the flow would ignore is refused, as an unknown key is: the researcher believes it does something.
    if kind == Panel.NONE and (url or "codes" in table):
        raise StudyFileError(f"panel.{'completion_url' if url else 'codes'}: a study without a panel (kind "
                             "\"none\") sends nobody back with a code: set panel.kind, or leave it out")
    if kind == Panel.MTURK and url:
        raise StudyFileError("panel.completion_url: MTurk participants complete through their assignment's "
                             "turkSubmitTo: leave it out")
    if url:
        completion_url(url)
    elif kind not in (Panel.NONE, Panel.MTURK):
        raise StudyFileError(f"panel.completion_url: missing: a {kind} study sends participants back to it")
    codes = panel_codes(table.get("codes"), needed=kind != Panel.NONE)
    return PanelSpec(kind=kind, completion_url=url, codes=codes)


def completion_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StudyFileError(f"panel.completion_url: {url!r} must be an http:// or https:// address")
    if "{code}" not in url:
        raise StudyFileError(f"panel.completion_url: {url!r} has no {{code}} for the outcome's completion code")
    if any(char.isspace() for char in url):
        raise StudyFileError(f"panel.completion_url: {url!r} has a space: write it as %20")
    rest = url.replace("{code}", "")
    if "{" in rest or "}" in rest:  # the flow fills {code} in; any other brace would reach the panel as is
        raise StudyFileError(f"panel.completion_url: {url!r}: only {{code}} may stand in braces")


def panel_codes(table, needed: bool) -> dict[str, str]:
    if table is None:
        if needed:
            raise StudyFileError(f"panel.codes: missing: give [panel.codes] with {', '.join(Outcome.values)}")
        return {}
    if not isinstance(table, dict):
        raise StudyFileError(f"panel.codes: must be a table ([panel.codes]), got {kind_of(table)}")
    unknown_keys(table, tuple(Outcome.values), "panel.codes.")
    for outcome in Outcome.values:
        if outcome not in table:
            raise StudyFileError(f"panel.codes.{outcome}: missing (give a code for each of "
                                 f"{', '.join(Outcome.values)})")
        code = text(table, outcome, nonempty=True, prefix="panel.codes.")
        if not CODE.fullmatch(code) or code != table[outcome]:
            raise StudyFileError(f"panel.codes.{outcome}: {table[outcome]!r} may hold only ASCII letters, "
                                 f"digits, '-', '_' and '.' (no spaces), at most 64")
    return {outcome: table[outcome] for outcome in Outcome.values}


def check_against_database(spec: StudySpec) -> None:
    """What the file cannot say alone: its sets are built, and its consent text is not one that a later
    version already replaced (a version's text is unique in its study)."""
    built = set(TuringSet.objects.current().values_list("number", flat=True))
    for number in spec.sets:
        if number not in built:
            have = ", ".join(map(str, sorted(built))) or "none"
            raise StudyFileError(f"sets: set {number} has no current build (built now: {have}; "
                                 f"build_turing_sets makes them)")
    versions = list(ConsentVersion.objects.filter(study__slug=spec.slug).order_by("number"))
    digest = consent_sha256(spec.consent)
    for version in versions[:-1]:
        if version.sha256 == digest:
            raise StudyFileError(f"consent: this is the text of consent version {version.number}, which version "
                                 f"{versions[-1].number} replaced; a study never goes back to an earlier version "
                                 f"(change the text, e.g. date it, for version {versions[-1].number + 1})")


def consent_sha256(consent: str) -> str:
    return hashlib.sha256(consent.encode("utf-8")).hexdigest()


# --- loading -------------------------------------------------------------------------------------------

@dataclass
class Loaded:
    study: Study
    status: str  # created | updated | unchanged
    changed: list[str]  # the keys whose values changed (every key when created)
    consent_version: int  # the current version's number


def load(path: str | Path, *, dry_run: bool = False) -> Loaded:
    """Create or update the study the file defines; everything is validated before anything is written.
    A dry run does the very same load and rolls it back, so that it reports exactly what a load would do."""
    spec = read_study(path)
    try:
        with transaction.atomic():
            loaded = save_spec(spec, write_files=not dry_run)
            transaction.set_rollback(dry_run)
    except PracticeError as exc:  # too few practice images: the whole load rolled back
        raise StudyFileError(f"{path}: {exc}") from None
    return loaded


def save_spec(spec: StudySpec, *, write_files: bool = True) -> Loaded:
    study = Study.objects.select_for_update().filter(slug=spec.slug).first()
    created = study is None
    if study is None:
        study = Study(slug=spec.slug)
    wanted = {name: getattr(spec, name) for name in STUDY_FIELDS}
    wanted.update(panel=spec.panel.kind, completion_url=spec.panel.completion_url, codes=spec.panel.codes)
    changed = [name for name, value in wanted.items() if getattr(study, name) != value]
    for name in changed:
        setattr(study, name, wanted[name])
    if created or changed:
        study.save()
    latest = study.consent_versions.order_by("-number").first() if not created else None
    if latest is None or latest.sha256 != consent_sha256(spec.consent):
        latest = ConsentVersion.objects.create(study=study, number=(latest.number + 1) if latest else 1,
                                               text=spec.consent, sha256=consent_sha256(spec.consent))
        changed.append("consent")
    # inside this transaction: too few practice images rolls the whole load back (a dry run writes no file)
    ensure_practice(study, write=write_files)
    status = "created" if created else "updated" if changed else "unchanged"
    return Loaded(study=study, status=status, changed=[] if created else changed, consent_version=latest.number)


# --- writing -------------------------------------------------------------------------------------------

def export(study: Study) -> str:
    """The study as a study file: `load` reads it back to the same study (and finds nothing changed)."""
    consent = study.current_consent()
    top = [("slug", toml_string(study.slug), ""),
           ("title", toml_string(study.title), ""),
           ("sets", toml_list(study.sets), "Turing sets the participants are spread over"),
           ("conditions", toml_list(study.conditions), "feedback arms (none, each, end), assigned balanced"),
           ("practice", str(study.practice), "practice images first, with feedback, never scored (0 = none)"),
           ("trial_seconds", str(study.trial_seconds), "time limit per image (0 = none)"),
           ("languages", toml_list(study.languages), ""),
           ("consent", toml_block(consent.text if consent else ""), ""),
           ("debrief", toml_block(study.debrief), "shown after the score"),
           ("contact", toml_string(study.contact), ""),
           ("retention_days", str(study.retention_days), "panel ids are purged after this")]
    panel_lines = [("kind", toml_string(study.panel), " | ".join(Panel.values))]
    if study.completion_url:
        panel_lines.append(("completion_url", toml_string(study.completion_url), "{code}: the outcome's code"))
    lines = [f"# Study {study.slug!r}, exported from cansite; load it with: manage.py load_study FILE",
             *assignments(top), "", "[panel]", *assignments(panel_lines)]
    if study.codes:
        lines += ["", "[panel.codes]", *assignments([(outcome, toml_string(code), "")
                                                     for outcome, code in study.codes.items()])]
    return "\n".join(lines) + "\n"


def assignments(rows: list[tuple[str, str, str]]) -> list[str]:
    """`key = value`, each comment after it in one column; a value too long (or multi-line) for that
    has its comment on the line above."""
    short = [len(key) + len(value) for key, value, _ in rows if len(key) + len(value) <= 40 and "\n" not in value]
    width = max(short, default=0) + 4
    lines = []
    for key, value, comment in rows:
        fits = len(key) + len(value) <= 40 and "\n" not in value
        if comment and not fits:
            lines.append(f"# {comment}")
        lines.append(f"{key} = {value}" + (f"{' ' * (width - len(key) - len(value))}# {comment}"
                                           if comment and fits else ""))
    return lines


TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str, keep: str = "") -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped (those in `keep` left)."""
    out = []
    for char in value:
        if char in keep:
            out.append(char)
        elif char in TOML_ESCAPES:
            out.append(TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_block(value: str) -> str:
    """A multi-line basic string, its lines as written (the newline after the opening quotes is not part
    of the value in TOML, and load() strips the one before the closing quotes)."""
    if "\n" not in value:
        return toml_string(value)
    body = toml_string(value, keep='\n\t"')[1:-1]
    return '"""\n' + re.sub(r'"(?=")', r'\\"', body) + '\n"""'  # quotes stay as written, but never three in a row


def toml_list(values: list) -> str:
    return "[" + ", ".join(toml_string(v) if isinstance(v, str) else str(v) for v in values) + "]"
