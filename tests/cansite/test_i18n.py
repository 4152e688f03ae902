"""Three languages (English, Korean, Spanish): complete catalogues, every visitor page translated, the choice
of language honoured (Accept-Language, the switcher, a study's languages), and the static export in each.

The page test renders each visitor page in English, Korean and Spanish and fails on any visible text (text
nodes, alt/title/aria-label, the description and sharing tags) that reads the same in Korean or Spanish as in
English, unless all its words are numbers, codes or names on the explicit allow-list below: a string nobody
marked for translation, or one the catalogue lacks, shows up there.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from cansite.i18n import accepted, label_name, limit_language
from seeds.export import ExportError, export_seed_pages
from tests.conftest import REPO
from tests.seeds.factory import make_run, publish

LANGUAGES = tuple(code for code, _ in django_settings.LANGUAGES if code != django_settings.LANGUAGE_CODE)
LOCALE = REPO / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
# Words that read the same in every language: the site's and models' names, units and codes (d′), keys (R, S),
# the fixtures' run names and study title, and the languages' own names in the switcher. "melanoma" and
# "real" are Spanish too.
NAMES = {"cansite", "stylegan2-ada", "efficientnet-lite0", "cnn", "roc", "can", "psi", "kimg", "sha256", "png",
         "w", "const", "r", "s", "d", "mel", "nev", "pilot", "english", "한국어", "español"}
SAME_IN = {"ko": set(), "es": {"melanoma", "real"}}
HEX = re.compile(r"[0-9a-f]{12,}")


# ---- the catalogues ----------------------------------------------------------------------------------------

def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr": [forms]}."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": []}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if field == "msgstr":
                entry["msgstr"][-1] += value
            else:
                entry[field] += value
        else:
            keyword, _, value = line.partition(" ")
            field = "msgstr" if keyword.startswith("msgstr") else keyword
            if field == "msgstr":
                entry["msgstr"].append(ast.literal_eval(value))
            else:
                entry[field] = ast.literal_eval(value)
    return entries


def catalogue(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def keys(entries: list[dict]) -> set[tuple]:
    return {(e["msgctxt"], e["msgid"]) for e in entries if e["msgid"]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalogue_entry_is_empty_fuzzy_or_loses_a_placeholder(language):
    entries = po_entries(catalogue(language))
    header = next(e for e in entries if e["msgid"] == "")
    assert f"Language: {language}\n" in header["msgstr"][0]
    plurals = int(re.search(r"nplurals=(\d+)", header["msgstr"][0]).group(1))
    problems = []
    for e in entries:
        name = e["msgid"][:60] or "(the header)"
        if "fuzzy" in e["flags"]:
            problems.append(f"{language}: fuzzy: {name}")
        if not e["msgid"]:
            continue
        if any(not form.strip() for form in e["msgstr"]) or not e["msgstr"]:
            problems.append(f"{language}: empty: {name}")
        if e["msgid_plural"] is not None and len(e["msgstr"]) != plurals:
            problems.append(f"{language}: {len(e['msgstr'])} plural forms, not {plurals}: {name}")
        wanted = sorted(set(PLACEHOLDER.findall(e["msgid"] + (e["msgid_plural"] or ""))))
        for form in e["msgstr"]:
            if sorted(set(PLACEHOLDER.findall(form))) != wanted:
                problems.append(f"{language}: placeholders {wanted} changed in {form[:60]!r}")
    assert len(entries) > 50 and problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_compiles_and_its_compiled_file_is_current(language, tmp_path):
    po = catalogue(language)
    result = subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(po)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    mo = po.with_suffix(".mo")
    assert mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is missing or stale: make messages"
    assert mo.read_bytes() == (tmp_path / "django.mo").read_bytes(), f"{mo} is not {po} compiled: make messages"


def test_every_string_marked_in_the_sources_is_in_the_catalogues_and_none_is_stale(tmp_path, monkeypatch,
                                                                                     settings):
    """makemessages over the sources (links to them in a scratch folder, so nothing in locale/ is touched)
    finds exactly the entries of the catalogues."""
    for name in ("cansite", "common", "datasets", "generator", "seeds", "classifier", "turing", "home", "templates"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "locale" / "ko" / "LC_MESSAGES").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    settings.LOCALE_PATHS = []
    call_command("makemessages", locale=["ko"], symlinks=True, no_obsolete=True, verbosity=0)
    found = keys(po_entries(tmp_path / "locale" / "ko" / "LC_MESSAGES" / "django.po"))
    for language in LANGUAGES:
        have = keys(po_entries(catalogue(language)))
        assert sorted(found - have) == [], f"marked but not in the {language} catalogue: make extract-messages"
        assert sorted(have - found) == [], f"in the {language} catalogue but no longer marked"


# ---- pages in each language ---------------------------------------------------------------------------------

class VisibleText(HTMLParser):
    """What a reader sees or hears of a page: text outside script/style, alternative texts and labels, the
    title, the description and the sharing tags."""

    ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
    META = ("description", "og:title", "og:description", "og:image:alt", "og:site_name", "twitter:title")

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.hidden = 0
        self.lang = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if tag in ("script", "style"):
            self.hidden += 1
        self.texts += [attrs[name] for name in self.ATTRIBUTES if attrs.get(name)]
        if tag == "meta" and (attrs.get("name") or attrs.get("property")) in self.META:
            self.texts.append(attrs.get("content") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.texts.append(data)


def visible(html: str) -> tuple[str, set[str]]:
    parser = VisibleText()
    parser.feed(html)
    return parser.lang, {" ".join(text.split()) for text in parser.texts if text.strip()}


def needs_translation(text: str, language: str) -> bool:
    words = re.findall(r"[^\W_][\w-]*", text)
    return any(re.search(r"[^\W\d_]", word) and not HEX.fullmatch(word)
               and word.lower() not in NAMES | SAME_IN[language] for word in words)


def untranslated(pages: dict[str, dict[str, str]], content: frozenset[str] = frozenset()) -> list[str]:
    """pages: {page: {language: html}}. Each text of a ko/es rendering that is the English one's; `content`:
    texts a page shows as someone wrote them (a study's title, consent text, debrief), not the site's."""
    problems = []
    for where, by_language in pages.items():
        _, english = visible(by_language["en"])
        for language in LANGUAGES:
            lang, texts = visible(by_language[language])
            if lang != language:
                problems.append(f"{where} [{language}]: <html lang={lang!r}>")
            problems += [f"{where} [{language}]: {text!r}" for text in sorted(texts & english - content)
                         if needs_translation(text, language)]
    return problems


@pytest.fixture
def seeds(media_root):
    make_run("mel", media_root)
    make_run("nev", media_root, label="nevus", weights_seed=1)
    publish("nev", "0-2")
    publish("mel", "0-4", "--extra-psi", "0.5", "--morph", "0:1", "--morph-frames", "2", "--counterpart", "nev")


def in_each_language(get) -> dict[str, str]:
    return {language: get(language) for language in (django_settings.LANGUAGE_CODE, *LANGUAGES)}


@pytest.mark.django_db
def test_every_visitor_page_reads_in_korean_and_spanish(client, seeds, settings, monkeypatch):
    settings.DEBUG = False
    client.raise_request_exception = False

    def page(path: str, **extra):
        return lambda language: client.get(path, HTTP_ACCEPT_LANGUAGE=language, **extra).content.decode()

    paths = {"home": "/", "not found": "/no/such/page/", "seed index": reverse("seeds:index"),
             "run index": reverse("seeds:run", args=["mel"]), "seed page": reverse("seeds:page", args=["mel", "0"]),
             "morph": reverse("seeds:morph", args=["mel", "0", "1"]), "seed not found": "/thismoledoesnotexist/x/"}
    pages = {name: in_each_language(page(path)) for name, path in paths.items()}
    pages["bad host (400)"] = in_each_language(page("/", HTTP_HOST="evil.example"))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    pages["too large (413)"] = in_each_language(lambda language: client.post(
        reverse("set_language"), "x=" + "a" * 500, content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE=language).content.decode())
    monkeypatch.setattr("home.views.render", lambda *args, **kwargs: 1 / 0)
    pages["server error (500)"] = in_each_language(page("/"))
    assert "데이터셋" in pages["not found"]["ko"] and "Semilla 0" in pages["seed page"]["es"]
    problems = untranslated(pages)
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_static_export_has_a_tree_per_language_with_alternates_and_a_switcher(tmp_path, seeds):
    site = tmp_path / "site"
    export_seed_pages(runs=["mel", "nev"], seeds="0-9", out=site, base_url="https://example.org/moles")
    english = [path for path in (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
               if path.split("/")[0] not in LANGUAGES]
    assert "mel/0/index.html" in english and "404.html" in english
    pages = {path: {"en": (site / path).read_text(), **{lang: (site / lang / path).read_text() for lang in LANGUAGES}}
             for path in english}
    problems = untranslated(pages)
    assert not problems, "\n".join(problems)
    seed = pages["mel/0/index.html"]["ko"]
    assert '<link rel="alternate" hreflang="es" href="https://example.org/moles/es/mel/0/">' in seed
    assert '<link rel="alternate" hreflang="en" href="https://example.org/moles/mel/0/">' in seed
    assert '<link rel="alternate" hreflang="x-default" href="https://example.org/moles/mel/0/">' in seed
    assert 'href="../../../es/mel/0/index.html" hreflang="es" lang="es"' in seed
    assert 'href="../../../mel/0/index.html" hreflang="en" lang="en"' in seed
    assert 'hreflang="ko" lang="ko" aria-current="page"' in seed and '"../../../img/' in seed, "images are shared"
    assert not list(site.glob("ko/img")) and not list(site.glob("ko/static"))
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://example.org/moles/ko/mel/0/</loc>" in sitemap and "404" not in sitemap
    missing = (site / "es" / "404.html").read_text()
    assert 'href="https://example.org/moles/ko/" hreflang="ko"' in missing and "rel=\"alternate\"" not in missing


@pytest.mark.django_db
def test_a_changed_translation_rebuilds_only_that_languages_pages(tmp_path, seeds, settings):
    site = tmp_path / "site"
    export_seed_pages(runs=["mel"], seeds="0-9", out=site)
    before = {p: p.stat().st_ino for p in site.rglob("*.html")}
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE, locale)
    po = locale / "es" / "LC_MESSAGES" / "django.po"
    po.write_text(po.read_text().replace('msgstr "Este lunar no existe"', 'msgstr "Este lunar no existe, de verdad"'))
    subprocess.run(["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    settings.LOCALE_PATHS = [locale]
    translation.trans_real._translations.clear()  # Django keeps catalogues loaded for the process's life
    try:
        export_seed_pages(runs=["mel"], seeds="0-9", out=site)
    finally:
        settings.LOCALE_PATHS = [LOCALE]
        translation.trans_real._translations.clear()
    changed = {p.relative_to(site).parts[0] for p, inode in before.items() if p.stat().st_ino != inode}
    assert changed == {"es"} and "de verdad" in (site / "es" / "index.html").read_text()


@pytest.mark.django_db
def test_the_export_refuses_a_run_named_like_a_language_folder_or_an_uncompiled_catalogue(tmp_path, media_root,
                                                                                           settings):
    make_run("ko", media_root)
    publish("ko", "0-1")
    with pytest.raises(ExportError, match=r"--runs: a run named 'ko' would share the export's folder ko/"):
        export_seed_pages(runs=["ko"], seeds="0-9", out=tmp_path / "site")
    make_run("mel", media_root)
    publish("mel", "0-1")
    settings.LOCALE_PATHS = [tmp_path / "empty-locale"]
    uncompiled = r"empty-locale/ko/LC_MESSAGES/django.mo: the catalogue is not compiled \(run `make messages`\)"
    with pytest.raises(ExportError, match=uncompiled):
        export_seed_pages(runs=["mel"], seeds="0-9", out=tmp_path / "site")
    assert not (tmp_path / "site").exists()


@pytest.mark.django_db
def test_the_export_can_leave_languages_out_and_refuses_unknown_ones(tmp_path, seeds):
    site = tmp_path / "site"
    call_command("export_seed_pages", "--runs", "mel", "--seeds", "0-9", "--out", str(site), "--languages", "es,en",
                 "-v", "0")
    assert (site / "es" / "mel" / "0" / "index.html").is_file() and not (site / "ko").exists()
    page = (site / "mel" / "0" / "index.html").read_text()
    assert 'hreflang="es"' in page and 'hreflang="ko"' not in page, "the switcher offers what was exported"
    for languages, message in [("en,fr", "--languages: 'fr' is not one of the site's languages (en, ko, es)"),
                               ("ko", "--languages: include 'en', the language of the export's root")]:
        with pytest.raises(CommandError, match=re.escape(message)):
            call_command("export_seed_pages", "--runs", "mel", "--seeds", "0-9", "--out", str(tmp_path / "new"),
                         "--languages", languages, "-v", "0")
    assert not (tmp_path / "new").exists()


def turing_pages(client, language: str, study, hit) -> dict[str, str]:
    """Every page of a Turing test (set 1) and of a study, from its index to withdrawal, in one language."""
    from tests.turing.factory import current, submit
    from tests.turing.study_factory import answer, me, url
    from turing.models import PracticeImage

    def get(path: str) -> str:
        return client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    def post(path: str, data: dict | None = None) -> str:
        return client.post(path, data or {}, HTTP_ACCEPT_LANGUAGE=language, follow=True).content.decode()

    pages = {"index": get("/turing/"), "consent": get("/turing/?q=1"),
             "consent, not ticked": post("/turing/start/", {"q": 1}), "trial": post("/turing/start/",
                                                                                   {"q": 1, "consent": "on"})}
    participant = current(client)
    pages["a wrong answer's error"] = post("/turing/answer/", {"q": 1, "position": 0, "token": "x", "answer": "real"})
    while not participant.finished:
        submit(client, participant, HTTP_ACCEPT_LANGUAGE=language)
        participant.refresh_from_db()
    pages |= {"score": get("/turing/?q=1"), "withdraw": get("/turing/withdraw/?q=1"),
              "withdrawn": post("/turing/withdraw/", {"q": 1})}
    entry = url(study) + f"?PROLIFIC_PID=p{language}00000000000000&STUDY_ID=s&SESSION_ID=x"
    pages |= {"study consent": get(entry), "study consent, not ticked": post(url(study, "start")),
              "study practice": post(url(study, "start"), {"consent": "on"})}
    practice = PracticeImage.objects.get(study=study, position=0)
    pages["study trial after practice"] = post(url(study, "answer"), {"practice": "1", "position": 0,
                                                                      "token": practice.token, "answer": "real"})
    participant = me(client, study)
    answer(client, study, participant, HTTP_ACCEPT_LANGUAGE=language)
    pages["study trial with feedback"] = get(url(study))
    while not participant.finished:
        answer(client, study, participant, HTTP_ACCEPT_LANGUAGE=language)
        participant.refresh_from_db()
    pages |= {"study score": get(url(study)), "study withdraw": get(url(study, "withdraw")),
              "study withdrawn": post(url(study, "withdraw")),
              "MTurk preview": get(url(hit) + "?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H")}
    client.cookies.clear()  # a new visitor
    pages["study link without a panel id"] = get(url(study))
    get(entry.replace("00000000", "11111111"))
    pages["study declined"] = post(url(study, "decline"))
    return pages


@pytest.mark.django_db
def test_every_turing_and_study_page_reads_in_korean_and_spanish(tmp_path, media_root, settings):
    from django.test import Client

    from tests.turing.study_factory import CODES, CONSENT, PROLIFIC_URL, make_study
    from turing.practice import ensure_practice

    settings.TURING_NEW_PARTICIPANTS_PER_IP_HOUR = 1000
    study = make_study(tmp_path, title="Pilot", practice=1, trial_seconds=60, conditions=["each"], panel="prolific",
                       completion_url=PROLIFIC_URL, codes=CODES, build={"feedback": "each"})
    ensure_practice(study)
    hit = make_study(slug="hit", title="Pilot", panel="mturk", codes=CODES)
    by_language = {language: turing_pages(Client(), language, study, hit)
                   for language in (django_settings.LANGUAGE_CODE, *LANGUAGES)}
    pages = {name: {language: found[name] for language, found in by_language.items()} for name in by_language["en"]}
    assert "세트 1" in pages["consent"]["ko"] and "Retirarse del estudio" in pages["study score"]["es"]
    assert "흑색종" in pages["score"]["ko"] or "모반" in pages["score"]["ko"], "the truths' classes, named in Korean"
    problems = untranslated(pages, frozenset({CONSENT, study.debrief, "study@example.org", "Prolific"}))
    assert not problems, "\n".join(problems)


# ---- choosing the language ---------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("header, language", [("ko-KR,ko;q=0.9,en;q=0.5", "ko"), ("es-CL,es;q=0.8", "es"),
                                              ("fr-FR,fr;q=0.9", "en"), ("fr;q=0.9,es;q=0.8,ko;q=0.7", "es"),
                                              ("", "en")])
def test_the_browsers_accept_language_picks_the_language(client, header, language):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=header).content.decode()
    assert f'<html lang="{language}">' in html
    assert f'<option value="{language}" lang="{language}" selected>' in html


@pytest.mark.django_db
def test_the_switcher_posts_to_set_language_and_its_choice_outlasts_accept_language(client):
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'action="/i18n/setlang/" method="post"' in home and '<label for="language-choice">언어</label>' in home
    assert re.findall(r'<option value="(\w+)" lang=', home) == ["en", "ko", "es"]
    response = client.post(reverse("set_language"), {"language": "es"}, HTTP_REFERER="http://testserver/?q=2")
    assert response.status_code == 302 and response["Location"].endswith("testserver/?q=2"), "back where it was"
    cookie = client.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "es" and int(cookie["max-age"]) >= 30 * 24 * 3600, "kept past the browser session"
    assert '<html lang="es">' in client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    elsewhere = client.post(reverse("set_language"), {"language": "ko"}, HTTP_REFERER="https://evil.example/")
    assert elsewhere["Location"] == "/", "never back to another site"


@pytest.mark.django_db
def test_cached_seed_pages_keep_one_copy_per_language_and_vary_on_the_cookie(client, seeds):
    path = reverse("seeds:page", args=["mel", "1"])
    korean = client.get(path, HTTP_ACCEPT_LANGUAGE="ko")
    english = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert "시드 1" in korean.content.decode() and "Seed 1" in english.content.decode()
    assert "max-age" in english["Cache-Control"] and "Cookie" in english["Vary"]
    assert "Accept-Language" in english["Vary"]


def test_a_pages_languages_limit_the_switcher_and_one_language_hides_it():
    with translation.override("es"):
        limited = render_to_string("languages.html", {"languages": ["en", "es"]})
        alone = render_to_string("languages.html", {"languages": ["ko"]})
        every = render_to_string("languages.html", {})
    assert re.findall(r'<option value="(\w+)" lang=', limited) == ["en", "es"] and "<form" in limited
    assert 'value="es" lang="es" selected>Español<' in limited
    assert "<form" not in alone and re.findall(r'<option value="(\w+)" lang=', every) == ["en", "ko", "es"]


@pytest.mark.django_db
def test_a_studys_pages_offer_only_its_languages_and_store_the_one_used(tmp_path, media_root, client):
    from tests.turing.study_factory import make_study, me, url

    study = make_study(tmp_path, languages=["en", "es"])
    korean = client.get(url(study), HTTP_ACCEPT_LANGUAGE="ko")
    html = korean.content.decode()
    assert '<html lang="en">' in html and korean["Content-Language"] == "en", "Korean is not offered: the first"
    assert re.findall(r'<option value="(\w+)" lang=', html) == ["en", "es"]
    spanish = client.get(url(study), HTTP_ACCEPT_LANGUAGE="ko,es;q=0.8").content.decode()
    assert '<html lang="es">' in spanish and "Consentimiento" in spanish
    client.post(url(study, "start"), {"consent": "on"}, HTTP_ACCEPT_LANGUAGE="ko,es;q=0.8")
    assert me(client, study).language == "es"
    trial = client.get(url(study), HTTP_ACCEPT_LANGUAGE="ko,es;q=0.8").content.decode()
    assert re.findall(r'<option value="(\w+)" lang=', trial) == ["en", "es"] and "Imagen 1 de" in trial
    alone = make_study(slug="alone", languages=["ko"])
    assert "language-choice" not in client.get(url(alone)).content.decode(), "one language: no switcher"


@pytest.mark.parametrize("active, header, allowed, chosen", [
    ("ko", "ko", ["en", "ko"], "ko"),              # the visitor's language, allowed
    ("ko", "ko,es;q=0.5", ["en", "es"], "es"),     # else their next choice that is
    ("ko", "ko", ["es", "en"], "es"),              # else the first allowed
    ("en", "en", [], "en"),                        # no limit
])
def test_a_study_limits_the_language_to_its_own(active, header, allowed, chosen):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=header)
    with translation.override(active):
        assert limit_language(request, allowed) == chosen
        assert translation.get_language() == request.LANGUAGE_CODE == chosen


def test_accept_language_is_read_by_quality_and_malformed_items_are_dropped():
    assert accepted("es-CL;q=0.5, ko ,en;q=0.8, fr;q=0, x;;;, *;q=0.1") == ["ko", "en", "es", "*"]
    assert accepted("a" * 5000) == [] and accepted(",".join(["en"] * 10_000)) == ["en"] * 50


def test_lesion_classes_are_named_in_the_active_language():
    with translation.override("ko"):
        assert (label_name("melanoma"), label_name("nevus"), label_name("bcc")) == ("흑색종", "모반", "bcc")
    with translation.override("es"):
        assert (label_name("melanoma"), label_name("nevus")) == ("melanoma", "nevo")


# ---- in a browser -------------------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_in_korean_and_spanish_pass_wcag_21_aa(browser, live_server, seeds, tmp_path):
    """axe-core on the Korean and Spanish pages (their lang attributes, the switcher's labels, longer words)."""
    from tests.cansite.test_accessibility import check
    from tests.turing.study_factory import make_study, url

    study = make_study(tmp_path)
    site = tmp_path / "site"
    export_seed_pages(runs=["mel"], seeds="0-9", out=site)
    problems = []
    for language in LANGUAGES:
        context = browser.new_context(locale=language)
        page = context.new_page()
        for path in ("/", reverse("seeds:page", args=["mel", "1"]), "/turing/?q=1", url(study)):
            problems += check(page, live_server.url + path, f"{path} [{language}]")
        problems += check(page, (site / language / "mel" / "1" / "index.html").as_uri(), f"export [{language}]")
        context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scripts", [True, False], ids=["with JavaScript", "without JavaScript"])
def test_a_visitor_switches_a_cached_seed_page_to_korean_and_back(browser, live_server, seeds, scripts):
    context = browser.new_context(java_script_enabled=scripts, locale="en-US")
    page = context.new_page()
    url = live_server.url + reverse("seeds:page", args=["mel", "3"])
    page.goto(live_server.url + reverse("seeds:page", args=["mel", "2"]))  # in the browser's cache, in English
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Melanoma, seed 2"
    page.goto(url)
    page.select_option("#language-choice", "ko")
    with page.expect_navigation():
        page.get_by_role("button", name="Change language").click()
    assert page.url == url and page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "흑색종, 시드 3"
    with page.expect_navigation():
        page.click("a[rel=prev]")  # a page seen before the switch comes in the new language, not from the cache
    assert page.locator("h1").inner_text() == "흑색종, 시드 2"
    page.select_option("#language-choice", "en")
    with page.expect_navigation():
        page.get_by_role("button", name="언어 바꾸기").click()
    assert page.locator("h1").inner_text() == "Melanoma, seed 2"
    context.close()
