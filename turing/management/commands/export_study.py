"""python manage.py export_study SLUG OUT: the study's TOML file and its Markdown summary, OUT.toml and OUT.md."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.files import atomic_write_text
from turing.models import Study
from turing.studies import export
from turing.study_summary import summary_markdown


def stem(out: str, slug: str) -> Path:
    """OUT as the files' common stem: a folder holds <slug>.toml and .md; a name given with .toml or .md
    means that name, not pilot.toml.toml."""
    path = Path(out)
    if path.is_dir():
        return path / slug
    return path.with_suffix("") if path.suffix in (".toml", ".md") else path


class Command(BaseCommand):
    help = ("Write a study as its study file (OUT.toml, which load_study reads back to the same study) and a "
            "readable pre-registration summary (OUT.md).")

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG", help="The study's slug.")
        parser.add_argument("out", metavar="OUT", help="A folder (writes SLUG.toml and SLUG.md in it) or a file "
                                                       "stem (writes OUT.toml and OUT.md).")

    def handle(self, *args, slug, out, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            known = ", ".join(Study.objects.values_list("slug", flat=True)[:20]) or "none"
            raise CommandError(f"SLUG: no study {slug!r} (studies: {known})")
        base = stem(out, slug)
        if base.parent.exists() and not base.parent.is_dir():
            raise CommandError(f"OUT: {base.parent} is not a folder")
        toml, markdown = base.with_name(base.name + ".toml"), base.with_name(base.name + ".md")
        texts = export(study), summary_markdown(study)  # both made before either is written
        atomic_write_text(toml, texts[0])
        atomic_write_text(markdown, texts[1])
        self.stdout.write(f"study {slug} -> {toml} and {markdown}")
