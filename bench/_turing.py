"""What the Turing benchmarks share: the sets they answer, and reading a page's forms as a browser would."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

SETS = 19
COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"
CODES = {"completed": "C0MPLBENCH", "failed_attention": "ATTNBENCH", "no_consent": "N0CONBENCH"}
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT_RE = re.compile(r"<input\b([^>]*)>", re.I)
ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')


def build_sets(work: Path, per_class: int = 110) -> None:
    """Real-looking and synthetic-looking folder datasets, then 19 sets of 20."""
    from datasets.demo import paint_lesion
    from datasets.models import Dataset, ImageRecord
    from turing.building import BuildOptions, build_turing_sets

    for name, kind, offset in (("BENCH-REAL", Dataset.Kind.FOLDER, 0), ("BENCH-GAN", Dataset.Kind.SYNTHETIC, 10_000)):
        dataset = Dataset.objects.create(name=name, kind=kind, source=str(work / name))
        rows = []
        for i in range(2 * per_class):
            label = "melanoma" if i % 2 else "nevus"
            path = work / name / label / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            paint_lesion(offset + i, label, (160, 160))[0].save(path)
            rows.append(ImageRecord(dataset=dataset, no=str(i), label=label, source_path=str(path),
                                    status=ImageRecord.Status.OK))
        ImageRecord.objects.bulk_create(rows)
    build_turing_sets(options=BuildOptions(real=["BENCH-REAL"], synthetic=["BENCH-GAN"], sets=SETS, per_set=20,
                                           side=128))


def make_study(work: Path, slug: str, practice: int) -> None:
    """A Prolific study over all the sets, both feedback arms, loaded from its file as a researcher does."""

    from django.core.management import call_command

    codes = "\n".join(f'{outcome} = "{code}"' for outcome, code in CODES.items())
    path = work / f"{slug}.toml"
    path.write_text(f'slug = "{slug}"\ntitle = "Load benchmark"\nsets = {list(range(1, SETS + 1))}\n'
                    f'conditions = ["none", "each"]\npractice = {practice}\ntrial_seconds = 0\n'
                    f'languages = ["en"]\nconsent = """A benchmark\'s consent text."""\n'
                    f'debrief = """Thank you."""\ncontact = "bench@example.org"\nretention_days = 30\n\n'
                    f'[panel]\nkind = "prolific"\ncompletion_url = "{COMPLETION_URL}"\n\n[panel.codes]\n{codes}\n')
    call_command("load_study", str(path), verbosity=0)


def attributes(tag: str) -> dict[str, str]:
    return {name.lower(): unescape(value) for name, value in ATTR_RE.findall(tag)}


def page_forms(html: str) -> list[dict]:
    """Each <form> of a page: its action, method and the values a browser would send without a click
    (hidden and text inputs with a value, checked boxes), so that nothing about a form is hard-coded here."""
    forms = []
    for tag, body in FORM_RE.findall(html):
        attrs = attributes(tag)
        fields = {}
        for input_tag in INPUT_RE.findall(body):
            field = attributes(input_tag)
            kind = field.get("type", "text").lower()
            if "name" not in field or kind in {"submit", "button", "image", "file"}:
                continue
            if kind in {"checkbox", "radio"} and "checked" not in ATTR_RE.sub("", input_tag).lower().split():
                continue
            fields[field["name"]] = field.get("value", "on" if kind == "checkbox" else "")
        forms.append({"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(),
                      "fields": fields, "html": body})
    return forms


def form_with(html: str, name: str) -> dict | None:
    """The first form of the page that has a field (or button) named `name`."""
    for form in page_forms(html):
        if name in form["fields"] or f'name="{name}"' in form["html"]:
            return form
    return None
